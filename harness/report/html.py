"""A self-contained HTML report and a Markdown summary, from a results document only.

The HTML embeds its PNGs (data URIs) so the one file can be mailed or uploaded as a CI
artefact; the PNGs are also written beside it. The verdict grid is the headline: one row per
transport, one column per intermediary (and protocol), each cell coloured by its measured
verdict, with the expectation beside it and mismatches outlined.

The page is templates/report.html.j2 (Jinja2, autoescaped: harness/report/templating.py);
this module only turns the document into the template's context, section by section (each
section module has its `view`), and names the plots (latency, timeline, overhead).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from gauntlet.repeats import lines as repeat_lines
from gauntlet.report import browser_diff, scorecard, streams
from gauntlet.report.comparison_view import comparison_markdown, comparison_view
from gauntlet.report.fidelity import fidelity_markdown, fidelity_view
from gauntlet.report.plots import write_overhead_plot, write_plots
from gauntlet.report.table import VERDICTS
from gauntlet.report.templating import render
from gauntlet.verdict import Verdict

COLOURS = {
    Verdict.PASS: "#2e7d32",
    Verdict.DEGRADED: "#ef6c00",
    Verdict.FAIL: "#c62828",
    Verdict.ERROR: "#616161",
    Verdict.SKIPPED: "#9e9e9e",
}


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


def _cell_view(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the grid shows of one cell: verdict, colour, delivery and latency, the tooltip."""
    if cell is None:
        return None
    verdict, expected = cell["verdict"], cell.get("expected_verdict")
    mismatch = expected is not None and expected != verdict
    p95 = ((cell.get("metrics") or {}).get("latency_ms") or {}).get("p95")
    m = cell.get("metrics") or {}
    why = f" | expected {expected}: {cell.get('expected_reason')}" if expected else ""
    detail = f"{m.get('delivered', '-')}/{m.get('sent', '-')}"
    if p95 is not None:
        detail += f", p95 {p95:.1f} ms"
    if cell.get("added_p50_ms") is not None:  # over the run's direct cell (added_latency.py)
        detail += f", {cell['added_p50_ms']:+.1f} ms p50 vs direct"
    elif cell.get("intermediary") != "direct" and m:
        detail += ", no direct baseline"
    return {
        "id": cell["id"],
        "verdict": str(verdict),
        "expected": expected,
        "mismatch": mismatch,
        "colour": COLOURS.get(verdict, "#000"),
        "title": f"{cell['id']}: {cell['reason']}{why}",
        "detail": detail,
    }


def grid_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The verdict grid as the template walks it: columns, then rows of cell views."""
    rows, cols, cells = grid(doc)
    return {
        "columns": cols,
        "rows": [
            {"transport": r, "cells": [_cell_view(cells.get((r, c))) for c in cols]} for r in rows
        ],
    }


def calibration_summary(doc: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    """(state, one sentence, points) about the instrument's measured error, from the document.

    state is "calibrated" (every band met), "out-of-band" or "uncalibrated"."""
    cal = doc.get("calibration") or {}
    if cal.get("status") != "calibrated":
        why = cal.get("reason", "this run did not look for one")
        return (
            "uncalibrated",
            f"Instrument not calibrated ({why}): run `gauntlet calibrate`; "
            "the latencies below carry an unknown measurement error.",
            [],
        )
    points = cal.get("points") or []
    met = sum(1 for p in points if p.get("pass"))
    base = cal.get("baseline") or {}
    machine = (cal.get("machine") or {}).get("platform")
    state = "calibrated" if cal.get("passed") else "out-of-band"
    verdict = "all bands met" if cal.get("passed") else f"BANDS NOT MET ({met}/{len(points)} met)"
    text = (
        f"Instrument calibration: {verdict}, max |error| {cal.get('max_abs_error_ms')} ms "
        f"(bands {cal.get('band_rule')}); measured {cal.get('created_utc')} on {machine} "
        f"({cal.get('id')}); baseline one hop p50 {base.get('hop_p50_ms')} ms, direct "
        f"p50 {base.get('direct_p50_ms')} ms."
    )
    return state, text, points


def _point_label(p: dict[str, Any]) -> str:
    return f"{p.get('kind')} {p.get('nominal_ms'):g} ms"


def calibration_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The calibration header's context (templates/calibration.html.j2)."""
    state, text, points = calibration_summary(doc)
    return {
        "state": state,
        "text": text,
        "points": [
            {
                "label": _point_label(p),
                "expected_ms": p.get("expected_ms"),
                "measured_ms": p.get("measured_ms"),
                "error_ms": p.get("error_ms"),
                "band_ms": p.get("band_ms"),
                "status": "ok" if p.get("pass") else "OUT OF BAND",
            }
            for p in points
        ],
    }


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def write_named_plots(doc: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Every PNG the report shows, by name (its file's stem): latency, timeline, overhead."""
    written = [*write_plots(doc, out_dir), write_overhead_plot(doc, out_dir / "overhead.png")]
    return {path.stem: path for path in written}


def render_markdown(doc: dict[str, Any], comparison: dict[str, Any] | None = None) -> str:
    rows, cols, cells = grid(doc)
    commit = (doc.get("git") or {}).get("commit")
    out = [
        f"# Gauntlet run {doc.get('run_id')} ({doc.get('matrix')})",
        "",
        f"Time scale 1/{doc.get('time_scale'):g}; commit {commit}.",
        "",
        "| transport | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for row in rows:
        line = []
        for col in cols:
            c = cells.get((row, col))
            if c is None:
                line.append("")
                continue
            mark = (
                ""
                if c.get("expected_verdict") in (None, c["verdict"])
                else f" (expected {c['expected_verdict']})"
            )
            line.append(f"{c['verdict']}{mark}")
        out.append(f"| {row} | " + " | ".join(line) + " |")
    counts = ", ".join(
        f"{sum(c['verdict'] == v for c in doc['cells'])} {v}"
        for v in VERDICTS
        if v != Verdict.SKIPPED or any(c["verdict"] == v for c in doc["cells"])
    )
    _, calibration, points = calibration_summary(doc)
    out[4:4] = (
        [calibration, ""]
        + (
            [
                "| calibration point | expected ms | measured ms | error ms | band ms | |",
                "|---|---|---|---|---|---|",
                *(
                    f"| {_point_label(p)} | {p.get('expected_ms')} | {p.get('measured_ms')} | "
                    f"{p.get('error_ms')} | {p.get('band_ms')} | "
                    f"{'ok' if p.get('pass') else 'OUT OF BAND'} |"
                    for p in points
                ),
                "",
            ]
            if points
            else []
        )
        + comparison_markdown(comparison)
    )
    out += browser_diff.markdown_lines(doc)
    out += streams.markdown_lines(doc)
    return (
        "\n".join(
            [
                *out,
                "",
                f"{len(doc['cells'])} cells: {counts}.",
                *repeat_lines(doc),
                "",
                *scorecard.render_markdown(doc),
            ]
        )
        + "\n"
    )


def render_html(
    doc: dict[str, Any], plots: dict[str, str], comparison: dict[str, Any] | None = None
) -> str:
    """report.html's text: templates/report.html.j2 with the document's views; `plots` maps
    each plot's name to what its <img> shows (a data URI)."""
    git, machine, clock = doc.get("git") or {}, doc.get("machine") or {}, doc.get("clock") or {}
    meta = (
        f"matrix {doc.get('matrix')} | time scale 1/{doc.get('time_scale'):g} | "
        f"{doc.get('created_utc')} | commit {git.get('commit')} | "
        f"{machine.get('platform')} | clock {clock.get('name')}"
    )
    return render(
        "report.html.j2",
        run_id=str(doc.get("run_id")),
        meta=meta,
        calibration=calibration_view(doc),
        comparison=comparison_view(comparison),
        interrupted=bool(doc.get("interrupted")),
        repeat_lines=repeat_lines(doc),
        fidelity=fidelity_view(doc),
        grid=grid_view(doc),
        streams=streams.view(doc),
        scorecard=scorecard.view(doc),
        browser_diff=browser_diff.view(doc),
        plots=plots,
    )


def write_report(
    doc: dict[str, Any], out_dir: Path, comparison: dict[str, Any] | None = None
) -> list[Path]:
    """Write report.html, summary.md and the PNGs they show into out_dir; `comparison`
    (harness/report/compare.py's JSON) adds what changed since an earlier run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = write_named_plots(doc, out_dir)
    page = render_html(doc, {name: _data_uri(path) for name, path in pngs.items()}, comparison)
    html_path, md_path = out_dir / "report.html", out_dir / "summary.md"
    html_path.write_text(page)
    md_path.write_text(render_markdown(doc, comparison) + fidelity_markdown(doc))
    return [html_path, md_path, *pngs.values()]
