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

window.gauntletStart = (mode, path, waitMs) => {
  if (mode === "sse") sse(path);
  else if (mode === "long_poll") longPoll(path, waitMs);
  else if (mode === "websocket") websocket(path, true);
  else if (mode === "websocket_raw") websocket(path, false);
  else throw new Error("unknown mode " + mode);
  return true;
};
window.gauntletNow = now;
</script></body></html>
"""


def page_bytes() -> bytes:
    return PAGE_HTML.encode()
