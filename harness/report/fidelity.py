"""The fidelity page of a report: rows of results.json's `fidelity` (harness/fidelity.py).

PURE: reads only the results document. One row per (device, preset, transport, workload):
agree / differ / not claimed / skipped, and what differs; nothing when the run has no
`fidelity` section (an ordinary matrix run).
"""

from __future__ import annotations

from typing import Any

from gauntlet.report.templating import render

COLOURS = {"agree": "#2e7d32", "differ": "#c62828", "not claimed": "#616161", "skipped": "#9e9e9e"}


def _cells(row: dict[str, Any]) -> list[str]:
    what = "; ".join(row.get("differs") or []) if row["status"] != "agree" else ""
    return [
        f"{row['device']}:{row['preset']}",
        (row.get("emulation") or "-").split("~")[0],
        row["workload"],
        row["transport"],
        row["status"],
        what,
    ]


def _counts(fid: dict[str, Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in (fid.get("summary") or {}).items())


def fidelity_view(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The fidelity page's context (templates/fidelity.html.j2); None for a matrix run."""
    fid = doc.get("fidelity")
    if not fid:
        return None
    return {
        "counts": _counts(fid),
        "command": str(fid.get("command", "gauntlet fidelity")),
        "rows": [
            {"cells": _cells(row), "colour": COLOURS.get(row["status"], "#000")}
            for row in fid.get("rows", [])
        ],
    }


def fidelity_html(doc: dict[str, Any]) -> str:
    return render("fidelity.html.j2", fidelity=fidelity_view(doc)).strip()


def fidelity_markdown(doc: dict[str, Any]) -> str:
    fid = doc.get("fidelity")
    if not fid:
        return ""
    out = [
        "",
        "## Fidelity: each emulation against the real device",
        "",
        f"{_counts(fid)}. Produced by `{fid.get('command', 'gauntlet fidelity')}`.",
        "",
        "| device:preset | emulation | workload | transport | status | what differs |",
        "|---|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(_cells(row)) + " |" for row in fid.get("rows", [])]
    return "\n".join(out) + "\n"
