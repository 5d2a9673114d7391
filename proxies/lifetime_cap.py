"""Close every connection T seconds after it opened, busy or not; optionally cap time to first byte.

A long-lived stream or WebSocket is cut mid-flow however much it is used; clients must
reconnect and resume. The variant `lifetime_cap_ttfb_ms` closes a connection whose request
got no response headers within that time (Heroku's router answers H12 after 30 s).
Imitates: GCP load balancer backend timeout 30 s (caps WebSockets too); Envoy route timeout
15 s; corporate proxies at 5 or 30 min; Heroku 30 s to first byte.
No installable counterpart: cloud load balancers and commercial proxies.
Source: docs/field.md
"lifetime cap"; Google Cloud docs "Backend service timeout"; Heroku Dev Center "Request
Timeout" (H12).
"""

from __future__ import annotations

from mitmproxy import connection, ctx, http

from gauntlet.proxies._conn import close_client, later

SCALED_OPTIONS = ("lifetime_cap_ms", "lifetime_cap_ttfb_ms")


class LifetimeCap:
    def load(self, loader) -> None:
        loader.add_option(
            "lifetime_cap_ms",
            int,
            30_000,
            "Close each connection this long after it opened (GCP: 30000).",
        )
        loader.add_option(
            "lifetime_cap_ttfb_ms",
            int,
            0,
            "If > 0, close when a response has not started this long after its "
            "request (Heroku: 30000).",
        )

    def client_connected(self, client: connection.Client) -> None:
        lifetime_s = ctx.options.lifetime_cap_ms / 1000
        if lifetime_s > 0:
            later(lifetime_s, lambda: close_client(client, f"lifetime cap {lifetime_s:g} s"))

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        ttfb = ctx.options.lifetime_cap_ttfb_ms / 1000
        if ttfb > 0:
            later(ttfb, lambda: self._check_first_byte(flow, ttfb))

    def _check_first_byte(self, flow: http.HTTPFlow, ttfb: float) -> None:
        if flow.response is None:
            close_client(flow.client_conn, f"no first byte within {ttfb:g} s")


addons = [LifetimeCap()]
