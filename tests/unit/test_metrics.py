"""Metrics from hand-built event logs: exact numbers, every rule and boundary."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    EventLog,
    Published,
    Received,
    Request,
)
from gauntlet.metrics import compute, percentile, samples

MS = 1_000_000


def log_of(*records) -> EventLog:
    log = EventLog()
    for r in records:
        log.append(r)
    return log


def test_latency_is_first_receipt_minus_publication_and_duplicates_are_counted():
    log = log_of(
        Request(0, 1, "GET /sse"),
        Connected(1 * MS, 1, "HTTP/1.1"),
        Published(1, 10 * MS, 64),
        Published(2, 20 * MS, 64),
        Received(1, 13 * MS, 1),
        Received(2, 30 * MS, 1),
        Received(2, 31 * MS, 2),  # replayed after a reconnect
        Connected(32 * MS, 2, "HTTP/1.1"),
        BytesReceived(13 * MS, 1, 100),
        BytesReceived(30 * MS, 1, 50),
        Request(31 * MS, 2, "GET /sse"),
    )
    m = compute(log, t0_ns=0)
    assert (m.sent, m.delivered, m.lost, m.duplicates, m.out_of_order) == (2, 2, 0, 1, 0)
    assert m.latency_ms.max == 10.0 and m.latency_ms.p50 == 6.5
    assert m.time_to_first_event_ms == 13.0
    assert (m.requests, m.reconnects, m.bytes_received) == (2, 1, 150)


def test_receipts_after_the_deadline_are_lost():
    log = log_of(
        Published(1, 0, 1), Published(2, 0, 1), Received(1, 5 * MS, 1), Received(2, 50 * MS, 1)
    )
    m = compute(log, t0_ns=0, deadline_ns=10 * MS)
    assert (m.delivered, m.lost, m.lost_ids) == (1, 1, (2,))
    assert compute(log, t0_ns=0).lost == 0


def test_out_of_order_counts_events_arriving_after_a_higher_id():
    published = [Published(i, 0, 1) for i in range(1, 5)]
    arrivals = [Received(1, 1, 1), Received(3, 2, 1), Received(2, 3, 1), Received(4, 4, 1)]
    log = log_of(*published, *arrivals)
    assert compute(log, t0_ns=0).out_of_order == 1


def test_nothing_delivered_gives_none_latencies_and_no_time_to_first_event():
    m = compute(log_of(Request(0, 1, "GET"), Published(1, 0, 1)), t0_ns=0)
    assert m.delivered == 0 and m.lost_ids == (1,)
    assert m.latency_ms.p50 is None and m.latency_ms.max is None
    assert m.time_to_first_event_ms is None
    assert m.to_json()["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}


def test_unpublished_ids_do_not_count_as_delivered():
    m = compute(log_of(Published(1, 0, 1), Received(99, 1, 1)), t0_ns=0)
    assert (m.delivered, m.lost) == (0, 1)


def test_samples_keep_every_receipt_relative_to_t0_without_deadline():
    log = log_of(
        Published(1, 10 * MS, 1),
        Published(2, 20 * MS, 1),
        Received(1, 12 * MS, 1),
        Received(1, 40 * MS, 2),
    )
    s = samples(log, t0_ns=10 * MS)
    assert [(x.id, x.sent_ms, x.received_ms) for x in s] == [(1, 0.0, (2.0, 30.0)), (2, 10.0, ())]


def test_percentile_edges():
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4], 100) == 4


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0, 100))
def test_percentile_matches_numpy_linear(values, q):
    assert np.isclose(percentile(values, q), np.percentile(values, q), rtol=1e-9, atol=1e-9)


def test_without_send_times_latency_is_left_out_but_delivery_is_not():
    log = log_of(
        Request(0, 1, "GET /sse"),
        Published(1, 10 * MS, 0),
        Published(2, 20 * MS, 0),
        Received(2, 30 * MS, 1),
        Received(1, 31 * MS, 1),
    )
    m = compute(log, t0_ns=0, latency=False)
    assert m.latency_ms.p50 is None and m.latency_ms.p95 is None and m.latency_ms.max is None
    assert (m.delivered, m.lost, m.out_of_order, m.time_to_first_event_ms) == (2, 0, 1, 30.0)


def steady_log(latencies_ms: list[int], *, start_ms: int = 1000) -> EventLog:
    """One request at `start_ms`, event i published 100 ms apart, received latencies[i] later."""
    records: list = [Request(start_ms * MS, 1, "GET /sse"), Connected(start_ms * MS, 1, "h1")]
    for i, latency in enumerate(latencies_ms, start=1):
        sent = (start_ms + 100 * i) * MS
        records += [Published(i, sent, 64), Received(i, sent + latency * MS, 1)]
    return log_of(*records)


def test_p95_and_p99_are_computed_from_the_log_as_numpy_does():
    # 20 events with latencies 1..20 ms: the p95 a verdict is judged on is 19.05 ms.
    latencies = list(range(1, 21))
    m = compute(steady_log(latencies), t0_ns=0)
    assert m.latency_ms.p50 == np.percentile(latencies, 50) == 10.5
    assert m.latency_ms.p95 == np.percentile(latencies, 95) == 19.05
    assert m.latency_ms.p99 == np.percentile(latencies, 99) == 19.81
    assert m.latency_ms.max == 20
    assert m.to_json()["latency_ms"] == {"p50": 10.5, "p95": 19.05, "p99": 19.81, "max": 20}


def test_time_to_first_event_is_measured_from_the_first_request_not_from_zero():
    log = log_of(
        Request(500 * MS, 1, "GET /sse"),
        Published(1, 510 * MS, 1),
        Received(1, 530 * MS, 1),
        Request(600 * MS, 2, "GET /sse"),
    )
    assert compute(log, t0_ns=400 * MS).time_to_first_event_ms == 30.0


def test_a_receipt_exactly_on_the_deadline_is_delivered():
    log = log_of(Published(1, 0, 1), Received(1, 10 * MS, 1))
    m = compute(log, t0_ns=0, deadline_ns=10 * MS)
    assert (m.delivered, m.lost, m.lost_ids) == (1, 0, ())
    assert compute(log, t0_ns=0, deadline_ns=10 * MS - 1).lost_ids == (1,)


def test_each_receipt_is_judged_by_its_own_time_not_its_place_in_the_log():
    # Two connections append as they read: a late receipt may be logged before an on-time one.
    log = log_of(
        Published(1, 0, 1), Published(2, 0, 1), Received(2, 50 * MS, 2), Received(1, 5 * MS, 1)
    )
    m = compute(log, t0_ns=0, deadline_ns=10 * MS)
    assert (m.delivered, m.lost_ids) == (1, (2,))


def test_every_reordered_event_is_counted():
    published = [Published(i, 0, 1) for i in range(1, 6)]
    arrivals = [Received(i, t, 1) for t, i in enumerate([3, 1, 2, 5, 4], start=1)]
    assert compute(log_of(*published, *arrivals), t0_ns=0).out_of_order == 3


def test_a_single_connection_is_no_reconnect():
    log = log_of(Request(0, 1, "GET"), Connected(0, 1, "h1"), Published(1, 0, 1))
    assert compute(log, t0_ns=0).reconnects == 0
    assert compute(log_of(Published(1, 0, 1)), t0_ns=0).reconnects == 0


def test_lost_ids_reach_results_json_as_a_list():
    log = log_of(Published(1, 0, 1), Published(2, 0, 1), Published(3, 0, 1), Received(2, 1, 1))
    out = compute(log, t0_ns=0).to_json()
    assert out["lost_ids"] == [1, 3] and out["lost"] == 2
    assert json.loads(json.dumps(out))["lost_ids"] == [1, 3]
