"""The page a browser client runs: the browser's own EventSource, WebSocket and fetch.

Served by the reference server at `/browser/page` (same origin as every endpoint, so through a
reverse chain the page itself comes through the chain). The page does nothing until the
harness calls `gauntletStart(mode, path, waitMs)`, so the harness can first measure the page
clock against its own (harness/clients/browser.py). Every open, message, error and close is
reported through `window.gauntletReport` (a binding the harness exposes before navigation)
with the page's receive time, `performance.timeOrigin + performance.now()` in ms.

Modes:
- `sse`: one `EventSource(path)`; the browser alone decides reconnects, `retry:` and
  `Last-Event-ID` (WHATWG HTML §9.2). An `error` with readyState CLOSED is the end.
- `long_poll`: `fetch(path?after=N&wait_ms=W)` in a loop, backoff 50 ms doubling to 2 s on a
  failed poll (the reference client's `Backoff`), resuming from the highest id.
- `websocket`: the application's reconnect, as real apps do over the raw API (the browser's
  `WebSocket` never reconnects by itself): backoff 50 ms doubling to 2 s, reset after a socket
  that delivered, resume with `?after=`.
- `websocket_raw`: one `WebSocket`, never reconnected: what the bare API gives.
- `websocket_fallback`: engine.io-style, the rules of harness/clients/policy.py UpgradePolicy
  with the reference client's timings passed in: long polling first, a WebSocket probe beside
  it, polling stopped once the probe has lived `probeMs`, back to polling when the upgraded
  socket dies, no more probes after `maxFailures` sockets that failed or died sooner; waits
  `retryMs` doubling between probes. Every poll run and every socket is its own connection.
"""

from __future__ import annotations

PAGE_PATH = "/browser/page"

PAGE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>gauntlet browser client</title></head>
<body><script>
"use strict";
const now = () => performance.timeOrigin + performance.now();
const report = (kind, data) =>
  window.gauntletReport(JSON.stringify(Object.assign({kind: kind, t: now()}, data || {})));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function sse(path) {
  let attempt = 0;
  const source = new EventSource(path);
  source.onopen = () => report("open", {conn: attempt});
  source.onmessage = (m) => {
    const t = now();
    report("message", {conn: attempt, id: m.lastEventId, t: t, bytes: m.data.length});
  };
  source.onerror = () => {
    const closed = source.readyState === EventSource.CLOSED;
    report("error", {conn: attempt, closed: closed});
    if (!closed) attempt += 1;  // the browser will reconnect: a new attempt
  };
}

async function longPoll(path, waitMs) {
  let after = 0, conn = 0, connected = false, delay = 0;
  for (;;) {
    try {
      report("request", {conn: conn, method: "GET", path: path});
      const response = await fetch(path + "?after=" + after + "&wait_ms=" + waitMs,
                                   {cache: "no-store"});
      if (!response.ok) throw new Error("status " + response.status);
      const body = await response.json();
      const t = now();
      if (!connected) { report("open", {conn: conn, t: t}); connected = true; }
      delay = 0;
      for (const e of body.events) {
        report("message", {conn: conn, id: String(e.id), t: t, bytes: e.data.length});
        after = Math.max(after, e.id);
      }
    } catch (err) {
      report("error", {conn: conn, closed: false, why: String(err)});
      if (connected) { conn += 1; connected = false; }
      delay = delay === 0 ? 50 : Math.min(2000, delay * 2);
      await sleep(delay);
    }
  }
}

function websocket(path, reconnect) {
  let after = 0, conn = 0, delay = 0;
  const open = () => {
    const mine = conn;
    let delivered = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    report("request", {conn: mine, method: "WS", path: path});
    const socket = new WebSocket(scheme + "//" + location.host + path + "?after=" + after);
    socket.onopen = () => report("open", {conn: mine});
    socket.onmessage = (m) => {
      const t = now();
      const e = JSON.parse(m.data);
      delivered = true;
      after = Math.max(after, e.id);
      report("message", {conn: mine, id: String(e.id), t: t, bytes: m.data.length});
    };
    socket.onerror = () => report("error", {conn: mine, closed: false});
    socket.onclose = (c) => {
      report("close", {conn: mine, code: c.code, reason: c.reason});
      conn += 1;
      if (!reconnect) return;
      if (delivered) delay = 0;
      delay = delay === 0 ? 50 : Math.min(2000, delay * 2);
      setTimeout(open, delay);
    };
  };
  open();
}

function websocketFallback(path, waitMs, opts) {
  // UpgradePolicy (harness/clients/policy.py) in the page: same rules, same timings.
  let after = 0, nextConn = 0, failures = 0, upgraded = false, poller = null;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const deliver = (conn, e, bytes, t) => {
    after = Math.max(after, e.id);
    report("message", {conn: conn, id: String(e.id), t: t, bytes: bytes});
  };
  const startPolling = () => {
    const run = {stopped: false, abort: new AbortController()};
    (async () => {
      let conn = nextConn++, connected = false, delay = 0;
      while (!run.stopped) {
        try {
          report("request", {conn: conn, method: "GET", path: "/poll"});
          const response = await fetch("/poll?after=" + after + "&wait_ms=" + waitMs,
                                       {cache: "no-store", signal: run.abort.signal});
          if (!response.ok) throw new Error("status " + response.status);
          const body = await response.json();
          const t = now();
          if (run.stopped) break;
          if (!connected) { report("open", {conn: conn, t: t}); connected = true; }
          delay = 0;
          for (const e of body.events) deliver(conn, e, e.data.length, t);
        } catch (err) {
          if (run.stopped) break;  // upgraded: this poll was cancelled, not failed
          report("error", {conn: conn, closed: false, poll: true, why: String(err)});
          if (connected) { conn = nextConn++; connected = false; }
          delay = delay === 0 ? 50 : Math.min(2000, delay * 2);
          await sleep(delay);
        }
      }
    })();
    return run;
  };
  const stopPolling = () => {
    if (poller) { poller.stopped = true; poller.abort.abort(); poller = null; }
  };
  const shouldTry = () => !upgraded && failures < opts.maxFailures;
  const probe = () => {
    const conn = nextConn++;
    let openedAt = null, timer = null;
    report("request", {conn: conn, method: "WS", path: path});
    const socket = new WebSocket(scheme + "//" + location.host + path + "?after=" + after);
    socket.onopen = () => {
      openedAt = now();
      report("open", {conn: conn});
      timer = setTimeout(() => {
        upgraded = true;
        stopPolling();
        report("note", {text: "websocket probe survived: upgraded, polling stopped"});
      }, opts.probeMs);
    };
    socket.onmessage = (m) => {
      const t = now();
      deliver(conn, JSON.parse(m.data), m.data.length, t);
    };
    socket.onerror = () => report("error", {conn: conn, closed: false});
    socket.onclose = (c) => {
      clearTimeout(timer);
      report("close", {conn: conn, code: c.code, reason: c.reason});
      const lived = openedAt === null ? null : now() - openedAt;
      const wasUpgraded = upgraded;
      upgraded = false;
      if (lived === null || lived < opts.probeMs) failures += 1;
      if (wasUpgraded) {  // the upgraded socket died: back to polling at once
        poller = startPolling();
        report("note", {text: "websocket died: back to long polling"});
      }
      if (shouldTry()) setTimeout(probe, opts.retryMs * 2 ** Math.max(0, failures - 1));
      else report("note", {text: "websocket upgrade given up after " + failures +
                                  " failed probes: staying on long polling"});
    };
  };
  poller = startPolling();
  probe();
}

window.gauntletStart = (mode, path, waitMs, opts) => {
  if (mode === "sse") sse(path);
  else if (mode === "long_poll") longPoll(path, waitMs);
  else if (mode === "websocket") websocket(path, true);
  else if (mode === "websocket_raw") websocket(path, false);
  else if (mode === "websocket_fallback") websocketFallback(path, waitMs, opts);
  else throw new Error("unknown mode " + mode);
  return true;
};
window.gauntletNow = now;
</script></body></html>
"""


def page_bytes() -> bytes:
    return PAGE_HTML.encode()
