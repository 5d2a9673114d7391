"""Hold every byte from the server and release what has piled up every T milliseconds.

Events trickle out in bursts: latency becomes up to T plus the batch's own time, and a
quiet stream's bytes wait for the next tick. Connection level (raw TCP relay), so it holds
headers and body alike, as a scanning proxy that trickles a response does.
Imitates: proxies and antivirus web filters that "trickle" content to keep a download
alive while they scan it (Sophos-class filters, some corporate proxies).
No installable counterpart: the trickling filters are commercial products.
Source: docs/field.md "store-and-forward" row (Sophos-class antivirus web filters); Squid and
antivirus "data trickling" documentation (e.g. ClamAV/HAVP, Sophos UTM web filter).
"""

from __future__ import annotations

import asyncio

from mitmproxy import ctx, tcp

from gauntlet.proxies._reinject import Reinjector

HOP_LAYER = "tcp"  # raw TCP relay: the harness runs this hop as reverse:tcp://


class TimeFlush:
    def __init__(self) -> None:
        self.held: dict[str, bytearray] = {}
        self.reinjector = Reinjector()
        self.timers: dict[str, asyncio.Task] = {}

    def load(self, loader) -> None:
        loader.add_option(
            "time_flush_interval_ms", int, 1000, "Release held server bytes every this many ms."
        )

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        self.held[flow.id] = bytearray()
        self.timers[flow.id] = asyncio.get_running_loop().create_task(self._tick(flow))

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        message = flow.messages[-1]
        if message.from_client:
            return
        if self.reinjector.is_own(flow, message):
            return  # our own release coming back through the hook: let it pass
        self.held.setdefault(flow.id, bytearray()).extend(message.content)
        message.content = b""

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        timer = self.timers.pop(flow.id, None)
        if timer is not None:
            timer.cancel()
        self.held.pop(flow.id, None)
        self.reinjector.forget(flow)

    tcp_error = tcp_end

    async def _tick(self, flow: tcp.TCPFlow) -> None:
        while True:
            await asyncio.sleep(ctx.options.time_flush_interval_ms / 1000)
            held = self.held.get(flow.id)
            if held:
                data = bytes(held)
                held.clear()
                self.reinjector.send(flow, data)


addons = [TimeFlush()]
