"""One hostile connection must not stop the reference server (a hypercorn 0.18 workaround).

Measured by tests/e2e/test_server_hostile.py: a WebSocket upgrade request followed at once
by any bytes, before the server's 101, puts h11 in its ERROR state; hypercorn's ws_stream then
sends a 400 through it, h11 raises `LocalProtocolError("Can't send data when our state is
ERROR")`, and the exception leaves hypercorn's per-connection `TCPServer.run`, then
`trio.serve_listeners`: the whole server stops, every subscriber with it. A server that one
client can stop would turn a hostile client into a lost-events finding.

`ContainedTCPServer` ends that one connection instead (its socket is already closed by
`TCPServer.run`'s own `finally`) and counts it. It also hands hypercorn only connections
that send a byte (`_sends_a_byte`), so connect-close churn costs the server an accept.
hypercorn's trio worker builds its per-connection handler from the `TCPServer` name in
`hypercorn.trio.run`, which `install()` points here; nothing else of hypercorn changes.
"""

from __future__ import annotations

import socket

import h11
import trio
import wsproto.utilities
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer

PROTOCOL_ERRORS = (h11.LocalProtocolError, wsproto.utilities.LocalProtocolError)
contained = {"connections": 0, "silent": 0}
"""How many connections ended this way in this process, and how many closed without a byte
(for tests and debugging)."""


class ContainedTCPServer(TCPServer):
    async def run(self) -> None:
        if not await self._sends_a_byte():
            contained["silent"] += 1
            with trio.CancelScope(shield=True):
                await self.stream.aclose()
            return
        try:
            await super().run()
        except* PROTOCOL_ERRORS:
            contained["connections"] += 1

    async def _sends_a_byte(self) -> bool:
        """Whether the peer sends anything before it closes, within keep_alive_timeout.

        Every HTTP client speaks first (a request line, the h2 preface, a TLS ClientHello),
        so waiting for the first byte changes nothing for one; but a connection that closes
        without a byte (a port scan, a 1000/s connect-close churn) then costs its accept only,
        not hypercorn's protocol, task group and idle timer (tests/e2e/test_server_hostile.py,
        every attack at once: the server's RSS grew 37-44 MB without this, 8-9 MB with it;
        1000/s churn alone took 14 % of a core without it, 10 % with it). A silent
        connection is closed after keep_alive_timeout, as hypercorn closes an idle one.
        """
        stream = getattr(self.stream, "transport_stream", self.stream)  # TLS: the raw socket
        sock = stream.socket
        with trio.move_on_after(self.config.keep_alive_timeout):
            try:
                return bool(await sock.recv(1, socket.MSG_PEEK))  # peeked: hypercorn reads it
            except OSError:  # reset before a byte
                return False
        return False


def install() -> None:
    """Make hypercorn's trio worker serve every connection through ContainedTCPServer."""
    hypercorn_run.TCPServer = ContainedTCPServer  # type: ignore[misc]
