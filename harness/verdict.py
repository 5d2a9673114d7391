"""Verdicts: a small fixed vocabulary with a one-line reason, kept apart from the metrics.

Modelled on Autobahn|Testsuite's case verdicts: the measurement says what happened, the
verdict says whether that is acceptable for a budget. `judge` is a pure function of the
metrics and the budget, so a verdict is deterministic given what was measured; a cell that
flips between runs points at the scenario or the harness, never at this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the spec layer imports Verdict and must not pull in trio
    from gauntlet.metrics import Metrics
    from gauntlet.metrics_stream import StreamMetrics


class Verdict(StrEnum):
    PASS = "PASS"  # every event delivered, p95 within budget
    DEGRADED = "DEGRADED"  # all delivered, but too slow or out of order
    FAIL = "FAIL"  # events lost or held past the delivery budget
    ERROR = "ERROR"  # the harness could not measure the cell
    SKIPPED = "SKIPPED"  # the client cannot run on this machine (no Chromium): nothing measured


MEASURED = (Verdict.PASS, Verdict.DEGRADED, Verdict.FAIL, Verdict.ERROR)
"""The verdicts of a cell that ran, mildest first (SKIPPED: nothing was measured)."""


@dataclass(frozen=True)
class Budget:
    """What a cell may cost: p95 latency in ms, and how many events may be lost (usually 0)."""

    latency_p95_ms: float
    max_lost: int = 0
    max_batch_tokens: int | None = None
    """Token streams: the typical lump (the one the median token arrived in) above which the
    answer counts as batched (harness/metrics_stream.py)."""
    inter_token_p99_ms: float | None = None
    """Token streams: the p99 gap between tokens above which the answer counts as batched."""
    added_p50_ms: float | None = None  # p50 added over the direct cell; None: no limit


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


def judge(
    metrics: Metrics, budget: Budget, *, within_s: float, stream: StreamMetrics | None = None
) -> Judgement:
    """First matching rule wins: no workload, nothing delivered, loss, slowness, order, pass.

    For a token stream (`stream` given) two rules come before loss and slowness: an answer
    without its end marker is truncated (FAIL, with how much arrived), and one that arrived
    whole but in lumps is batched (DEGRADED), as the user sees it appear all at once. A
    stream that was cut and resumed says so, and whether the result still arrived."""
    found = _judge(metrics, budget, within_s, stream)
    if stream is None:
        return found
    return Judgement(found.verdict, found.reason + _resumed(stream))  # "" when never cut


def _judge(
    metrics: Metrics, budget: Budget, within_s: float, stream: StreamMetrics | None
) -> Judgement:
    m = metrics
    if m.sent == 0:
        return Judgement(Verdict.ERROR, "workload published no events")
    if m.delivered == 0:
        return Judgement(
            Verdict.FAIL,
            f"nothing delivered within {within_s:g} s: 0/{m.sent} events (held or lost)",
        )
    if stream is not None and (found := _stream_rule(stream, budget)) is not None:
        return found
    if m.lost > budget.max_lost:
        return Judgement(
            Verdict.FAIL,
            f"lost {m.lost}/{m.sent} events within {within_s:g} s (first lost id {m.lost_ids[0]})",
        )
    p95 = m.latency_ms.p95
    if p95 is None:  # delivered, but the endpoint gives no send time (harness/target.py)
        return _without_latency(m, within_s)
    if p95 > budget.latency_p95_ms:
        return Judgement(
            Verdict.DEGRADED,
            f"p95 latency {p95:.0f} ms over budget {budget.latency_p95_ms:.0f} ms",
        )
    if m.out_of_order > 0:
        return Judgement(Verdict.DEGRADED, f"{m.out_of_order} events out of order")
    reason = (
        f"{m.delivered}/{m.sent} delivered, p95 {p95:.1f} ms within {budget.latency_p95_ms:.0f} ms"
    )
    if stream is not None:
        reason += (
            f", time to first token {_ms(stream.time_to_first_token_ms)}, at most "
            f"{stream.max_batch_tokens} tokens per {_batch_unit(stream)}"
        )
    if m.duplicates:
        reason += f", {m.duplicates} wire duplicates"
    return Judgement(Verdict.PASS, reason)


def _without_latency(m: Metrics, within_s: float) -> Judgement:
    """No send time, so no latency: the verdict rests on delivery within the budget and order.

    Every event delivered within the scaled delivery budget, in order, is PASS, and the reason
    says the latency budget was not checked, so it never reads as a latency PASS: a hop that
    delays each event by less than the delivery budget passes here and would not with send
    times (docs/endpoint-contract.md).
    """
    if m.out_of_order > 0:
        return Judgement(
            Verdict.DEGRADED,
            f"{m.out_of_order} events out of order "
            "(latency not measured: endpoint sends no send time)",
        )
    return Judgement(
        Verdict.PASS,
        f"{m.delivered}/{m.sent} delivered in order within "
        f"{within_s:g} s; latency not measured (endpoint sends no send time), "
        "latency budget not checked",
    )


def _stream_rule(s: StreamMetrics, budget: Budget) -> Judgement | None:
    if not s.end_marker:
        return Judgement(
            Verdict.FAIL,
            f"truncated answer: {s.tokens_received}/{s.tokens_sent} tokens arrived, no end marker",
        )
    if s.tokens_received < s.tokens_sent:
        return None  # the loss rule says which were lost
    if s.held_until_end:
        return Judgement(
            Verdict.DEGRADED,
            f"batched: nothing until the answer ended, then all {s.tokens_sent} tokens at once "
            f"(time to first token {_ms(s.time_to_first_token_ms)} = the answer's duration "
            f"{_ms(s.answer_duration_ms)}; up to {s.max_batch_tokens} in one "
            f"{_batch_unit(s)})",
        )
    # The typical lump, not the largest: a one-off stall of a loaded machine makes one big
    # lump; a hop that buffers puts most tokens in lumps.
    too_big = (
        budget.max_batch_tokens is not None and s.typical_lump_tokens > budget.max_batch_tokens
    )
    gap_p99 = s.gap_p99_ms or 0.0
    too_slow = budget.inter_token_p99_ms is not None and gap_p99 > budget.inter_token_p99_ms
    if too_big or too_slow:
        return Judgement(
            Verdict.DEGRADED,
            f"batched: all {s.tokens_sent} tokens delivered in lumps of {s.typical_lump_tokens} "
            f"(typical; budget {budget.max_batch_tokens}), up to {s.max_batch_tokens} per "
            f"{_batch_unit(s)}, "
            f"inter-token gap p99 {_ms(s.gap_p99_ms)} (budget {_ms(budget.inter_token_p99_ms)}), "
            f"time to first token {_ms(s.time_to_first_token_ms)}",
        )
    return None


def _resumed(s: StreamMetrics) -> str:
    if not s.resumptions:
        return ""
    result = "the result still arrived" if s.end_marker else "the result never arrived"
    return f"; stream cut and resumed {s.resumptions}x with Last-Event-ID, {result}"


def _batch_unit(s: StreamMetrics) -> str:
    return "read" if (s.max_tokens_per_read or 0) >= s.max_lump_tokens else "lump"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def skipped(message: str) -> Judgement:
    """A SKIPPED judgement: a client this machine lacks (a browser), named in the reason."""
    return Judgement(Verdict.SKIPPED, message)


def error(message: str) -> Judgement:
    """An ERROR judgement: the harness failed, so there is no finding about the network."""
    return Judgement(Verdict.ERROR, message)
