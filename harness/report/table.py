"""The verdict matrix as a plain-text table, read from a results document only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gauntlet import repeats
from gauntlet.report import scorecard
from gauntlet.verdict import Verdict

VERDICTS = tuple(Verdict)
"""SKIPPED: not measured here (a real hop's package or the browser is not installed), not a
finding."""


def load_results(path: Path) -> dict[str, Any]:
    """Read a results.json as the JSON tree the reports take, validated on the way
    (harness/results.py: read_results); a one-line DocumentError names the file otherwise."""
    from gauntlet.results import read_results

    return read_results(path).to_json()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _added(cell: dict[str, Any]) -> str:
    """p50 added over the direct cell (harness/added_latency.py); '-' without a baseline."""
    added = cell.get("added_p50_ms")
    return "-" if added is None else f"{added:+.1f}"


def _row(cell: dict[str, Any]) -> list[str]:
    m = cell.get("metrics") or {}
    lat = m.get("latency_ms") or {}
    verdict = cell["verdict"]
    expected = cell.get("expected_verdict")
    mismatch = expected is not None and expected != verdict and verdict != Verdict.SKIPPED
    if mismatch:
        verdict += f" (expected {expected})"
    delivered = f"{m['delivered']}/{m['sent']}" if m else "-"
    return [
        "!" if mismatch else " ",
        cell["transport"],
        cell["intermediary"] + _opt_out(cell.get("headers", "none")),
        cell.get("protocol", "h1"),
        verdict,
        _ms(lat.get("p50")),
        _ms(lat.get("p95")),
        _added(cell),
        delivered,
        cell.get("reason") or "",
    ]


def _scaled_options(doc: dict[str, Any]) -> list[str]:
    """One line per hop option that differs from its real-world value: real -> scaled."""
    seen: dict[str, str] = {}
    for cell in doc["cells"]:
        for hop in (cell.get("spec") or {}).get("hops", []):
            real = hop.get("options_real", hop.get("options", {}))
            for name, scaled in hop.get("options_scaled", {}).items():
                if name in real and str(real[name]) != str(scaled):
                    seen.setdefault(f"{name} {real[name]} -> {scaled}", cell["id"])
    return [f"scaled: {change} (real-world -> this run)" for change in sorted(seen)]


def _hop_warnings(doc: dict[str, Any]) -> list[str]:
    """Each distinct hop warning (an external hop in a scaled matrix), once, with a cell."""
    seen: dict[str, str] = {}
    for cell in doc["cells"]:
        for hop in cell.get("hops", []):
            if hop.get("warning"):
                seen.setdefault(hop["warning"], cell["id"])
    return [f"warning: {text} (e.g. {cell_id})" for text, cell_id in seen.items()]


def render_table(doc: dict[str, Any]) -> str:
    """One row per cell: verdict, p50/p95 latency, delivered/sent, reason; then a summary."""
    header = [
        "",
        "transport",
        "intermediary",
        "protocol",
        "verdict",
        "p50 ms",
        "p95 ms",
        "added p50",
        "delivered/sent",
        "reason",
    ]
    rows = [_row(c) for c in doc["cells"]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def fmt(r: list[str]) -> str:
        left = [r[i].ljust(widths[i]) for i in range(5)]
        right = [r[i].rjust(widths[i]) for i in range(5, 9)]
        cols = [*left, *right, r[9]]
        return "  ".join(cols).rstrip()

    lines = [
        f"run {doc.get('run_id')}  matrix {doc.get('matrix')}  "
        f"time scale 1/{doc.get('time_scale'):g} (real-world durations divided by it)",
        fmt(header),
        *map(fmt, rows),
    ]
    if any(
        c.get("added_p50_ms") is None and c.get("intermediary") != "direct" for c in doc["cells"]
    ):
        lines.append(
            "added p50: over the direct cell of the same matrix, transport and "
            "protocol in this run; '-' where the run has none"
        )
    counts = {v: sum(c["verdict"] == v for c in doc["cells"]) for v in VERDICTS}
    if not counts[Verdict.SKIPPED]:  # shown only when a cell was not measured
        del counts[Verdict.SKIPPED]
    mismatches = sum(r[0] == "!" for r in rows)
    lines.append(
        f"{len(rows)} cells: "
        + ", ".join(f"{n} {v}" for v, n in counts.items())
        + f"; {mismatches} mismatch(es) with expectations"
    )
    lines.extend(_scaled_options(doc))
    lines.extend(_hop_warnings(doc))
    lines.extend(repeats.lines(doc))
    if doc.get("interrupted"):
        lines.append("run interrupted: only the cells above were measured")
    lines.extend(scorecard.render_text(doc))
    return "\n".join(lines)


def _opt_out(headers: str) -> str:
    """An intermediary cell whose server sent anti-buffering headers shows them (`+both`)."""
    return "" if headers == "none" else f" +{headers}"
