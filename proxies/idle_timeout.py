"""Close a connection after T seconds without a byte in either direction.

A push stream with nothing to say goes quiet; the hop cuts it, and an HTTP/1.1 client sees
an incomplete chunked body. Heartbeats more often than T keep it alive (Mercure 40 s,
SockJS 25 s). Checked against mitmproxy's own per-connection activity stamp, which moves
on every byte read from either side.
Imitates: AWS ALB idle timeout 60 s; nginx `proxy_read_timeout` 60 s; Cloudflare ~100 s;
Heroku's rolling 55 s window.
Only nginx installs here, and its timeout is not compared yet; the others are cloud
services.
Source: docs/field.md "idle timeout"; AWS ELB docs "Configure the
idle connection timeout"; nginx ngx_http_proxy_module `proxy_read_timeout`.
"""

from __future__ import annotations

from mitmproxy import connection, ctx

from gauntlet.proxies._conn import close_client, idle_for_s, later

SCALED_OPTIONS = ("idle_timeout_ms",)


class IdleTimeout:
    def load(self, loader) -> None:
        loader.add_option(
            "idle_timeout_ms",
            int,
            60_000,
            "Close after this long with no bytes either way (ALB: 60000).",
        )

    def client_connected(self, client: connection.Client) -> None:
        self._check_later(client, ctx.options.idle_timeout_ms / 1000)

    def _check_later(self, client: connection.Client, delay_s: float) -> None:
        later(delay_s, lambda: self._check(client))

    def _check(self, client: connection.Client) -> None:
        idle = idle_for_s(client)
        if idle is None:
            return  # already gone
        remaining = ctx.options.idle_timeout_ms / 1000 - idle
        if remaining <= 0:
            close_client(client, f"idle for {idle:.3f} s")
        else:
            self._check_later(client, remaining)


addons = [IdleTimeout()]
