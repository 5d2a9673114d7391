"""harness/clients/websocket.py through a forward proxy, on trio's in-memory streams.

The proxy's tunnel is replaced by a memory stream pair (trio.testing), and a trio
instrument cancels the client at one exact scheduling point, so the race that made a
refused upgrade an ERROR under load is reproduced on every run, without sockets or time.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionRejected

from gauntlet.clients import websocket
from gauntlet.clients.base import Target
from gauntlet.clients.websocket import handshake_outcome, run_websocket
from gauntlet.eventlog import Disconnected, EventLog

# What proxies/ws_refuse.py (mitmproxy) answers to an upgrade, in one read.
REFUSAL = (
    b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 31\r\n\r\n"
    b"WebSocket not allowed by proxy\n"
)
THROUGH_A_PROXY = Target("http://127.0.0.1:9", forward_proxy="http://127.0.0.1:8")


@pytest.fixture
def tunnel(monkeypatch: pytest.MonkeyPatch) -> trio.testing.MemoryReceiveStream:
    """The proxy's end of the client's CONNECT tunnel (an in-memory stream)."""
    client_end, proxy_end = trio.testing.memory_stream_pair()

    async def open_tunnel(proxy_url: str, host: str, port: int) -> trio.abc.Stream:
        return client_end

    monkeypatch.setattr(websocket, "open_tunnel", open_tunnel)
    return proxy_end  # type: ignore[return-value]


async def _upgrade_request(proxy_end: trio.abc.Stream) -> bytes:
    request = b""
    while b"\r\n\r\n" not in request:
        request += await proxy_end.receive_some()
    return request


async def test_a_refused_upgrade_is_logged_as_a_failed_handshake(tunnel):
    log = EventLog()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_websocket, THROUGH_A_PROXY, log)
        assert (await _upgrade_request(tunnel)).startswith(b"GET /ws?after=0 HTTP/1.1\r\n")
        await tunnel.send_all(REFUSAL)
        await log.wait_until(lambda lg: lg.of(Disconnected))
        nursery.cancel_scope.cancel()
    [ended] = log.of(Disconnected)
    assert ended.reason.startswith("handshake failed: ConnectionRejected: (403, ")


class CancelWhenTaskEnds(trio.abc.Instrument):
    """Cancels `scope` the moment a task whose name ends with `name` has ended (trio calls
    task_exited after the task's nursery has noted it, before any other task runs)."""

    def __init__(self, name: str, scope: trio.CancelScope) -> None:
        self.name, self.scope = name, scope

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        if task.name.endswith(self.name):
            self.scope.cancel()


async def test_a_refused_upgrade_that_meets_the_teardown_is_a_failed_handshake_not_a_crash(
    tunnel,
):
    """The cell's teardown cancels the client right after trio-websocket's reader task has
    ended with ConnectionRejected (the proxy's 403) and before the task waiting for the
    handshake has run. The handshake's nursery then ends with [ConnectionRejected,
    Cancelled]; re-raised as a group it escaped the client and the cell's teardown, and the
    cell became ERROR "ConnectionRejected: (403, ...)" (corporate_ws:websocket-
    ssl_inspection_no_websocket under two busy loops, its last connection starting as the
    after-workload check ended) instead of the refused upgrade's FAIL."""
    log = EventLog()
    with trio.CancelScope() as teardown:
        instrument = CancelWhenTaskEnds("._reader_task", teardown)
        trio.lowlevel.add_instrument(instrument)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_websocket, THROUGH_A_PROXY, log)
                await _upgrade_request(tunnel)
                await tunnel.send_all(REFUSAL)
                await trio.sleep_forever()  # until the teardown
        finally:
            trio.lowlevel.remove_instrument(instrument)
    assert teardown.cancelled_caught
    [ended] = log.of(Disconnected)
    assert ended.reason.startswith("handshake failed: ConnectionRejected: (403, ")


def test_the_proxys_answer_wins_over_our_connect_bound_expiring_with_it():
    rejected = ConnectionRejected(403, (), b"no")
    assert handshake_outcome(ExceptionGroup("", [trio.TooSlowError(), rejected])) is rejected
    assert handshake_outcome(ExceptionGroup("", [ExceptionGroup("", [rejected])])) is rejected
    unrelated = ExceptionGroup("", [ValueError("a"), KeyError("b")])
    assert handshake_outcome(unrelated) is unrelated
    two_answers = ExceptionGroup("", [rejected, ConnectionRejected(403, (), b"again")])
    assert handshake_outcome(two_answers) is two_answers
