"""Hold each chunked response body's bytes ~207 ms, as haproxy's MSG_MORE does.

haproxy, unless `option http-no-delay` is set, sends a body it knows is unfinished with
MSG_MORE, so the kernel corks the partial segment until more data fills a segment or its
timer fires (TCP_RTO_MIN, 200 ms, rounded up to the kernel's tick). The wait counts from the
first held byte; bytes that come meanwhile join it and neither restart nor cut it. Measured
through Debian's haproxy 2.6 (raw sockets, one chunk per event): the first held event waits
204-218 ms (median 207 ms, from 64 B to 20 KiB); at 10 events/s events 2 and 3 leave with
event 1 (~105 ms, ~5 ms); at 5/s (200 ms apart) the next event lands just inside the
window, so events alternate ~207 ms / ~7 ms (p50 of 10: ~107 ms). A 200 ms timer fires just
before that next event and makes each wait its full window, hence 207, not 200. Events
larger than a loopback segment (~32 KiB) partly leave at once: not imitated.
A chunked stream (sse) therefore waits up to ~207 ms per event; a body whose end haproxy
knows (Content-Length: long polling; close-each SSE's last chunk) and WebSocket frames go
at once. The hop relays raw TCP and frames HTTP/1.x responses itself (status line,
Content-Length, chunk sizes): it holds only bytes inside a chunked body, from the first
held byte for `chunked_cork_ms`, and releases at once when the body's last chunk arrives.
Bytes that are not HTTP/1 (TLS) pass.
Imitates: haproxy with its defaults (Debian's haproxy 2.6, `mode http`; measured sse p50
201 / p95 208 ms at 5 events/s, 64 B; cured by `option http-no-delay`;
tests/e2e/test_external_proxies.py compares the two).
Source: haproxy configuration manual, `option http-no-delay` ("... haproxy uses MSG_MORE
... may add up to 200 ms"); Willy Tarreau, ietf-http-wg 2011-05-10 (MSG_MORE aggregation);
Linux tcp(7) TCP_CORK (200 ms ceiling); Linux include/net/tcp.h TCP_RTO_MIN (HZ/5).
"""

from __future__ import annotations

from mitmproxy import ctx, tcp

from gauntlet.proxies._framing import ResponseFramer
from gauntlet.proxies._reinject import Reinjector

HOP_LAYER = "tcp"  # raw TCP relay: the harness runs this hop as reverse:tcp://


class ChunkedCork:  # pragma: no mutate block (mitmproxy hooks: tests/proxies, taddons)
    def __init__(self) -> None:
        self.framers: dict[str, ResponseFramer] = {}
        self.held: dict[str, bytearray] = {}
        self.reinjector = Reinjector()
        self.timers: dict[str, object] = {}

    def load(self, loader) -> None:
        loader.add_option(
            "chunked_cork_ms",
            int,
            207,
            "Hold bytes inside a chunked body this long from the first held "
            "byte (the kernel's cork: TCP_RTO_MIN plus its tick, measured).",
        )

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        message = flow.messages[-1]
        if message.from_client:
            return
        if self.reinjector.is_own(flow, message):
            return  # our own release coming back through the hook: let it pass
        framer = self.framers.setdefault(flow.id, ResponseFramer())
        data, message.content = message.content, b""
        for piece, in_chunked_body, body_ends in framer.feed(data):
            if in_chunked_body and not body_ends:
                self._hold(flow, piece)
            else:
                self.release(flow, piece)

    def _hold(self, flow: tcp.TCPFlow, piece: bytes) -> None:
        held = self.held.setdefault(flow.id, bytearray())
        if not held and flow.id not in self.timers:
            loop = ctx.master.event_loop
            when = loop.time() + ctx.options.chunked_cork_ms / 1000
            self.timers[flow.id] = loop.call_at(when, self.release, flow, b"")
        held.extend(piece)

    def release(self, flow: tcp.TCPFlow, tail: bytes) -> None:
        """Send what is held, then `tail`, in one piece; the cork's timer is spent."""
        timer = self.timers.pop(flow.id, None)
        if timer is not None:
            timer.cancel()  # type: ignore[attr-defined]
        data = bytes(self.held.pop(flow.id, b"")) + tail
        if data:
            self.reinjector.send(flow, data)

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        for table in (self.framers, self.held):
            table.pop(flow.id, None)
        self.reinjector.forget(flow)
        timer = self.timers.pop(flow.id, None)
        if timer is not None:
            timer.cancel()  # type: ignore[attr-defined]

    tcp_error = tcp_end


addons = [ChunkedCork()]
