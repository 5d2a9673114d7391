"""Exact delivery accounting of a load run (PURE): every worker's receipts, merged.

Each Locust worker sends the master one receipts document (harness/load/locustfile.py):
per user, the stamp it subscribed at (response headers, WebSocket handshake, or a long poll's
first request) and EVERY receipt `[event id, stamp ns]`, duplicates included. The merge
counts, per (subscriber, published event), the first receipt as the delivery, every further
one as a duplicate, and a missing one as a loss: exact, whatever the number of workers.

Latency is counted only for events published after the subscriber had subscribed: an event
published before is delivered from the server's history on connect (resumption), which is
delivery, not push latency. Every event also records how many subscribers were subscribed
when it was published, which gives latency against subscribers along the ramp.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gauntlet.instrument.bench.document import latency_summary
from gauntlet.metrics import NS_PER_MS

RECEIPTS_VERSION = 1


class ReceiptsError(ValueError):
    """A receipts document is malformed or two workers claim the same user."""


def check_receipts(doc: Any, where: str) -> None:
    """Raise ReceiptsError naming what is wrong with one worker's document (pure)."""
    if not isinstance(doc, dict) or doc.get("version") != RECEIPTS_VERSION:
        raise ReceiptsError(f"{where}: not a receipts document of version {RECEIPTS_VERSION}")
    users = doc.get("users")
    if not isinstance(users, list):
        raise ReceiptsError(f"{where}: 'users' must be a list")
    for u in users:
        if (
            not isinstance(u, dict)
            or not isinstance(u.get("id"), str)
            or not isinstance(u.get("receipts"), list)
        ):
            raise ReceiptsError(f"{where}: a user needs a string 'id' and a 'receipts' list")


def merge(sent_ns: dict[int, int], workers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Deliveries, losses, duplicates and latency of a run from every worker's receipts.

    `sent_ns`: event id -> the publisher's stamp, on the receipts' clock.
    """
    seen_users: set[str] = set()
    subscribed: list[int | None] = []
    delivered = duplicates = unexpected = 0
    lost_per_event = {e: 0 for e in sent_ns}
    samples: list[float] = []
    per_event: dict[int, list[float]] = {e: [] for e in sent_ns}
    connects = errors = 0
    error_kinds: dict[str, int] = {}
    for w in workers:
        for user in w["users"]:
            if user["id"] in seen_users:
                raise ReceiptsError(f"user {user['id']!r} reported twice (two workers, one id)")
            seen_users.add(user["id"])
            since = user.get("subscribed_ns")
            subscribed.append(since)
            connects += int(user.get("connects", 0))
            errors += int(user.get("errors", 0))
            for kind, count in (user.get("error_kinds") or {}).items():
                error_kinds[kind] = error_kinds.get(kind, 0) + int(count)
            first: dict[int, int] = {}
            for event_id, t_ns in user["receipts"]:
                if event_id not in sent_ns:
                    unexpected += 1
                elif event_id in first:
                    duplicates += 1
                else:
                    first[event_id] = t_ns
            delivered += len(first)
            for event_id, stamp in sent_ns.items():
                t = first.get(event_id)
                if t is None:
                    lost_per_event[event_id] += 1
                elif since is not None and stamp >= since:
                    ms = (t - stamp) / NS_PER_MS
                    samples.append(ms)
                    per_event[event_id].append(ms)
    n = len(seen_users)
    expected = n * len(sent_ns)
    events = []
    for event_id, stamp in sorted(sent_ns.items()):
        at = sum(1 for s in subscribed if s is not None and s <= stamp)
        events.append(
            {
                "id": event_id,
                "subscribers_at_publish": at,
                "lost": lost_per_event[event_id],
                "latency_ms": latency_summary(per_event[event_id]),
            }
        )
    return {
        "subscribers": n,
        "subscribed": sum(1 for s in subscribed if s is not None),
        "sent_events": len(sent_ns),
        "expected_deliveries": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "duplicates": duplicates,
        "unexpected_ids": unexpected,
        "delivered_fraction": round(delivered / expected, 6) if expected else None,
        "latency_ms": latency_summary(samples),
        "latency_samples": len(samples),
        "reconnects": max(0, connects - sum(1 for s in subscribed if s is not None)),
        "client_errors": errors,
        "client_error_kinds": dict(sorted(error_kinds.items())),
        "events": events,
    }


def ramp_points(
    events: Sequence[dict[str, Any]],
    subscribers: int,
    transport: str,
    path: str,
) -> list[dict[str, Any]]:
    """Events grouped by subscribers at publish: points shaped like the bench's sweep points
    (harness/instrument/bench/document.knees reads them), so the knee is found the same way.
    Loss is over every subscriber of the run (a late one still receives an early event from
    the history)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        if e["subscribers_at_publish"]:
            groups.setdefault(e["subscribers_at_publish"], []).append(e)
    points = []
    for n, group in sorted(groups.items()):
        lost = sum(e["lost"] for e in group)
        p99s = [e["latency_ms"]["p99"] for e in group if e["latency_ms"]["p99"] is not None]
        p50s = [e["latency_ms"]["p50"] for e in group if e["latency_ms"]["p50"] is not None]
        points.append(
            {
                "transport": transport,
                "path": path,
                "subscribers": n,
                "events": len(group),
                "error": None,
                "delivered_fraction": round(1 - lost / (subscribers * len(group)), 6),
                "latency_ms": {
                    "p50": max(p50s) if p50s else None,
                    "p99": max(p99s) if p99s else None,
                },
            }
        )
    return points
