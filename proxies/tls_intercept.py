"""A forward proxy that terminates TLS with its own CA, so every other behaviour applies inside.

Clients trust the inspection CA (corporate machines have it installed), so HTTPS is no
protection: with store_and_forward in the same hop, an HTTPS event stream is held exactly
like a plain one.
Imitates: corporate SSL inspection (Zscaler, Blue Coat, Palo Alto decryption) and antivirus
HTTPS scanning.
No installable counterpart compared: the products named are commercial (squid ssl_bump is
not set up).
Source: docs/field.md "TLS interception"; docs/mitmproxy.md ("Intercepted ... behaves
as plain HTTP inside, so buffering applies").
"""

from __future__ import annotations

from mitmproxy import ctx

HOP_MODE = "regular"  # a forward proxy: clients are configured to use it


class TlsIntercept:
    def running(self) -> None:
        ctx.options.update(ignore_hosts=[], allow_hosts=[])  # intercept everything


addons = [TlsIntercept()]
