"""Every hop streams what no behaviour holds: loaded last into every hop.

mitmproxy buffers each response whole unless told to stream (docs/mitmproxy.md), which would
make every hop a store-and-forward proxy by accident. Behaviours that shape a body add
filters before this runs; a behaviour that wants mitmproxy's own whole-response buffering
sets the `HOLD_WHOLE_RESPONSE` flow flag.
"""

from __future__ import annotations

from mitmproxy import http

from gauntlet.proxies._body import stream_live


class StreamByDefault:
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        stream_live(flow)


addons = [StreamByDefault()]
