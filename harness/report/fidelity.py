"""The fidelity page of a report: rows of results.json's `fidelity` (harness/fidelity.py).

PURE: reads only the results document. One row per (device, preset, transport, workload):
agree / differ / not claimed / skipped, and what differs; nothing when the run has no
`fidelity` section (an ordinary matrix run).
"""

from __future__ import annotations

import html
from typing import Any

COLOURS = {"agree": "#2e7d32", "differ": "#c62828", "not claimed": "#616161",
           "skipped": "#9e9e9e"}  # fmt: skip


def _cells(row: dict[str, Any]) -> list[str]:
    what = "; ".join(row.get("differs") or []) if row["status"] != "agree" else ""
    return [f"{row['device']}:{row['preset']}", (row.get("emulation") or "-").split("~")[0],
            row["workload"], row["transport"], row["status"], what]  # fmt: skip


def _counts(fid: dict[str, Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in (fid.get("summary") or {}).items())


def fidelity_html(doc: dict[str, Any]) -> str:
    fid = doc.get("fidelity")
    if not fid:
        return ""
    rows = []
    for row in fid.get("rows", []):
        c = [html.escape(x) for x in _cells(row)]
        colour = COLOURS.get(row["status"], "#000")
        rows.append(f'<tr><td>{c[0]}</td><td>{c[1]}</td><td>{c[2]}</td><td>{c[3]}</td>'
                    f'<td style="color:white;background:{colour}">{c[4]}</td>'
                    f'<td style="text-align:left">{c[5]}</td></tr>')  # fmt: skip
    command = html.escape(str(fid.get("command", "gauntlet fidelity")))
    return (f'<h2 id="fidelity">Fidelity: each emulation against the real device</h2>'
            f"<p>{html.escape(_counts(fid))}. Produced by <code>{command}</code>.</p>"
            '<table class="grid"><tr><th>device:preset</th><th>emulation</th><th>workload</th>'
            "<th>transport</th><th>status</th><th>what differs</th></tr>"
            + "".join(rows) + "</table>")  # fmt: skip


def fidelity_markdown(doc: dict[str, Any]) -> str:
    fid = doc.get("fidelity")
    if not fid:
        return ""
    out = ["", "## Fidelity: each emulation against the real device", "",
           f"{_counts(fid)}. Produced by `{fid.get('command', 'gauntlet fidelity')}`.", "",
           "| device:preset | emulation | workload | transport | status | what differs |",
           "|---|---|---|---|---|---|"]  # fmt: skip
    out += ["| " + " | ".join(_cells(row)) + " |" for row in fid.get("rows", [])]
    return "\n".join(out) + "\n"
