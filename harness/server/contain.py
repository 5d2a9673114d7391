"""One hostile connection must not stop the reference server (a hypercorn 0.18 workaround).

Measured by tests/e2e/test_server_hostile.py: a WebSocket upgrade request followed at once
by any bytes, before the server's 101, puts h11 in its ERROR state; hypercorn's ws_stream then
sends a 400 through it, h11 raises `LocalProtocolError("Can't send data when our state is
ERROR")`, and the exception leaves hypercorn's per-connection `TCPServer.run`, then
`trio.serve_listeners`: the whole server stops, every subscriber with it. A server that one
client can stop would turn a hostile client into a lost-events finding.

`ContainedTCPServer` ends that one connection instead (its socket is already closed by
`TCPServer.run`'s own `finally`) and counts it. hypercorn's trio worker builds its
per-connection handler from the `TCPServer` name in `hypercorn.trio.run`, which `install()`
points here; nothing else of hypercorn changes.
"""

from __future__ import annotations

import h11
import wsproto.utilities
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer

PROTOCOL_ERRORS = (h11.LocalProtocolError, wsproto.utilities.LocalProtocolError)
contained = {"connections": 0}
"""How many connections ended this way in this process (for tests and debugging)."""


class ContainedTCPServer(TCPServer):
    async def run(self) -> None:
        try:
            await super().run()
        except* PROTOCOL_ERRORS:
            contained["connections"] += 1


def install() -> None:
    """Make hypercorn's trio worker serve every connection through ContainedTCPServer."""
    hypercorn_run.TCPServer = ContainedTCPServer  # type: ignore[misc]
