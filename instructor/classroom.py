"""Provisioning and collection without GitHub Classroom, through the GitHub CLI (``gh``).

    python -m instructor.classroom create --roster roster.csv --org ORG --template ORG/starter \\
        --prefix workshop3- --out repos.csv [--dry-run]
    python -m instructor.classroom collect --repos repos.csv --deadline 2026-12-15T23:59:00Z \\
        --course DIR [--out FILE] [--dry-run]
    python -m instructor.classroom collect --repos repos.csv --latest --course DIR \\
        --skip-graded workshop3/grade --grader LOGIN          # the grading workflow's way

``create`` makes one private repository per student from the starter template and invites the
student with push access. The roster is a CSV with a ``github`` column (the student's GitHub
account) and optionally ``student`` (the nbgrader student id; default: the account name in
lower case); GitHub Classroom's ``identifier``/``github_username`` columns are read too. The
repository is ``ORG/<prefix><account>``. ``repos.csv`` gets a row per student (``student, github,
repo, url, status, message``), written after every step, so a rerun skips what is done
(status ``invited``) and finishes what is half done (``created``: invite still to send).

````collect`` copies every student's notebooks as they were **pushed** at the deadline into
nbgrader's layout, ``DIR/submitted/<student>/workshop3/<stem>.ipynb`` (plus nbgrader's
``timestamp.txt``: the push time), and records what it took in ``DIR/collected.csv``
(``student, github, repo, deadline, sha, pushed_at, notebooks, status, message``); a rerun
downloads nothing for a student whose commit for that deadline was collected before. The commit
is chosen by push time, from the repository's activity (``gh api repos/O/N/activity``), not by
commit date: a commit's date is whatever the student's clock or ``git commit --date`` said, so
``commits?until=DEADLINE`` would accept a commit made after the deadline and backdated. The
files come from ``gh api repos/O/N/tarball/SHA``; only ``<stem>.ipynb`` files of the assignment
are taken from it, written as new files (never a link, never outside ``DIR/submitted``).

Every call goes through one function (``Gh.__call__``), which prints it. With ``--dry-run``
calls that only read run as usual (so the plan shows which accounts and repositories exist);
calls that change something on GitHub or write files are printed and not sent.

A missing student account, a repository that already exists and a repository without a push
before the deadline each get one line, and the run goes on with the next student. GitHub's
rate limit (gh's "API rate limit exceeded", HTTP 403/429) stops the run with one line and exit
status 75 (try again later); ``gh`` missing or not logged in stops it with exit status 2. Rerun
the same command: it continues where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.assignment import ASSIGNMENT_ID, STEMS  # the table only: no JAX, so provisioning stays light

EXIT_USAGE, EXIT_RATE_LIMITED = 2, 75  # 75: EX_TEMPFAIL, "try again later"
REPO_COLUMNS = ("student", "github", "repo", "url", "status", "message")
COLLECT_COLUMNS = ("student", "github", "repo", "deadline", "sha", "pushed_at", "notebooks", "status", "message")
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a folder name under submitted/
NOTEBOOK_LIMIT = 16 << 20  # bytes; a notebook without outputs is tens of kB
# activity types after which the branch points at "after" (branch_deletion leaves nothing)
MOVES_BRANCH = {"push", "force_push", "branch_creation", "pr_merge", "merge_queue_merge"}


class Stop(Exception):
    """The run cannot go on (rate limit, gh missing or logged out); ``code`` is the exit status."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def exit_status(prog: str, run) -> int:
    """``run()``'s exit status, with the two ways a command of ours ends early: a ValueError is
    bad input (one line, exit 2, nothing sent), a Stop ends the run (one line, its own code)."""
    try:
        return run()
    except ValueError as bad:
        print(f"{prog}: error: {bad}", file=sys.stderr)
        return EXIT_USAGE
    except Stop as stop:
        print(f"{prog}: stopped: {stop}", file=sys.stderr)
        return stop.code


class GhError(RuntimeError):
    """One gh call failed; ``status`` is the HTTP status gh reported (0 when it named none)."""

    def __init__(self, call: str, stderr: str):
        self.call, self.stderr = call, stderr.strip()
        found = re.findall(r"HTTP (\d{3})", self.stderr)
        self.status = int(found[-1]) if found else 0
        lines = self.stderr.splitlines()
        super().__init__(lines[-1].removeprefix("gh: ") if lines else "gh failed without a message")


def _is_rate_limit(stderr: str) -> bool:
    text = stderr.lower()
    return "rate limit" in text or "http 429" in text


# ---------------------------------------------------------------------------------------------
# the one way to GitHub
@dataclass
class Gh:
    """Runs ``gh``; prints every call; with ``dry_run`` sends only those that change nothing.

    ``executable`` is ``$GH`` when that is set (read when the Gh is made), else ``gh``."""

    dry_run: bool = False
    executable: str = field(default_factory=lambda: os.environ.get("GH", "gh"))
    out: object = field(default=sys.stdout)

    def __call__(self, *args: str, changes: bool = False, stdin: str | None = None, binary: bool = False):
        call = shlex.join([self.executable, *args])
        if self.dry_run and changes:
            print(f"$ {call}    # dry run: not sent", file=self.out, flush=True)
            if stdin is not None:  # what would be sent on standard input (a comment's body)
                print("".join(f"    | {line}\n" for line in stdin.splitlines()), end="", file=self.out, flush=True)
            return b"" if binary else ""
        print(f"$ {call}", file=self.out, flush=True)
        try:
            proc = subprocess.run([self.executable, *args], input=stdin.encode() if stdin is not None else None,
                                  capture_output=True, timeout=300)
        except FileNotFoundError:
            raise Stop(f"{self.executable}: not found; install the GitHub CLI (https://cli.github.com) "
                       "and run `gh auth login`", EXIT_USAGE) from None
        stderr = proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            if _is_rate_limit(stderr):
                raise Stop(f"GitHub API rate limit reached at `{call}` ({stderr.strip().splitlines()[-1]}); "
                           "wait for the reset (`gh api rate_limit`) and rerun the same command: "
                           "it continues where it stopped", EXIT_RATE_LIMITED)
            error = GhError(call, stderr)
            if proc.returncode == 4 or "gh auth login" in stderr or error.status == 401:
                raise Stop(f"gh is not logged in or its token is refused ({error}): run `gh auth login` "
                           "(or set GH_TOKEN) with the repo and admin:org scopes, then rerun", EXIT_USAGE)
            raise error
        return proc.stdout if binary else proc.stdout.decode(errors="replace")

    def json(self, *args: str):
        text = self(*args)
        return json.loads(text) if text.strip() else None


def _not_found(error: GhError) -> bool:
    return error.status == 404


# ---------------------------------------------------------------------------------------------
# CSV state: written whole after every change, through a temporary file, so a stop loses nothing
def read_rows(path: Path, columns: tuple[str, ...]) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not a file this tool wrote (no column {missing[0]}); "
                             "pass the CSV that `create` wrote, or another --out")
        return [dict(row) for row in reader]


def write_rows(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", dir=path.parent,
                                     prefix=f".{path.name}.", delete=False) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(fh.name, path)


# ---------------------------------------------------------------------------------------------
# create
@dataclass(frozen=True)
class Student:
    student: str  # nbgrader's id: a folder name
    github: str  # the GitHub account


def read_roster(path: Path) -> list[Student]:
    """The roster's students; ValueError (one line naming the row and the fix) on bad rows."""
    if not path.is_file():
        raise ValueError(f"{path}: no such roster; pass a CSV with a 'github' column (and optionally 'student')")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        names = {n.strip().lower(): n for n in reader.fieldnames or []}
        gh_col = names.get("github") or names.get("github_username")
        id_col = names.get("student") or names.get("identifier")
        if gh_col is None:
            raise ValueError(f"{path}: no 'github' column (the students' GitHub accounts); "
                             f"its columns are {', '.join(reader.fieldnames or []) or 'none'}")
        students, seen = [], {}
        for line, row in enumerate(reader, start=2):
            login = (row.get(gh_col) or "").strip().lstrip("@")
            if not login:
                continue  # GitHub Classroom rosters list students who never linked an account
            if not GITHUB_LOGIN.match(login):
                raise ValueError(f"{path}:{line}: {login!r} is not a GitHub account name "
                                 "(letters, digits and single hyphens, at most 39)")
            sid = (row.get(id_col) or "").strip() if id_col else ""
            sid = sid or login.lower()
            if not STUDENT_ID.match(sid):
                raise ValueError(f"{path}:{line}: student id {sid!r} cannot be a folder name; "
                                 "use letters, digits, '_', '.', '-'")
            for key, what in ((login.lower(), "account"), (sid, "student id")):
                if (what, key) in seen:
                    raise ValueError(f"{path}:{line}: {what} {key} is already on line {seen[(what, key)]}")
                seen[(what, key)] = line
            students.append(Student(sid, login))
    if not students:
        raise ValueError(f"{path}: no student with a GitHub account in it")
    return students


def _say(message: str) -> None:
    print(message, flush=True)


def create(gh: Gh, roster: list[Student], org: str, template: str, prefix: str, out: Path) -> int:
    """One private repository per student, the student invited; ``out`` holds the state."""
    rows = {r["student"]: r for r in read_rows(out, REPO_COLUMNS)}
    order = [s.student for s in roster] + [sid for sid in rows if sid not in {s.student for s in roster}]
    counts = {"invited": 0, "skipped": 0}

    def save(student: Student, **fields) -> None:
        rows[student.student] = {**rows.get(student.student, {}), "student": student.student,
                                 "github": student.github, **fields}
        if not gh.dry_run:
            write_rows(out, REPO_COLUMNS, [rows[sid] for sid in order if sid in rows])

    for s in roster:
        repo = f"{org}/{prefix}{s.github}"
        url = f"https://github.com/{repo}"
        done = rows.get(s.student, {})
        if done and done.get("repo") and done["repo"] != repo:
            raise ValueError(f"{out}: {s.student} has {done['repo']} there, not {repo}; rerun with the same "
                             "--org and --prefix, or write to another --out")
        if done.get("status") == "invited":
            counts["skipped"] += 1
            continue
        status = done.get("status")
        try:
            if status != "created":
                try:
                    gh("api", f"users/{s.github}")
                except GhError as err:
                    if not _not_found(err):
                        raise
                    _say(f"{s.student}: no GitHub account {s.github!r}; fix the roster's github column and rerun")
                    save(s, repo="", url="", status="no-account", message=f"no GitHub account {s.github}")
                    continue
                try:
                    existing = gh.json("api", f"repos/{repo}")
                except GhError as err:
                    if not _not_found(err):
                        raise
                    existing = None
                if existing is not None:
                    if not existing.get("private", False):
                        _say(f"{s.student}: {repo} already exists and is public, so classmates could read it; "
                             "make it private (or delete it) and rerun")
                        save(s, repo=repo, url=url, status="public-exists", message="exists and is public")
                        continue
                    _say(f"{s.student}: {repo} already exists (private): reused, not created again")
                else:
                    gh("repo", "create", repo, "--private", "--template", template,
                       "--description", f"{ASSIGNMENT_ID} for {s.github}", changes=True)
                save(s, repo=repo, url=url, status="created", message="")
            gh("api", "-X", "PUT", f"repos/{repo}/collaborators/{s.github}", "-f", "permission=push", changes=True)
            save(s, repo=repo, url=url, status="invited", message="")
            counts["invited"] += 1
        except GhError as err:
            _say(f"{s.student}: `{err.call}` failed: {err}; rerun to try again")
            save(s, repo=done.get("repo") or repo, url=url, status=status or "error", message=str(err))
    prefix_line = "dry run: nothing changed; " if gh.dry_run else ""
    _say(f"{prefix_line}{counts['invited']} invited now, {counts['skipped']} done before, "
         f"{len(roster) - counts['invited'] - counts['skipped']} need attention (see {out})")
    return 0


# ---------------------------------------------------------------------------------------------
# collect
def parse_deadline(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone (``2026-12-15T23:59:00Z``), as an aware datetime."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time, e.g. 2026-12-15T23:59:00Z") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z (UTC) or an offset like +01:00")
    return when


def pushed_at_deadline(gh: Gh, repo: str, branch: str, deadline: dt.datetime | None) -> tuple[str, str] | None:
    """(sha, push time) of ``branch`` as GitHub had it at ``deadline`` (None: the latest); None if nothing."""
    lines = gh("api", "--paginate", f"repos/{repo}/activity?ref=refs/heads/{branch}&direction=desc&per_page=100",
               "--jq", '.[] | [.timestamp, .activity_type, (.after // "")] | @tsv')
    events = []
    for line in lines.splitlines():
        parts = line.split("\t")
        try:
            events.append((parse_deadline(parts[0]), parts[1], parts[2]))
        except (argparse.ArgumentTypeError, IndexError):
            continue  # not an activity line (gh prints nothing else here; be safe)
    for when, kind, after in sorted(events, reverse=True):  # newest first, whatever the pages' order
        if deadline is not None and when > deadline:
            continue
        if kind in MOVES_BRANCH and after:
            return after, when.isoformat().replace("+00:00", "Z")
        return None  # the branch was deleted (or emptied) at the deadline
    return None


def graded_by(gh: Gh, repo: str, sha: str, context: str, grader: str) -> bool:
    """Whether ``grader`` already set the commit status ``context`` on ``sha``.

    Only the grader's own statuses count: a student with push access can set statuses too."""
    lines = gh("api", "--paginate", f"repos/{repo}/commits/{sha}/statuses?per_page=100",
               "--jq", '.[] | [.context, .creator.login] | @tsv')
    return any(line.split("\t") == [context, grader] for line in lines.splitlines())


def notebooks_in(tarball: bytes, stems=STEMS) -> dict[str, bytes]:
    """stem -> bytes of ``<stem>.ipynb`` from a repository tarball (shallowest path wins).

    Only regular files are read, and their names only choose which stem they are: nothing is
    extracted by the archive's own paths."""
    found: dict[str, tuple[int, bytes]] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:*") as tar:
        for member in tar:
            path = PurePosixPath(member.name)
            if not member.isfile() or path.suffix != ".ipynb" or path.stem not in stems:
                continue
            if member.size > NOTEBOOK_LIMIT:
                continue
            depth = len(path.parts)
            if path.stem not in found or depth < found[path.stem][0]:
                found[path.stem] = (depth, tar.extractfile(member).read())
    return {stem: data for stem, (_, data) in found.items()}


def collect(gh: Gh, repos: list[dict], course: Path, deadline: dt.datetime | None, out: Path,
            skip_graded: tuple[str, str] | None = None, stems=STEMS) -> int:
    """Every student's notebooks as pushed at ``deadline`` (None: the latest push) into ``course``."""
    label = deadline.isoformat().replace("+00:00", "Z") if deadline else "latest"
    rows = {r["student"]: r for r in read_rows(out, COLLECT_COLUMNS)}
    order = [r["student"] for r in repos]
    counts = {"collected": 0, "before": 0, "skipped": 0}

    def save(repo_row: dict, **fields) -> None:
        rows[repo_row["student"]] = {"student": repo_row["student"], "github": repo_row["github"],
                                     "repo": repo_row["repo"], "deadline": label, **fields}
        if not gh.dry_run:
            write_rows(out, COLLECT_COLUMNS, [rows[sid] for sid in order if sid in rows])

    for r in repos:
        done = rows.get(r["student"], {})
        if r.get("status") not in ("invited", "created") or not r.get("repo"):
            _say(f"{r['student']}: no repository ({r.get('status') or 'not created'}): nothing to collect")
            counts["skipped"] += 1
            continue
        repo = r["repo"]
        try:
            meta = gh.json("api", f"repos/{repo}")
            branch = meta["default_branch"]
            found = pushed_at_deadline(gh, repo, branch, deadline)
            if found is None:
                when = f"by {label}" if deadline else "yet"
                _say(f"{r['student']}: nothing pushed to {repo} {branch} {when}: nothing collected")
                save(r, sha="", pushed_at="", notebooks="", status="no-push", message=f"no push {when}")
                counts["skipped"] += 1
                continue
            sha, pushed = found
            if done.get("status") == "collected" and (done.get("deadline"), done.get("sha")) == (label, sha):
                counts["before"] += 1  # the same commit, taken before: nothing to download again
                continue
            if skip_graded and graded_by(gh, repo, sha, *skip_graded):
                save(r, sha=sha, pushed_at=pushed, notebooks="", status="graded-before",
                     message=f"{skip_graded[0]} already set on {sha[:12]}")
                counts["skipped"] += 1
                continue
            tarball = gh("api", f"repos/{repo}/tarball/{sha}", changes=True, binary=True)
        except GhError as err:
            _say(f"{r['student']}: `{err.call}` failed: {err}; rerun to try again")
            save(r, sha="", pushed_at="", notebooks="", status="error", message=str(err))
            continue
        if gh.dry_run:
            _say(f"{r['student']}: would collect {repo}@{sha[:12]} (pushed {pushed}) "
                 f"into {course / 'submitted' / r['student'] / ASSIGNMENT_ID}")
            counts["collected"] += 1
            continue
        try:
            notebooks = notebooks_in(tarball, stems)
        except (tarfile.TarError, gzip.BadGzipFile, EOFError) as err:
            _say(f"{r['student']}: the tarball of {repo}@{sha[:12]} is unreadable ({err}); rerun to try again")
            save(r, sha=sha, pushed_at=pushed, notebooks="", status="error", message="unreadable tarball")
            continue
        folder = course / "submitted" / r["student"] / ASSIGNMENT_ID
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.ipynb"):  # a notebook deleted since an earlier collection goes too
            if old.stem not in notebooks:
                old.unlink()
        for stem, data in notebooks.items():
            (folder / f"{stem}.ipynb").write_bytes(data)
        # nbgrader reads the submission time from here (late penalties)
        (folder / "timestamp.txt").write_text(pushed.replace("T", " ").replace("Z", " UTC") + "\n")
        missing = ", ".join(f"{s}.ipynb" for s in stems if s not in notebooks)
        message = f"missing {missing}" if missing else ""
        if missing:
            _say(f"{r['student']}: {repo}@{sha[:12]} has no {missing} (kept the names of the starter?)")
        save(r, sha=sha, pushed_at=pushed, notebooks=";".join(sorted(notebooks)), status="collected",
             message=message)
        counts["collected"] += 1
    what = "would be collected" if gh.dry_run else "collected"
    _say(f"{counts['collected']} {what}, {counts['before']} collected before, {counts['skipped']} without a "
         f"submission to take (see {out})")
    return 0


# ---------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m instructor.classroom", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="one private repository per student from the starter, student invited")
    c.add_argument("--roster", type=Path, required=True, help="CSV with a 'github' (and 'student') column")
    c.add_argument("--org", required=True, help="the organisation that owns the repositories")
    c.add_argument("--template", required=True, metavar="ORG/REPO", help="the starter: a template repository")
    c.add_argument("--prefix", default=f"{ASSIGNMENT_ID}-", help="repository name prefix (default: %(default)s)")
    c.add_argument("--out", type=Path, required=True, help="repos.csv: written and read back on a rerun")
    c.add_argument("--dry-run", action="store_true", help="print every call; send none that changes anything")
    k = sub.add_parser("collect", help="every repository at the deadline into nbgrader's submitted/")
    k.add_argument("--repos", type=Path, required=True, help="the repos.csv that create wrote")
    when = k.add_mutually_exclusive_group(required=True)
    when.add_argument("--deadline", type=parse_deadline, help="ISO 8601 with a zone, e.g. 2026-12-15T23:59:00Z")
    when.add_argument("--latest", action="store_true", help="the latest push (the grading workflow)")
    k.add_argument("--course", type=Path, required=True, help="the course root; notebooks go to submitted/")
    k.add_argument("--out", type=Path, help="what was collected (default: COURSE/collected.csv)")
    k.add_argument("--skip-graded", metavar="CONTEXT", help="skip commits that already carry this commit status")
    k.add_argument("--grader", metavar="LOGIN", help="whose statuses count for --skip-graded (the grader's account)")
    k.add_argument("--stems", nargs="+", choices=STEMS, default=list(STEMS), metavar="STEM",
                   help="the parts to collect (default: all six; e.g. those released so far)")
    k.add_argument("--dry-run", action="store_true", help="print every call; download and write nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    gh = Gh(dry_run=args.dry_run)

    def run() -> int:
        if args.command == "create":
            return create(gh, read_roster(args.roster), args.org, args.template, args.prefix, args.out)
        if bool(args.skip_graded) != bool(args.grader):
            raise ValueError("--skip-graded and --grader go together: the status context and whose it must be")
        repos = read_rows(args.repos, REPO_COLUMNS)
        if not repos:
            raise ValueError(f"{args.repos}: no such file or no rows; run `create` first")
        out = args.out or args.course / "collected.csv"
        skip = (args.skip_graded, args.grader) if args.skip_graded else None
        return collect(gh, repos, args.course, None if args.latest else args.deadline, out, skip, tuple(args.stems))

    return exit_status("python -m instructor.classroom", run)


if __name__ == "__main__":
    sys.exit(main())
