"""How a client reconnected, from the event log alone (pure): the numbers the report puts
side by side for the browser and the reference client on the same cell.

- `delays_ms`: for every connection that ended, the time from its end to the client's next
  request (the EventSource reconnection time, a backoff, or a page's own timer): the earlier
  of the client's own `Request` stamp and the server's arrival stamp of the next push
  request. Both bound the true send time from above; a browser's EventSource requests are
  only seen when Playwright's request event reaches the harness (late under load), so there
  the server's stamp is the tighter one, and both client kinds are measured alike;
- `last_event_ids`: the `Last-Event-ID` headers the server received, in order (what the
  client resumed from, seen the same way for every client kind);
- `ended`: how each connection ended, counted by reason (an error status that closed an
  EventSource for good shows here);
- `requests_per_event`: requests / events delivered (None when nothing was delivered).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gauntlet.eventlog import Disconnected, EventLog, Received, Request, ServerRequest
from gauntlet.server.browser_page import PAGE_PATH

STATUS_PREFIXES = ("failed for good", "EventSource error, closed for good")


def reconnection_summary(log: EventLog) -> dict[str, Any]:
    requests = sorted(r.t_ns for r in log.of(Request))
    arrivals = sorted(r.t_ns for r in log.of(ServerRequest) if r.path != PAGE_PATH)
    delays = []
    for d in sorted(log.of(Disconnected), key=lambda d: d.t_ns):
        later = [t for t in requests if t >= d.t_ns][:1] + [t for t in arrivals if t >= d.t_ns][:1]
        if later:
            delays.append(round((min(later) - d.t_ns) / 1e6, 1))
    delivered = len({r.id for r in log.of(Received)})
    ended = Counter(_reason_class(d.reason) for d in log.of(Disconnected))
    return {
        "delays_ms": delays[:100],
        "last_event_ids": [r.last_event_id for r in log.of(ServerRequest) if r.last_event_id][:100],
        "ended": dict(sorted(ended.items())),
        "closed_for_good": any(d.reason.startswith(STATUS_PREFIXES) for d in log.of(Disconnected)),
        "requests_per_event": round(len(requests) / delivered, 2) if delivered else None,
    }


def _reason_class(reason: str) -> str:
    """A reason without its variable part (status numbers stay: they matter)."""
    return reason.split(":")[0] if not reason.startswith("failed for good") else reason[:60]
