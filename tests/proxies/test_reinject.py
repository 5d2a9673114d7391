"""The bookkeeping every byte-holding hop shares: its own injected bytes pass exactly once."""

from __future__ import annotations

from mitmproxy import tcp
from mitmproxy.test import taddons, tflow

from gauntlet.proxies._reinject import Reinjector


def test_injected_bytes_are_recognised_once_in_order_and_per_direction():
    reinjector = Reinjector()
    flow = tflow.ttcpflow()
    with taddons.context() as tctx:
        calls: list[tuple[bool, bytes]] = []
        tctx.master.commands.call = lambda name, f, to_client, data: calls.append((to_client, data))
        first, second, upward = b"one", b"two", b"up"
        reinjector.send(flow, first)
        reinjector.send(flow, second)
        reinjector.send(flow, upward, from_client=True)
        assert calls == [(True, first), (True, second), (False, upward)]
        assert reinjector.in_flight(flow) and reinjector.in_flight(flow, from_client=True)

        equal_but_not_ours = tcp.TCPMessage(False, bytes(bytearray(first)))
        assert not reinjector.is_own(flow, equal_but_not_ours)  # the same object, not equal bytes
        assert not reinjector.is_own(flow, tcp.TCPMessage(False, second))  # out of order
        assert not reinjector.is_own(flow, tcp.TCPMessage(True, first))  # the other direction
        assert reinjector.is_own(flow, tcp.TCPMessage(False, first))
        assert not reinjector.is_own(flow, tcp.TCPMessage(False, first))  # once only
        assert reinjector.is_own(flow, tcp.TCPMessage(False, second))
        assert not reinjector.in_flight(flow)
        assert reinjector.in_flight(flow, from_client=True)

        reinjector.forget(flow)
        assert not reinjector.in_flight(flow, from_client=True)
        assert not reinjector.is_own(flow, tcp.TCPMessage(True, upward))
