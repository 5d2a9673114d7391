"""Complete the WebSocket upgrade, then kill the connection T milliseconds later.

The handshake succeeds, so a naive client believes WebSocket works, reconnects after each
kill and flaps forever unless it falls back to an HTTP transport.
Imitates: Zscaler-class proxies that accept the upgrade and drop it 100-500 ms later.
No installable counterpart: Zscaler is a cloud service.
Source: docs/field.md "WebSocket accepted, then killed"; engine.io's upgrade probe and SignalR's
fallback exist for this case.
"""

from __future__ import annotations

from mitmproxy import ctx, http

from gauntlet.proxies._conn import close_client, later


class WsAcceptThenKill:
    def load(self, loader) -> None:
        loader.add_option(
            "ws_kill_after_ms",
            int,
            300,
            "Kill each WebSocket connection this long after the upgrade.",
        )

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        delay_ms = ctx.options.ws_kill_after_ms
        later(
            delay_ms / 1000,
            lambda: close_client(
                flow.client_conn, f"websocket killed {delay_ms:g} ms after upgrade"
            ),
        )


addons = [WsAcceptThenKill()]
