"""The comparison with an earlier run (harness/report/compare.py's JSON) as report sections.

Pure: the report of a nightly run shows what changed since last night, with its evidence
(the effect, its interval and the test), above the verdict grid.
"""

from __future__ import annotations

import html
from typing import Any


def _rows(comparison: dict[str, Any]) -> list[tuple[str, str]]:
    return ([("REGRESSION", str(f["cell"]) + ": " + str(f["text"]))
             for f in comparison.get("regressions") or []]
            + [("changed", str(f["cell"]) + ": " + str(f["text"]))
               for f in comparison.get("changes") or []]
            + [("warning", str(w)) for w in comparison.get("warnings") or []])  # fmt: skip


def comparison_markdown(comparison: dict[str, Any] | None) -> list[str]:
    if comparison is None:
        return []
    out = [f"## Compared with {comparison.get('old_run')}", "",
           f"**{comparison.get('summary')}**", ""]  # fmt: skip
    rows = _rows(comparison)
    if rows:
        out += ["| | finding |", "|---|---|", *(f"| {k} | {t} |" for k, t in rows), ""]
    return out


def comparison_html(comparison: dict[str, Any] | None) -> str:
    if comparison is None:
        return ""
    rows = "".join(f'<tr class="{html.escape(k.lower())}"><th>{html.escape(k)}</th>'
                   f"<td>{html.escape(t)}</td></tr>" for k, t in _rows(comparison))  # fmt: skip
    state = "regressed" if comparison.get("regressions") else "clean"
    return (f'<div class="comparison {state}" id="comparison"><h2>Compared with '
            f"{html.escape(str(comparison.get('old_run')))}</h2>"
            f"<p><b>{html.escape(str(comparison.get('summary')))}</b></p>"
            f'<table class="comparison">{rows}</table></div>')
