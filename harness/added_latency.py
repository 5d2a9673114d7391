"""Latency a cell adds over going direct: the p50 of the same transport without a hop.

A cell's own p95 budget is absolute; a real-time product also cares what an intermediary
adds even when every event is delivered (haproxy's defaults add about 200 ms per sse event,
well inside a 250 ms p95 budget). So each cell is compared with the `direct` cell of the
same matrix, transport and protocol measured in the same run: same workload, same machine,
same moment. A run without that direct cell has no baseline, and the cell says so (None)
rather than borrowing one from another workload or run. A matrix may set `added_p50_ms` in
its budget; a PASS cell that adds more becomes DEGRADED, with the figure in its reason.
verdict.judge stays a function of one cell's metrics; this runs once every cell is in.
Pure: entries in, new entries out.
"""

from __future__ import annotations

from typing import Any

from gauntlet.verdict import Judgement, Verdict

DIRECT = "direct"
Key = tuple[str, str, str]


def _key(entry: dict[str, Any]) -> Key:
    spec = entry.get("spec") or {}
    return (spec.get("matrix", ""), entry.get("transport", ""), entry.get("protocol", "h1"))


def _p50(entry: dict[str, Any]) -> float | None:
    return ((entry.get("metrics") or {}).get("latency_ms") or {}).get("p50")


def direct_p50s(entries: list[dict[str, Any]]) -> dict[Key, float]:
    """The direct cells' p50 per (matrix, transport, protocol); the first one if repeated."""
    found: dict[Key, float] = {}
    for entry in entries:
        p50 = _p50(entry)
        if entry.get("intermediary") == DIRECT and p50 is not None:
            found.setdefault(_key(entry), p50)
    return found


def judge_added(judgement: Judgement, added_ms: float | None, budget_ms: float | None) -> Judgement:
    """A PASS over the added-latency budget becomes DEGRADED; anything else is unchanged."""
    if judgement.verdict != Verdict.PASS or budget_ms is None or added_ms is None:
        return judgement
    if added_ms <= budget_ms:
        return judgement
    return Judgement(
        Verdict.DEGRADED,
        f"{judgement.reason}; but adds p50 {added_ms:.1f} ms "
        f"over direct, above the {budget_ms:g} ms budget",
    )


def annotate(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entry with `added_p50_ms` (None: no direct baseline) and its verdict re-judged."""
    baselines = direct_p50s(entries)
    out = []
    for entry in entries:
        base, p50 = baselines.get(_key(entry)), _p50(entry)
        added = None if base is None or p50 is None else round(p50 - base, 3)
        budget = ((entry.get("spec") or {}).get("budget") or {}).get("added_p50_ms")
        before = Judgement(Verdict(entry["verdict"]), entry["reason"])
        after = judge_added(before, added, budget)
        new = {
            **entry,
            "added_p50_ms": added,
            "verdict": str(after.verdict),
            "reason": after.reason,
        }
        if budget is not None and added is None and entry.get("intermediary") != DIRECT:
            new["notes"] = [
                *entry.get("notes", []),
                "added_p50_ms budget not checked: this "
                "run has no direct cell of the same matrix, transport and protocol",
            ]
        out.append(new)
    return out
