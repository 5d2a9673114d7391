"""Relay every response chunk the moment it arrives: the well-behaved hop.

Imitates: a reverse proxy or CDN configured for streaming (nginx with `proxy_buffering off`
or `X-Accel-Buffering: no`), the baseline every hostile hop is compared with.
nginx installs here; tests/e2e/test_external_proxies.py compares its unbuffered gzip recipe
with gzip_flush, not this hop.
Source: mitmproxy buffers bodies unless `flow.response.stream` is set
(mitmproxy/addons/server_side_events.py; docs/mitmproxy.md "Streaming and buffering").
"""

from __future__ import annotations

from mitmproxy import http

from gauntlet.proxies._body import stream_live


class Transparent:
    """Adds nothing to the baseline every hop has (proxies/_baseline.py): it streams."""

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        stream_live(flow)


addons = [Transparent()]
