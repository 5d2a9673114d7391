"""Mid-cell harness faults (harness/chain_watch.py): a hop that breaks while the workload runs
is ERROR naming it, what and when; an intermediary that answers an error itself as its
behaviour (proxies/error_status.py) stays the finding its scenario expects.

Real hops, real sockets, 127.0.0.1 only, ports from the OS; every wait is bounded."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from gauntlet.progress import Event, Publishing
from gauntlet.scenario import CellSpec
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from tests.e2e.cells import cell

pytestmark = pytest.mark.e2e
CELL_TIMEOUT_S = 60.0


class Relay:
    """A TCP relay standing in for a team's external reverse proxy, which the test can pull
    out mid-cell: its listener closes and every relayed connection is cut."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = trio.socket.socket()
        self.cut = trio.CancelScope()

    async def start(self) -> str:
        await self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    async def serve(self) -> None:
        listener = trio.SocketListener(self.listener)
        with self.cut:
            async with trio.open_nursery() as nursery:
                while True:
                    stream = await listener.accept()
                    nursery.start_soon(self._pipe, stream)
        await listener.aclose()  # refused from now on

    async def _pipe(self, down: trio.SocketStream) -> None:
        up = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        async with down, up, trio.open_nursery() as nursery:
            nursery.start_soon(self._copy, down, up)
            nursery.start_soon(self._copy, up, down)

    @staticmethod
    async def _copy(src: trio.SocketStream, dst: trio.SocketStream) -> None:
        try:
            while data := await src.receive_some(65536):
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


async def _run_and_pull(
    spec: CellSpec, tmp_path: Path, relay: Relay, server: socket.socket
) -> dict:
    """Run the cell; once the workload publishes, pull the relay out."""
    publishing = trio.Event()
    result: list[dict] = []

    def progress(event: Event) -> None:
        if isinstance(event, Publishing):
            publishing.set()

    with trio.fail_after(CELL_TIMEOUT_S):
        async with trio.open_nursery() as nursery:

            async def measure() -> None:
                result.append(await run_cell(spec, tmp_path, progress, server_socket=server))
                nursery.cancel_scope.cancel()

            nursery.start_soon(relay.serve)
            nursery.start_soon(measure)
            await publishing.wait()  # the client's stream crosses the relay: cut it now
            relay.cut.cancel()
    return result[0]


@pytest.fixture
def server() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


async def test_an_external_hop_that_goes_away_mid_cell_is_error_naming_it(tmp_path, server):
    relay = Relay(server.getsockname()[1])
    url = await relay.start()
    hops = (HopSpec((), "reverse", (), url),)
    spec = cell(hops, "pulled", events=50, rate_per_s=10)  # 5 s: pulled while it publishes
    entry = await _run_and_pull(spec, tmp_path, relay, server)
    assert entry["verdict"] == "ERROR", entry["reason"]
    assert entry["metrics"] is None  # no finding about the network
    assert re.match(
        rf"hop 1 \(external {re.escape(url)}\) refused the connection, "
        r"at \d+\.\d s, mid-cell \(a client's connection ended at \d+\.\d s: "
        r"network error: \w+\)$",
        entry["reason"],
    ), entry["reason"]


async def test_a_hop_answering_502_itself_mid_cell_is_error_naming_both_hops(tmp_path, server):
    """A transparent mitmdump in front of a hop that went away answers 502 itself: the cell
    is ERROR, naming the hop that is gone and the one that answered."""
    relay = Relay(server.getsockname()[1])
    url = await relay.start()
    hops = (HopSpec(("transparent",)), HopSpec((), "reverse", (), url))
    spec = cell(hops, "pulled_behind_a_hop", events=50, rate_per_s=10)
    entry = await _run_and_pull(spec, tmp_path, relay, server)
    assert entry["verdict"] == "ERROR", entry["reason"]
    assert entry["metrics"] is None
    pid = entry["reason"].split("pid ")[1].split(")")[0]
    assert re.match(
        rf"hop 2 \(external {re.escape(url)}\) refused the connection, "
        r"at \d+\.\d s, mid-cell \(a client's connection ended at \d+\.\d s: .+\); "
        rf"through the whole chain, hop 1 \(transparent, pid {pid}\) answered 502 "
        r"itself \(the server saw no request\)$",
        entry["reason"],
    ), entry["reason"]


async def test_a_gateway_answering_503_as_its_behaviour_stays_a_finding(tmp_path):
    """proxies/error_status.py answers 503 to /sse itself: the EventSource fails for good
    (FAIL, scenarios/intermediaries.toml gateway_503), and the chain, asked right after,
    still relays a health GET, so nothing is blamed on the harness."""
    hop = HopSpec(
        ("error_status",),
        "reverse",
        (("error_status_code", "503"), ("error_status_paths", "/sse,/poll,/ws")),
    )
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell((hop,), "gateway_503"), tmp_path)
    assert entry["verdict"] == "FAIL", entry["reason"]
    assert entry["metrics"]["delivered"] == 0
    relayed = [n for n in entry["notes"] if "a finding, not a fault" in n]
    assert any(
        "mid-cell (a client's connection ended at" in n and "status 503" in n for n in relayed
    ), entry["notes"]
    assert any("after the workload" in n for n in relayed), entry["notes"]
