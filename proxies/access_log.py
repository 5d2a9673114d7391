"""Write one access-log line per connection and request the proxy handles, target included.

Changes nothing in the traffic. The lines go to the hop's log (warning level, which every
hop's log keeps), so a test can read where a client tried to go through a forward proxy:
every CONNECT target, every absolute-URI request, every upstream connection.
Imitates: squid's access.log (one line per request, with the method and target URL).
Source: squid docs "Squid Log Files: access.log"; mitmproxy event hooks (http_connect,
requestheaders, server_connect).
"""

from __future__ import annotations

import logging

from mitmproxy import http
from mitmproxy.proxy import server_hooks

PREFIX = "access:"


class AccessLog:
    def http_connect(self, flow: http.HTTPFlow) -> None:
        logging.warning(f"{PREFIX} CONNECT {flow.request.host}:{flow.request.port}")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        r = flow.request
        logging.warning(f"{PREFIX} {r.method} {r.host}:{r.port} {r.path}")

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        target = f"{address[0]}:{address[1]}" if address else "?"
        logging.warning(f"{PREFIX} server-connect {target}")


addons = [AccessLog()]
