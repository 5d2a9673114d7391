"""The clients' decisions, free of I/O: what to resume from, when to retry, when to give up.

The trio drivers in this package do the I/O and ask these objects what to do next, so the
reconnect and fallback logic is tested with plain calls, trio's MockClock and Hypothesis
state machines (tests/unit/test_policy.py) instead of sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHROMIUM_DEFAULT_RETRY_MS = 3000


@dataclass
class Backoff:
    """Exponential backoff for reconnects: `initial_s` doubling up to `max_s`, reset on success."""

    initial_s: float = 0.05
    max_s: float = 2.0
    _next_s: float = 0.0

    def next_delay(self) -> float:
        self._next_s = self.initial_s if self._next_s == 0 else min(self.max_s, self._next_s * 2)
        return self._next_s

    def reset(self) -> None:
        self._next_s = 0.0


@dataclass
class Cursor:
    """Where a client resumes and what it has already seen (delivery after de-duplication).

    The wire is at-least-once: after a reconnect a server may resend what the client had.
    `accept` says whether an id is new; `resume_after` is the id to resume from (the
    highest seen, as EventSource's last event ID and engine.io's offsets do).
    """

    resume_after: int = 0
    seen: set[int] = field(default_factory=set)

    def accept(self, event_id: int) -> bool:
        self.resume_after = max(self.resume_after, event_id)
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        return True


@dataclass
class UpgradePolicy:
    """engine.io-style: start on long polling, probe WebSocket, fall back, never flap forever.

    A probe counts as good once the socket has lived `probe_ms`; a socket that fails its
    handshake or dies sooner is a failed attempt, and after `max_failures` of those the
    session stays on polling for good. Between attempts it waits `retry_s` (doubling).
    """

    probe_ms: float = 300.0
    max_failures: int = 3
    retry_s: float = 0.5
    failures: int = 0
    upgraded: bool = False

    def should_try(self) -> bool:
        return not self.upgraded and self.failures < self.max_failures

    def retry_delay_s(self) -> float:
        return self.retry_s * 2 ** max(0, self.failures - 1)

    def socket_ended(self, lived_ms: float | None) -> None:
        """The probe or upgraded socket ended after `lived_ms` (None: handshake failed)."""
        self.upgraded = False
        if lived_ms is None or lived_ms < self.probe_ms:
            self.failures += 1

    def socket_survived_probe(self) -> None:
        self.upgraded = True

    @property
    def gave_up(self) -> bool:
        return self.failures >= self.max_failures


@dataclass
class EventSourcePolicy:
    """The EventSource reconnection model (WHATWG HTML, "Server-sent events"), without I/O.

    - A response that is not `200` with a `text/event-stream` Content-Type fails the
      connection for good ("fail the connection"): no reconnect.
    - Otherwise, when the response ends or the network fails, the client waits the
      reconnection time and asks again, sending the last event ID as `Last-Event-ID`.
    - The reconnection time starts at the implementation's default (Chromium: a constant
      3 s, no backoff; docs/field.md) and becomes the last valid `retry:` the parser saw.
    - The last event ID is the parser's: set only when an event is dispatched, kept across
      events and connections.
    The trio driver (harness/clients/sse.py) does the I/O and asks this object what to send
    and how long to wait; tests drive it with plain calls and trio's MockClock.
    """

    retry_ms: int = CHROMIUM_DEFAULT_RETRY_MS
    last_event_id: str = ""
    closed: bool = False

    def request_headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def accepts(self, status: int, content_type: str) -> bool:
        """Announce the connection (True) or fail it for good (False, and `closed`)."""
        ok = status == 200 and content_type.split(";")[0].strip().lower() == "text/event-stream"
        self.closed = not ok
        return ok

    def connection_ended(self, last_event_id: str, retry_ms: int | None) -> float:
        """Take what the parser kept; the delay in seconds before the next request."""
        self.last_event_id = last_event_id
        if retry_ms is not None:
            self.retry_ms = retry_ms
        return self.retry_ms / 1000
