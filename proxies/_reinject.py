"""Send bytes a hop held back, and let them pass when they come back through the hook.

A raw-TCP hop that delays bytes (network, keep_back, time_flush, chunked_cork) takes a
message's content out in `tcp_message` and later sends it with mitmproxy's `inject.tcp`
command. mitmproxy runs an injected message through every addon's `tcp_message` again, as the
same bytes object, so the addon must recognise its own bytes once, in order, or it would hold
them a second time (docs/mitmproxy.md, the raw TCP relay layer with `inject.tcp`). This keeps
that bookkeeping in one place, per connection and direction.
"""

from __future__ import annotations

from mitmproxy import ctx, tcp


class Reinjector:
    def __init__(self) -> None:
        self._in_flight: dict[tuple[str, bool], list[bytes]] = {}

    def send(self, flow: tcp.TCPFlow, data: bytes, *, from_client: bool = False) -> None:
        """Inject `data` as if it came from the client (or, by default, from the server)."""
        self._in_flight.setdefault((flow.id, from_client), []).append(data)
        ctx.master.commands.call("inject.tcp", flow, not from_client, data)

    def is_own(self, flow: tcp.TCPFlow, message: tcp.TCPMessage) -> bool:
        """True, once, for a message that is the next of our injected ones coming back."""
        in_flight = self._in_flight.get((flow.id, message.from_client))
        if in_flight and message.content is in_flight[0]:
            in_flight.pop(0)
            return True
        return False

    def in_flight(self, flow: tcp.TCPFlow, *, from_client: bool = False) -> bool:
        """Whether injected bytes have not come back yet (later bytes must queue behind them)."""
        return bool(self._in_flight.get((flow.id, from_client)))

    def forget(self, flow: tcp.TCPFlow) -> None:
        for from_client in (True, False):
            self._in_flight.pop((flow.id, from_client), None)
