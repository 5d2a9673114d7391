"""Verdicts over repeated runs of the same cells: counts per cell, and the cells that flipped.

A verdict is a pure function of what was measured (harness/verdict.py), so a cell whose
verdict differs between repeats of one run points at the harness or the scenario (a budget
too close to what the machine's load can add, a race in a topology), never at the network:
it is a defect to fix, not noise to retry. `gauntlet run --repeat N` and profiles with
`repeats` name cells `<id>#<k>`; the summary goes into results.json, and the table and the
reports show it from there. Pure functions.
"""

from __future__ import annotations

import re
from typing import Any

from gauntlet.verdict import MEASURED

_REPEAT = re.compile(r"#(\d+)$")
VERDICTS = MEASURED


def base_id(cell_id: str) -> str:
    """`smoke:sse-direct#2` -> `smoke:sse-direct`."""
    return _REPEAT.sub("", cell_id)


def summarize(cells: list[dict[str, Any]]) -> dict[str, Any] | None:
    """{"runs", "cells": {base id: {verdict: count}}, "flips": [base id]}; None when no cell
    was repeated."""
    repeats = [int(m.group(1)) for c in cells if (m := _REPEAT.search(c["id"]))]
    if not repeats:
        return None
    counts: dict[str, dict[str, int]] = {}
    for cell in cells:
        per_cell = counts.setdefault(base_id(cell["id"]), {})
        per_cell[cell["verdict"]] = per_cell.get(cell["verdict"], 0) + 1
    flips = [cell_id for cell_id, c in counts.items() if len(c) > 1]
    return {"runs": max(repeats), "cells": counts, "flips": flips}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)


def lines(doc: dict[str, Any]) -> list[str]:
    """What the table and the reports say about repeats (nothing when there were none)."""
    summary = doc.get("repeats")
    if not summary:
        return []
    flips = summary["flips"]
    if not flips:
        return [f"repeats: every cell {summary['runs']} times, no verdict flipped"]
    out = [
        f"HARNESS DEFECT: {len(flips)} cell(s) flipped verdict over {summary['runs']} "
        "repeats (verdicts must be deterministic; fix the scenario or the harness):"
    ]
    out += [f"  {cell_id}: {_counts(summary['cells'][cell_id])}" for cell_id in flips]
    return out
