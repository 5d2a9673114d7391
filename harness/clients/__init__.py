"""Reference clients, one per transport, and the transport catalogue.

A transport is a server endpoint plus the client that speaks to it the way real clients do.
Its timings are real-world values (SockJS's 25 s heartbeat, Phoenix's 2.5 s long-poll
fallback) kept in harness/spec.py, which divides the ones that are the real world's patience
by the scenario's time scale, as hop timeouts are (`ClientTimings`, a `CellSpec`'s `client`),
so heartbeats stay below a scaled idle timeout exactly as they do in production.
`Transport.client(timings)` gets them already scaled: clients never see the time scale.
One timing is not scaled: sse_canary's canary timeout (Phoenix's 2.5 s as is), because it is
the client's patience with its first response, which on this machine is what the harness
process and its hops get of the CPU, not a real-world duration. Scaled (83 ms, then floored at
300 ms) a loaded machine delivered the canary too late on a direct path: the client fell back
to polling for no hop's reason (requests 1 -> 17, README "Comparing two runs"). The workload
waits for the client's choice (Transport.settle_s), so the longer timeout costs wall time,
never latency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from gauntlet.clients.base import Target
from gauntlet.clients.browser import PageMode, run_browser
from gauntlet.clients.llm import run_llm_stream, run_llm_stream_openai
from gauntlet.clients.long_poll import run_long_poll
from gauntlet.clients.mcp_streamable import run_mcp_streamable
from gauntlet.clients.policy import UpgradePolicy
from gauntlet.clients.sse import run_sse, run_sse_canary
from gauntlet.clients.websocket import run_websocket, run_websocket_fallback
from gauntlet.eventlog import EventLog
from gauntlet.spec import REAL_WORLD, SOCKJS_PRELUDE_BYTES, WS_PROBE_MS, WS_RETRY_MS, ClientTimings

ClientRunner = Callable[[Target, EventLog], Awaitable[None]]


@dataclass(frozen=True)
class Transport:
    name: str
    description: str
    build: Callable[[ClientTimings], ClientRunner]
    """timings (scaled) -> the client coroutine for one subscriber"""
    token_stream: bool = False
    """One answer of many small events with an end marker: judged with harness/metrics_stream.py."""
    settle_s: Callable[[ClientTimings], float] | None = None
    """a cell's client timings -> the longest the client takes to choose its transport at
    start-up (it logs `Settled` then); None: nothing to choose. The workload waits for that choice
    (harness/topology.py), so events are not published into the client's own start-up wait:
    a fallback's wait is the canary timeout, above the 250 ms latency budget by design (it
    was 300 ms, the floor of a scaled timeout), so the first events' latency was that
    constant, later or earlier by the machine's load: the verdict flipped between runs."""

    @property
    def runs_alone(self) -> bool:
        """The client is a whole browser: the runner measures this cell with no other beside it.

        Chromium starts several processes and takes both cores for a moment; in a default
        run at load 13 the reference server's publisher, in the harness process, was up to
        1.7 s late in the `browsers` matrix against at most 0.11 s in the matrices without a
        browser, so a cell beside a browser judged the browser's start-up, not its network."""
        return self.name.startswith("browser_")

    def client(self, timings: ClientTimings = REAL_WORLD) -> ClientRunner:
        """The client coroutine with these timings (a cell's `client`, already scaled; by
        default the real world's)."""
        return self.build(timings)


def _sse_query(**params: int) -> str:
    return "/sse?" + "&".join(f"{k}={v}" for k, v in params.items())


TRANSPORTS: dict[str, Transport] = {
    t.name: t
    for t in [
        Transport(
            "sse",
            "Server-Sent Events: one endless chunked response, no heartbeat",
            lambda s: run_sse,
        ),
        Transport(
            "sse_heartbeat",
            "SSE plus a comment line whenever quiet for H (SockJS 25 s, scaled)",
            lambda s: partial(run_sse, path=_sse_query(heartbeat_ms=s.heartbeat_ms)),
        ),
        Transport(
            "sse_close_each",
            "SSE that ends the response after each event (or batch); the client "
            "reconnects with Last-Event-ID (the buffering-proxy workaround)",
            lambda s: partial(run_sse, path="/sse/close-each"),
        ),
        Transport(
            "sse_adaptive",
            "SSE that closes after each event only when the server's peer speaks "
            "HTTP/1.x, streams on HTTP/2 (a practitioners' heuristic)",
            lambda s: partial(run_sse, path="/sse?close=adaptive"),
        ),
        Transport(
            "sse_padded",
            "SSE with a 2 KiB prelude (SockJS xhr-streaming) and heartbeats",
            lambda s: partial(
                run_sse, path=_sse_query(pad=SOCKJS_PRELUDE_BYTES, heartbeat_ms=s.heartbeat_ms)
            ),
        ),
        Transport(
            "sse_canary",
            "SSE with a canary event after connect; no canary within N (Phoenix "
            "2.5 s, not scaled: patience with this machine) -> long polling for the "
            "session",
            lambda s: partial(
                run_sse_canary,
                canary_timeout_s=s.canary_timeout_s,
                poll_wait_ms=s.long_poll_hold_ms,
            ),
            settle_s=lambda s: s.canary_timeout_s,
        ),
        Transport(
            "long_poll",
            "long polling: each request waits up to H (30 s, scaled) for events after "
            "the client's cursor",
            lambda s: partial(run_long_poll, wait_ms=s.long_poll_hold_ms),
        ),
        Transport(
            "short_poll",
            "short polling: the client asks every P (5 s, scaled) whatever happened",
            lambda s: partial(run_long_poll, wait_ms=0, interval_s=s.short_poll_every_s),
        ),
        Transport(
            "websocket",
            "WebSocket: one text frame per event; reconnect with backoff, resume by id",
            lambda s: run_websocket,
        ),
        Transport(
            "websocket_fallback",
            "engine.io-style: long polling first, upgrade to WebSocket once a probe "
            "lives 1 s, fall back when it dies, give up after 3 failed probes",
            lambda s: partial(
                run_websocket_fallback,
                probe_ms=WS_PROBE_MS,
                poll_wait_ms=s.long_poll_hold_ms,
                retry_s=WS_RETRY_MS / 1000,
            ),
        ),
        Transport(
            "llm_stream",
            "an OpenAI-style streamed chat completion (POST, one token per SSE event, "
            "data: [DONE]) read by Gauntlet's streaming reader: no reconnect, a cut is "
            "a truncated answer",
            lambda s: run_llm_stream,
            token_stream=True,
        ),
        Transport(
            "llm_stream_openai",
            "the same answer read by the official openai Python client "
            "(AsyncOpenAI streaming chat completions, dummy key, loopback)",
            lambda s: run_llm_stream_openai,
            token_stream=True,
        ),
        Transport(
            "mcp_streamable",
            "MCP Streamable HTTP (2025-11-25) by the official mcp SDK: a long tool call "
            "streaming progress as SSE, the GET stream for server messages, resumption "
            "with Last-Event-ID",
            lambda s: run_mcp_streamable,
            token_stream=True,
        ),
        # The browser's own APIs (harness/clients/browser.py), beside the reference clients.
        Transport(
            "browser_sse",
            "Chromium's own EventSource on /sse",
            lambda s: partial(run_browser, page=PageMode("sse", "/sse")),
        ),
        Transport(
            "browser_sse_close_each",
            "Chromium's own EventSource on /sse/close-each: the browser reconnects after "
            "each event with Last-Event-ID",
            lambda s: partial(run_browser, page=PageMode("sse", "/sse/close-each")),
        ),
        Transport(
            "browser_long_poll",
            "fetch() long polling in the page: each request waits up to H (30 s, scaled)",
            lambda s: partial(
                run_browser, page=PageMode("long_poll", "/poll", s.long_poll_hold_ms)
            ),
        ),
        Transport(
            "browser_websocket",
            "Chromium's WebSocket with the page's own reconnect (backoff 50 ms doubling "
            "to 2 s) resuming with ?after=, as an application does",
            lambda s: partial(run_browser, page=PageMode("websocket", "/ws")),
        ),
        Transport(
            "browser_websocket_fallback",
            "websocket_fallback in the page: fetch() long polling first, Chromium's "
            "WebSocket probed beside it, upgrade once a probe lives 1 s, fall back when "
            "it dies, give up after 3 failed probes (the reference client's timings)",
            lambda s: partial(
                run_browser,
                page=PageMode(
                    "websocket_fallback",
                    "/ws",
                    s.long_poll_hold_ms,
                    upgrade=(
                        ("probeMs", WS_PROBE_MS),
                        ("maxFailures", UpgradePolicy.max_failures),
                        ("retryMs", WS_RETRY_MS),
                    ),
                ),
            ),
        ),
        Transport(
            "browser_websocket_raw",
            "Chromium's bare WebSocket API: one socket, never reconnected",
            lambda s: partial(run_browser, page=PageMode("websocket_raw", "/ws")),
        ),
    ]
}

__all__ = ["TRANSPORTS", "Target", "Transport"]
