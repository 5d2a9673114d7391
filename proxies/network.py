"""Add latency, jitter and a bandwidth cap to every chunk, and reset connections at random.

Works at the connection level (the hop relays raw TCP, TLS included, and never parses
HTTP), like Toxiproxy's latency, bandwidth and reset_peer toxics; chain it with HTTP-level
behaviours in other hops. Each chunk is held for latency + jitter + size / bandwidth on its
own connection and released in order as from a pipe (chunks in flight overlap, as on a
real link), so latency does not add up per chunk; other connections are not held up.
Jitter and resets draw from a random generator seeded by `network_seed`, so the same seed
gives the same sequence of draws (which chunk a draw lands on follows TCP segmentation).
Imitates: a slow or lossy network path (mobile, congested Wi-Fi, long-haul links) and
middleboxes that reset connections.
No installable counterpart: it is a path, not a device (Toxiproxy is not packaged).
Source: Toxiproxy README "Toxics" (latency,
bandwidth, reset_peer); docs/field.md "Peers".
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct

from mitmproxy import ctx, tcp

from gauntlet.proxies._conn import close_client
from gauntlet.proxies._reinject import Reinjector

HOP_LAYER = "tcp"  # raw TCP relay: the harness runs this hop as reverse:tcp://


class Network:
    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.last_release: dict[tuple[str, bool], float] = {}
        self.reinjector = Reinjector()

    def load(self, loader) -> None:
        loader.add_option("network_latency_ms", int, 0, "Delay added to every chunk.")
        loader.add_option("network_jitter_ms", int, 0, "Uniform +- jitter on the delay.")
        loader.add_option("network_bandwidth_kbps", int, 0, "Cap in kilobits/s; 0: none.")
        loader.add_option(
            "network_reset_per_mille",
            int,
            0,
            "Chance per chunk, in 1/1000, that the connection is reset (RST).",
        )
        loader.add_option("network_seed", int, 0, "Seed of the jitter and reset generator.")

    def configure(self, updates) -> None:
        if "network_seed" in updates:
            self.rng = random.Random(ctx.options.network_seed)

    def release_at(self, key: tuple[str, bool], now: float, size: int) -> float:
        """When a chunk arriving at `now` leaves: a pipeline, in order, like a real link."""
        o = ctx.options
        jitter = self.rng.uniform(-1, 1) * o.network_jitter_ms if o.network_jitter_ms else 0
        transmit = size * 8 / (o.network_bandwidth_kbps * 1000) if o.network_bandwidth_kbps else 0
        start = max(
            now + max(0.0, (o.network_latency_ms + jitter) / 1000), self.last_release.get(key, 0.0)
        )
        self.last_release[key] = start + transmit
        return start + transmit

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        message = flow.messages[-1]
        key = (flow.id, message.from_client)
        if self.reinjector.is_own(flow, message):
            return  # our own delayed chunk coming back through the hook
        if self.rng.random() * 1000 < ctx.options.network_reset_per_mille:
            message.content = b""
            _reset(flow)
            return
        data, message.content = message.content, b""
        loop = asyncio.get_running_loop()
        when = self.release_at(key, loop.time(), len(data))

        from_client = message.from_client
        loop.call_at(when, lambda: self.reinjector.send(flow, data, from_client=from_client))

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        for from_client in (True, False):
            self.last_release.pop((flow.id, from_client), None)
        self.reinjector.forget(flow)

    tcp_error = tcp_end


def _reset(flow: tcp.TCPFlow) -> None:
    """Close the client connection with RST (SO_LINGER 0), as Toxiproxy's reset_peer does."""
    handler = ctx.master.addons.get("proxyserver").connections.get(flow.client_conn.id)
    if handler is not None and handler.client in handler.transports:
        sock = handler.transports[handler.client].writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    close_client(flow.client_conn, "network reset (RST)")


addons = [Network()]
