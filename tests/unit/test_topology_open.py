"""open_topology's order, up and down, with fakes for the server, the chain and the clients.

The real pieces are tested elsewhere (hops in tests/e2e, the server in tests/unit and e2e);
here only the assembly: what starts first, what ends first, and that the hops are killed
and the server stopped whatever ends the block (its end, an exception, a cancel, a hop that
exits while it is watched). Time is trio's MockClock (autojump), so nothing waits for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from gauntlet import topology_open
from gauntlet.clients import Target
from gauntlet.errors import HopFault, HopStartError, unwrap
from gauntlet.eventlog import EventLog
from gauntlet.hops import RunningHop
from gauntlet.spec import HopSpec, ScaledHop, scale_hop
from gauntlet.topology_open import open_topology

HOP = scale_hop(HopSpec(("transparent",)))
UP = ["server up", "hops up", "client up"]
"""From the server outwards: each hop needs its upstream's address, a client the front hop's."""
HOPS_THEN_SERVER = ["hops killed", "server down"]
"""The end of every teardown, after the clients: no hop is left talking to a stopped server."""
IN_ORDER = [*UP, "client down", *HOPS_THEN_SERVER]
"""Up and down again, with nothing in between (the fakes' records, oldest first)."""


class FakeServer:
    """A PushTarget that says when it starts and when its task is cancelled."""

    label = "fake server"
    first_request = None
    health_count = None
    latency_measured = True

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.started_with: tuple = ()

    async def start(self, nursery: trio.Nursery, tls, sock) -> str:
        self.started_with = (tls, sock)
        return await nursery.start(self._serve)

    async def _serve(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.events.append("server up")
        task_status.started("http://127.0.0.1:1")
        try:
            await trio.sleep_forever()
        finally:
            self.events.append("server down")

    async def publish(self) -> None:  # pragma: no cover - not used by the topology
        pass


class FakeProcess:
    """What health.watch_hops awaits: `wait()` returns the exit code once `exit` is set."""

    def __init__(self) -> None:
        self.exit = trio.Event()
        self.returncode: int | None = None

    async def wait(self) -> int:
        await self.exit.wait()
        self.returncode = -9
        return -9


@pytest.fixture
def chain(monkeypatch):
    """Replaces running_chain: records hops up/down, hands out hops with fake processes."""
    record: dict = {"events": None, "fail": None, "processes": [], "args": None}

    @asynccontextmanager
    async def fake_chain(
        specs: Sequence[ScaledHop],
        server_url: str,
        workdir: Path,
        tls=None,
    ) -> AsyncIterator[list[RunningHop]]:
        record["args"] = (list(specs), server_url, workdir, tls)
        if record["fail"] is not None:
            raise record["fail"]
        hops = []
        for i, spec in enumerate(specs):
            process = FakeProcess()
            record["processes"].append(process)
            hops.append(
                RunningHop(spec.spec, i + 1, f"http://127.0.0.1:{10 + i}", 100 + i, None, process)
            )  # type: ignore[arg-type]
        record["events"].append("hops up")
        try:
            yield hops
        finally:
            with trio.CancelScope(shield=True):  # as hops.running_hop kills: shielded
                await trio.sleep(0.01)
                record["events"].append("hops killed")

    monkeypatch.setattr(topology_open, "running_chain", fake_chain)
    return record


@pytest.fixture
def events(chain) -> list[str]:
    """What the fakes record, oldest first: the server, the chain and the clients."""
    chain["events"] = []
    return chain["events"]


def one_hop(events: list[str], tmp_path: Path, **kwargs):
    """open_topology over one fake hop and a fake server, both recording into `events`."""
    return open_topology([HOP], tmp_path, EventLog(), server=FakeServer(events), **kwargs)


def client(events: list[str], seen: list[Target] | None = None):
    async def run(target: Target, log: EventLog) -> None:
        if seen is not None:
            seen.append(target)
        events.append("client up")
        try:
            await trio.sleep_forever()
        finally:
            events.append("client down")

    return run


async def test_up_from_the_server_outwards_and_down_clients_then_hops_then_server(
    chain,
    events,
    tmp_path,
    autojump_clock: trio.testing.MockClock,
):
    seen: list[Target] = []
    async with open_topology([HOP, HOP], tmp_path, EventLog(), server=FakeServer(events)) as t:
        t.start_client(client(events, seen))
        await trio.sleep(1)
        events.append("body done")
    assert events == [*UP, "body done", "client down", *HOPS_THEN_SERVER]
    assert chain["args"][1] == "http://127.0.0.1:1"  # the chain starts at the server's URL
    assert seen == [Target("http://127.0.0.1:10")]  # clients enter at the front hop
    assert [h.index for h in t.hops] == [1, 2]


async def test_an_error_in_the_block_still_tears_down_in_order_and_propagates(
    events,
    tmp_path,
    autojump_clock,
):
    with pytest.raises(BaseException) as caught:
        async with one_hop(events, tmp_path) as t:
            t.start_client(client(events))
            await trio.sleep(1)
            raise ValueError("the workload broke")
    assert isinstance(unwrap(caught.value), ValueError)
    assert events == IN_ORDER


async def test_a_cancel_from_outside_ctrl_c_kills_the_hops_after_the_clients(
    events,
    tmp_path,
    autojump_clock,
):
    with trio.move_on_after(5) as scope:
        async with one_hop(events, tmp_path) as t:
            t.start_client(client(events))
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert events == IN_ORDER


async def test_a_hop_that_cannot_start_stops_the_server_and_starts_no_client(
    chain,
    events,
    tmp_path,
    autojump_clock,
):
    chain["fail"] = HopStartError("hop 1 (transparent) failed to start: boom")
    with pytest.raises(BaseException) as caught:
        async with one_hop(events, tmp_path):
            events.append("body ran")  # pragma: no cover - must not happen
    assert isinstance(unwrap(caught.value), HopStartError)
    assert events == ["server up", "server down"]


async def test_a_watched_hop_that_exits_ends_the_block_with_a_hop_fault(
    chain,
    events,
    tmp_path,
    autojump_clock,
):
    with pytest.raises(BaseException) as caught:
        async with one_hop(events, tmp_path, watch=lambda: 2.5) as t:
            t.start_client(client(events))
            await trio.sleep(1)
            chain["processes"][0].exit.set()
            await trio.sleep_forever()  # cancelled by the fault
    fault = unwrap(caught.value)
    assert isinstance(fault, HopFault)
    assert str(fault) == "hop 1 (transparent, pid 100) exited with signal 9 (SIGKILL) at 2.5 s"
    assert events == IN_ORDER


async def test_without_watch_a_hop_exit_is_not_the_topologys_business(
    chain,
    events,
    tmp_path,
    autojump_clock,
):
    async with one_hop(events, tmp_path):
        chain["processes"][0].exit.set()
        await trio.sleep(1)
        events.append("body done")
    assert events[-3:] == ["body done", *HOPS_THEN_SERVER]


async def test_the_watch_ends_before_the_hops_are_killed(chain, events, tmp_path, autojump_clock):
    """Killing the hops at teardown makes their processes exit: that is no HopFault."""
    async with one_hop(events, tmp_path, watch=lambda: 0.0):
        await trio.sleep(1)
    chain["processes"][0].exit.set()  # would raise if anything still watched
    await trio.sleep(1)
    assert events[-2:] == HOPS_THEN_SERVER


async def test_over_a_running_servers_url_nothing_is_started_for_the_server(
    events,
    tmp_path,
    autojump_clock,
):
    async with open_topology([], tmp_path, EventLog(), server="http://127.0.0.1:7") as t:
        assert t.server is None and t.entry == Target("http://127.0.0.1:7")
    assert events == ["hops up", "hops killed"]
    with pytest.raises(ValueError, match="server_socket"):
        async with open_topology(
            [], tmp_path, EventLog(), server="http://127.0.0.1:7", server_socket=object()
        ):  # type: ignore[arg-type]
            pass  # pragma: no cover


async def test_tls_makes_one_ca_for_the_server_the_hops_and_the_clients(
    chain,
    events,
    tmp_path,
    autojump_clock,
):
    server = FakeServer(events)
    forward = scale_hop(HopSpec(("transparent",), mode="regular"))
    async with open_topology(
        [forward], tmp_path, EventLog(), server=server, tls=True, http2=True
    ) as t:
        assert t.tls is not None and t.tls.ca_cert.is_relative_to(tmp_path / "ca")
        assert server.started_with == (t.tls, None)
        assert chain["args"][3] is t.tls
        assert t.entry == Target(
            "http://127.0.0.1:1", forward_proxy="http://127.0.0.1:10", http2=True, tls=t.tls
        )


async def test_a_block_client_ends_with_its_block_before_the_topology(
    events,
    tmp_path,
    autojump_clock,
):
    async with one_hop(events, tmp_path) as t:
        async with t.client(client(events)):
            await trio.sleep(1)
        events.append("sample done")
    assert events == [*UP, "client down", "sample done", *HOPS_THEN_SERVER]


def test_a_cell_ended_by_two_hop_faults_is_named_by_one_and_a_ctrl_c_is_left_alone():
    """topology._cause: the hop watch and the chain watch may both see a hop go at once."""
    from gauntlet.topology import _cause

    both = ExceptionGroup(
        "n", [ExceptionGroup("m", [HopFault("hop 1 exited")]), HopFault("hop 1 refused")]
    )
    assert str(_cause(both)) == "hop 1 exited"
    assert isinstance(
        _cause(ExceptionGroup("n", [HopStartError("x"), ValueError()])), HopStartError
    )
    interrupted = BaseExceptionGroup("n", [HopFault("hop 1 exited"), KeyboardInterrupt()])
    assert _cause(interrupted) is interrupted
    assert isinstance(_cause(ExceptionGroup("n", [ValueError("v")])), ValueError)
