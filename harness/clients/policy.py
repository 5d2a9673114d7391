"""The clients' decisions, free of I/O: what to resume from, when to retry, when to give up.

The trio drivers in this package do the I/O and ask these objects what to do next, so the
reconnect and fallback logic is tested with plain calls, trio's MockClock and Hypothesis
state machines (tests/unit/test_policy.py) instead of sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
