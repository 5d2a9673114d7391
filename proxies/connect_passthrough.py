"""A forward proxy that tunnels CONNECT without looking inside, to the ports it allows.

Bytes of a TLS stream pass as they come; only connection-level effects (timeouts) apply.
This is why HTTPS was long the advice against buffering proxies: it works until the proxy
starts intercepting TLS (see tls_intercept). Debian's squid.conf allows CONNECT only to
SSL_ports (443) and answers 403 otherwise, so a browser's ws:// (CONNECT to port 80) fails
while wss:// and https (443) pass. The harness's origin listens on a port from the OS, not
443/80: with `connect_rig_port_as = "scheme"` a CONNECT to a loopback origin is judged as its
production twin would be (443 when the cell speaks TLS, which the harness signals by giving
the hop its CA, else 80); `"real"` judges the real port, as a real squid here does (measured:
403 to every CONNECT, https included).
Imitates: classic forward proxies without SSL inspection (Debian's squid, no ssl_bump;
tests/e2e/test_external_proxies.py compares the two). Source: squid.conf as shipped by
Debian (`acl SSL_ports port 443`, `http_access deny CONNECT !SSL_ports`); docs/field.md "CONNECT
passthrough"; docs/mitmproxy.md (ignore_hosts: the body is never seen).
"""

from __future__ import annotations

import ipaddress

from mitmproxy import ctx, exceptions, http

HOP_MODE = "regular"  # a forward proxy: clients are configured to use it
RIG_PORT_AS = ("scheme", "real")


def allowed_ports(spec: str) -> set[int]:
    """ "443", "443,8443" or "1-65535" -> the ports in it. Pure."""
    ports: set[int] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        low, _, high = part.partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def judged_port(host: str, port: int, rig_port_as: str, tls_cell: bool) -> int:
    """The port the policy checks: a loopback origin stands for 443 / 80 in "scheme" mode."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if rig_port_as == "scheme" and loopback:
        return 443 if tls_cell else 80
    return port


class ConnectPassthrough:
    def load(self, loader) -> None:
        loader.add_option(
            "connect_allowed_ports",
            str,
            "443",
            "Ports CONNECT may reach, e.g. 443,8443 or 1-65535 (squid SSL_ports).",
        )
        loader.add_option(
            "connect_rig_port_as",
            str,
            "scheme",
            "scheme: the loopback origin stands for 443/80; real: its own port.",
        )

    def configure(self, updates) -> None:
        if "connect_rig_port_as" in updates and ctx.options.connect_rig_port_as not in RIG_PORT_AS:
            raise exceptions.OptionsError(f"connect_rig_port_as must be one of {RIG_PORT_AS}")
        if "connect_allowed_ports" in updates:
            try:
                allowed_ports(ctx.options.connect_allowed_ports)
            except ValueError:
                raise exceptions.OptionsError(
                    "connect_allowed_ports: ports like 443,8000-9000"
                ) from None

    def running(self) -> None:
        ctx.options.update(ignore_hosts=[".*"])  # never intercept: every CONNECT is a tunnel

    def http_connect(self, flow: http.HTTPFlow) -> None:
        tls_cell = bool(ctx.options.ssl_verify_upstream_trusted_ca)
        port = judged_port(
            flow.request.host, flow.request.port, ctx.options.connect_rig_port_as, tls_cell
        )
        if port not in allowed_ports(ctx.options.connect_allowed_ports):
            flow.response = http.Response.make(
                403,
                b"CONNECT to this port is denied (SSL_ports)\n",
                {"content-type": "text/plain"},
            )


addons = [ConnectPassthrough()]
