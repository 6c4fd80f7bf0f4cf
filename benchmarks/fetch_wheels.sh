#!/usr/bin/env bash
# Download the wheels of benchmarks/gpu_wheels.txt into .whl/ for the offline GPU machine.
#
#   benchmarks/fetch_wheels.sh                      # groups core kernel-extras tools (~19 MiB)
#   benchmarks/fetch_wheels.sh core tools nbgrader  # nbgrader too, no debugger/completion (~28 MiB)
#   benchmarks/fetch_wheels.sh all                  # every group (~38 MiB)
#
# Groups are the [tag] at the start of each line's comment; nbgrader needs tools (nbconvert), so
# asking for nbgrader adds tools. .whl/ is emptied first, so it holds exactly the chosen wheels:
# one per line, no other version of any of them. On the GPU machine (from the repository root):
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#       --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH \
#       JUPYTER_PATH=/tmp/site/share/jupyter
#
# PATH: nbgrader runs `alembic` by name. JUPYTER_PATH: nbconvert's templates (nbgrader
# generate_feedback, HTML export) are data files under share/jupyter. `python -m autograder grade`
# needs only PYTHONPATH (checked offline: benchmarks/gpu_wheels.txt's header says how).
#
# PYTHON=... picks the interpreter that runs pip (any Python 3 with pip; default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
LIST=benchmarks/gpu_wheels.txt
DEST=.whl
PYTHON=${PYTHON:-python3}

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(core kernel-extras tools)
[ "${groups[*]}" = all ] && groups=(core kernel-extras tools nbgrader)
case " ${groups[*]} " in *" nbgrader "*) case " ${groups[*]} " in *" tools "*) ;; *) groups+=(tools);; esac;; esac
for g in "${groups[@]}"; do
    grep -q "# \[$g\]" "$LIST" || { echo "unknown group '$g' (see $LIST)" >&2; exit 2; }
done

# The chosen NAME==VERSION lines, and a check that no package is listed twice (names compared
# the way pip does: case, '-', '_' and '.' folded), in the whole file, not just the chosen groups.
pins=$("$PYTHON" - "$LIST" "${groups[@]}" <<'EOF'
import re, sys
path, groups = sys.argv[1], set(sys.argv[2:])
seen, chosen, bad = {}, [], []
for n, line in enumerate(open(path), 1):
    spec, _, comment = line.partition("#")
    spec = spec.strip()
    if not spec:
        continue
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", spec)
    g = re.match(r"\s*\[([a-z-]+)\]\s*\S", comment)
    if not m or not g:
        bad.append(f"{path}:{n}: want 'NAME==VERSION  # [group] why': {line.rstrip()}")
        continue
    key = re.sub(r"[-_.]+", "-", m[1]).lower()
    if key in seen:
        bad.append(f"{path}:{n}: {m[1]} listed twice (first on line {seen[key]})")
    seen[key] = n
    if g[1] in groups:
        chosen.append(spec)
if bad:
    sys.exit("\n".join(bad))
print("\n".join(chosen))
EOF
)
count=$(wc -l <<<"$pins")
echo "groups: ${groups[*]}; $count wheels -> $DEST/"

rm -rf "$DEST"
mkdir -p "$DEST"
# shellcheck disable=SC2086  # one argument per pin
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    --disable-pip-version-check -q -d "$DEST" $pins

# Exactly one wheel per chosen pin, of the pinned version, and nothing else.
"$PYTHON" - "$DEST" <<EOF
import pathlib, re, sys
pins = {re.sub(r"[-_.]+", "-", p.split("==")[0]).lower(): p.split("==")[1]
        for p in """$pins""".split()}
found, bad = {}, []
for whl in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    if whl.suffix != ".whl":
        bad.append(f"not a wheel: {whl.name}")
        continue
    name, version = whl.name.split("-")[:2]
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in found:
        bad.append(f"{key} twice: {found[key]} and {whl.name}")
    found[key] = whl.name
    if pins.get(key) != version:
        bad.append(f"{whl.name}: not a pinned package/version (pin: {pins.get(key)})")
bad += [f"missing: {k}=={v}" for k, v in pins.items() if k not in found]
if bad:
    sys.exit("fetch_wheels: " + "; ".join(bad))
EOF
echo "ok: $count wheels, $(du -sb "$DEST" | awk '{printf "%.1f MiB", $1 / 1048576}') in $DEST/"
