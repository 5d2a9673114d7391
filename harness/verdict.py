"""Verdicts: a small fixed vocabulary with a one-line reason, kept apart from the metrics.

Modelled on Autobahn|Testsuite's case verdicts: the measurement says what happened, the
verdict says whether that is acceptable for a budget. `judge` is a pure function of the
metrics and the budget, so a verdict is deterministic given what was measured; a cell that
flips between runs points at the scenario or the harness, never at this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.metrics import Metrics


class Verdict(StrEnum):
    PASS = "PASS"  # every event delivered, p95 within budget
    DEGRADED = "DEGRADED"  # all delivered, but too slow or out of order
    FAIL = "FAIL"  # events lost or held past the delivery budget
    ERROR = "ERROR"  # the harness could not measure the cell


@dataclass(frozen=True)
class Budget:
    """What a cell may cost: p95 latency in ms, and how many events may be lost (usually 0)."""

    latency_p95_ms: float
    max_lost: int = 0
    added_p50_ms: float | None = None  # p50 added over the direct cell; None: no limit


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


def judge(metrics: Metrics, budget: Budget, *, within_s: float) -> Judgement:
    """First matching rule wins: no workload, nothing delivered, loss, slowness, order, pass."""
    m = metrics
    if m.sent == 0:
        return Judgement(Verdict.ERROR, "workload published no events")
    if m.delivered == 0:
        return Judgement(
            Verdict.FAIL,
            f"nothing delivered within {within_s:g} s: 0/{m.sent} events (held or lost)",
        )
    if m.lost > budget.max_lost:
        return Judgement(
            Verdict.FAIL,
            f"lost {m.lost}/{m.sent} events within {within_s:g} s "
            f"(first lost id {m.lost_ids[0]})",
        )
    p95 = m.latency_ms.p95
    assert p95 is not None  # delivered > 0
    if p95 > budget.latency_p95_ms:
        return Judgement(
            Verdict.DEGRADED,
            f"p95 latency {p95:.0f} ms over budget {budget.latency_p95_ms:.0f} ms",
        )
    if m.out_of_order > 0:
        return Judgement(Verdict.DEGRADED, f"{m.out_of_order} events out of order")
    reason = (
        f"{m.delivered}/{m.sent} delivered, p95 {p95:.1f} ms within "
        f"{budget.latency_p95_ms:.0f} ms"
    )
    if m.duplicates:
        reason += f", {m.duplicates} wire duplicates"
    return Judgement(Verdict.PASS, reason)


def error(message: str) -> Judgement:
    """An ERROR judgement: the harness failed, so there is no finding about the network."""
    return Judgement(Verdict.ERROR, message)
