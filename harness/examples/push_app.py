"""An example push endpoint that meets docs/endpoint-contract.md: a plain ASGI app, ~150 lines.

What a team's own endpoint needs so Gauntlet can measure it (`gauntlet run --app
gauntlet.examples.push_app:app`, or served by any ASGI server and `gauntlet run --target URL`):

- `GET /sse`            text/event-stream; each event `id: N` + `data: {"id": N, "sent_ns": T}`;
                        resumes after `Last-Event-ID` (or `?after=N`)
- `GET /sse/close-each` the same, but one complete response (Content-Length) per batch of
                        events (the buffering-proxy workaround); the client reconnects with
                        Last-Event-ID
- `GET /poll?after=N`   long poll: holds up to `wait_ms` (default 30 s) for events after N, then
                        `{"events": [{"id": N, "data": ...}]}` (possibly empty)
- `WS  /ws?after=N`     one text frame per event: `{"id": N, "data": ...}`
- `POST /publish`       publish one event; answers `{"id": N, "sent_ns": T}`
- `POST /reset`         forget every event; ids start again at 1 (204)

`sent_ns` is `time.monotonic_ns()` at publication: on Linux that clock is system-wide, so the
harness, in another process on the same host, reads the same clock. `app_without_send_time`
leaves it out: Gauntlet then measures delivery, loss, order and reconnects, not latency.
It is written with anyio, so it runs under asyncio or trio (hypercorn's trio worker here).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import anyio

DEFAULT_WAIT_MS = 30_000
RETRY_MS = 50  # SSE `retry:`: reconnect soon after a close-each response ends


class Events:
    """The endpoint's event log: ids 1..n, resumable from any id; wakes every waiter."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._changed = anyio.Event()

    def publish(self, send_time: bool) -> dict[str, Any]:
        event: dict[str, Any] = {"id": len(self.items) + 1}
        if send_time:
            event["sent_ns"] = time.monotonic_ns()
        self.items.append(event)
        self._changed.set()
        self._changed = anyio.Event()
        return event

    def reset(self) -> None:
        self.items = []

    def after(self, cursor: int) -> list[dict[str, Any]]:
        return self.items[max(0, cursor) :]

    async def wait_after(self, cursor: int) -> list[dict[str, Any]]:
        while not (found := self.after(cursor)):
            await self._changed.wait()
        return found


def _query(scope: dict) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}


def _cursor(scope: dict) -> int:
    for name, value in scope.get("headers", []):
        if name.lower() == b"last-event-id" and value.isdigit():
            return int(value)
    after = _query(scope).get("after", "0")
    return int(after) if after.isdigit() else 0


async def _respond(send, status: int, body: bytes, content_type: bytes = b"application/json"):
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _until_disconnect(receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] not in ("http.disconnect", "websocket.disconnect"):
        pass
    scope.cancel()


def make_app(send_time: bool = True):
    """An ASGI app with its own event log; `send_time=False` sends no `sent_ns`."""
    events = Events()

    async def sse_batch(scope, receive, send) -> None:
        """Close-each: wait for the events after the cursor, answer them with a Content-Length.

        A complete response is what a buffering proxy flushes, and it works for HTTP/1.0
        peers too (nginx speaks 1.0 upstream by default), which cannot take chunks."""
        cursor = _cursor(scope)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
            batch = await events.wait_after(cursor)
            body = f"retry: {RETRY_MS}\n\n" + "".join(
                f"id: {e['id']}\ndata: {json.dumps(e)}\n\n" for e in batch
            )
            await _respond(send, 200, body.encode(), b"text/event-stream")
            tg.cancel_scope.cancel()

    async def sse(scope, receive, send, close_each: bool) -> None:
        if close_each:
            await sse_batch(scope, receive, send)
            return
        cursor = _cursor(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": f"retry: {RETRY_MS}\n\n".encode(),
                "more_body": True,
            }
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
            while True:
                batch = await events.wait_after(cursor)
                cursor = batch[-1]["id"]
                body = "".join(f"id: {e['id']}\ndata: {json.dumps(e)}\n\n" for e in batch)
                await send({"type": "http.response.body", "body": body.encode(), "more_body": True})

    async def poll(scope, receive, send) -> None:
        cursor = _cursor(scope)
        wait = _query(scope).get("wait_ms", "")
        wait_s = (int(wait) if wait.isdigit() else DEFAULT_WAIT_MS) / 1000
        found = events.after(cursor)
        if not found and wait_s > 0:
            with anyio.move_on_after(wait_s):
                found = await events.wait_after(cursor)
        body = {"events": [{"id": e["id"], "data": json.dumps(e)} for e in found]}
        await _respond(send, 200, json.dumps(body).encode())

    async def websocket(scope, receive, send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        cursor = _cursor(scope)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
            while True:
                for e in await events.wait_after(cursor):
                    await send(
                        {
                            "type": "websocket.send",
                            "text": json.dumps({"id": e["id"], "data": json.dumps(e)}),
                        }
                    )
                    cursor = e["id"]

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        route = (scope["type"], scope.get("method", "GET"), scope["path"])
        if route == ("websocket", "GET", "/ws"):
            await websocket(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        elif route == ("http", "GET", "/sse"):
            await sse(scope, receive, send, close_each=False)
        elif route == ("http", "GET", "/sse/close-each"):
            await sse(scope, receive, send, close_each=True)
        elif route == ("http", "GET", "/poll"):
            await poll(scope, receive, send)
        elif route == ("http", "POST", "/publish"):
            await _respond(send, 200, json.dumps(events.publish(send_time)).encode())
        elif route == ("http", "POST", "/reset"):
            events.reset()
            await _respond(send, 204, b"")
        else:
            await _respond(send, 404, b"unknown endpoint\n", b"text/plain")

    return app


app = make_app()
app_without_send_time = make_app(send_time=False)
