"""Readiness signal for the harness: report the bound address, or why the hop is unusable.

Loaded first into every hop. mitmproxy's `running()` hook fires after the listeners are
bound (docs/mitmproxy.md; the shape of mitmproxy's `examples/contrib/portfile.py`), and with
`--listen-port 0` only the proxyserver addon knows the real port. The harness passes the
write end of a pipe as `gauntlet_ready_fd` and blocks on the read end: no polling, no sleep,
and EOF without a line means the hop died before it was ready.

mitmproxy keeps going when a `--set` names an option no addon declares (it is deferred
forever) or when a behaviour script fails to load (it is logged), so a typo would silently
give a hop without its behaviour. This addon therefore reports `error <why>` instead of
`ready <host> <port>` in those cases, and shuts the hop down.
"""

from __future__ import annotations

import logging
import os

from mitmproxy import ctx


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


class ReadySignal:
    def __init__(self) -> None:
        self.errors = _ErrorCollector()

    def load(self, loader) -> None:
        loader.add_option(
            "gauntlet_ready_fd", int, -1, "File descriptor to write readiness to once listening."
        )
        logging.getLogger().addHandler(self.errors)

    def running(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        fd = ctx.options.gauntlet_ready_fd
        if fd < 0:
            return
        problems = list(self.errors.messages)
        for name in sorted(ctx.options.deferred):
            if name in ctx.options.keys():  # declared, but its value did not parse
                raw = getattr(ctx.options.deferred[name], "val", ctx.options.deferred[name])
                problems.insert(0, f"bad value for option {name}: {raw}")
            else:
                problems.insert(0, f"unknown option {name}")
        if problems:
            line = "error " + "; ".join(problems)
        else:
            host, port = ctx.master.addons.get("proxyserver").listen_addrs()[0][:2]
            line = f"ready {host} {port}"
        os.write(fd, (line[:2000] + "\n").encode())
        os.close(fd)
        if problems:
            ctx.master.shutdown()


addons = [ReadySignal()]
