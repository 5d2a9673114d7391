"""The publisher: an in-memory event log with strictly increasing ids that any client can resume.

Every transport endpoint reads from this one log, so "what was sent" is defined once, and a
client that reconnects with `Last-Event-ID: 7` (SSE) or `after=7` (long poll, WebSocket) gets
exactly the events with id > 7. Ids start at 1; 0 means "from the beginning".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import trio

from gauntlet.eventlog import EventLog, Note, Published, now_ns


@dataclass(frozen=True, slots=True)
class PushEvent:
    """One published event: its id (== sequence number), send stamp and wire payload."""

    id: int
    sent_ns: int
    payload: str


class Publisher:
    """Appends events and wakes every waiting subscriber; never drops or reorders."""

    def __init__(self, log: EventLog, payload_bytes: int = 64) -> None:
        self._log = log
        self._payload_bytes = payload_bytes
        self._events: list[PushEvent] = []
        self._changed = trio.Event()
        self.first_request = trio.Event()
        """Set by the app when any client request reaches the server (the workload's go signal)."""

    @property
    def last_id(self) -> int:
        return len(self._events)

    def publish(self) -> PushEvent:
        """Append the next event, stamp it, and wake subscribers."""
        event_id = len(self._events) + 1
        sent_ns = now_ns()
        body = json.dumps({"id": event_id, "sent_ns": sent_ns})
        pad = max(0, self._payload_bytes - len(body) - len(',"pad":""'))
        payload = body[:-1] + f',"pad":"{"x" * pad}"}}' if pad else body
        event = PushEvent(event_id, sent_ns, payload)
        self._events.append(event)
        self._log.append(Published(event_id, sent_ns, len(payload)))
        self._changed.set()
        self._changed = trio.Event()
        return event

    def log_note(self, text: str) -> None:
        self._log.append(Note(now_ns(), text))

    def after(self, cursor: int) -> list[PushEvent]:
        """Every event with id > cursor, in id order (ids are list positions + 1)."""
        return self._events[max(0, cursor) :]

    async def wait_after(self, cursor: int) -> list[PushEvent]:
        """Block until at least one event with id > cursor exists, then return them all."""
        while not (events := self.after(cursor)):
            await self._changed.wait()
        return events
