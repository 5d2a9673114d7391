"""A self-contained HTML report and a Markdown summary, from a results document only.

The HTML embeds its PNGs (data URIs) so the one file can be mailed or uploaded as a CI
artefact; the PNGs are also written beside it. The verdict grid is the headline: one row per
transport, one column per intermediary (and protocol), each cell coloured by its measured
verdict, with the expectation beside it and mismatches outlined.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from gauntlet.repeats import lines as repeat_lines
from gauntlet.report import browser_diff, scorecard
from gauntlet.report.comparison_view import comparison_html, comparison_markdown
from gauntlet.report.fidelity import fidelity_html, fidelity_markdown
from gauntlet.report.plots import write_overhead_plot, write_plots
from gauntlet.report.table import VERDICTS
from gauntlet.verdict import Verdict

COLOURS = {Verdict.PASS: "#2e7d32", Verdict.DEGRADED: "#ef6c00", Verdict.FAIL: "#c62828",
           Verdict.ERROR: "#616161", Verdict.SKIPPED: "#9e9e9e"}


def _column(cell: dict[str, Any]) -> str:
    protocol = cell.get("protocol", "h1")
    return cell["intermediary"] if protocol == "h1" else f"{cell['intermediary']} ({protocol})"


def grid(doc: dict[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    """(rows, columns, cell by (row, column)) in order of first appearance (pure)."""
    rows: list[str] = []
    cols: list[str] = []
    cells: dict[tuple[str, str], dict] = {}
    for cell in doc["cells"]:
        row, col = cell["transport"], _column(cell)
        rows += [row] if row not in rows else []
        cols += [col] if col not in cols else []
        cells[(row, col)] = cell
    return rows, cols, cells


def _cell_html(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return '<td class="empty"></td>'
    verdict, expected = cell["verdict"], cell.get("expected_verdict")
    mismatch = expected is not None and expected != verdict
    p95 = ((cell.get("metrics") or {}).get("latency_ms") or {}).get("p95")
    m = cell.get("metrics") or {}
    why = f" | expected {expected}: {cell.get('expected_reason')}" if expected else ""
    title = html.escape(f"{cell['id']}: {cell['reason']}{why}")
    detail = f"{m.get('delivered', '-')}/{m.get('sent', '-')}"
    if p95 is not None:
        detail += f", p95 {p95:.1f} ms"
    if cell.get("added_p50_ms") is not None:  # over the run's direct cell (added_latency.py)
        detail += f", {cell['added_p50_ms']:+.1f} ms p50 vs direct"
    elif cell.get("intermediary") != "direct" and m:
        detail += ", no direct baseline"
    return (
        f'<td class="cell{" mismatch" if mismatch else ""}" data-cell="{html.escape(cell["id"])}" '
        f'style="background:{COLOURS.get(verdict, "#000")}" title="{title}">'
        f'<b>{verdict}</b><br><small>{detail}</small>'
        + (f"<br><small>expected {expected}</small>" if mismatch else "") + "</td>"
    )


def calibration_summary(doc: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    """(state, one sentence, points) about the instrument's measured error, from the document.

    state is "calibrated" (every band met), "out-of-band" or "uncalibrated"."""
    cal = doc.get("calibration") or {}
    if cal.get("status") != "calibrated":
        why = cal.get("reason", "this run did not look for one")
        return ("uncalibrated", f"Instrument not calibrated ({why}): run `gauntlet calibrate`; "
                "the latencies below carry an unknown measurement error.", [])  # fmt: skip
    points = cal.get("points") or []
    met = sum(1 for p in points if p.get("pass"))
    base = cal.get("baseline") or {}
    machine = (cal.get("machine") or {}).get("platform")
    state = "calibrated" if cal.get("passed") else "out-of-band"
    verdict = "all bands met" if cal.get("passed") else f"BANDS NOT MET ({met}/{len(points)} met)"
    text = (f"Instrument calibration: {verdict}, max |error| {cal.get('max_abs_error_ms')} ms "
            f"(bands {cal.get('band_rule')}); measured {cal.get('created_utc')} on {machine} "
            f"({cal.get('id')}); baseline one hop p50 {base.get('hop_p50_ms')} ms, direct "
            f"p50 {base.get('direct_p50_ms')} ms.")  # fmt: skip
    return state, text, points


def _point_label(p: dict[str, Any]) -> str:
    return f"{p.get('kind')} {p.get('nominal_ms'):g} ms"


def _calibration_html(doc: dict[str, Any]) -> str:
    state, text, points = calibration_summary(doc)
    rows = "".join(
        f"<tr><td>{html.escape(_point_label(p))}</td><td>{p.get('expected_ms')}</td>"
        f"<td>{p.get('measured_ms')}</td><td>{p.get('error_ms')}</td><td>{p.get('band_ms')}</td>"
        f"<td>{'ok' if p.get('pass') else 'OUT OF BAND'}</td></tr>" for p in points
    )  # fmt: skip
    table = ("<table class=\"calibration\"><tr><th>point</th><th>expected ms</th>"
             f"<th>measured ms</th><th>error ms</th><th>band ms</th><th></th></tr>{rows}</table>"
             if points else "")  # fmt: skip
    return (f'<div class="calibration {state}" id="calibration"><p>{html.escape(text)}</p>'
            f"{table}</div>")


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{path.stem}" src="data:image/png;base64,{data}">'


def render_markdown(doc: dict[str, Any], comparison: dict[str, Any] | None = None) -> str:
    rows, cols, cells = grid(doc)
    commit = (doc.get("git") or {}).get("commit")
    out = [
        f"# Gauntlet run {doc.get('run_id')} ({doc.get('matrix')})", "",
        f"Time scale 1/{doc.get('time_scale'):g}; commit {commit}.", "",
        "| transport | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|",
    ]  # fmt: skip
    for row in rows:
        line = []
        for col in cols:
            c = cells.get((row, col))
            if c is None:
                line.append("")
                continue
            mark = "" if c.get("expected_verdict") in (None, c["verdict"]) else \
                f" (expected {c['expected_verdict']})"
            line.append(f"{c['verdict']}{mark}")
        out.append(f"| {row} | " + " | ".join(line) + " |")
    counts = ", ".join(f"{sum(c['verdict'] == v for c in doc['cells'])} {v}" for v in VERDICTS
                       if v != Verdict.SKIPPED or any(c["verdict"] == v for c in doc["cells"]))
    _, calibration, points = calibration_summary(doc)
    out[4:4] = [calibration, ""] + ([
        "| calibration point | expected ms | measured ms | error ms | band ms | |",
        "|---|---|---|---|---|---|",
        *(f"| {_point_label(p)} | {p.get('expected_ms')} | {p.get('measured_ms')} | "
          f"{p.get('error_ms')} | {p.get('band_ms')} | {'ok' if p.get('pass') else 'OUT OF BAND'} |"
          for p in points), ""] if points else []) + comparison_markdown(comparison)  # fmt: skip
    out += browser_diff.markdown_lines(doc)
    return "\n".join([*out, "", f"{len(doc['cells'])} cells: {counts}.", *repeat_lines(doc),
                      "", *scorecard.render_markdown(doc)]) + "\n"


def write_report(doc: dict[str, Any], out_dir: Path,
                 comparison: dict[str, Any] | None = None) -> list[Path]:  # fmt: skip
    """Write report.html, summary.md and the PNGs they show into out_dir; `comparison`
    (harness/report/compare.py's JSON) adds what changed since an earlier run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = [*write_plots(doc, out_dir), write_overhead_plot(doc, out_dir / "overhead.png")]
    rows, cols, cells = grid(doc)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        f"<tr><th>{html.escape(r)}</th>" + "".join(_cell_html(cells.get((r, c))) for c in cols)
        + "</tr>" for r in rows
    )  # fmt: skip
    git, machine, clock = doc.get("git") or {}, doc.get("machine") or {}, doc.get("clock") or {}
    meta = html.escape(
        f"matrix {doc.get('matrix')} | time scale 1/{doc.get('time_scale'):g} | "
        f"{doc.get('created_utc')} | commit {git.get('commit')} | "
        f"{machine.get('platform')} | clock {clock.get('name')}"
    )
    run_id = html.escape(str(doc.get("run_id")))
    interrupted = "<p><b>Run interrupted: only the cells below were measured.</b></p>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gauntlet {run_id}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table.grid {{ border-collapse: collapse; }}
table.grid th, table.grid td {{ border: 1px solid #ccc; padding: .4em .6em; text-align: center; }}
td.cell {{ color: white; min-width: 8em; }}
td.mismatch {{ outline: 4px solid #ffd600; outline-offset: -4px; }}
img {{ max-width: 100%; margin: 1em 0; }}
div.calibration {{ border-left: 6px solid #2e7d32; padding: .2em .8em; margin: 1em 0; }}
div.calibration.out-of-band {{ border-color: #c62828; }}
div.calibration.uncalibrated {{ border-color: #ef6c00; }}
table.calibration td, table.calibration th {{ padding: .1em .6em; text-align: right; }}
table.scorecard {{ border-collapse: collapse; }}
table.scorecard td, table.scorecard th {{ border: 1px solid #ccc; padding: .2em .5em; }}
div.comparison.regressed {{ border-left: 6px solid #c62828; padding: .2em .8em; }}
table.comparison th {{ text-align: left; padding-right: 1em; }}
table.browser-diff td {{ border-bottom: 1px solid #ddd; padding: .2em .5em; }}
tr.finding {{ background: #fff8e1; }}
</style></head><body>
<h1>Gauntlet run {run_id}</h1>
<p class="meta">{meta}</p>
{_calibration_html(doc)}
{comparison_html(comparison)}
{interrupted if doc.get("interrupted") else ""}
{"".join(f"<p><b>{html.escape(line)}</b></p>" for line in repeat_lines(doc))}
{fidelity_html(doc)}
<h2>Verdicts (measured; expected shown where it differs, outlined)</h2>
<table class="grid"><tr><th>transport</th>{head}</tr>{body}</table>
{scorecard.render_html(doc)}
{browser_diff.html_section(doc)}
<h2>Latency</h2>{_img(pngs[0])}
<h2>Send vs receive time</h2>{_img(pngs[1])}
<h2>Cost per delivered event</h2>{_img(pngs[2])}
</body></html>
"""
    html_path, md_path = out_dir / "report.html", out_dir / "summary.md"
    html_path.write_text(page)
    md_path.write_text(render_markdown(doc, comparison) + fidelity_markdown(doc))
    return [html_path, md_path, *pngs]
