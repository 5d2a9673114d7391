"""The subscribers' wire loops for Locust's gevent workers: sse, sse_close_each, long_poll,
websocket, reconnecting and resuming as Gauntlet's reference clients do.

The reference clients (harness/clients) are trio coroutines; a Locust user is a greenlet, so
the same behaviour is written here with blocking sockets that Locust's gevent monkey-patching
makes cooperative, and with the SAME pure decisions: `EventSourcePolicy` (WHATWG
EventSource: fail for good on a non-200 or non-event-stream answer, otherwise reconnect after
the retry time with Last-Event-ID), `SSEParser`, `Cursor` (resume after the highest id seen)
and `Backoff` (50 ms doubling to 2 s) from harness/clients/policy.py and harness/sse.py.
HTTP/1.1 is h11's state machine and WebSocket is wsproto's (both sans-I/O, both already
dependencies through mitmproxy), so no trio or httpx runs inside a gevent process.

Plain http:// on loopback only (the run's address checks happen in the harness before any
worker starts); TLS and forward proxies are not offered by `gauntlet load`.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from gauntlet.clients.policy import Backoff, Cursor, EventSourcePolicy
from gauntlet.sse import SSEParser

CONNECT_TIMEOUT_S = 5.0  # as the reference clients (harness/clients/base.py)
LONG_POLL_HOLD_MS = 30_000  # the reference long poll's hold, unscaled (a load run is real time)
CHROMIUM_DEFAULT_RETRY_MS = 3000
RECV_BYTES = 65536
FAILED_FOR_GOOD_SLEEP_S = 3600.0


class Subscriber:
    """One user's receipts: when it subscribed, every receipt (duplicates kept), errors."""

    def __init__(
        self,
        user_id: str,
        clock: Callable[[], int],
        on_event: Callable[[Subscriber], None] = lambda s: None,
    ) -> None:
        self.id = user_id
        self.clock = clock
        self.on_event = on_event
        self.subscribed_ns: int | None = None
        self.attempts = 0  # connections tried: with connects, says whether a user tried at all
        self.connects = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.failed_for_good: str | None = None
        self.receipts: list[tuple[int, int]] = []
        self.distinct: set[int] = set()

    def connected(self, t_ns: int) -> None:
        self.connects += 1
        if self.subscribed_ns is None:
            self.subscribed_ns = t_ns

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        kind = type(exc).__name__
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def received(self, event_id: int, t_ns: int) -> None:
        self.receipts.append((event_id, t_ns))
        if event_id not in self.distinct:
            self.distinct.add(event_id)
            self.on_event(self)

    def document(self) -> dict:
        return {
            "id": self.id,
            "subscribed_ns": self.subscribed_ns,
            "attempts": self.attempts,
            "connects": self.connects,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "failed_for_good": self.failed_for_good,
            "receipts": [list(r) for r in self.receipts],
        }


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    sock.settimeout(None)  # a push stream may be silent: the run's deadline bounds it
    return sock


def _next(sock: socket.socket, conn: h11.Connection) -> object:
    """The next h11 event, reading from the socket as needed (EOF -> ConnectionClosed)."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(sock.recv(RECV_BYTES))


def _get(
    sock: socket.socket,
    conn: h11.Connection,
    host: str,
    port: int,
    target: str,
    headers: dict[str, str],
) -> h11.Response:
    request = h11.Request(
        method="GET", target=target, headers=[("Host", f"{host}:{port}"), *headers.items()]
    )
    sock.sendall(conn.send(request) + conn.send(h11.EndOfMessage()))
    while True:
        event = _next(sock, conn)
        if isinstance(event, h11.Response):
            return event
        if isinstance(event, h11.ConnectionClosed):
            raise ConnectionError("closed before an answer")


def _header(response: h11.Response, name: bytes) -> str:
    for key, value in response.headers:
        if key == name:
            return value.decode("latin-1")
    return ""


def run_sse(
    base_url: str,
    sub: Subscriber,
    path: str = "/sse",
    default_retry_ms: int = CHROMIUM_DEFAULT_RETRY_MS,
) -> None:
    """EventSource until killed (Locust stops a user by killing its greenlet)."""
    host, port = _address(base_url)
    policy = EventSourcePolicy(default_retry_ms, "")
    while True:
        parser = SSEParser(last_event_id=policy.last_event_id)
        sub.attempts += 1
        try:
            sock = _connect(host, port)
            try:
                conn = h11.Connection(h11.CLIENT)
                resp = _get(sock, conn, host, port, path, policy.request_headers())
                if not policy.accepts(resp.status_code, _header(resp, b"content-type")):
                    sub.failed_for_good = f"status {resp.status_code}"
                    time.sleep(FAILED_FOR_GOOD_SLEEP_S)  # EventSource gives up for good
                    continue
                sub.connected(sub.clock())
                while True:
                    event = _next(sock, conn)
                    if not isinstance(event, h11.Data):
                        break  # EndOfMessage or ConnectionClosed: reconnect
                    t = sub.clock()
                    for e in parser.feed(bytes(event.data)):
                        if e.last_event_id.isdigit():
                            sub.received(int(e.last_event_id), t)
            finally:
                sock.close()
        except (OSError, h11.ProtocolError) as exc:
            sub.error(exc)
        time.sleep(policy.connection_ended(parser.last_event_id, parser.retry_ms))


def run_long_poll(base_url: str, sub: Subscriber, wait_ms: int = LONG_POLL_HOLD_MS) -> None:
    """Long polling on one kept-alive connection; a poll the peer closed before any answer on
    a reused connection is resent at once, once (as browsers do; harness/clients/long_poll.py)."""
    host, port = _address(base_url)
    cursor, backoff = Cursor(), Backoff()
    sock: socket.socket | None = None
    conn = h11.Connection(h11.CLIENT)
    connected, resent = False, False
    while True:
        reused = sock is not None
        try:
            if sock is None:
                sub.attempts += 1
                sock, conn = _connect(host, port), h11.Connection(h11.CLIENT)
            asked = sub.clock()
            resp = _get(
                sock, conn, host, port, f"/poll?after={cursor.resume_after}&wait_ms={wait_ms}", {}
            )
            body = b""
            while not isinstance(event := _next(sock, conn), h11.EndOfMessage):
                if isinstance(event, h11.ConnectionClosed):
                    raise ConnectionError("closed inside an answer")
                if isinstance(event, h11.Data):
                    body += event.data
            if resp.status_code != 200:
                raise ValueError(f"status {resp.status_code}")
            events = json.loads(body)["events"]
        except (OSError, h11.ProtocolError, ValueError, KeyError) as exc:
            if sock is not None:
                sock.close()
            sock = None
            if reused and not resent and isinstance(exc, ConnectionError | h11.ProtocolError):
                resent = True
                continue
            sub.error(exc)
            connected = False
            time.sleep(backoff.next_delay())
            continue
        t = sub.clock()
        backoff.reset()
        resent = False
        if not connected:
            sub.connected(asked)  # subscribed from the poll that got through
            connected = True
        for event in events:
            sub.received(int(event["id"]), t)
            cursor.accept(int(event["id"]))
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            sock.close()
            sock = None


def run_websocket(base_url: str, sub: Subscriber) -> None:
    """A WebSocket resumed with `?after=<last id>`, reconnecting with backoff (reset after a
    socket that delivered), as harness/clients/websocket.py."""
    host, port = _address(base_url)
    cursor, backoff = Cursor(), Backoff()
    while True:
        delivered = False
        sub.attempts += 1
        try:
            sock = _connect(host, port)
            try:
                ws = WSConnection(ConnectionType.CLIENT)
                sock.sendall(
                    ws.send(
                        Request(host=f"{host}:{port}", target=f"/ws?after={cursor.resume_after}")
                    )
                )
                text, open_ = "", True
                while open_:
                    data = sock.recv(RECV_BYTES)
                    ws.receive_data(data or None)
                    t = sub.clock()
                    for event in ws.events():
                        if isinstance(event, AcceptConnection):
                            sub.connected(t)
                        elif isinstance(event, RejectConnection):
                            raise ConnectionError(f"handshake refused: {event.status_code}")
                        elif isinstance(event, TextMessage):
                            text += event.data
                            if event.message_finished:
                                event_id = int(json.loads(text)["id"])
                                text = ""
                                sub.received(event_id, t)
                                cursor.accept(event_id)
                                delivered = True
                        elif isinstance(event, Ping):
                            sock.sendall(ws.send(event.response()))
                        elif isinstance(event, CloseConnection):
                            open_ = False
                    if not data:
                        open_ = False
            finally:
                sock.close()
        except (OSError, LocalProtocolError, RemoteProtocolError, ValueError, KeyError) as exc:
            sub.error(exc)
        if delivered:
            backoff.reset()
        time.sleep(backoff.next_delay())


LOOPS: dict[str, Callable[[str, Subscriber], None]] = {
    "sse": run_sse,
    "sse_close_each": lambda base_url, sub: run_sse(base_url, sub, path="/sse/close-each"),
    "long_poll": run_long_poll,
    "websocket": run_websocket,
}
"""The transports `gauntlet load` offers: the endpoint contract's four (harness/target.py)."""
