"""Reference WebSocket clients: plain (reconnect with backoff) and engine.io-style fallback.

Both resume with `?after=<last id>` on every connect, so a socket killed by a hop loses no
event that the server still has. The plain client reconnects with exponential backoff
(50 ms doubling to 2 s, reset after a socket that delivered): through a proxy that accepts
the upgrade and kills it, it flaps forever (docs/field.md). `run_websocket_fallback` starts on
long polling, probes a WebSocket beside it, moves over once the socket has lived `probe_ms`,
falls back to polling when it dies, and gives up upgrading after a few failed probes
(gauntlet.clients.policy.UpgradePolicy), as engine.io and SignalR clients do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
    wrap_client_stream,
)

from gauntlet.clients.base import DEFAULT_CONNECT_TIMEOUT_S, Target
from gauntlet.clients.long_poll import run_long_poll
from gauntlet.clients.policy import Backoff, Cursor, UpgradePolicy
from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EventLog,
    Note,
    Received,
    Request,
    now_ns,
)


async def websocket_session(
    target: Target,
    log: EventLog,
    cursor: Cursor,
    *,
    path: str = "/ws",
    probe_ms: float | None = None,
    on_probe_passed: Callable[[], None] | None = None,
) -> float | None:
    """One socket until it ends; returns how long it lived in ms (None: no handshake)."""
    conn = log.new_conn()
    log.append(Request(now_ns(), conn, "WS " + path))
    opened_ns: int | None = None
    reason = "closed"
    try:
        async with open_socket(target, f"{path}?after={cursor.resume_after}") as ws:
            opened_ns = now_ns()
            log.append(Connected(opened_ns, conn, "HTTP/1.1"))
            async with trio.open_nursery() as nursery:
                if probe_ms is not None and on_probe_passed is not None:
                    nursery.start_soon(_after, probe_ms / 1000, on_probe_passed)
                try:
                    while True:
                        message = await ws.get_message()
                        t = now_ns()
                        log.append(BytesReceived(t, conn, len(message)))
                        event_id = int(json.loads(message)["id"])
                        log.append(Received(event_id, t, conn))
                        cursor.accept(event_id)
                except ConnectionClosed as exc:
                    reason = f"closed: {exc.reason}"
                nursery.cancel_scope.cancel()
    except ConnectionClosed as exc:
        reason = f"closed: {exc.reason}"
    except HandshakeError as exc:
        reason = f"handshake failed: {type(exc).__name__}: {exc}"
    except OSError as exc:
        reason = f"network error: {type(exc).__name__}"
    except trio.TooSlowError:
        reason = "connect timed out"
    ended_ns = now_ns()
    log.append(Disconnected(ended_ns, conn, reason))
    return None if opened_ns is None else (ended_ns - opened_ns) / 1e6


class ProxyRefused(HandshakeError):
    """The forward proxy did not open a tunnel (its CONNECT answer was not 200)."""


DISCONNECT_TIMEOUT_S = 1.0


@asynccontextmanager
async def open_socket(target: Target, resource: str) -> AsyncIterator[WebSocketConnection]:
    """A WebSocket to `target` for `resource` (`/ws?after=N`), through its forward proxy if any.

    Browsers configured with a proxy reach `ws://` and `wss://` through it with CONNECT
    (docs/chromium.md; RFC 6455 section 4.1 suggests the same), not with an absolute-URI upgrade:
    the tunnel is opened here, TLS runs inside it for `wss://`, then the WebSocket handshake.
    A proxy that intercepts (TLS inspection) or refuses the tunnel is thereby in the path.
    """
    ssl_context = target.tls.client_context(["http/1.1"]) if target.tls else None
    if target.forward_proxy is None:
        async with open_websocket_url(
            target.ws_url(resource),
            ssl_context=ssl_context,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT_S,
            disconnect_timeout=DISCONNECT_TIMEOUT_S,
        ) as ws:
            yield ws
        return
    origin = urlsplit(target.base_url)
    host, port = origin.hostname or "127.0.0.1", origin.port or 80
    try:
        async with trio.open_nursery() as nursery:  # the connection's reader task lives here
            with trio.fail_after(DEFAULT_CONNECT_TIMEOUT_S):
                stream: trio.abc.Stream = await open_tunnel(target.forward_proxy, host, port)
                if ssl_context is not None:
                    stream = trio.SSLStream(stream, ssl_context, server_hostname=host)
                    await stream.do_handshake()
                ws = await wrap_client_stream(
                    nursery,
                    stream,  # type: ignore[arg-type]
                    f"{host}:{port}",
                    resource,
                )
            try:
                yield ws
            finally:
                with trio.move_on_after(DISCONNECT_TIMEOUT_S) as cleanup:
                    cleanup.shield = True
                    await ws.aclose()
    except BaseExceptionGroup as group:  # as open_websocket_url does: the one error, bare
        raise handshake_outcome(group) from None


def handshake_outcome(group: BaseExceptionGroup) -> BaseException:
    """The one error a handshake ended with, out of the group its nursery raised (PURE).

    The nursery holds two tasks: this one, waiting for the handshake inside its connect
    bound, and trio-websocket's reader, which raises ConnectionRejected from the proxy's
    answer without a checkpoint. When a cancel (the cell's teardown, the client's own scope)
    or the connect bound expires in the scheduler tick in which the reader was woken with
    that answer, both end with an exception: [Cancelled, ConnectionRejected] or
    [TooSlowError, ConnectionRejected]. Re-raised as a group, that escaped websocket_session
    (it catches a HandshakeError, not a group) and, holding a Cancelled, the cell's client
    guard too (it catches an Exception): the cell became ERROR "ConnectionRejected: (403,
    ...)" under load, where a refused upgrade is a finding (FAIL). The direct path does not
    have this: trio-websocket's open_websocket_url resolves its group the same way.

    So: a Cancelled is dropped when a real error is beside it (trio's cancel is level-
    triggered: the client's next checkpoint raises it again, as trio-websocket's own
    open_websocket does), and the proxy's answer (a HandshakeError) wins over our own bound
    expiring at the same moment. A group of one is its member, as before; anything else
    (two unrelated errors, several Cancelled) is the group itself, unchanged.
    """
    leaves = list(_leaves(group))
    errors = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    if len(leaves) == 1 or len(errors) == 1:
        return errors[0] if errors else leaves[0]
    answers = [e for e in errors if isinstance(e, HandshakeError)]
    if len(answers) == 1 and all(
        isinstance(e, (HandshakeError, trio.TooSlowError)) for e in errors
    ):
        return answers[0]
    return group


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


async def open_tunnel(proxy_url: str, host: str, port: int) -> trio.SocketStream:
    """A TCP stream to host:port through an HTTP proxy's CONNECT (RFC 9110 section 9.3.6)."""
    proxy = urlsplit(proxy_url)
    stream = await trio.open_tcp_stream(proxy.hostname or "127.0.0.1", proxy.port or 80)
    try:
        authority = f"{host}:{port}"
        await stream.send_all(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await stream.receive_some(4096)
            if not chunk or len(head) > 16_384:
                raise ProxyRefused(f"proxy ended the CONNECT exchange: {head[:80]!r}")
            head += chunk
        status_line = head.partition(b"\r\n")[0]
        parts = status_line.split()
        if len(parts) < 2 or parts[1] != b"200":
            answer = status_line.decode(errors="replace")
            raise ProxyRefused(f"proxy answered CONNECT with {answer!r}")
        if head.split(b"\r\n\r\n", 1)[1]:
            raise ProxyRefused("proxy sent bytes before the tunnel's first request")
    except BaseException:
        await stream.aclose()
        raise
    return stream


async def _after(delay_s: float, action: Callable[[], None]) -> None:
    await trio.sleep(delay_s)
    action()


async def run_websocket(target: Target, log: EventLog, *, path: str = "/ws") -> None:
    """Subscribe until cancelled, reconnecting with backoff."""
    cursor = Cursor()
    backoff = Backoff()
    while True:
        before = len(cursor.seen)
        await websocket_session(target, log, cursor, path=path)
        if len(cursor.seen) > before:
            backoff.reset()
        await trio.sleep(backoff.next_delay())


async def run_websocket_fallback(
    target: Target,
    log: EventLog,
    *,
    probe_ms: float,
    poll_wait_ms: int,
    retry_s: float,
) -> None:
    """Long polling first; upgrade to WebSocket when a probe survives; never flap forever."""
    cursor = Cursor()
    policy = UpgradePolicy(probe_ms=probe_ms, retry_s=retry_s)
    async with trio.open_nursery() as nursery:
        polling = trio.CancelScope()

        async def poll(scope: trio.CancelScope) -> None:
            with scope:
                await run_long_poll(target, log, cursor=cursor, wait_ms=poll_wait_ms)

        def upgraded() -> None:
            policy.socket_survived_probe()
            polling.cancel()
            log.append(Note(now_ns(), "websocket probe survived: upgraded, polling stopped"))

        nursery.start_soon(poll, polling)
        while policy.should_try():
            lived = await websocket_session(
                target, log, cursor, probe_ms=probe_ms, on_probe_passed=upgraded
            )
            was_upgraded = policy.upgraded
            policy.socket_ended(lived)
            if was_upgraded:  # the upgraded socket died: back to polling at once
                polling = trio.CancelScope()
                nursery.start_soon(poll, polling)
                log.append(Note(now_ns(), "websocket died: back to long polling"))
            if policy.should_try():
                await trio.sleep(policy.retry_delay_s())
        log.append(
            Note(
                now_ns(),
                f"websocket upgrade given up after {policy.failures} "
                "failed probes: staying on long polling",
            )
        )
