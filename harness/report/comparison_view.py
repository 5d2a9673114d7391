"""The comparison with an earlier run (harness/report/compare.py's JSON) as report sections.

Pure: the report of a nightly run shows what changed since last night, with its evidence
(the effect, its interval and the test), above the verdict grid.
"""

from __future__ import annotations

from typing import Any

from gauntlet.report.templating import render


def _rows(comparison: dict[str, Any]) -> list[tuple[str, str]]:
    return (
        [
            ("REGRESSION", str(f["cell"]) + ": " + str(f["text"]))
            for f in comparison.get("regressions") or []
        ]
        + [
            ("changed", str(f["cell"]) + ": " + str(f["text"]))
            for f in comparison.get("changes") or []
        ]
        + [("warning", str(w)) for w in comparison.get("warnings") or []]
    )


def comparison_markdown(comparison: dict[str, Any] | None) -> list[str]:
    if comparison is None:
        return []
    out = [
        f"## Compared with {comparison.get('old_run')}",
        "",
        f"**{comparison.get('summary')}**",
        "",
    ]
    rows = _rows(comparison)
    if rows:
        out += ["| | finding |", "|---|---|", *(f"| {k} | {t} |" for k, t in rows), ""]
    return out


def comparison_view(comparison: dict[str, Any] | None) -> dict[str, Any] | None:
    """The comparison section's context (templates/comparison.html.j2)."""
    if comparison is None:
        return None
    return {
        "state": "regressed" if comparison.get("regressions") else "clean",
        "old_run": str(comparison.get("old_run")),
        "summary": str(comparison.get("summary")),
        "rows": _rows(comparison),
    }


def comparison_html(comparison: dict[str, Any] | None) -> str:
    return render("comparison.html.j2", comparison=comparison_view(comparison)).strip()
