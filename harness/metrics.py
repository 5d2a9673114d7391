"""Metrics: pure functions from one cell's event log to what a team needs to know.

Delivery is at-least-once on the wire and exactly-once after de-duplication by id, so both
are kept: `delivered` counts distinct published ids received before the deadline, and
`duplicates` counts the extra wire receipts a transport caused. Latency is per event, first
receipt minus publication, both stamped with the one clock of the event log.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gauntlet.eventlog import BytesReceived, Connected, EventLog, Published, Received, Request

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class LatencySummary:
    """Per-event latency percentiles in milliseconds (None when nothing was delivered)."""

    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class EventSample:
    """One published event: send time and every wire receipt, ms relative to the cell's t0."""

    id: int
    sent_ms: float
    received_ms: tuple[float, ...]


@dataclass(frozen=True)
class Metrics:
    sent: int
    delivered: int
    lost: int
    duplicates: int
    out_of_order: int
    latency_ms: LatencySummary
    time_to_first_event_ms: float | None
    reconnects: int
    requests: int
    bytes_received: int
    lost_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["lost_ids"] = list(self.lost_ids)
        return out


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default method)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def compute(
    log: EventLog, *, t0_ns: int, deadline_ns: int | None = None, latency: bool = True
) -> Metrics:
    """Metrics of one cell; receipts after `deadline_ns` do not count as delivered.

    - sent: `Published` records; delivered: distinct published ids received in time;
      lost = sent - delivered, with the lost ids.
    - duplicates: counted receipts minus distinct ids among them.
    - out_of_order: first receipts (in log order) whose id is below an id first-received
      before them.
    - latency: first receipt minus publication, per delivered event, in ms.
    - time_to_first_event_ms: first counted receipt minus the client's first request.
    - requests: `Request` records; reconnects: `Connected` records beyond the first;
      bytes_received: the sum of `BytesReceived`.
    `t0_ns` is accepted for symmetry with `samples` and is not needed for these figures.
    `latency=False` (an endpoint that gives no send time, harness/target.py): the publication
    stamps are the harness's publish requests, not send times, so no latency is reported.
    """
    published = {r.id: r.t_ns for r in log.of(Published)}
    first: dict[int, int] = {}
    counted = 0
    out_of_order = 0
    highest = 0
    first_receipt_ns: int | None = None
    for r in log.of(Received):
        if deadline_ns is not None and r.t_ns > deadline_ns:
            continue
        counted += 1
        if first_receipt_ns is None:
            first_receipt_ns = r.t_ns
        if r.id not in first:
            first[r.id] = r.t_ns
            if r.id < highest:
                out_of_order += 1
            highest = max(highest, r.id)
    delivered_ids = [i for i in first if i in published]
    latencies = [(first[i] - published[i]) / NS_PER_MS for i in delivered_ids] if latency else []
    lost_ids = tuple(sorted(set(published) - set(first)))
    requests = log.of(Request)
    ttfe = None
    if first_receipt_ns is not None and requests:
        ttfe = (first_receipt_ns - min(r.t_ns for r in requests)) / NS_PER_MS
    return Metrics(
        sent=len(published),
        delivered=len(delivered_ids),
        lost=len(lost_ids),
        duplicates=counted - len(first),
        out_of_order=out_of_order,
        latency_ms=LatencySummary(
            percentile(latencies, 50),
            percentile(latencies, 95),
            percentile(latencies, 99),
            max(latencies) if latencies else None,
        ),
        time_to_first_event_ms=ttfe,
        reconnects=max(0, len(log.of(Connected)) - 1),
        requests=len(requests),
        bytes_received=sum(r.n for r in log.of(BytesReceived)),
        lost_ids=lost_ids,
    )


def samples(log: EventLog, *, t0_ns: int) -> list[EventSample]:
    """Raw per-event data for results.json: every receipt, no deadline applied."""
    receipts: dict[int, list[float]] = {}
    for r in log.of(Received):
        receipts.setdefault(r.id, []).append((r.t_ns - t0_ns) / NS_PER_MS)
    return [
        EventSample(p.id, (p.t_ns - t0_ns) / NS_PER_MS, tuple(receipts.get(p.id, ())))
        for p in sorted(log.of(Published), key=lambda p: p.id)
    ]
