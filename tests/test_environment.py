"""The conda environments and pyproject.toml pin the same packages to the same versions."""

import tomllib

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO


def _pyproject_requirements(extras: tuple[str, ...]) -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    reqs = [Requirement(line) for line in lines]
    return {r.name.lower().replace("_", "-"): r for r in reqs}


def _conda_pip_requirements(name: str) -> dict[str, Requirement]:
    """The `- pip:` entries of a conda environment file (a tiny parser: the files are ours)."""
    reqs = {}
    in_pip = False
    for raw in (REPO / name).read_text().splitlines():
        line = raw.split("#")[0].rstrip()
        if line.strip() == "- pip:":
            in_pip = True
            continue
        if in_pip and line.strip().startswith("- ") and not line.strip().startswith("- -e"):
            req = Requirement(line.strip()[2:])
            reqs[req.name.lower().replace("_", "-")] = req
    return reqs


@pytest.mark.parametrize("env_file, extras", [
    ("environment.yml", ("instructor", "test")),
    ("environment-gpu.yml", ("instructor", "test", "cuda")),
])
def test_conda_environment_matches_pyproject(env_file, extras):
    """Every package and version bound in the conda file is the one pyproject.toml gives."""
    conda = _conda_pip_requirements(env_file)
    project = _pyproject_requirements(extras)
    if "cuda" in extras:  # the cuda extra re-states jax with its extra; compare that one
        project["jax"] = Requirement(next(line for line in tomllib.loads(
            (REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["cuda"]))
    assert set(conda) == set(project), (
        f"{env_file} and pyproject.toml list different packages: "
        f"only in {env_file}: {sorted(set(conda) - set(project))}, "
        f"only in pyproject.toml: {sorted(set(project) - set(conda))}")
    for name, req in project.items():
        assert conda[name].specifier == req.specifier, (
            f"{name}: {env_file} says '{conda[name].specifier}', pyproject.toml says '{req.specifier}'")
        assert conda[name].extras == req.extras, f"{name}: extras differ in {env_file}"


def test_every_pin_has_a_reason():
    """Each dependency line in pyproject.toml carries a comment saying why (ours, not a guess)."""
    lines = (REPO / "pyproject.toml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("dependencies"))
    end = next(i for i, line in enumerate(lines) if line.startswith("[tool."))
    for i in range(start, end):
        line = lines[i].strip()
        if line.startswith('"') and (">" in line or "=" in line or "<" in line):
            commented = "#" in line or lines[i - 1].strip().startswith("#")
            assert commented, f"pyproject.toml line {i + 1} pins {line.split(',')[0]} without a reason"
