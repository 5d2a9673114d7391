"""Before any cell: does the team's endpoint answer, and speak each transport it will be asked for?

A target that is down, answers non-200, or does not speak a transport (wrong content type, no
WebSocket upgrade) would otherwise turn into a matrix of confident FAILs about the network.
This asks the endpoint directly (no hop in between), once per transport, bounded, and raises
one line naming what was expected and what came back. The URL was already checked to be
loopback (harness/loopback.py), so nothing here leaves the machine.
"""

from __future__ import annotations

import httpx
import trio
from trio_websocket import HandshakeError, open_websocket_url

from gauntlet.errors import GauntletError
from gauntlet.target import CONTRACT, publish_answer

CHECK_TIMEOUT_S = 5.0
SSE_PATHS = {"sse": "/sse", "sse_close_each": "/sse/close-each"}


def sse_problem(status: int, content_type: str) -> str | None:
    """Why an SSE response is not one (pure): EventSource needs 200 and text/event-stream."""
    if status != 200:
        return f"status {status}"
    if content_type.split(";")[0].strip().lower() != "text/event-stream":
        return f"200 with content-type {content_type or 'none'!r}"
    return None


def poll_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why a long-poll answer is not one (pure): 200, JSON, an `events` list."""
    import json

    if status != 200:
        return f"status {status}"
    try:
        doc = json.loads(body)
    except ValueError:
        return f"200 with a body that is not JSON ({content_type or 'no content-type'})"
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        return f'200 with JSON {body[:60]!r}, no "events" list'
    return None


async def check_endpoint(base_url: str, transports: list[str], what: str = "--target") -> None:
    """Raise a one-line GauntletError unless the endpoint serves every transport in the list."""
    label = f"{what} {base_url}"
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S, trust_env=False) as client:
        try:
            await _check(client, base_url, transports, label)
        except httpx.ConnectError:
            raise GauntletError(
                f"{label}: nothing answers (connection refused); expected a "
                f"running push endpoint ({CONTRACT})"
            ) from None
        except httpx.TimeoutException:
            raise GauntletError(
                f"{label}: no answer within {CHECK_TIMEOUT_S:g} s; expected a "
                f"running push endpoint ({CONTRACT})"
            ) from None
        except httpx.HTTPError as exc:
            raise GauntletError(f"{label}: {type(exc).__name__}: {exc}") from None


async def _check(client: httpx.AsyncClient, base: str, transports: list[str], label: str) -> None:
    resp = await client.post(base + "/reset")
    if resp.status_code not in (200, 204):
        raise GauntletError(
            f"{label}: POST /reset answered {resp.status_code}, expected 200 or 204 ({CONTRACT})"
        )
    # one event first, so an endpoint that sends headers only with its first event answers
    resp = await client.post(base + "/publish")
    publish_answer(resp.status_code, resp.content, label)
    for transport in transports:
        if transport in SSE_PATHS:
            path = SSE_PATHS[transport]
            async with client.stream(
                "GET", base + path + "?after=0", headers={"accept": "text/event-stream"}
            ) as stream:
                why = sse_problem(stream.status_code, stream.headers.get("content-type", ""))
            if why:
                raise GauntletError(
                    f"{label}: GET {path} answered {why}; expected 200 "
                    f"text/event-stream for {transport} ({CONTRACT})"
                )
        elif transport == "long_poll":
            resp = await client.get(base + "/poll", params={"after": 0, "wait_ms": 0})
            why = poll_problem(resp.status_code, resp.headers.get("content-type", ""), resp.content)
            if why:
                raise GauntletError(
                    f"{label}: GET /poll answered {why}; expected 200 JSON "
                    f'{{"events": [...]}} for long_poll ({CONTRACT})'
                )
        elif transport == "websocket":
            await _check_websocket(base, label)
    await client.post(base + "/reset")


async def _check_websocket(base: str, label: str) -> None:
    url = "ws" + base.removeprefix("http") + "/ws?after=0"
    try:
        with trio.fail_after(CHECK_TIMEOUT_S):
            async with open_websocket_url(url):
                return
    except HandshakeError as exc:
        status = getattr(exc, "status_code", None)
        got = f"status {status}" if status is not None else f"{type(exc).__name__}"
        raise GauntletError(
            f"{label}: WS /ws answered {got}, no Upgrade; expected 101 "
            f"Switching Protocols for websocket ({CONTRACT})"
        ) from None
    except trio.TooSlowError:
        raise GauntletError(
            f"{label}: WS /ws: no handshake within {CHECK_TIMEOUT_S:g} s; "
            f"expected 101 Switching Protocols ({CONTRACT})"
        ) from None
    except OSError as exc:
        raise GauntletError(f"{label}: WS /ws: {exc.strerror or exc}") from None


async def check_app(spec: str, transports: list[str]) -> None:
    """`--app`: serve the app once on a loopback port and ask it as a target would be asked,
    so an app that does not meet the contract is one line, not an ERROR in every cell."""
    from gauntlet.server import serve_push_app
    from gauntlet.target import load_app

    app = load_app(spec)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_push_app, app)
        await check_endpoint(url, transports, what=f"--app {spec} served at")
        nursery.cancel_scope.cancel()
