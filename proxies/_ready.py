"""Readiness signal for the harness: write the bound address to a pipe once listening.

Loaded into every hop. mitmproxy's `running()` hook fires after the listeners are bound
(MITMPROXY.md; the shape of mitmproxy's `examples/contrib/portfile.py`), and with
`--listen-port 0` only the proxyserver addon knows the real port. The harness passes the
write end of a pipe as `gauntlet_ready_fd` and blocks on the read end: no polling, no sleep,
and EOF without a line means the hop died before it was ready.
"""

from __future__ import annotations

import os

from mitmproxy import ctx


class ReadySignal:
    def load(self, loader) -> None:
        loader.add_option(
            "gauntlet_ready_fd", int, -1, "File descriptor to write 'host port' to once listening."
        )

    def running(self) -> None:
        fd = ctx.options.gauntlet_ready_fd
        if fd < 0:
            return
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()
        host, port = addrs[0][0], addrs[0][1]
        os.write(fd, f"{host} {port}\n".encode())
        os.close(fd)


addons = [ReadySignal()]
