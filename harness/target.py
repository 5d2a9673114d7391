"""What a cell measures: the reference server, a team's ASGI app, or a team's running endpoint.

The topology starts a target instead of hard-wiring the reference server. A target gives
- `start(nursery, tls, sock)`: its base URL once it is reachable (a readiness signal);
- `publish()`: one event, recorded as `Published` in the cell's event log;
- `first_request`: set when a request reached the endpoint, where the target can see that
  (the reference server and an ASGI app served here can; a running endpoint cannot);
- `latency_measured`: False when the endpoint gives no send time (docs/endpoint-contract.md),
  so the metrics leave latency out instead of timing the harness's own publish request.

A team's endpoint meets the contract in docs/endpoint-contract.md: the reference clients'
paths and id fields, `POST /publish` (one event: `{"id": N, "sent_ns": T}`, `sent_ns`
optional, `time.monotonic_ns()` of the same host) and `POST /reset` (start ids again at 1).
"""

from __future__ import annotations

import errno
import importlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import httpx
import trio

from gauntlet.errors import GauntletError
from gauntlet.eventlog import EventLog, Published, ServerRequest, now_ns
from gauntlet.server import Publisher, PushApp, ServerOptions, serve_push_app
from gauntlet.server.app import HEALTH_PATH
from gauntlet.tls import RunCA

CONTRACT_TRANSPORTS = ("sse", "sse_close_each", "long_poll", "websocket")
"""The transports an endpoint of the contract serves (the reference server serves them all)."""
CONTROL_TIMEOUT_S = 5.0
CONTRACT = "docs/endpoint-contract.md"


class PushTarget(Protocol):
    label: str
    first_request: trio.Event | None

    @property
    def latency_measured(self) -> bool: ...

    async def start(
        self, nursery: trio.Nursery, tls: RunCA | None, sock: socket.socket | None
    ) -> str: ...

    async def publish(self) -> None: ...

    health_count: Callable[[], int] | None
    """How many health checks reached the server (harness/health.py), or None when the
    target cannot tell (a running endpoint: its requests are not visible here)."""


class ReferenceServer:
    """Gauntlet's own push server (harness/server), in this process: sees every request."""

    label = "reference server"
    latency_measured = True

    def __init__(
        self, log: EventLog, payload_bytes: int, options: ServerOptions | None = None
    ) -> None:
        self.publisher = Publisher(log, payload_bytes)
        self._options = options or ServerOptions()
        self._app: PushApp | None = None
        self.health_count: Callable[[], int] | None = self._health
        self.first_request: trio.Event | None = self.publisher.first_request
        self._log = log

    async def start(self, nursery, tls, sock) -> str:
        app = self._app = PushApp(self.publisher, self._log, self._options)
        return await nursery.start(partial(serve_push_app, app, tls, sock=sock))

    async def publish(self) -> None:
        self.publisher.publish()

    def _health(self) -> int:
        return self._app.health_requests if self._app is not None else 0


class _Control:
    """`POST /publish` and `POST /reset` straight to the endpoint (not through the hops)."""

    def __init__(self, log: EventLog, label: str) -> None:
        self._log = log
        self._label = label
        self.base_url = ""
        self.latency_measured = True

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=CONTROL_TIMEOUT_S, trust_env=False, verify=False)

    async def reset(self) -> None:
        async with self.client() as client:
            resp = await client.post(self.base_url + "/reset")
        if resp.status_code not in (200, 204):
            raise GauntletError(
                f"{self._label}: POST /reset answered {resp.status_code}, "
                f"expected 200 or 204 ({CONTRACT})"
            )

    async def publish(self) -> None:
        asked_ns = now_ns()
        async with self.client() as client:
            resp = await client.post(self.base_url + "/publish")
        event = publish_answer(resp.status_code, resp.content, self._label)
        sent_ns = event.get("sent_ns")
        if not isinstance(sent_ns, int):
            self.latency_measured = False
        self._log.append(
            Published(event["id"], sent_ns if isinstance(sent_ns, int) else asked_ns, 0)
        )


def publish_answer(status: int, body: bytes, label: str) -> dict[str, Any]:
    """The JSON object of a `POST /publish` answer, or a one-line error saying what came (pure)."""
    import json

    if status != 200:
        raise GauntletError(
            f'{label}: POST /publish answered {status}, expected 200 with {{"id": N}} ({CONTRACT})'
        )
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("id"), int):
        raise GauntletError(
            f"{label}: POST /publish answered {body[:60]!r}, expected JSON "
            f'{{"id": N, "sent_ns": T}} ({CONTRACT})'
        )
    return event


class EndpointTarget:
    """A team's endpoint already running at `base_url` (checked loopback by gauntlet.loopback)."""

    first_request: trio.Event | None = None  # the endpoint's requests are not visible here
    health_count: Callable[[], int] | None = None

    def __init__(self, base_url: str, log: EventLog) -> None:
        self.label = f"target {base_url}"
        self._control = _Control(log, self.label)
        self._control.base_url = base_url

    @property
    def latency_measured(self) -> bool:
        return self._control.latency_measured

    async def start(self, nursery, tls, sock) -> str:
        await self._control.reset()
        return self._control.base_url

    async def publish(self) -> None:
        await self._control.publish()


def load_app(spec: str) -> Any:
    """`package.module:app` -> the ASGI callable; one line naming what is missing otherwise."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise GauntletError(f"--app {spec!r}: expected package.module:attribute")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise GauntletError(f"--app {spec!r}: cannot import {module_name}: {exc}") from None
    app: Any = module
    for part in attr.split("."):
        app = getattr(app, part, None)
        if app is None:
            raise GauntletError(f"--app {spec!r}: {module_name} has no attribute {attr}")
    if not callable(app):
        raise GauntletError(f"--app {spec!r}: {attr} is not callable (an ASGI app is)")
    return app


@dataclass
class _Recording:
    """ASGI middleware: logs every request as `ServerRequest` and sets `first_request`."""

    app: Any
    log: EventLog
    first_request: trio.Event

    health_requests: int = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path") == HEALTH_PATH:
            # The harness's health check through the chain (harness/health.py) is answered
            # here, in front of the team's app: it must reach the server, not the app's routes.
            self.health_requests += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok\n"})
            return
        if scope["type"] in ("http", "websocket") and scope.get("path") not in (
            "/publish",
            "/reset",
        ):
            version = scope.get("http_version", "1.1")
            self.log.append(ServerRequest(now_ns(), scope["path"], f"HTTP/{version}"))
            self.first_request.set()
        await self.app(scope, receive, send)


class AppTarget:
    """A team's ASGI app, served here by hypercorn's trio worker on a loopback port."""

    def __init__(self, app: Any, spec: str, log: EventLog) -> None:
        self.label = f"app {spec}"
        self.first_request: trio.Event | None = trio.Event()
        self._app = _Recording(app, log, self.first_request)
        self._control = _Control(log, self.label)
        self.health_count: Callable[[], int] | None = self._health

    @property
    def latency_measured(self) -> bool:
        return self._control.latency_measured

    async def start(self, nursery, tls, sock) -> str:
        url = await nursery.start(partial(serve_push_app, self._app, tls, sock=sock))
        self._control.base_url = url
        await self._control.reset()
        return url

    async def publish(self) -> None:
        await self._control.publish()

    def _health(self) -> int:
        return self._app.health_requests


@dataclass(frozen=True)
class TargetChoice:
    """What the user asked for, per run: builds each cell's target (a fresh one per cell)."""

    url: str | None = None
    app_spec: str | None = None

    def build(
        self, log: EventLog, payload_bytes: int, options: ServerOptions | None = None
    ) -> PushTarget:
        """`options` shape the reference server only (a team's app or endpoint is its own)."""
        if self.url is not None:
            return EndpointTarget(self.url, log)
        if self.app_spec is not None:
            return AppTarget(load_app(self.app_spec), self.app_spec, log)
        return ReferenceServer(log, payload_bytes, options)

    @property
    def is_reference(self) -> bool:
        return self.url is None and self.app_spec is None


def bind_server_socket(host: str, port: int, what: str = "--server-port") -> socket.socket:
    """A listening socket on exactly host:port, or one line naming the port that is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror}"
        raise GauntletError(
            f"{what}: {host}:{port} {why}; the server must listen exactly "
            "there (the reverse proxy's config names it)"
        ) from None
    return sock
