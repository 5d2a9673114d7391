"""The real client drivers against an in-memory HTTP server, under trio's MockClock.

Determinism contract: no sockets and no real time. `FakeServer` is an httpx transport whose
responses are scripted per request; trio's `autojump_clock` jumps virtual time whenever every
task is blocked, so a reconnect delay, a canary timeout or a poll cadence is measured exactly
(to the float's precision), and a wrong timer fails the test instead of hiding in noise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import trio
import trio.testing

from gauntlet.clients import TRANSPORTS, Target
from gauntlet.clients.long_poll import run_long_poll
from gauntlet.clients.policy import EventSourcePolicy
from gauntlet.clients.sse import run_sse, run_sse_canary
from gauntlet.eventlog import (
    Connected,
    Disconnected,
    EventLog,
    Note,
    Received,
    Request,
    Settled,
)

BASE = "http://gauntlet.test"


@dataclass
class Seen:
    at: float  # trio virtual time
    path: str
    headers: httpx.Headers


class ScriptedBody(httpx.AsyncByteStream):
    """Yields its chunks, then ends, or stays open forever (a quiet stream)."""

    def __init__(self, chunks: list[bytes], *, then_hang: bool) -> None:
        self.chunks, self.then_hang = chunks, then_hang

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.then_hang:
            await trio.sleep_forever()


@dataclass
class FakeServer(httpx.AsyncBaseTransport):
    """Answers request n with `script(n, request)`; records when each request arrived.

    An empty poll answer is held for the request's `wait_ms` (10 s if absent), as the
    reference server's long poll holds it, so a polling client never spins.
    """

    script: Callable[[int, httpx.Request], httpx.Response]
    seen: list[Seen] = field(default_factory=list)
    requests: dict[int, trio.Event] = field(default_factory=dict)
    """Set when request n has arrived: `await server.arrived(n)`."""

    async def arrived(self, n: int) -> None:
        await self.requests.setdefault(n, trio.Event()).wait()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(
                trio.current_time(),
                request.url.path + "?" + request.url.query.decode(),
                request.headers,
            )
        )
        self.requests.setdefault(len(self.seen), trio.Event()).set()
        response = self.script(len(self.seen), request)
        if request.url.path == "/poll" and response.status_code == 200:
            await response.aread()
            if not response.json()["events"]:
                await trio.sleep(int(request.url.params.get("wait_ms", 10_000)) / 1000)
        await trio.lowlevel.checkpoint()
        return response


def sse(status: int, body: bytes, *, hang=False, ctype="text/event-stream") -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": ctype}, stream=ScriptedBody([body], then_hang=hang)
    )


async def long_poll_until(server: FakeServer, requests: int) -> tuple[list[float], EventLog]:
    """Poll `server` until its request `requests` arrives (1 s of virtual time at most): the
    gaps between one request and the next, and the client's log."""
    log = EventLog()
    with trio.move_on_after(1):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_long_poll, Target(BASE, transport=server), log)
            await server.arrived(requests)
            nursery.cancel_scope.cancel()
    gaps = [b.at - a.at for a, b in zip(server.seen, server.seen[1:], strict=False)]
    return gaps, log


async def run_until(client, server: FakeServer, log: EventLog, virtual_s: float) -> None:
    """Run a client for `virtual_s` of virtual time (it may also return by itself)."""
    with trio.move_on_after(virtual_s):
        await client(Target(BASE, transport=server), log)


@pytest.mark.parametrize(
    ("policy_args", "status", "ctype", "opens"),
    [
        ({}, 200, "text/event-stream", True),
        ({}, 200, "text/event-stream; charset=utf-8", True),
        ({}, 200, "Text/Event-Stream", True),
        ({}, 200, "text/plain", False),
        ({}, 204, "text/event-stream", False),
        ({}, 500, "text/event-stream", False),
    ],
)
def test_event_source_fails_for_good_unless_200_event_stream(policy_args, status, ctype, opens):
    policy = EventSourcePolicy(**policy_args)
    assert policy.accepts(status, ctype) is opens
    assert policy.closed is not opens


def test_event_source_keeps_the_last_id_and_the_last_valid_retry():
    policy = EventSourcePolicy()
    assert "Last-Event-ID" not in policy.request_headers()
    assert policy.connection_ended("", None) == 3.0  # Chromium's constant default
    assert policy.connection_ended("7", 250) == 0.25
    assert policy.request_headers()["Last-Event-ID"] == "7"
    assert policy.connection_ended("7", None) == 0.25  # retry persists, no backoff


async def test_sse_reconnects_after_the_servers_retry_with_last_event_id(autojump_clock):
    def script(n: int, _: httpx.Request) -> httpx.Response:
        if n == 1:
            return sse(200, b"retry: 250\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n")
        if n == 2:
            return sse(200, b"id: 3\ndata: c\n\n")
        return sse(503, b"")  # fails the connection for good: the client stops by itself

    server, log = FakeServer(script), EventLog()
    await run_until(run_sse, server, log, 60)
    assert [s.at for s in server.seen] == pytest.approx([0, 0.25, 0.5])
    assert [s.headers.get("last-event-id") for s in server.seen] == [None, "2", "3"]
    assert [r.id for r in log.of(Received)] == [1, 2, 3]
    assert log.of(Disconnected)[-1].reason.startswith("failed for good: status 503")


async def test_sse_without_retry_waits_chromiums_three_seconds(autojump_clock):
    server, log = FakeServer(lambda n, _: sse(200, b"id: %d\ndata: x\n\n" % n)), EventLog()
    await run_until(run_sse, server, log, 7)
    assert [s.at for s in server.seen] == pytest.approx([0, 3, 6])


async def test_sse_wrong_content_type_never_reconnects(autojump_clock):
    server, log = FakeServer(lambda n, _: sse(200, b"data: x\n\n", ctype="text/html")), EventLog()
    await run_until(run_sse, server, log, 60)
    assert len(server.seen) == 1 and log.of(Connected) == []


async def test_canary_timeout_switches_to_long_polling_exactly_once(autojump_clock):
    def script(n: int, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sse":  # a buffering hop: headers through, canary held
            return sse(200, b"retry: 50\n\n", hang=True)
        return httpx.Response(200, json={"events": [{"id": n - 1}]} if n == 2 else {"events": []})

    canary = TRANSPORTS["sse_canary"].client()  # the real world's timings: Phoenix's 2.5 s
    server, log = FakeServer(script), EventLog()
    await run_until(canary, server, log, 2.6)
    assert [s.path.split("?")[0] for s in server.seen][:2] == ["/sse", "/poll"]
    assert server.seen[1].at == pytest.approx(2.5)
    assert any("falling back to long polling" in n.text for n in log.of(Note))
    kinds = [
        type(r).__name__ if not isinstance(r, Request) else r.kind.split("?")[0]
        for r in log.records
    ]
    assert [s.how for s in log.of(Settled)] == ["long polling"]
    assert kinds.index("Settled") < kinds.index("GET /poll")  # chosen before the first poll
    assert [r.id for r in log.of(Received)] == [1]
    assert "after=1" in server.seen[2].path  # the poll resumes from what it got


async def test_canary_seen_in_time_stays_on_sse(autojump_clock):
    server = FakeServer(lambda n, _: sse(200, b"event: canary\ndata: hi\n\n", hang=True))
    log = EventLog()
    await run_until(
        lambda t, lg: run_sse_canary(t, lg, canary_timeout_s=1, poll_wait_ms=100), server, log, 30
    )
    assert [s.path.split("?")[0] for s in server.seen] == ["/sse"]
    assert [s.how for s in log.of(Settled)] == ["sse"]


async def test_short_poll_asks_every_interval_and_long_poll_at_once(autojump_clock):
    server = FakeServer(lambda n, _: httpx.Response(200, json={"events": []}))
    await run_until(
        lambda t, lg: run_long_poll(t, lg, wait_ms=0, interval_s=5), server, EventLog(), 16
    )
    assert [s.at for s in server.seen] == pytest.approx([0, 5, 10, 15])
    assert all("wait_ms=0" in s.path for s in server.seen)


async def test_failed_polls_back_off_exponentially_and_count_one_reconnect(autojump_clock):
    def script(n: int, _: httpx.Request) -> httpx.Response:
        if n in (2, 3, 4):
            return httpx.Response(502)
        return httpx.Response(200, json={"events": [{"id": n}]} if n in (1, 5) else {"events": []})

    gaps, log = await long_poll_until(FakeServer(script), 6)
    assert gaps == pytest.approx([0, 0.05, 0.1, 0.2, 0])  # 50 ms doubling, reset on success
    assert len(log.of(Connected)) == 2 and len(log.of(Request)) == 6
    assert [r.id for r in log.of(Received)] == [1, 5]


async def test_a_poll_cut_before_any_answer_is_resent_at_once_and_only_once(autojump_clock):
    """Browsers resend a request whose reused connection closed before answering; so does
    the reference poller, once: two such cuts in a row are a failure with backoff."""

    def script(n: int, request: httpx.Request) -> httpx.Response:
        if n in (2, 4, 5):
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(200, json={"events": [{"id": n}]})

    gaps, log = await long_poll_until(FakeServer(script), 7)
    assert gaps[:6] == pytest.approx([0, 0, 0, 0, 0.05, 0])  # resend at once; 2nd cut backs off
    assert [d.reason for d in log.of(Disconnected)] == ["poll failed: RemoteProtocolError"]
    assert sum("poll resent" in n.text for n in log.of(Note)) == 2
