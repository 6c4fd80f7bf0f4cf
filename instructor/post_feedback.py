"""The grade back on each student's commit: a commit status and a commit comment, through ``gh``.

    python -m instructor.post_feedback --results shard-*.json --collected COURSE/collected.csv \\
        [--context workshop3/grade] [--stems STEM...] [--out COURSE/posted.csv] [--dry-run]

For every student that ``python -m instructor.classroom collect`` took a commit from, and the
results of ``python -m autograder grade --json`` (the shards' files, as for ``merge``):

* a commit status ``CONTEXT`` on that commit (``gh api -X POST repos/O/N/statuses/SHA``):
  ``success`` when every counted point was earned, ``failure`` when not (or a notebook is
  missing), ``error`` when the grader broke on one of the notebooks; the description is
  ``Points X/Y`` and says when speed tests were not run;
* a commit comment (``gh api -X POST repos/O/N/commits/SHA/comments``): points per exercise of
  each notebook, what to fix (each failed test's message), notebooks not found or not graded,
  and whether speed tests ran.

The token is the grading repository's (``GH_TOKEN``); nothing is read from or run in the
student's repository. Messages quote the student's own exception text, so each goes into a
fenced block longer than any backtick run in it: no ``@mention``, link or markup of theirs is
rendered. ``--out`` records what was posted (``student, repo, sha, state, description``);
a rerun (after a rate limit stopped one, exit status 75) skips commits posted before.
``--dry-run`` prints every call and the comment it would send, and sends nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from autograder import assignment
from autograder.command.merge import collect as collect_results
from autograder.command.merge import skipped_points
from instructor.classroom import COLLECT_COLUMNS, Gh, GhError, exit_status, read_rows, write_rows

POSTED_COLUMNS = ("student", "repo", "sha", "state", "description")
DEFAULT_CONTEXT = "workshop3/grade"
MESSAGE_LIMIT = 600  # characters of one test's message in the comment
DESCRIPTION_LIMIT = 140  # GitHub's limit for a status description


def _fenced(text: str) -> str:
    """``text`` as a fenced block that nothing inside it can close."""
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    text = text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 3] + "..."
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _exercise_rows(result: dict, stem: str) -> list[tuple[str, str]]:
    """(exercise, "got/max" or a word) for each exercise of ``stem``, in table order."""
    rows = []
    for exercise in assignment.GRADED_NAMES[stem]:
        tests = [t for t in result["tests"] if assignment.exercise_of(t["name"]) == exercise]
        counted = [t for t in tests if t["status"] != "skipped"]
        if not counted:
            rows.append((exercise, "not run (speed: needs a GPU)"))
            continue
        got = sum(float(t["score"]) for t in counted)
        top = sum(float(t["max_score"]) for t in counted)
        rows.append((exercise, f"{got:g}/{top:g}"))
    return rows


def feedback(student: dict, results: dict[str, dict], stems=assignment.STEMS) -> tuple[str, str, str]:
    """(state, description, comment body) for one student's commit.

    ``student`` is the collected.csv row; ``results`` maps stem -> results object; ``stems`` are
    the parts being graded (those released so far)."""
    collected = [s for s in student["notebooks"].split(";") if s]
    missing = [s for s in stems if s not in collected]
    broken = [s for s in stems if s in collected and s not in results]
    graded = [s for s in stems if s in results]
    score = sum(float(results[s]["score"]) for s in graded)
    top = sum(float(results[s]["max_score"]) for s in graded)
    speed_points = sum(skipped_points(results[s]) for s in graded)

    if broken:
        state = "error"
    elif missing or score < top:
        state = "failure"
    else:
        state = "success"
    description = f"Points {score:g}/{top:g}"
    if missing:
        description += f"; {len(missing)} notebook(s) not found"
    if broken:
        description += f"; grader failed on {len(broken)}"
    if speed_points:
        description += f"; speed ({speed_points:g} pts) not run: no GPU"
    description = description[:DESCRIPTION_LIMIT]

    lines = [f"## workshop3 autograder: {score:g}/{top:g} points", "",
             f"Graded commit `{student['sha'][:12]}`, pushed {student['pushed_at']}. This is feedback from "
             "the course's hidden graders; your grade is what your instructor records from them.", ""]
    if graded:
        lines += ["| Notebook | Exercise | Points |", "|---|---|---|"]
        for stem in graded:
            lines += [f"| {stem} | `{ex}` | {pts} |" for ex, pts in _exercise_rows(results[stem], stem)]
        lines.append("")
    if speed_points:
        lines += [f"**Speed tests not run** ({speed_points:g} points, left out of the maximum): this grading "
                  "had no GPU runner. They count when the course grades on a GPU.", ""]
    failed = [(s, t) for s in graded for t in results[s]["tests"] if t["status"] in ("failed", "error")]
    if failed:
        lines += ["### What to fix", ""]
        for stem, t in failed:
            what = "the grader could not run this check" if t["status"] == "error" else "failed"
            lines += [f"- **{stem}** `{assignment.exercise_of(t['name'])}`: {t['name']} "
                      f"({float(t['max_score']):g} pts, {what})", "", _fenced(t.get("output") or ""), ""]
    if missing or broken:
        lines += ["### Not graded", ""]
        lines += [f"- `{s}.ipynb`: not found in your repository; keep the starter's file name" for s in missing]
        lines += [f"- `{s}.ipynb`: the grader failed on this notebook; your instructor has been told"
                  for s in broken]
        lines.append("")
    return state, description, "\n".join(lines)


def post(gh: Gh, collected: list[dict], by_student: dict[str, dict[str, dict]], context: str, out: Path,
         stems=assignment.STEMS) -> int:
    rows = {r["student"]: r for r in read_rows(out, POSTED_COLUMNS)}
    order = [r["student"] for r in collected]
    posted = before = 0
    for row in collected:
        if row["status"] != "collected":
            continue
        done = rows.get(row["student"], {})
        if done.get("sha") == row["sha"] and done.get("state"):
            before += 1
            continue
        state, description, body = feedback(row, by_student.get(row["student"], {}), stems)
        repo, sha = row["repo"], row["sha"]
        try:
            gh("api", "-X", "POST", f"repos/{repo}/statuses/{sha}", "-f", f"state={state}",
               "-f", f"context={context}", "-f", f"description={description}", changes=True)
            gh("api", "-X", "POST", f"repos/{repo}/commits/{sha}/comments", "-F", "body=@-",
               changes=True, stdin=body)
        except GhError as err:
            print(f"{row['student']}: `{err.call}` failed: {err}; rerun to try again", flush=True)
            continue
        rows[row["student"]] = {"student": row["student"], "repo": repo, "sha": sha, "state": state,
                                "description": description}
        if not gh.dry_run:
            write_rows(out, POSTED_COLUMNS, [rows[s] for s in order if s in rows])
        posted += 1
    verb = "would be posted (dry run)" if gh.dry_run else "posted"
    print(f"feedback {verb} on {posted} commits, {before} posted before", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m instructor.post_feedback", description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, nargs="+", required=True, help="the --json files of the grading")
    p.add_argument("--collected", type=Path, required=True, help="collected.csv from instructor.classroom collect")
    p.add_argument("--context", default=DEFAULT_CONTEXT, help="the commit status context (default: %(default)s)")
    p.add_argument("--out", type=Path, help="what was posted (default: beside --collected, posted.csv)")
    p.add_argument("--stems", nargs="+", choices=assignment.STEMS, default=list(assignment.STEMS), metavar="STEM",
                   help="the parts graded (default: all); a part left out is not reported missing")
    p.add_argument("--dry-run", action="store_true", help="print the calls and comments; send nothing")
    args = p.parse_args(argv)

    def run() -> int:  # a results file that is not one (BadMerge) is a ValueError too
        collected = read_rows(args.collected, COLLECT_COLUMNS)
        by_student: dict[str, dict[str, dict]] = {}
        for (student, stem), result in collect_results(args.results).items():
            by_student.setdefault(student, {})[stem] = result
        gh = Gh(dry_run=args.dry_run)
        return post(gh, collected, by_student, args.context, args.out or args.collected.with_name("posted.csv"),
                    tuple(args.stems))

    return exit_status("python -m instructor.post_feedback", run)


if __name__ == "__main__":
    sys.exit(main())
