"""Exact delivery accounting of a load run (PURE): every worker's receipts, merged.

Each Locust worker sends the master one receipts document (harness/load/locustfile.py):
per user, the stamp it subscribed at (response headers, WebSocket handshake, or a long poll's
first request) and EVERY receipt `[event id, stamp ns]`, duplicates included. The merge
counts, per (subscriber, published event), the first receipt as the delivery, every further
one as a duplicate, and a missing one as a loss: exact, whatever the number of workers.

A user that never subscribed (never held a stream) is counted apart from the loss of pushed
events, since nothing was pushed to it; why it never got a stream (an answer such as a
proxy's 500, or connect errors with no answer) is named instead (`merge`,
`never_subscribed_error`).

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


def never_subscribed_cause(user: dict[str, Any]) -> str:
    """Why a user never held a stream (pure): the status an EventSource gave up on for good
    (WHATWG: a non-200 answer ends it), else its connect errors, else that it never tried."""
    if user.get("failed_for_good"):
        return str(user["failed_for_good"])
    kinds = user.get("error_kinds") or {}
    if kinds:
        return "+".join(sorted(kinds))
    return "no attempt finished" if user.get("attempts") else "never tried"


def merge(sent_ns: dict[int, int], workers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Deliveries, losses, duplicates and latency of a run from every worker's receipts.

    `sent_ns`: event id -> the publisher's stamp, on the receipts' clock.

    A missing delivery is counted by who missed it:
    - `lost`: a user that subscribed (it held a stream) lacks the event, whether it was
      subscribed when the event was published (`lost_live`) or came later and had to get it
      from the history on connect: loss through the path and the target;
    - `lost_never_subscribed`: a user that never held a stream lacks it. Nothing was ever
      pushed to it, so this is not loss through the path: the load did not reach the path
      (`never_subscribed` users, with `never_subscribed_causes`). The run says so as its
      error (harness/load/run.py), as a harness fault, rather than as the path's loss.
    `expected_deliveries` = `delivered` + `lost` + `lost_never_subscribed`, exactly;
    `delivered_fraction` is over the users that subscribed.
    """
    seen_users: set[str] = set()
    subscribed: list[int | None] = []
    delivered = duplicates = unexpected = 0
    lost_per_event = {e: 0 for e in sent_ns}
    lost_live_per_event = {e: 0 for e in sent_ns}
    lost_never_per_event = {e: 0 for e in sent_ns}
    causes: dict[str, int] = {}
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
            if since is None:
                cause = never_subscribed_cause(user)
                causes[cause] = causes.get(cause, 0) + 1
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
                    if since is None:
                        lost_never_per_event[event_id] += 1
                    else:
                        lost_per_event[event_id] += 1
                        if stamp >= since:
                            lost_live_per_event[event_id] += 1
                elif since is not None and stamp >= since:
                    ms = (t - stamp) / NS_PER_MS
                    samples.append(ms)
                    per_event[event_id].append(ms)
    n = len(seen_users)
    n_subscribed = sum(1 for s in subscribed if s is not None)
    expected = n * len(sent_ns)
    owed = n_subscribed * len(sent_ns)
    lost_never = sum(lost_never_per_event.values())
    events = []
    for event_id, stamp in sorted(sent_ns.items()):
        at = sum(1 for s in subscribed if s is not None and s <= stamp)
        events.append(
            {
                "id": event_id,
                "subscribers_at_publish": at,
                "lost": lost_per_event[event_id],
                "lost_live": lost_live_per_event[event_id],
                "lost_never_subscribed": lost_never_per_event[event_id],
                "latency_ms": latency_summary(per_event[event_id]),
            }
        )
    return {
        "subscribers": n,
        "subscribed": n_subscribed,
        "never_subscribed": n - n_subscribed,
        "never_subscribed_causes": dict(sorted(causes.items())),
        "sent_events": len(sent_ns),
        "expected_deliveries": expected,
        "delivered": delivered,
        "lost": expected - delivered - lost_never,
        "lost_never_subscribed": lost_never,
        "duplicates": duplicates,
        "unexpected_ids": unexpected,
        "delivered_fraction": round(delivered / owed, 6) if owed else None,
        "latency_ms": latency_summary(samples),
        "latency_samples": len(samples),
        "reconnects": max(0, connects - n_subscribed),
        "client_errors": errors,
        "client_error_kinds": dict(sorted(error_kinds.items())),
        "events": events,
    }


def never_subscribed_error(figures: dict[str, Any], path: str) -> str | None:
    """The run's error when users never subscribed (pure), naming their causes.

    Such a user never held a stream, so no event was ever pushed to it: the run did not put
    the asked load on the path. That is an ERROR with its cause, never a loss of pushed events
    blamed on `path` (RULES: harness faults are errors); the losses among the users that did
    subscribe are the measurement. A cause that is a status is an answer (from the path or the
    target) on which an EventSource gives up for good: measured, a proxy out of descriptors
    answers 500 (issue 15); connect errors without any answer point at the generator's side
    or a full listen queue."""
    k = figures.get("never_subscribed") or 0
    if not k:
        return None
    causes = figures["never_subscribed_causes"]
    named = ", ".join(f"{cause} x{count}" for cause, count in causes.items())
    answered = any(cause.startswith("status ") for cause in causes)
    return (
        f"load not established: {k} of {figures['subscribers']} users never subscribed "
        f"({named})"
        + (
            "; a status is an answer from the path or the target, see its log"
            if answered
            else "; no answer ever came: the load generator never got a stream"
        )
        + f"; their {figures['lost_never_subscribed']} deliveries are counted apart "
        f"(lost_never_subscribed), not as loss through {path}"
    )


def ramp_points(
    events: Sequence[dict[str, Any]],
    transport: str,
    path: str,
) -> list[dict[str, Any]]:
    """Events grouped by subscribers at publish: points shaped like the bench's sweep points
    (harness/instrument/bench/document.knees reads them), so the knee is found the same way.

    A point measures the load it names: its delivered fraction is over the subscribers that
    held a stream when each of its events was published (`lost_live`), as its latency is.
    A user that subscribed later and lacked the event from the history (`lost_from_history`,
    shown beside) failed at another load, and a user that never subscribed was never part of
    any point's load: counting either here made the first point of a ramp (1 subscriber)
    carry the whole run's losses, and the knee land on it."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        if e["subscribers_at_publish"]:
            groups.setdefault(e["subscribers_at_publish"], []).append(e)
    points = []
    for n, group in sorted(groups.items()):
        lost_live = sum(e.get("lost_live", e["lost"]) for e in group)
        p99s = [e["latency_ms"]["p99"] for e in group if e["latency_ms"]["p99"] is not None]
        p50s = [e["latency_ms"]["p50"] for e in group if e["latency_ms"]["p50"] is not None]
        points.append(
            {
                "transport": transport,
                "path": path,
                "subscribers": n,
                "events": len(group),
                "error": None,
                "delivered_fraction": round(1 - lost_live / (n * len(group)), 6),
                "lost_live": lost_live,
                "lost_from_history": sum(e["lost"] for e in group) - lost_live,
                "latency_ms": {
                    "p50": max(p50s) if p50s else None,
                    "p99": max(p99s) if p99s else None,
                },
            }
        )
    return points
