"""The event log: what every component of one cell saw, stamped with one clock.

The publisher (in the server) appends `Published`; each reference client appends `Received`
for every event it reads off the wire (duplicates included), `Connected` / `Disconnected` for
every transport connection and `Request` for every HTTP request or WebSocket handshake it
makes. Metrics are computed from this log alone (harness/metrics.py).

All times are `time.monotonic_ns()`: system-wide on Linux, so stamps taken in different
processes are comparable, and the server and clients of a cell share the harness process
anyway. Latency is always the difference of two readings of this one clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import trio

CLOCK_NAME = "time.monotonic_ns"
T = TypeVar("T")


def now_ns() -> int:
    """The one clock every record is stamped with."""
    return time.monotonic_ns()


def clock_resolution_ns() -> int:
    return max(1, round(time.get_clock_info("monotonic").resolution * 1e9))


@dataclass(frozen=True, slots=True)
class Published:
    """The server appended event `id` to its log at `t_ns`."""

    id: int
    t_ns: int
    size: int


@dataclass(frozen=True, slots=True)
class Received:
    """A client read event `id` off connection `conn` at `t_ns` (before de-duplication)."""

    id: int
    t_ns: int
    conn: int
    read: int = 0
    """Which read off the connection carried it (1, 2, ...; 0: the client does not say).
    Token-stream clients set it, so a hop that batches shows as many events in one read."""


@dataclass(frozen=True, slots=True)
class Request:
    """A client sent a request (HTTP request or WebSocket handshake) on connection `conn`."""

    t_ns: int
    conn: int
    kind: str


@dataclass(frozen=True, slots=True)
class Connected:
    """A client's transport connection `conn` got its response headers / handshake."""

    t_ns: int
    conn: int
    http_version: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """Connection `conn` ended, cleanly or not; `reason` says how."""

    t_ns: int
    conn: int
    reason: str


@dataclass(frozen=True, slots=True)
class BytesReceived:
    """A client read `n` body bytes (or WebSocket message bytes) on connection `conn`."""

    t_ns: int
    conn: int
    n: int


@dataclass(frozen=True, slots=True)
class ServerRequest:
    """The server received a request for `path` over `http_version` (what the last hop spoke)."""

    t_ns: int
    path: str
    http_version: str
    last_event_id: str = ""
    """The request's `Last-Event-ID` header ("" if none): what a reconnecting client resumed
    from, seen the same way for every client kind."""


@dataclass(frozen=True, slots=True)
class Note:
    """A free-text fact worth keeping (a fallback, a retry delay change, ...)."""

    t_ns: int
    text: str


@dataclass(frozen=True, slots=True)
class Settled:
    """A client that chooses its transport at start-up (the SSE canary: stream or long
    polling) has chosen it: `how` says which. The workload waits for it (harness/topology.py),
    so the latency budget judges the transport chosen, not the client's own start-up wait."""

    t_ns: int
    how: str


@dataclass(frozen=True, slots=True)
class EndOfAnswer:
    """A token-stream client read the answer's end marker (`data: [DONE]`, an MCP result)."""

    t_ns: int
    conn: int


Record = (
    Published
    | Received
    | Request
    | Connected
    | Disconnected
    | BytesReceived
    | ServerRequest
    | Note
    | Settled
    | EndOfAnswer
)


@dataclass
class EventLog:
    """An append-only list of records; one per cell. Not thread-safe (trio is single-threaded)."""

    records: list[Record] = field(default_factory=list)
    client_info: dict = field(default_factory=dict)
    """What a client kind reports about itself beyond records (the browser's clock offset and
    page events); results.json keeps it as the cell's `client`."""
    _next_conn: int = 0
    _changed: trio.Event | None = None  # exists only while someone waits in `wait_until`

    def append(self, record: Record) -> None:
        self.records.append(record)
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_until(self, condition: Callable[[EventLog], T | None]) -> T:
        """Wake on every appended record until `condition(log)` is truthy; return its value.

        The one way anything waits on records (the cell's delivery, the chain watch, the
        calibration's subscribers, the e2e helpers). No polling: the caller bounds the wait
        (`fail_after`, `move_on_after`). A condition that keeps its place (`NewRecords`) costs
        only the records appended since its last call."""
        while not (value := condition(self)):
            if self._changed is None:
                self._changed = trio.Event()
            await self._changed.wait()
        return value

    def new_conn(self) -> int:
        """A fresh connection number for a client to tag its records with."""
        self._next_conn += 1
        return self._next_conn

    def of(self, kind: type) -> list:
        return [r for r in self.records if isinstance(r, kind)]


class NewRecords:
    """A reader that keeps its place in a log: each call returns only the records appended
    since the previous one, so a `wait_until` condition built on it stays O(new records)
    however long the log grows (thousands of receipts in a long cell)."""

    def __init__(self, start: int = 0) -> None:
        self._next = start

    def __call__(self, log: EventLog) -> list[Record]:
        fresh = log.records[self._next :]
        self._next = len(log.records)
        return fresh
