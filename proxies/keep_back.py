"""Hold everything the server sends on a connection for exactly T ms, then relay it live.

The hold starts at the connection's first server byte (response headers included: the hop
relays raw TCP) and ends T ms later, when what piled up is released in one piece and every
later byte passes at once. A client therefore waits T for its first event, and the events
published during the hold arrive together. With a known T it is also the harness's
instrument check for a held time (`gauntlet calibrate`): the measured wait must be T.
HAVP ships with 5 s; the default here is 1 s and is not scaled (a device's hold, not a
patience), so the behaviours matrix shows its cost without also exhausting the scaled
clients' patience.
Imitates: antivirus scanning proxies that keep back the start of a download while they
scan it, then pass it on (HAVP's KEEPBACKTIME; Sophos-class web filters).
No installable counterpart: HAVP left Debian, Sophos filters are commercial.
Source: HAVP configuration KEEPBACKTIME / KEEPBACKBUFFER (havp.config, HAVP 0.78 changelog:
"KEEPBACKTIME config added to complement KEEPBACKBUFFER"); docs/field.md "store-and-forward" row.
"""

from __future__ import annotations

import asyncio

from mitmproxy import ctx, tcp

from gauntlet.proxies._reinject import Reinjector

HOP_LAYER = "tcp"  # raw TCP relay: the harness runs this hop as reverse:tcp://


class KeepBack:
    def __init__(self) -> None:
        self.started: set[str] = set()  # connections whose hold has begun (or ended)
        self.held: dict[str, bytearray] = {}  # connections still inside their hold
        self.reinjector = Reinjector()
        self.timers: dict[str, asyncio.TimerHandle] = {}

    def load(self, loader) -> None:
        loader.add_option(
            "keep_back_ms", int, 1000, "Hold the server's bytes this many ms from its first byte."
        )

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        message = flow.messages[-1]
        if message.from_client:
            return
        if self.reinjector.is_own(flow, message):
            return  # our own release coming back through the hook: let it pass
        live = flow.id in self.started and flow.id not in self.held
        if live and not self.reinjector.in_flight(flow):
            return  # the hold is over and nothing injected is in flight: relay live
        if flow.id not in self.started:  # the first server byte: the hold starts now
            self.started.add(flow.id)
            self.held[flow.id] = bytearray()
            loop = ctx.master.event_loop
            when = loop.time() + ctx.options.keep_back_ms / 1000
            self.timers[flow.id] = loop.call_at(when, self.release, flow)
        data, message.content = message.content, b""
        if flow.id in self.held:
            self.held[flow.id].extend(data)
        else:  # released, but an injected chunk is still on its way: keep the order
            self.reinjector.send(flow, data)

    def release(self, flow: tcp.TCPFlow) -> None:
        """The hold is over: send what piled up (nothing, if the connection has ended)."""
        self.timers.pop(flow.id, None)
        held = self.held.pop(flow.id, None)
        if held:
            self.reinjector.send(flow, bytes(held))

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        self.started.discard(flow.id)
        self.held.pop(flow.id, None)
        self.reinjector.forget(flow)
        timer = self.timers.pop(flow.id, None)
        if timer is not None:
            timer.cancel()

    tcp_error = tcp_end


addons = [KeepBack()]
