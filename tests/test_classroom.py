"""Provisioning, collection and feedback without GitHub Classroom (instructor/classroom.py,
instructor/post_feedback.py) and the grading workflow template that runs them.

The tools call ``gh`` by name. Here ``gh`` is FAKE_GH below, placed first on PATH: a small
stand-in for GitHub that answers the calls from a JSON file (accounts, repositories, pushes,
tarballs), records every call, and answers "API rate limit exceeded" after a set number of
calls. It tests our logic (which calls, in which order, what is printed, what a rerun does),
not gh's; the real gh is what the instructor runs.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from autograder import assignment
from instructor import post_feedback
from tests.conftest import REPO
from tests.outcomes import speed_points

ORG = "course-org"
TEMPLATE = f"{ORG}/workshop3-starter"
GRADER = "grader-bot"
WORKFLOW = REPO / "instructor" / "templates" / "grading-repo" / ".github" / "workflows" / "grade.yml"

FAKE_GH = r'''
"""A stand-in for the GitHub CLI: answers from $FAKE_GH_STATE, logs argv to $FAKE_GH_LOG."""
import io, json, os, sys, tarfile, urllib.parse

state_path, log_path = os.environ["FAKE_GH_STATE"], os.environ["FAKE_GH_LOG"]
state = json.load(open(state_path))
argv = sys.argv[1:]
stdin = sys.stdin.read() if "body=@-" in argv else None
state["calls"] = state.get("calls", 0) + 1
limit = state.get("rate_limit_after")
refused = limit is not None and state["calls"] > limit
with open(log_path, "a") as log:
    log.write(json.dumps({"argv": argv, "stdin": stdin, "refused": refused}) + "\n")


def save():
    json.dump(state, open(state_path, "w"), indent=1)


def fail(message, status):
    save()
    print(json.dumps({"message": message}))
    print(f"gh: {message} (HTTP {status})", file=sys.stderr)
    sys.exit(1)


def answer(value):
    save()
    print(json.dumps(value))
    sys.exit(0)


if state.get("bad_credentials"):
    fail("Bad credentials", 401)
if refused:
    fail(state.get("rate_limit_message", "API rate limit exceeded for user ID 1."), state.get("rate_limit_status", 403))

repos = state.setdefault("repos", {})
if argv[:2] == ["repo", "create"]:
    name = argv[2]
    if name in repos:
        save()
        print("GraphQL: Name already exists on this account (createRepository)", file=sys.stderr)
        sys.exit(1)
    template = argv[argv.index("--template") + 1]
    repos[name] = {"private": "--private" in argv, "default_branch": "main", "template": template,
                   "collaborators": {}, "activity": [], "tarballs": {}, "statuses": {}, "comments": {}}
    save()
    print(f"https://github.com/{name}")
    sys.exit(0)

assert argv[0] == "api", argv
method, endpoint, fields, jq, i = "GET", None, {}, None, 1
while i < len(argv):
    a = argv[i]
    if a == "-X":
        method, i = argv[i + 1], i + 2
    elif a in ("-f", "-F"):
        key, value = argv[i + 1].split("=", 1)
        fields[key] = stdin if value == "@-" else value
        i += 2
    elif a == "--jq":
        jq, i = argv[i + 1], i + 2
    elif a == "--paginate":
        i += 1
    else:
        endpoint, i = a, i + 1
path, _, query = endpoint.partition("?")
params = dict(urllib.parse.parse_qsl(query))
parts = path.split("/")

if parts[0] == "users":
    if parts[1] in state.get("users", []):
        answer({"login": parts[1]})
    fail("Not Found", 404)
if parts[0] != "repos":
    fail("Not Found", 404)
name = "/".join(parts[1:3])
repo = repos.get(name)
if repo is None:
    fail("Not Found", 404)
rest = parts[3:]
if not rest:
    answer({"full_name": name, "private": repo["private"], "default_branch": repo["default_branch"]})
if rest[0] == "collaborators" and method == "PUT":
    repo["collaborators"][rest[1]] = fields["permission"]
    answer({"invitee": {"login": rest[1]}, "permissions": fields["permission"]})
if rest[0] == "activity":
    ref = params.get("ref", "")
    events = sorted((e for e in repo["activity"] if ref in ("", e["ref"])), key=lambda e: e["timestamp"], reverse=True)
    assert jq is not None and "@tsv" in jq, "the tools ask for TSV"
    save()
    for e in events:
        print("\t".join([e["timestamp"], e["activity_type"], e.get("after") or ""]))
    sys.exit(0)
if rest[0] == "tarball":
    files = repo["tarballs"][rest[1]]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, text in files.items():
            info = tarfile.TarInfo(f"{name.replace('/', '-')}-{rest[1][:7]}/{member}")
            if text.startswith("symlink:"):
                info.type, info.linkname = tarfile.SYMTYPE, text.removeprefix("symlink:")
                tar.addfile(info)
            else:
                data = text.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    save()
    sys.stdout.buffer.write(buf.getvalue())
    sys.exit(0)
if rest[:1] == ["commits"] and rest[2:3] == ["statuses"]:
    save()
    for s in repo["statuses"].get(rest[1], []):
        print("\t".join([s["context"], s["creator"]["login"]]))
    sys.exit(0)
if rest[0] == "statuses" and method == "POST":
    repo["statuses"].setdefault(rest[1], []).append({**fields, "creator": {"login": state.get("viewer", "")}})
    answer({"state": fields["state"]})
if rest[:1] == ["commits"] and rest[2:3] == ["comments"] and method == "POST":
    repo["comments"].setdefault(rest[1], []).append(fields["body"])
    answer({"body": fields["body"]})
fail("Not Found", 404)
'''


# ---------------------------------------------------------------------------------------------
class FakeGitHub:
    """The fake's state file, its call log, and running our tools with it first on PATH."""

    def __init__(self, tmp_path, state: dict):
        self.dir = tmp_path
        (tmp_path / "bin").mkdir()
        gh = tmp_path / "bin" / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
        gh.chmod(0o755)
        self.state_path, self.log_path = tmp_path / "gh-state.json", tmp_path / "gh-log.jsonl"
        self.save({"viewer": GRADER, **state})

    def save(self, state: dict) -> None:
        self.state_path.write_text(json.dumps(state, indent=1))

    @property
    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def update(self, **changes) -> None:
        self.save({**self.state, **changes})

    def calls(self, *, answered_only: bool = False) -> list[list[str]]:
        """Every call's argv, in order; ``answered_only``: without those refused by the rate limit."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines()]
        return [e["argv"] for e in entries if not (answered_only and e["refused"])]

    def clear_log(self) -> None:
        self.log_path.unlink(missing_ok=True)

    def run(self, module: str, *args: str, gh: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{self.dir / 'bin'}{os.pathsep}{os.environ['PATH']}",
               "FAKE_GH_STATE": str(self.state_path), "FAKE_GH_LOG": str(self.log_path)}
        env.pop("GH", None)
        if gh is not None:
            env["GH"] = gh  # which gh the tools run (instructor/classroom.py reads $GH)
        return subprocess.run([sys.executable, "-m", module, *args], cwd=self.dir, env=env, capture_output=True,
                              text=True, timeout=120)


def _roster(tmp_path, rows: list[tuple[str, str]], header=("student", "github")):
    path = tmp_path / "roster.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _csv(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _writes(calls: list[list[str]]) -> list[list[str]]:
    """The calls that change something on GitHub."""
    return [c for c in calls if c[:2] == ["repo", "create"] or (c[0] == "api" and "-X" in c)]


ROSTER = [("alice", "alice-gh"), ("bob", "bob-gh"), ("ghost", "nobody-here"), ("carol", "carol-gh")]
USERS = ["alice-gh", "bob-gh", "carol-gh"]


def _create_args(out="repos.csv", *extra):
    return ("create", "--roster", "roster.csv", "--org", ORG, "--template", TEMPLATE,
            "--prefix", "workshop3-", "--out", out, *extra)


def _existing_repo(private=True) -> dict:
    return {"private": private, "default_branch": "main", "collaborators": {}, "activity": [], "tarballs": {},
            "statuses": {}, "comments": {}}


# ---------------------------------------------------------------------------------------------
# create
def test_create_dry_run_prints_every_call_reads_and_sends_nothing(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS, "repos": {f"{ORG}/workshop3-carol-gh": _existing_repo()}})
    _roster(tmp_path, ROSTER)
    proc = fake.run("instructor.classroom", *_create_args("repos.csv", "--dry-run"))
    assert proc.returncode == 0, proc.stderr
    printed = [ln for ln in proc.stdout.splitlines() if ln.startswith("$ gh ")]
    assert printed == [
        "$ gh api users/alice-gh",
        f"$ gh api repos/{ORG}/workshop3-alice-gh",
        f"$ gh repo create {ORG}/workshop3-alice-gh --private --template {TEMPLATE} "
        "--description 'workshop3 for alice-gh'    # dry run: not sent",
        f"$ gh api -X PUT repos/{ORG}/workshop3-alice-gh/collaborators/alice-gh -f permission=push"
        "    # dry run: not sent",
        "$ gh api users/bob-gh",
        f"$ gh api repos/{ORG}/workshop3-bob-gh",
        f"$ gh repo create {ORG}/workshop3-bob-gh --private --template {TEMPLATE} "
        "--description 'workshop3 for bob-gh'    # dry run: not sent",
        f"$ gh api -X PUT repos/{ORG}/workshop3-bob-gh/collaborators/bob-gh -f permission=push"
        "    # dry run: not sent",
        "$ gh api users/nobody-here",
        "$ gh api users/carol-gh",
        f"$ gh api repos/{ORG}/workshop3-carol-gh",
        f"$ gh api -X PUT repos/{ORG}/workshop3-carol-gh/collaborators/carol-gh -f permission=push"
        "    # dry run: not sent",
    ]
    assert "ghost: no GitHub account 'nobody-here'; fix the roster's github column and rerun" in proc.stdout
    assert f"carol: {ORG}/workshop3-carol-gh already exists (private): reused, not created again" in proc.stdout
    assert _writes(fake.calls()) == [], "a dry run sent a call that changes something"
    assert not (tmp_path / "repos.csv").exists()
    assert sorted(fake.state["repos"]) == [f"{ORG}/workshop3-carol-gh"]


@pytest.mark.parametrize("limit", [1, 3, 9], ids=["second-call", "between-create-and-invite", "fourth-student"])
def test_a_rate_limit_stops_with_one_line_and_a_rerun_continues_where_it_stopped(tmp_path, limit):
    fake = FakeGitHub(tmp_path, {"users": USERS, "rate_limit_after": limit})
    _roster(tmp_path, ROSTER)
    stopped = fake.run("instructor.classroom", *_create_args())
    assert stopped.returncode == 75, stopped.stdout + stopped.stderr
    assert len(stopped.stderr.strip().splitlines()) == 1, stopped.stderr
    assert "rate limit" in stopped.stderr and "rerun the same command" in stopped.stderr
    assert len(fake.calls()) == limit + 1, "it went on calling after the rate limit"

    fake.update(rate_limit_after=None, calls=0)
    rerun = fake.run("instructor.classroom", *_create_args())
    assert rerun.returncode == 0, rerun.stderr
    writes = _writes(fake.calls(answered_only=True))
    created = [c[2] for c in writes if c[:2] == ["repo", "create"]]
    invited = [c[3] for c in writes if c[:3] == ["api", "-X", "PUT"]]
    assert sorted(created) == sorted(set(created)) and sorted(set(created)) == [
        f"{ORG}/workshop3-{u}" for u in USERS], f"each repository created once: {created}"
    assert sorted(invited) == [f"repos/{ORG}/workshop3-{u}/collaborators/{u}" for u in USERS]
    state = fake.state["repos"]
    assert all(state[f"{ORG}/workshop3-{u}"]["private"] for u in USERS)
    assert all(state[f"{ORG}/workshop3-{u}"]["collaborators"] == {u: "push"} for u in USERS)
    assert all(state[f"{ORG}/workshop3-{u}"]["template"] == TEMPLATE for u in USERS)

    rows = {r["student"]: r for r in _csv(tmp_path / "repos.csv")}
    assert [r["student"] for r in _csv(tmp_path / "repos.csv")] == [s for s, _ in ROSTER]
    assert {s: r["status"] for s, r in rows.items()} == {
        "alice": "invited", "bob": "invited", "ghost": "no-account", "carol": "invited"}
    assert rows["alice"]["url"] == f"https://github.com/{ORG}/workshop3-alice-gh"

    # done is done: a third run sends nothing that changes anything
    fake.clear_log()
    third = fake.run("instructor.classroom", *_create_args())
    assert third.returncode == 0 and _writes(fake.calls()) == [], fake.calls()


def test_a_repository_created_before_the_invite_failed_is_only_invited_on_the_rerun(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS})
    _roster(tmp_path, ROSTER[:1])
    fake.update(rate_limit_after=3)  # users/, repos/ (404), repo create; the invite is refused
    assert fake.run("instructor.classroom", *_create_args()).returncode == 75
    assert _csv(tmp_path / "repos.csv")[0]["status"] == "created"
    fake.update(rate_limit_after=None, calls=0)
    fake.clear_log()
    assert fake.run("instructor.classroom", *_create_args()).returncode == 0
    assert fake.calls() == [["api", "-X", "PUT", f"repos/{ORG}/workshop3-alice-gh/collaborators/alice-gh",
                             "-f", "permission=push"]]


def test_a_public_repository_of_that_name_is_not_reused(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS, "repos": {f"{ORG}/workshop3-bob-gh": _existing_repo(private=False)}})
    _roster(tmp_path, ROSTER[1:2])
    proc = fake.run("instructor.classroom", *_create_args())
    assert proc.returncode == 0
    assert "already exists and is public" in proc.stdout
    assert _writes(fake.calls()) == [] and _csv(tmp_path / "repos.csv")[0]["status"] == "public-exists"


def test_gh_missing_or_logged_out_stops_at_once_with_one_line(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS, "bad_credentials": True})
    _roster(tmp_path, ROSTER)
    refused = fake.run("instructor.classroom", *_create_args())
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "token is refused (Bad credentials (HTTP 401))" in refused.stderr and len(fake.calls()) == 1
    missing = fake.run("instructor.classroom", *_create_args(), gh=str(tmp_path / "no-such-gh"))
    assert missing.returncode == 2 and "not found; install the GitHub CLI" in missing.stderr, missing.stderr


@pytest.mark.parametrize("rows,header,expected", [
    ([("a", "alice-gh")], ("student", "email"), "no 'github' column"),
    ([("a", "not a login!")], ("student", "github"), "roster.csv:2: 'not a login!' is not a GitHub account"),
    ([("a", "alice-gh"), ("b", "Alice-GH")], ("student", "github"), "roster.csv:3: account alice-gh is already on line 2"),
    ([("../x", "alice-gh")], ("student", "github"), "cannot be a folder name"),
], ids=["no-github-column", "bad-login", "duplicate", "student-id-path"])
def test_a_bad_roster_is_one_line_and_exit_2(tmp_path, rows, header, expected):
    fake = FakeGitHub(tmp_path, {"users": USERS})
    _roster(tmp_path, rows, header)
    proc = fake.run("instructor.classroom", *_create_args())
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert expected in proc.stderr
    assert fake.calls() == [] and not (tmp_path / "repos.csv").exists()


def test_classroom_exports_roster_columns_are_read(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS})
    _roster(tmp_path, [("Alice Example", "alice-gh"), ("unlinked", "")], ("identifier", "github_username"))
    proc = fake.run("instructor.classroom", *_create_args("repos.csv", "--dry-run"))
    # "Alice Example" cannot be a folder name: the tool says so instead of guessing
    assert proc.returncode == 2 and "'Alice Example' cannot be a folder name" in proc.stderr
    _roster(tmp_path, [("alice", "alice-gh"), ("unlinked", "")], ("identifier", "github_username"))
    proc = fake.run("instructor.classroom", *_create_args("repos.csv", "--dry-run"))
    assert proc.returncode == 0 and "users/alice-gh" in proc.stdout and "unlinked" not in proc.stdout


# ---------------------------------------------------------------------------------------------
# collect
def _notebook(tag: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": f"# {tag}", "metadata": {}, "outputs": [],
                                  "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _collect_world() -> dict:
    """alice pushed before and after the deadline (the later commit backdated: its date is hers to
    choose, the push time is GitHub's); bob never pushed; carol's tarball has a missing notebook,
    a symlink and a path that climbs out, under the names of notebooks."""
    every = {f"{stem}.ipynb": _notebook(f"alice {stem} v1") for stem in assignment.STEMS}
    alice = {**_existing_repo(), "activity": [
        {"timestamp": "2026-12-14T10:00:00Z", "activity_type": "push", "after": "a1" * 20, "ref": "refs/heads/main"},
        {"timestamp": "2026-12-16T09:00:00Z", "activity_type": "push", "after": "a2" * 20, "ref": "refs/heads/main"},
        {"timestamp": "2026-12-15T12:00:00Z", "activity_type": "push", "after": "ff" * 20, "ref": "refs/heads/other"},
    ], "tarballs": {"a1" * 20: {**every, "README.md": "hi", "notes/01_jax_intro.ipynb": _notebook("deeper copy")},
                    "a2" * 20: {f"{s}.ipynb": _notebook(f"alice {s} LATE") for s in assignment.STEMS}}}
    carol = {**_existing_repo(), "activity": [
        {"timestamp": "2026-12-15T23:58:59Z", "activity_type": "push", "after": "c1" * 20, "ref": "refs/heads/main"}],
        "tarballs": {"c1" * 20: {"workshop3/01_jax_intro.ipynb": _notebook("carol 01"),
                                 "02_jax_jit.ipynb": "symlink:/etc/passwd",
                                 "../../03_jax_grad.ipynb": _notebook("carol climbs")}}}
    return {"users": USERS, "repos": {f"{ORG}/workshop3-alice-gh": alice, f"{ORG}/workshop3-bob-gh": _existing_repo(),
                                      f"{ORG}/workshop3-carol-gh": carol}}


def _repos_csv(tmp_path) -> None:
    rows = [{"student": s, "github": g, "repo": f"{ORG}/workshop3-{g}", "url": "", "status": "invited", "message": ""}
            for s, g in ROSTER if g in USERS]
    rows.insert(2, {"student": "ghost", "github": "nobody-here", "repo": "", "url": "", "status": "no-account",
                    "message": ""})
    with open(tmp_path / "repos.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


DEADLINE = ("--deadline", "2026-12-15T23:59:00Z")


def test_collect_takes_what_was_pushed_by_the_deadline_into_nbgraders_layout(tmp_path):
    fake = FakeGitHub(tmp_path, _collect_world())
    _repos_csv(tmp_path)
    course = tmp_path / "course"

    dry = fake.run("instructor.classroom", "collect", "--repos", "repos.csv", *DEADLINE, "--course", "course",
                   "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"$ gh api repos/{ORG}/workshop3-alice-gh/tarball/{'a1' * 20}    # dry run: not sent" in dry.stdout
    assert f"alice: would collect {ORG}/workshop3-alice-gh@{'a1' * 6} (pushed 2026-12-14T10:00:00Z)" in dry.stdout
    assert not course.exists(), "a dry run wrote files"
    assert not any("tarball" in " ".join(c) for c in fake.calls())

    fake.clear_log()
    proc = fake.run("instructor.classroom", "collect", "--repos", "repos.csv", *DEADLINE, "--course", "course")
    assert proc.returncode == 0, proc.stderr
    alice = course / "submitted" / "alice" / "workshop3"
    assert sorted(p.name for p in alice.glob("*.ipynb")) == sorted(f"{s}.ipynb" for s in assignment.STEMS)
    for stem in assignment.STEMS:
        assert f"alice {stem} v1" in (alice / f"{stem}.ipynb").read_text(), "not the push before the deadline"
    assert (alice / "timestamp.txt").read_text().strip() == "2026-12-14 10:00:00 UTC"
    assert "bob: nothing pushed to" in proc.stdout and "by 2026-12-15T23:59:00Z" in proc.stdout
    assert "ghost: no repository (no-account): nothing to collect" in proc.stdout
    carol = course / "submitted" / "carol" / "workshop3"
    assert sorted(p.name for p in carol.iterdir()) == ["01_jax_intro.ipynb", "03_jax_grad.ipynb", "timestamp.txt"]
    assert "carol climbs" in (carol / "03_jax_grad.ipynb").read_text()  # its name, never its path
    assert not (tmp_path / "03_jax_grad.ipynb").exists() and not any(p.is_symlink() for p in carol.iterdir())
    assert "carol: " in proc.stdout and "has no 02_jax_jit.ipynb" in proc.stdout

    rows = {r["student"]: r for r in _csv(course / "collected.csv")}
    assert {s: r["status"] for s, r in rows.items()} == {"alice": "collected", "bob": "no-push", "carol": "collected"}
    assert rows["alice"]["sha"] == "a1" * 20 and rows["carol"]["notebooks"] == "01_jax_intro;03_jax_grad"

    # a rerun downloads nothing again
    fake.clear_log()
    again = fake.run("instructor.classroom", "collect", "--repos", "repos.csv", *DEADLINE, "--course", "course")
    assert again.returncode == 0 and not any("tarball" in " ".join(c) for c in fake.calls())
    assert "2 collected before" in again.stdout


def test_collect_latest_skips_commits_the_grader_graded_but_not_a_status_the_student_set(tmp_path):
    world = _collect_world()
    alice = world["repos"][f"{ORG}/workshop3-alice-gh"]
    carol = world["repos"][f"{ORG}/workshop3-carol-gh"]
    alice["statuses"] = {"a2" * 20: [{"context": "workshop3/grade", "creator": {"login": GRADER}}]}
    carol["statuses"] = {"c1" * 20: [{"context": "workshop3/grade", "creator": {"login": "carol-gh"}}]}
    fake = FakeGitHub(tmp_path, world)
    _repos_csv(tmp_path)
    proc = fake.run("instructor.classroom", "collect", "--repos", "repos.csv", "--latest", "--course", "course",
                    "--skip-graded", "workshop3/grade", "--grader", GRADER)
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in _csv(tmp_path / "course" / "collected.csv")}
    assert rows["alice"]["status"] == "graded-before" and rows["alice"]["sha"] == "a2" * 20
    assert rows["carol"]["status"] == "collected", "a status the student set must not stop grading"
    assert not (tmp_path / "course" / "submitted" / "alice").exists()

    # carol pushes again: the next run takes the new commit, and only hers
    state = fake.state
    repo = state["repos"][f"{ORG}/workshop3-carol-gh"]
    repo["activity"].append({"timestamp": "2026-12-17T08:00:00Z", "activity_type": "push", "after": "c2" * 20,
                             "ref": "refs/heads/main"})
    repo["tarballs"]["c2" * 20] = {"01_jax_intro.ipynb": _notebook("carol 01 again")}
    fake.save(state)
    fake.clear_log()
    again = fake.run("instructor.classroom", "collect", "--repos", "repos.csv", "--latest", "--course", "course",
                     "--skip-graded", "workshop3/grade", "--grader", GRADER)
    assert again.returncode == 0, again.stderr
    assert [c[1] for c in fake.calls() if "tarball" in " ".join(c)] == [f"repos/{ORG}/workshop3-carol-gh/tarball/{'c2' * 20}"]
    carol_dir = tmp_path / "course" / "submitted" / "carol" / "workshop3"
    assert "carol 01 again" in (carol_dir / "01_jax_intro.ipynb").read_text()
    assert not (carol_dir / "03_jax_grad.ipynb").exists(), "a notebook gone from the new commit stays gone"


# ---------------------------------------------------------------------------------------------
# feedback
def _result(student: str, stem: str, *, fail: dict[str, str] = (), skip_speed: bool = True) -> dict:
    tests = []
    for t in assignment.part(stem).tests:
        if t.speed and skip_speed:
            tests.append({"name": t.name, "exercise": t.exercise, "score": 0.0, "max_score": 0.0,
                          "status": "skipped", "output": "speed test: needs a GPU"})
        elif t.name in fail:
            tests.append({"name": t.name, "exercise": t.exercise, "score": 0.0, "max_score": float(t.points),
                          "status": "failed", "output": fail[t.name]})
        else:
            tests.append({"name": t.name, "exercise": t.exercise, "score": float(t.points),
                          "max_score": float(t.points), "status": "passed", "output": ""})
    return {"notebook": f"course/submitted/{student}/workshop3/{stem}.ipynb",
            "score": sum(x["score"] for x in tests), "max_score": sum(x["max_score"] for x in tests), "tests": tests}


HOSTILE = "boundary changed: ``` @instructor see [here](http://example.invalid) ```"


def _feedback_inputs(tmp_path) -> None:
    results = [_result("alice", "01_jax_intro"), _result("alice", "05_heat_equation_jax"),
               _result("carol", "05_heat_equation_jax", fail={"heat_step_keeps_boundary": HOSTILE})]
    (tmp_path / "shard-1.json").write_text(json.dumps(results[:1]))
    (tmp_path / "shard-2.json").write_text(json.dumps(results[1:]))
    rows = [
        {"student": "alice", "github": "alice-gh", "repo": f"{ORG}/workshop3-alice-gh", "deadline": "latest",
         "sha": "a1" * 20, "pushed_at": "2026-12-14T10:00:00Z", "notebooks": "01_jax_intro;05_heat_equation_jax",
         "status": "collected", "message": ""},
        {"student": "bob", "github": "bob-gh", "repo": f"{ORG}/workshop3-bob-gh", "deadline": "latest",
         "sha": "", "pushed_at": "", "notebooks": "", "status": "no-push", "message": ""},
        {"student": "carol", "github": "carol-gh", "repo": f"{ORG}/workshop3-carol-gh", "deadline": "latest",
         "sha": "c1" * 20, "pushed_at": "2026-12-15T23:58:59Z", "notebooks": "01_jax_intro;05_heat_equation_jax",
         "status": "collected", "message": ""},
    ]
    (tmp_path / "course").mkdir(exist_ok=True)
    with open(tmp_path / "course" / "collected.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_feedback_says_points_per_exercise_what_to_fix_and_that_speed_was_not_run():
    stems = ("01_jax_intro", "05_heat_equation_jax")
    row = {"sha": "c1" * 20, "pushed_at": "2026-12-15T23:58:59Z", "notebooks": ";".join(stems)}
    carol = {"05_heat_equation_jax": _result("carol", "05_heat_equation_jax",
                                             fail={"heat_step_keeps_boundary": HOSTILE})}
    state, description, body = post_feedback.feedback(row, carol, stems)
    part = assignment.part("05_heat_equation_jax")
    speed = speed_points("05_heat_equation_jax")
    keeps = assignment.test("heat_step_keeps_boundary").points
    assert state == "error", "01 was collected but has no result: the grader broke on it"
    assert description.startswith(f"Points {part.points - speed - keeps:g}/{part.points - speed:g}")
    assert f"speed ({speed:g} pts) not run: no GPU" in description and len(description) <= 140
    heat_step = sum(t.points for t in part.tests if t.exercise == "heat_step")
    assert f"| 05_heat_equation_jax | `heat_step` | {heat_step - keeps:g}/{heat_step:g} |" in body
    assert "**Speed tests not run**" in body
    assert "`01_jax_intro.ipynb`: the grader failed on this notebook" in body
    # the student's text is fenced by a longer fence: it cannot close it and mention or link anyone
    fence = "````text"
    assert f"{fence}\n{HOSTILE}\n````" in body
    assert body.count("@instructor") == 1 and "`heat_step`: heat_step_keeps_boundary (2 pts, failed)" in body

    alice = {s: _result("alice", s, skip_speed=False) for s in stems}
    assert post_feedback.feedback(row, alice, stems)[:2] == (
        "success", f"Points {sum(assignment.part(s).points for s in stems):g}/"
                   f"{sum(assignment.part(s).points for s in stems):g}")
    missing = post_feedback.feedback({**row, "notebooks": "05_heat_equation_jax"},
                                     {"05_heat_equation_jax": alice["05_heat_equation_jax"]}, stems)
    assert missing[0] == "failure" and "`01_jax_intro.ipynb`: not found in your repository" in missing[2]


def test_post_feedback_dry_run_prints_the_calls_and_a_rerun_posts_each_commit_once(tmp_path):
    fake = FakeGitHub(tmp_path, {"users": USERS, "repos": {f"{ORG}/workshop3-alice-gh": _existing_repo(),
                                                           f"{ORG}/workshop3-carol-gh": _existing_repo()}})
    _feedback_inputs(tmp_path)
    args = ("--results", "shard-1.json", "shard-2.json", "--collected", "course/collected.csv",
            "--stems", "01_jax_intro", "05_heat_equation_jax")
    dry = fake.run("instructor.post_feedback", *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    printed = [ln for ln in dry.stdout.splitlines() if ln.startswith("$ gh ")]
    alice_points = sum(t.points for s in ("01_jax_intro", "05_heat_equation_jax")
                       for t in assignment.part(s).tests if not t.speed)
    assert printed == [
        f"$ gh api -X POST repos/{ORG}/workshop3-alice-gh/statuses/{'a1' * 20} -f state=success "
        f"-f context=workshop3/grade -f 'description=Points {alice_points:g}/{alice_points:g}; speed (4 pts) "
        "not run: no GPU'    # dry run: not sent",
        f"$ gh api -X POST repos/{ORG}/workshop3-alice-gh/commits/{'a1' * 20}/comments -F body=@-"
        "    # dry run: not sent",
        f"$ gh api -X POST repos/{ORG}/workshop3-carol-gh/statuses/{'c1' * 20} -f state=error "
        f"-f context=workshop3/grade -f 'description=Points 14/16; grader failed on 1; speed (4 pts) not run: "
        "no GPU'    # dry run: not sent",
        f"$ gh api -X POST repos/{ORG}/workshop3-carol-gh/commits/{'c1' * 20}/comments -F body=@-"
        "    # dry run: not sent",
    ]
    assert f"    | ## workshop3 autograder: {alice_points:g}/{alice_points:g} points" in dry.stdout
    assert fake.calls() == [] and not (tmp_path / "course" / "posted.csv").exists()

    fake.update(rate_limit_after=2)  # alice's status and comment, then the limit
    stopped = fake.run("instructor.post_feedback", *args)
    assert stopped.returncode == 75 and "rate limit" in stopped.stderr, stopped.stderr
    fake.update(rate_limit_after=None, calls=0)
    assert fake.run("instructor.post_feedback", *args).returncode == 0
    repos = fake.state["repos"]
    for student, sha in (("alice", "a1" * 20), ("carol", "c1" * 20)):
        repo = repos[f"{ORG}/workshop3-{student}-gh"]
        assert [s["creator"]["login"] for s in repo["statuses"][sha]] == [GRADER], f"{student}: one status"
        assert len(repo["comments"][sha]) == 1, f"{student}: one comment"
    assert "| 05_heat_equation_jax | `heat_step` |" in repos[f"{ORG}/workshop3-carol-gh"]["comments"]["c1" * 20][0]
    assert [r["state"] for r in _csv(tmp_path / "course" / "posted.csv")] == ["success", "error"]


# ---------------------------------------------------------------------------------------------
# the grading workflow template
def test_the_grading_workflow_template_passes_actionlint():
    from tests.workflow_lint import lint

    assert lint(WORKFLOW) == []


def test_the_grading_workflow_uses_the_tools_with_the_isolation_the_matrix_and_the_gpu_variable():
    text = WORKFLOW.read_text()
    for needed in ("-m instructor.classroom collect", "--latest", "--skip-graded",
                   "-m autograder grade", "--isolation namespaces", '--shard "$INDEX/$TOTAL"',
                   '--compile-cache "$CACHE"', "actions/cache@",
                   "strategy.job-total", "-m autograder merge", "-m instructor.post_feedback",
                   "vars.GPU_RUNNER_LABEL", "secrets.GRADER_TOKEN", "schedule:", "workflow_dispatch:"):
        assert needed in text, f"grade.yml lacks {needed!r}"
    # nothing a student controls reaches a shell: no PR triggers, no event payload interpolated
    assert "pull_request" not in text and "github.event." not in text
    assert (WORKFLOW.parents[2] / "README.md").exists()
