"""Verdict rules for token streams and for endpoints without send times, at their boundaries:
the exact reason line a user reads in the table, and budgets that are inclusive."""

from __future__ import annotations

import pytest

from gauntlet.metrics_stream import StreamMetrics
from gauntlet.verdict import Budget, Verdict, judge, skipped
from tests.unit.test_verdict import BUDGET, metrics


def stream(
    *,
    received=10,
    end=True,
    ttft=12.0,
    duration=100.0,
    gap_p99=None,
    per_read=None,
    lump=1,
    typical=1,
    resumptions=0,
) -> StreamMetrics:
    return StreamMetrics(
        10,
        received,
        end,
        ttft,
        110.0,
        duration,
        10.0,
        gap_p99,
        per_read,
        lump,
        typical,
        resumptions,
    )


LUMPS = Budget(latency_p95_ms=100, max_batch_tokens=3, inter_token_p99_ms=50)


def test_a_typical_lump_at_the_budget_passes_and_one_token_more_is_batched():
    assert (
        judge(metrics(), LUMPS, within_s=2, stream=stream(lump=3, typical=3)).verdict
        == Verdict.PASS
    )
    over = judge(metrics(), LUMPS, within_s=2, stream=stream(lump=4, typical=4))
    assert over.verdict == Verdict.DEGRADED
    assert over.reason.startswith(
        "batched: all 10 tokens delivered in lumps of 4 (typical; budget 3), up to 4 per lump"
    )


def test_an_inter_token_p99_at_the_budget_passes_and_above_it_is_batched_with_the_figures():
    at = judge(metrics(), LUMPS, within_s=2, stream=stream(gap_p99=50.0))
    assert at.verdict == Verdict.PASS
    over = judge(metrics(), LUMPS, within_s=2, stream=stream(gap_p99=50.4, ttft=37.0))
    assert over.verdict == Verdict.DEGRADED
    assert over.reason.endswith(
        "inter-token gap p99 50 ms (budget 50 ms), time to first token 37 ms"
    )


def test_no_gap_at_all_is_not_slow_even_under_a_tiny_gap_budget():
    """A one-token answer has no gap; it must not count as a gap of any size."""
    tiny = Budget(latency_p95_ms=100, inter_token_p99_ms=0.5)
    assert judge(metrics(), tiny, within_s=2, stream=stream(gap_p99=None)).verdict == Verdict.PASS


def test_a_passing_stream_says_its_first_token_and_its_largest_batch_and_its_unit():
    by_lump = judge(metrics(), LUMPS, within_s=2, stream=stream(lump=2, typical=1, ttft=12.4))
    assert by_lump.reason == (
        "10/10 delivered, p95 5.0 ms within 100 ms, time to first token "
        "12 ms, at most 2 tokens per lump"
    )
    by_read = judge(metrics(), LUMPS, within_s=2, stream=stream(per_read=2, lump=2))
    assert by_read.reason.endswith("at most 2 tokens per read")
    unknown = judge(metrics(), LUMPS, within_s=2, stream=stream(ttft=None, duration=None))
    assert "time to first token n/a" in unknown.reason
    unnumbered = judge(metrics(), LUMPS, within_s=2, stream=stream(per_read=None, lump=1))
    assert unnumbered.reason.endswith("at most 1 tokens per lump")  # no reads: lumps only


def test_a_stream_never_resumed_says_nothing_about_resuming():
    assert "resumed" not in judge(metrics(), LUMPS, within_s=2, stream=stream()).reason


@pytest.mark.parametrize(
    ("end", "verdict", "tail"),
    [
        (
            True,
            Verdict.PASS,
            "; stream cut and resumed 2x with Last-Event-ID, the result still arrived",
        ),
        (
            False,
            Verdict.FAIL,
            "; stream cut and resumed 2x with Last-Event-ID, the result never arrived",
        ),
    ],
)
def test_a_resumed_stream_says_how_often_and_whether_the_result_arrived(end, verdict, tail):
    judgement = judge(metrics(), LUMPS, within_s=2, stream=stream(end=end, resumptions=2))
    assert judgement.verdict == verdict
    assert judgement.reason.endswith(tail)


def test_without_send_times_the_reason_lines_are_exact():
    assert judge(metrics(p95=None), BUDGET, within_s=2).reason == (
        "10/10 delivered in order within 2 s; latency not measured (endpoint sends no send "
        "time), latency budget not checked"
    )
    assert judge(metrics(p95=None, out_of_order=1), BUDGET, within_s=2).reason == (
        "1 events out of order (latency not measured: endpoint sends no send time)"
    )


def test_skipped_is_its_own_verdict_with_the_message():
    judgement = skipped("no Chromium on this machine")
    assert (judgement.verdict, judgement.reason) == (Verdict.SKIPPED, "no Chromium on this machine")
