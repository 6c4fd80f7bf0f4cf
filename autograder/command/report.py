"""Turning results objects into what people and tools read: the terminal report, the GitHub step
summary, annotations, and the output of GitHub Classroom's autograding actions.

Classroom's autograding (closed 2026-08-28) was an Actions workflow: a command grader per test
(classroom-resources/autograding-command-grader) whose ``result`` output is base64 of
``{"version": 1, "status", "max_score", "tests": [...]}``, and a reporter
(classroom-resources/autograding-grading-reporter, src/console-results.js, aggregate-results.js,
notify-classroom.js) that logs each test and a table, then emits two notices,
``Points X/Y`` titled "Autograding complete" and ``{"totalPoints":X,"maxPoints":Y}`` titled
"Autograding report". Services that replaced Classroom and course scripts read those, so
``--github`` reproduces them from our results, together with a points table in the job summary.

Messages can quote the student's own exception text, so everything printed from them is
flattened to one line and escaped: nothing a notebook raises can start a line of its own
("Points 100/100", "::notice::...") or close a workflow command early.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from ..assignment import ASSIGNMENT_POINTS

STATUS_MARK = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}
VISIBLE_CHECKS = "visible-checks"  # a result's "kind" when it holds visible checks (visible_checks.py)
NOT_THE_GRADE = (
    "These are the notebooks' visible checks only, run the way grading runs a notebook (a fresh "
    "sandboxed kernel, top to bottom, with time limits): feedback, not your grade. The grade comes "
    "from the hidden tests the teaching team runs: they call your functions on fresh random inputs at "
    "several shapes, compare them with independent references, check that the work is really jitted, "
    "vectorised with vmap and looped inside the compiled program, and time it on a GPU. Passing every "
    "visible check is needed, not enough."
)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _markdown_text(text: str, limit: int = 300) -> str:
    """Student text inside the step summary: one line, markdown and HTML characters escaped."""
    flat = _one_line(text, limit)
    return "".join("\\" + ch if ch in "\\`*_[]<>|~#!" else ch for ch in flat)


def _is_check(results: list[dict]) -> bool:
    return any(r.get("kind") == VISIBLE_CHECKS for r in results)


def _by_exercise(result: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for t in result["tests"]:
        groups.setdefault(t["exercise"], []).append(t)
    return groups


def _name(result: dict) -> str:
    return Path(result["notebook"]).name


def unclean_cells(result: dict) -> list[dict]:
    """The cells to report: SPEC's ``cells`` less the visible-check cells, which are tests there."""
    shown_as_tests = set(result.get("check_cells", ()))
    return [c for c in result.get("cells", []) if c["index"] not in shown_as_tests]


def _cell_label(cell: dict) -> str:
    return f"code cell {cell['index'] + 1} ({cell['status']})"


def _cell_message(cell: dict) -> str:
    message = cell.get("message", "")
    if message.strip().rstrip(":") == "NotImplementedError":  # a lesson cell using an unsolved exercise
        return "NotImplementedError: it calls a function that is still the stub (`raise NotImplementedError()`)"
    return message


def totals(results: list[dict]) -> tuple[float, float]:
    return sum(r["score"] for r in results), sum(r["max_score"] for r in results)


def points_line(results: list[dict]) -> str:
    """``Points X/Y``: the text of the Classroom reporter's notice, and a line of its own."""
    score, top = totals(results)
    return f"Points {score:g}/{top:g}"


def isolation_note(results: list[dict]) -> str | None:
    """One line for the whole report when a notebook ran without the namespace jail (SPEC.md's
    ``isolation``), else None. Written by the isolation helper (sandbox/isolation.py)."""
    off = [r["isolation"] for r in results if r.get("isolation", {}).get("mode") == "none"]
    if not off:
        return None
    return f"isolation: none ({off[0]['reason']}): the notebook could read files on this machine"


# ---- the terminal

def text_report(results: list[dict]) -> str:
    check = _is_check(results)
    lines = []
    for r in results:
        unit = "visible checks passed" if check else "points"
        lines.append(f"{_name(r)}: {r['score']:g}/{r['max_score']:g} {unit}")
        for exercise, tests in _by_exercise(r).items():
            got = sum(t["score"] for t in tests)
            top = sum(t["max_score"] for t in tests)
            lines.append(f"  {exercise:<20} {got:g}/{top:g}")
            for t in tests:
                if t["status"] != "passed":
                    if check:
                        lines.append(f"    {STATUS_MARK[t['status']]:<5} {t['name']}: {_one_line(t['output'])}")
                        continue
                    pts = f"{t['max_score']:g} pts" if t["status"] != "skipped" else "not counted"
                    lines.append(f"    {STATUS_MARK[t['status']]:<5} {t['name']} ({pts}): {_one_line(t['output'])}")
        cells = unclean_cells(r)
        if cells:
            lines.append("  cells that did not run cleanly:")
            lines += [f"    {_cell_label(c)}: {_one_line(_cell_message(c))}" for c in cells]
    if len(results) > 1:
        lines.append(points_line(results).replace("Points", "Total:"))
    if check:
        lines.append("(visible checks only, not the grade: the hidden tests run by the course decide the grade)")
    return "\n".join(lines)


# ---- the step summary

def markdown_summary(results: list[dict]) -> str:
    score, top = totals(results)
    check = _is_check(results)
    title = f"## Visible checks: {score:g}/{top:g} passed" if check else "## Autograding results"
    rows = [title, ""]
    if check:
        rows += [f"> **Not your grade.** {NOT_THE_GRADE}", ""]
    rows += ["| Notebook | Exercise | Test | Status | Points |", "|---|---|---|---|---|"]
    for r in results:
        nb = _name(r).replace("|", "/").replace("`", "'")
        for t in r["tests"]:
            pts = "not counted" if t["status"] == "skipped" else f"{t['score']:g}/{t['max_score']:g}"
            rows.append(f"| {nb} | `{t['exercise']}` | {t['name']} | {t['status']} | {pts} |")
    if check:
        rows += ["", f"**Total: {score:g}/{top:g} visible checks passed** (feedback only: the hidden tests decide "
                     "the grade)", ""]
    else:
        rows += ["", f"**Total: {score:g}/{top:g}** (speed tests count only on a GPU runner; "
                     f"the full assignment is worth {ASSIGNMENT_POINTS})", ""]
    if len(results) > 1:
        rows += [f"- {_markdown_text(_name(r))}: {r['score']:g}/{r['max_score']:g}" for r in results]
        rows.append("")
    failed = [(r, t) for r in results for t in r["tests"] if t["status"] in ("failed", "error")]
    if failed:
        rows += ["### What to fix", ""]
        rows += [f"- **{t['name']}** ({_markdown_text(_name(r))}): {_markdown_text(t['output'])}" for r, t in failed]
        rows.append("")
    cells = [(r, c) for r in results for c in unclean_cells(r)]
    if cells:
        rows += ["### Cells that did not run cleanly", "",
                 "Counting code cells from 1; a later test or check that needs what such a cell defines fails too.", ""]
        rows += [f"- {_markdown_text(_name(r))}, {_cell_label(c)}: {_markdown_text(_cell_message(c))}" for r, c in cells]
        rows.append("")
    return "\n".join(rows) + "\n"


# ---- workflow commands (annotations, notices), escaped as @actions/core escapes them

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={_escape_property(v)}" for k, v in properties.items())
    return f"::{name}{' ' + props if props else ''}::{_escape_data(message)}"


def github_annotations(results: list[dict]) -> list[str]:
    """One ``::error`` per failing test or check, one ``::warning`` per cell that did not run cleanly."""
    check = _is_check(results)
    out = []
    for r in results:
        for t in r["tests"]:
            if t["status"] in ("failed", "error"):
                title = f"Visible check failed: {t['name']}" if check else f"{t['exercise']}: {t['name']}"
                out.append(_command("error", _one_line(t["output"], 900), file=r["notebook"], title=title))
        for c in unclean_cells(r):
            out.append(_command("warning", _one_line(_cell_message(c), 900), file=r["notebook"],
                                title=f"Code cell {c['index'] + 1} did not run cleanly ({c['status']})"))
    return out


def classroom_notices(results: list[dict]) -> list[str]:
    """The reporter's two notices (notify-classroom.js), none when there are no points at all."""
    total = sum(t["score"] for r in results if r["max_score"] for t in r["tests"])
    top = sum(r["max_score"] for r in results if r["max_score"])
    if not top:
        return []
    report = json.dumps({"totalPoints": _js_number(total), "maxPoints": _js_number(top)}, separators=(",", ":"))
    return [_command("notice", f"Points {_js_number(total)}/{_js_number(top)}", title="Autograding complete"),
            _command("notice", report, title="Autograding report")]


# ---- the Classroom command grader's `result` output and the reporter's log

_CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}


def _js_number(x: float) -> int | float:
    """A number as JavaScript prints and JSON.stringify writes it: 7, not 7.0."""
    return int(x) if float(x).is_integer() else float(x)


def classroom_result(results: list[dict], message_chars: int = 900) -> dict:
    """All tests as one runner's result in the command grader's format (skipped tests, which count
    in neither score nor maximum, are left out)."""
    tests = [{"name": t["name"], "status": _CLASSROOM_STATUS[t["status"]], "score": _js_number(t["score"]),
              "message": _one_line(t["output"], message_chars) if t["status"] != "passed" and message_chars else None,
              "test_code": "", "filename": r["notebook"], "line_no": 0, "duration": 0}
             for r in results for t in r["tests"] if t["status"] != "skipped"]
    statuses = {t["status"] for t in tests}
    status = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
    return {"version": 1, "status": status, "max_score": _js_number(totals(results)[1]), "tests": tests}


MAX_OUTPUT_CHARS = 900_000  # GitHub keeps a step output up to 1 MB: a whole class's messages may not fit


def classroom_result_output(results: list[dict]) -> str:
    """The ``result`` output: base64 of the JSON, messages shortened (then dropped) to fit."""
    for chars in (900, 200, 0):
        encoded = base64.b64encode(json.dumps(classroom_result(results, chars)).encode()).decode("ascii")
        if len(encoded) <= MAX_OUTPUT_CHARS:
            break
    return encoded


_GREEN, _RED, _CYAN, _MAGENTA, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[36m", "\x1b[35m", "\x1b[0m"
_TABLE_WIDTHS = (20, 13, 13)  # aggregate-results.js: cli-table3 colWidths


def _table(rows: list[list[str]]) -> list[str]:
    """cli-table3's default box table with a rule between every two rows."""
    def cell(text: str, width: int) -> str:
        text = text if len(text) <= width - 2 else text[: width - 3] + "…"
        return " " + text.ljust(width - 2) + " "

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * w for w in _TABLE_WIDTHS) + right

    out = [rule("┌", "┬", "┐")]
    for i, row in enumerate(rows):
        if i:
            out.append(rule("├", "┼", "┤"))
        out.append("│" + "│".join(cell(text, w) for text, w in zip(row, _TABLE_WIDTHS)) + "│")
    out.append(rule("└", "┴", "┘"))
    return out


def classroom_console(results: list[dict]) -> list[str]:
    """The reporter's log (console-results.js), one runner per notebook.

    One deliberate difference: the reporter's table shows passed/total x max_score, which is
    wrong for tests worth different points; this shows the real score (the notices agree)."""
    out: list[str] = []
    passed_all = total_all = 0
    rows = [["Test Runner Name", "Test Score", "Max Score"]]
    for index, r in enumerate(results):
        runner = Path(r["notebook"]).stem
        if index > 0:
            out += [f"{_MAGENTA}{'🚀' * 24}{_RESET}", ""]
        out.append(f"🔄 Processing: {runner}")
        tests = [t for t in r["tests"] if t["status"] != "skipped"]
        for t in tests:
            if t["status"] == "passed":
                out.append(f"{_GREEN}✅ {t['name']}{_RESET}")
            elif t["status"] == "error":
                message = _one_line(t["output"]) or f"Failed to run test '{t['name']}'"
                out += [f"Error: {message}", _RESET]  # console.log(`Error: ...\n${reset}`)
            else:
                out.append(f"{_RED}❌ {t['name']}{_RESET}")
        passed_all += sum(t["status"] == "passed" for t in tests)
        total_all += len(tests)
        if r["max_score"]:
            out += [f"Total points for {runner}: {r['score']:.2f}/{_js_number(r['max_score'])}", ""]
        rows.append([runner, str(_js_number(r["score"])), str(_js_number(r["max_score"]))])
    score, top = totals(results)
    rows.append(["Total: ", str(_js_number(score)), str(_js_number(top))])
    out.append(f"{_MAGENTA}Test runner summary{_MAGENTA}")  # sic: the reporter never resets here
    out += _table(rows)
    out += [f"{_CYAN}🏆 Grand total tests passed: {passed_all}/{total_all}{_RESET}", ""]
    return out


# ---- all of --github

def github_report(results: list[dict]) -> None:
    """Print the annotations, the reporter's log, ``Points X/Y`` and the two notices; append the
    points table to ``$GITHUB_STEP_SUMMARY`` and ``points=``/``result=`` to ``$GITHUB_OUTPUT``."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown_summary(results))
    lines = [*github_annotations(results), *classroom_console(results), points_line(results),
             *classroom_notices(results)]
    print("\n".join(lines), flush=True)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"points={points_line(results).removeprefix('Points ')}\n")
            fh.write(f"result={classroom_result_output(results)}\n")
