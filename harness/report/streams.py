"""The token-stream table of a report: how each LLM / MCP answer arrived, per cell (pure).

Reads each cell's `stream_metrics` (harness/metrics_stream.py: StreamMetrics.to_json), which
only token-stream transports have; a run without them has no table. A buffering hop loses
nothing, so delivery and p95 alone hide it: the reader sees the answer in lumps, late, or cut
before its end marker (truncated), and these columns say which.
"""

from __future__ import annotations

from typing import Any

HEADER = (
    "cell",
    "verdict",
    "tokens",
    "end marker",
    "first token ms",
    "end ms",
    "answer ms",
    "gap p50 ms",
    "gap p99 ms",
    "most per read",
    "largest lump",
    "typical lump",
    "resumed",
)
LEGEND = (
    "Times from the client's first request; answer ms: to the last token's publication. "
    "Gaps between first receipts of distinct tokens. A lump: tokens arriving under 1 ms "
    "apart (held by a hop); typical: the lump of the median token. Most per read: '-' "
    "for clients that see parsed messages only (the official SDKs)."
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _end(s: dict[str, Any]) -> str:
    if not s.get("end_marker"):
        return "missing: truncated"
    return "seen" if s.get("complete") else "seen, tokens missing"


def rows(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per cell with stream metrics, in the run's order, in HEADER's order."""
    out: list[tuple[str, ...]] = []
    for cell in doc.get("cells", []):
        s = cell.get("stream_metrics")
        if not s:
            continue
        per_read = s.get("max_tokens_per_read")
        out.append(
            (
                cell["id"],
                str(cell["verdict"]),
                f"{s.get('tokens_received')}/{s.get('tokens_sent')}",
                _end(s),
                _ms(s.get("time_to_first_token_ms")),
                _ms(s.get("time_to_end_ms")),
                _ms(s.get("answer_duration_ms")),
                _ms(s.get("gap_p50_ms")),
                _ms(s.get("gap_p99_ms")),
                "-" if per_read is None else str(per_read),
                str(s.get("max_lump_tokens", "-")),
                str(s.get("typical_lump_tokens", "-")),
                str(s.get("resumptions", 0)),
            )
        )
    return out


def view(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The template's context (templates/streams.html.j2); None when no cell streamed tokens."""
    found = rows(doc)
    if not found:
        return None
    return {
        "header": HEADER,
        "legend": LEGEND,
        "rows": [
            {"cells": r, "state": "truncated" if r[3].startswith("missing") else ""} for r in found
        ],
    }


def markdown_lines(doc: dict[str, Any]) -> list[str]:
    found = rows(doc)
    if not found:
        return []
    return [
        "",
        "## Token streams",
        "",
        LEGEND,
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---" * len(HEADER) + "|",
        *("| " + " | ".join(r) + " |" for r in found),
    ]
