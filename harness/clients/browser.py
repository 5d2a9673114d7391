"""The browser as a client: Debian's headless Chromium runs the page's EventSource, WebSocket
or fetch loop (harness/server/browser_page.py) and every open, message, error and close it
reports becomes the same EventLog records the reference clients write, so the same metrics
and verdicts apply.

How it is driven, and why:
- Chromium is started by `gauntlet.spawn` (own process group, PR_SET_PDEATHSIG, SIGKILLed as a
  group on every exit path) with `--remote-debugging-port=0`; its stderr line
  `DevTools listening on ws://...` is the readiness signal (bounded wait). Playwright's Python
  API then attaches with `connect_over_cdp`: a well-kept driver, used with the browser we
  started, so Playwright never launches or downloads one (`playwright install` is never run).
- Playwright's API is asyncio or sync; the harness is trio. The sync API runs in one worker
  thread per cell and hands every report to trio through a memory channel
  (`trio.from_thread`), so the EventLog is only touched on trio's thread.
- Loopback only (flags measured with Chromium 156): every hostname fails inside the browser
  (`--host-resolver-rules`), background services are off, and a forward proxy is used for
  loopback too (`--proxy-bypass-list=<-loopback>`; without it Chromium silently bypasses the
  proxy for 127.0.0.1 and every buffering cell would pass for the wrong reason).
- TLS: the browser trusts exactly the cell's CA by its SPKI hash
  (`--ignore-certificate-errors-spki-list`; mitmproxy signs its leaf certificates with the CA's
  own key, and the server sends the CA in its chain).
- Requests: the page stamps its own fetch and WebSocket requests; an EventSource's requests
  (reconnects included) are invisible to the page, so they are Playwright request events,
  stamped when they reach the harness (with their `Last-Event-ID` header).
- Clock: receive times come from the page (`performance.timeOrigin + performance.now()`, ms)
  and are put on the harness clock (`time.monotonic_ns`) by an offset measured before the
  page starts: N round trips of `gauntletNow()`, the one with the smallest round trip wins,
  offset = page time - midpoint, error bound = half that round trip (`clock_offset`). The
  bound is recorded in the cell's results (`client.browser_clock`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gauntlet.clients.base import Target
from gauntlet.clients.policy import CHROMIUM_DEFAULT_RETRY_MS
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
from gauntlet.server.app import ServerOptions
from gauntlet.server.browser_page import PAGE_PATH
from gauntlet.spawn import Child, kill_group, spawn

CHROMIUM_BINARY = os.environ.get("GAUNTLET_CHROMIUM", "/usr/lib/chromium/chromium")
START_TIMEOUT_S = 20.0  # a cold Chromium start on a loaded 2-core machine takes 1-3 s
CLOCK_ROUND_TRIPS = 15
STDERR_TAIL_LINES = 20
BYPASS_ALL_BUT_LOOPBACK = "*;<-loopback>"
"""Every host bypasses the proxy except loopback. With `--proxy-bypass-list=<-loopback>` alone,
Chromium hands every hostname to the proxy unresolved (measured: `CONNECT
accounts.google.com:443` reached the forward proxy at startup despite
`--disable-background-networking`), so `--host-resolver-rules` never sees it and the proxy
would be the one to resolve it and connect off loopback. Bypassed hosts go DIRECT, where the
resolver rules fail them inside the browser. Later bypass rules win (Chromium evaluates the
list from the end), so `<-loopback>` keeps 127.0.0.1 on the proxy; a PAC script cannot, as
Chromium never asks PAC about loopback (measured: nothing reached the proxy)."""
BROWSER_TIME = {
    "mode": "scaled",
    "server_retry_ms": ServerOptions().retry_ms,
    "chromium_default_retry_ms": CHROMIUM_DEFAULT_RETRY_MS,
    "why": "the browser's own timings cannot be scaled; the reference server sends retry: "
    f"{ServerOptions().retry_ms} at the start of every SSE stream, so Chromium's "
    f"{CHROMIUM_DEFAULT_RETRY_MS} ms default applies only to a stream that never "
    "started (held, or failed for good, which never reconnects); the page's own "
    "WebSocket and polling backoffs are the reference clients' (50 ms doubling to 2 s)",
}
"""What results.json says about time in a browser cell (the real world's constants)."""
_DEVTOOLS_LINE = re.compile(rb"DevTools listening on (ws://\S+)")


class BrowserUnavailable(Exception):
    """No Chromium binary on this machine: the cell is SKIPPED, not an ERROR."""


class BrowserStartError(Exception):
    """Chromium is installed but did not start; the message carries its stderr tail."""


@dataclass(frozen=True)
class ClockOffset:
    """page ms - harness ms, from the round trip with the smallest RTT (Cristian's method)."""

    offset_ms: float
    error_bound_ms: float
    round_trips: int
    min_rtt_ms: float

    def to_harness_ns(self, page_ms: float) -> int:
        return int(round((page_ms - self.offset_ms) * 1e6))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "min-RTT round trips of performance.timeOrigin + performance.now() "
            "against time.monotonic_ns; offset = page - midpoint",
            "offset_ms": round(self.offset_ms, 3),
            "error_bound_ms": round(self.error_bound_ms, 3),
            "round_trips": self.round_trips,
            "min_rtt_ms": round(self.min_rtt_ms, 3),
        }


def clock_offset(samples: list[tuple[int, float, int]]) -> ClockOffset:
    """From (harness ns before, page ms, harness ns after) samples: the tightest one decides.

    The page read its clock somewhere inside [before, after], so taking the midpoint errs by
    at most half the round trip; the smallest round trip gives the smallest bound."""
    if not samples:
        raise ValueError("no clock samples")
    before, page_ms, after = min(samples, key=lambda s: s[2] - s[0])
    rtt_ms = (after - before) / 1e6
    return ClockOffset(page_ms - (before + after) / 2e6, rtt_ms / 2, len(samples), rtt_ms)


def spki_sha256(ca_pem: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): the form `--ignore-certificate-errors-spki-list`
    takes (Chromium switch docs)."""
    cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_argv(
    binary: str, profile_dir: Path, *, forward_proxy: str | None = None, spki: str | None = None
) -> list[str]:
    """The command line: headless, a fresh profile, nothing off loopback (pure)."""
    argv = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--mute-audio",
        f"--user-data-dir={profile_dir}",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ]
    if forward_proxy:
        argv += [
            f"--proxy-server={forward_proxy}",
            f"--proxy-bypass-list={BYPASS_ALL_BUT_LOOPBACK}",
        ]
    if spki:
        argv.append(f"--ignore-certificate-errors-spki-list={spki}")
    return [*argv, "about:blank"]


@dataclass(frozen=True)
class PageMode:
    """What the page runs: `mode` (sse | long_poll | websocket | websocket_raw |
    websocket_fallback) on `path`; `upgrade` holds websocket_fallback's UpgradePolicy timings
    (probeMs, maxFailures, retryMs), the reference client's values."""

    mode: str
    path: str
    wait_ms: int = 0
    upgrade: tuple[tuple[str, float], ...] = ()


async def run_browser(
    target: Target, log: EventLog, *, page: PageMode, binary: str | None = None
) -> None:
    """One browser subscriber until cancelled; the browser dies with the cell, always."""
    binary = binary or CHROMIUM_BINARY
    if not Path(binary).exists():
        raise BrowserUnavailable(f"no Chromium at {binary} (install Debian's chromium)")
    info = log.client_info.setdefault("browser", {})
    info.update(
        {
            "binary": binary,
            "page_mode": page.mode,
            "path": page.path,
            "page_events": {"open": 0, "message": 0, "error": 0, "close": 0},
            "time": BROWSER_TIME,
        }
    )
    profile = Path(tempfile.mkdtemp(prefix="gauntlet-chromium-"))
    spki = spki_sha256(target.tls.ca_cert) if target.tls is not None else None
    argv = chromium_argv(binary, profile, forward_proxy=target.forward_proxy, spki=spki)
    child: Child | None = None
    try:
        child = await spawn(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        async with trio.open_nursery() as nursery:
            endpoint = await nursery.start(_watch_stderr, child, tail)
            info["pid"] = child.pid
            send, receive = trio.open_memory_channel[tuple](math.inf)
            url = target.base_url + PAGE_PATH
            nursery.start_soon(
                partial(
                    trio.to_thread.run_sync,
                    _drive,
                    endpoint,
                    url,
                    page,
                    partial(_emit, send),
                    abandon_on_cancel=True,
                )
            )
            await _Bridge(log, page, info).consume(receive)
    finally:
        if child is not None:
            await kill_group(child)
        shutil.rmtree(profile, ignore_errors=True)


async def _watch_stderr(
    child: Child, tail: deque[str], *, task_status=trio.TASK_STATUS_IGNORED
) -> None:
    """Report the DevTools endpoint once Chromium prints it, then keep draining stderr."""
    assert child.stderr is not None
    buffer = b""
    started = False
    with trio.move_on_after(START_TIMEOUT_S) as scope:
        while not started:
            chunk = await child.stderr.receive_some(65536)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.split(b"\n")[:-1]:
                tail.append(line.decode(errors="replace"))
            if match := _DEVTOOLS_LINE.search(buffer):
                started = True
                task_status.started(match.group(1).decode())
            buffer = buffer.rsplit(b"\n", 1)[-1] if not started else b""
    if not started:
        with trio.move_on_after(2):  # EOF on stderr: reap it so its exit status is known
            await child.wait()
        why = "timed out" if scope.cancelled_caught else f"exited ({child.returncode})"
        raise BrowserStartError(
            f"chromium {why} before DevTools was listening: " + " | ".join(tail)[-800:]
        )
    while await child.stderr.receive_some(65536):
        pass  # drained, or Chromium would block on a full pipe


def _emit(send: trio.MemorySendChannel, item: tuple) -> None:
    """Called on the Playwright thread: hand one item to trio (dropped once the cell is over)."""
    try:
        trio.from_thread.run_sync(send.send_nowait, item)
    except (trio.RunFinishedError, trio.ClosedResourceError, trio.Cancelled):
        pass


def _drive(endpoint: str, url: str, page_mode: PageMode, emit) -> None:
    """The Playwright side (a worker thread): open the page, measure the clock, start, wait.

    Returns when the browser goes away (the cell kills it)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    stream_path = urlsplit(url)._replace(path=page_mode.path).path
    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(endpoint)
        context = browser.contexts[0] if browser.contexts else browser.new_context()
        page = context.new_page()
        page.expose_function("gauntletReport", lambda text: emit(("page", text)))

        def on_request(request) -> None:  # EventSource requests: the page cannot see them
            path = urlsplit(request.url).path
            if page_mode.mode == "sse" and path == stream_path:
                emit(
                    (
                        "request",
                        now_ns(),
                        request.method,
                        path,
                        request.headers.get("last-event-id", ""),
                    )
                )

        page.on("request", on_request)
        page.goto(url, wait_until="load")
        samples = []
        for _ in range(CLOCK_ROUND_TRIPS):
            before = now_ns()
            page_ms = float(page.evaluate("gauntletNow()"))
            samples.append((before, page_ms, now_ns()))
        emit(("clock", samples))
        page.evaluate(
            "([m, p, w, o]) => gauntletStart(m, p, w, o)",
            [page_mode.mode, page_mode.path, page_mode.wait_ms, dict(page_mode.upgrade)],
        )
        try:
            page.wait_for_event("close", timeout=0)
        except PlaywrightError:
            pass  # the browser was killed: the cell is over


class _Bridge:
    """Turns the page's reports into EventLog records (trio's thread only)."""

    def __init__(self, log: EventLog, page: PageMode, info: dict[str, Any]) -> None:
        self.log, self.page, self.info = log, page, info
        self.clock: ClockOffset | None = None
        self.conns: dict[int, int] = {}
        self.opened: set[int] = set()
        self.requests = 0
        self.current = 0  # the page's latest connection number

    def conn(self, attempt: int) -> int:
        if attempt not in self.conns:
            self.conns[attempt] = self.log.new_conn()
        return self.conns[attempt]

    async def consume(self, receive: trio.MemoryReceiveChannel) -> None:
        async for item in receive:
            if item[0] == "clock":
                self.clock = clock_offset(item[1])
                self.info["browser_clock"] = self.clock.to_json()
            elif item[0] == "request":
                _, t_ns, method, path, last_event_id = item
                kind = f"{method} {path}"
                # the n-th request of an EventSource or WebSocket is its attempt n; polls
                # belong to the page's current poll connection
                attempt = self.requests if self.page.mode != "long_poll" else self.current
                self.requests += 1
                self.log.append(Request(t_ns, self.conn(attempt), kind))
                if last_event_id:
                    self.info.setdefault("last_event_ids_sent", []).append(last_event_id)
            elif item[0] == "page":
                self.page_event(json.loads(item[1]))

    def page_event(self, event: dict[str, Any]) -> None:
        assert self.clock is not None  # the page starts only after the clock is measured
        kind = event["kind"]
        counts = self.info["page_events"]
        counts[kind] = counts.get(kind, 0) + 1
        t = self.clock.to_harness_ns(float(event["t"]))
        if kind == "request":  # fetch and WebSocket: the page stamps its own requests
            self.current = max(self.current, int(event.get("conn", 0)))
            self.log.append(
                Request(
                    t,
                    self.conn(int(event.get("conn", 0))),
                    f"{event.get('method')} {event.get('path')}",
                )
            )
            return
        if kind == "note":  # websocket_fallback's upgrade decisions, as the reference logs
            self.log.append(Note(t, str(event.get("text", ""))))
            return
        self.current = max(self.current, int(event.get("conn", 0)))
        conn = self.conn(int(event.get("conn", 0)))
        if kind == "open":
            self.opened.add(conn)
            self.log.append(Connected(t, conn, "browser"))
        elif kind == "message":
            if str(event.get("id", "")).isdigit():
                self.log.append(BytesReceived(t, conn, int(event.get("bytes", 0))))
                self.log.append(Received(int(event["id"]), t, conn))
        elif kind == "error":
            if self.page.mode == "sse":
                closed = bool(event.get("closed"))
                why = (
                    "EventSource error, closed for good"
                    if closed
                    else "EventSource error, reconnecting"
                )
                self.log.append(Disconnected(t, conn, why))
            elif (self.page.mode == "long_poll" or event.get("poll")) and conn in self.opened:
                self.log.append(Disconnected(t, conn, f"poll failed: {event.get('why', '')}"))
                self.opened.discard(conn)
            elif self.page.mode == "long_poll" or event.get("poll"):
                self.log.append(Note(t, f"poll failed: {event.get('why', '')}"))
        elif kind == "close":
            self.log.append(Disconnected(t, conn, f"WebSocket close {event.get('code')}"))
