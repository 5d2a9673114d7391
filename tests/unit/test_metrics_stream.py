"""harness/metrics_stream.py at its edges: times measured from the first request, inclusive
deadlines, the 1 ms lump boundary, the token-weighted typical lump, empty logs, resumptions."""

from __future__ import annotations

from gauntlet.eventlog import EndOfAnswer, EventLog, Published, Received, Request
from gauntlet.metrics_stream import LUMP_NS, compute, lumps, typical_lump

MS = 1_000_000


def log_of(*records) -> EventLog:
    log = EventLog()
    for record in records:
        log.append(record)
    return log


def gapped_answer() -> EventLog:
    """Requested at 5 ms; four tokens published 20-80 ms, received 15/25/45/1045 ms."""
    return log_of(
        Request(5 * MS, 1, "POST /v1/chat/completions"),
        *(Published(i, i * 20 * MS, 10) for i in range(1, 5)),
        *(Received(i, t * MS, 1) for i, t in zip(range(1, 5), (15, 25, 45, 1045), strict=True)),
        EndOfAnswer(1100 * MS, 1),
        EndOfAnswer(1050 * MS, 1),
    )


def test_times_count_from_the_first_request_and_the_first_end_marker():
    s = compute(gapped_answer())
    assert s.time_to_first_token_ms == 10
    assert s.answer_duration_ms == 75
    assert s.time_to_end_ms == 1045


def test_gap_percentiles_interpolate_between_the_gaps():
    s = compute(gapped_answer())  # gaps 10, 20, 1000 ms
    assert s.gap_p50_ms == 20
    assert round(s.gap_p99_ms, 1) == 980.4


def test_a_receipt_and_an_end_marker_exactly_at_the_deadline_count():
    s = compute(gapped_answer(), deadline_ns=1050 * MS)
    assert s.tokens_received == 4 and s.end_marker and s.time_to_end_ms == 1045
    last_token = compute(gapped_answer(), deadline_ns=1045 * MS)
    assert last_token.tokens_received == 4 and not last_token.end_marker


def test_tokens_exactly_one_lump_apart_are_two_lumps():
    near = [Received(1, 10 * MS, 1), Received(2, 10 * MS + LUMP_NS - 1, 1)]
    apart = [Received(1, 10 * MS, 1), Received(2, 10 * MS + LUMP_NS, 1)]
    assert lumps(near) == [2] and lumps(apart) == [1, 1]


def test_the_typical_lump_is_the_one_the_median_token_arrived_in():
    assert typical_lump([1, 1, 1, 3]) == 3  # 6 tokens: half of them came in the lump of 3
    assert typical_lump([1, 1, 1, 1, 2]) == 1
    assert typical_lump([]) == 0


def test_nothing_received_has_no_times_and_no_lumps():
    s = compute(log_of(Request(5 * MS, 1, "POST /v1/chat/completions"), Published(1, 20 * MS, 10)))
    assert (
        s.tokens_received,
        s.time_to_first_token_ms,
        s.max_lump_tokens,
        s.typical_lump_tokens,
        s.gap_p50_ms,
    ) == (0, None, 0, 0, None)
    assert not s.end_marker and s.time_to_end_ms is None


def test_without_a_request_or_a_publication_there_is_no_time_to_measure():
    s = compute(log_of(Received(1, 20 * MS, 1), EndOfAnswer(30 * MS, 1)))
    assert s.time_to_first_token_ms is None and s.time_to_end_ms is None
    assert s.answer_duration_ms is None and s.tokens_sent == 0


def test_only_requests_that_name_last_event_id_are_resumptions():
    s = compute(
        log_of(
            Request(0, 1, "GET /mcp"),
            Request(MS, 2, "GET /mcp (Last-Event-ID 3)"),
            Request(2 * MS, 3, "POST /mcp"),
        )
    )
    assert s.resumptions == 1


def test_the_json_has_the_fields_and_the_derived_figures():
    doc = compute(gapped_answer()).to_json()
    assert doc["tokens_received"] == 4 and doc["resumptions"] == 0
    assert doc["complete"] is True and doc["held_until_end"] is False
    assert doc["max_batch_tokens"] == 1
