"""Turning results objects into what people read: the terminal report, the GitHub step summary,
annotations, and the ``Points X/Y`` line of the Classroom autograding reporter.

Messages can quote the student's own exception text, so every line printed from them is
indented and flattened: nothing a notebook raises can start a line of its own ("Points 100/100").
"""

from __future__ import annotations

from pathlib import Path

from ..assignment import ASSIGNMENT_POINTS

STATUS_MARK = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _by_exercise(result: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for t in result["tests"]:
        groups.setdefault(t["exercise"], []).append(t)
    return groups


def text_report(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"{Path(r['notebook']).name}: {r['score']:g}/{r['max_score']:g} points")
        for exercise, tests in _by_exercise(r).items():
            got = sum(t["score"] for t in tests)
            top = sum(t["max_score"] for t in tests)
            lines.append(f"  {exercise:<20} {got:g}/{top:g}")
            for t in tests:
                if t["status"] != "passed":
                    pts = f"{t['max_score']:g} pts" if t["status"] != "skipped" else "not counted"
                    lines.append(f"    {STATUS_MARK[t['status']]:<5} {t['name']} ({pts}): {_one_line(t['output'])}")
    if len(results) > 1:
        lines.append(points_line(results).replace("Points", "Total:"))
    return "\n".join(lines)


def totals(results: list[dict]) -> tuple[float, float]:
    return sum(r["score"] for r in results), sum(r["max_score"] for r in results)


def points_line(results: list[dict]) -> str:
    """The line GitHub Classroom's autograding reporter printed, and Classroom-like tools parse."""
    score, top = totals(results)
    return f"Points {score:g}/{top:g}"


def markdown_summary(results: list[dict]) -> str:
    score, top = totals(results)
    rows = ["## Autograding results", "", "| Notebook | Exercise | Test | Status | Points |",
            "|---|---|---|---|---|"]
    for r in results:
        nb = Path(r["notebook"]).name
        for t in r["tests"]:
            pts = "not counted" if t["status"] == "skipped" else f"{t['score']:g}/{t['max_score']:g}"
            rows.append(f"| {nb} | `{t['exercise']}` | {t['name']} | {t['status']} | {pts} |")
    rows += ["", f"**Total: {score:g}/{top:g}** (speed tests count only on a GPU runner; "
                 f"the full assignment is worth {ASSIGNMENT_POINTS})", ""]
    failed = [(r, t) for r in results for t in r["tests"] if t["status"] in ("failed", "error")]
    if failed:
        rows += ["### What to fix", ""]
        rows += [f"- **{t['name']}** ({Path(r['notebook']).name}): {_one_line(t['output']).replace('|', '/')}"
                 for r, t in failed]
        rows.append("")
    return "\n".join(rows) + "\n"


def _escape_annotation(text: str) -> str:
    # GitHub workflow commands: %, CR and LF must be escaped in the message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_annotations(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        for t in r["tests"]:
            if t["status"] in ("failed", "error"):
                title = _escape_annotation(f"{t['exercise']}: {t['name']}").replace(",", ";").replace("::", ": ")
                out.append(f"::error file={r['notebook']},title={title}::{_escape_annotation(_one_line(t['output'], 900))}")
    return out
