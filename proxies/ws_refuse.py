"""Refuse WebSocket upgrades: answer 403, or strip the Upgrade so the server answers plain HTTP.

A WebSocket client then fails its handshake and must fall back to an HTTP transport.
Imitates: old corporate proxies and some PaaS routers that strip `Upgrade`/`Connection`
or answer 4xx.
No installable counterpart: the proxies and PaaS routers named are not packaged.
Source: docs/field.md "WebSocket upgrade refused"; RFC 9110 §7.8 (Upgrade is
hop-by-hop, so an intermediary may drop it).
"""

from __future__ import annotations

from mitmproxy import ctx, exceptions, http

MODES = ("status", "strip")


class WsRefuse:
    def load(self, loader) -> None:
        loader.add_option(
            "ws_refuse_mode",
            str,
            "status",
            "status: answer ws_refuse_status; strip: drop Upgrade/Connection.",
        )
        loader.add_option("ws_refuse_status", int, 403, "Status code for mode 'status'.")

    def configure(self, updates) -> None:
        if "ws_refuse_mode" in updates and ctx.options.ws_refuse_mode not in MODES:
            raise exceptions.OptionsError(f"ws_refuse_mode must be one of {MODES}")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.headers.get("upgrade", "").lower() != "websocket":
            return
        if ctx.options.ws_refuse_mode == "status":
            flow.response = http.Response.make(
                ctx.options.ws_refuse_status,
                b"WebSocket not allowed by proxy\n",
                {"content-type": "text/plain"},
            )
        else:
            for name in (
                "upgrade",
                "connection",
                "sec-websocket-key",
                "sec-websocket-version",
                "sec-websocket-extensions",
            ):
                flow.request.headers.pop(name, None)


addons = [WsRefuse()]
