"""harness/chain_watch.py without sockets: which records are symptoms, how an exited hop is
named, and when the watch asks the chain (the check itself is stubbed; the real one is
tests/e2e/test_midcell_faults.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio
import trio.testing

from gauntlet.chain_watch import ChainWatch, exited_hop, symptom
from gauntlet.errors import HopFault, unwrap
from gauntlet.eventlog import Disconnected, EventLog, Note, Received, now_ns
from gauntlet.hops import RunningHop
from gauntlet.spec import HopSpec


def hop(index: int, returncode: int | None) -> RunningHop:
    process = SimpleNamespace(returncode=returncode)
    return RunningHop(
        HopSpec(("transparent",)), index, "http://127.0.0.1:1", 100 + index, None, process
    )  # type: ignore[arg-type]


def test_only_a_connection_that_ended_other_than_cleanly_is_a_symptom():
    broken = Disconnected(1, 1, "network error: ReadError")
    assert symptom(broken) is broken
    assert symptom(Disconnected(1, 1, "failed for good: status 503, 'text/plain'")) is not None
    assert symptom(Disconnected(1, 1, "end of stream")) is None
    assert symptom(Received(1, 1, 1)) is None
    assert symptom(Note(1, "network error")) is None


def test_an_exited_hop_is_named_by_its_exit_and_a_running_one_is_not():
    assert exited_hop([hop(1, None), hop(2, None)]) is None
    fault = exited_hop([hop(1, None), hop(2, -9), hop(3, 1)])
    assert str(fault) == "hop 2 (transparent, pid 102) exited with signal 9 (SIGKILL)"


class Recording(ChainWatch):
    """The watch with its health check replaced: records each context, fails on `fail_at`."""

    def __init__(self, log: EventLog, fail_at: int = 0) -> None:
        super().__init__(
            [hop(1, None)],
            "http://127.0.0.1:1",
            None,
            lambda: 0,  # type: ignore[arg-type]
            lambda: 1.25,
            log,
        )
        self.contexts: list[str] = []
        self.fail_at = fail_at
        self.release = trio.Event()

    async def check(self, context: str) -> None:
        self.contexts.append(context)
        await self.release.wait()  # a check takes time; symptoms meanwhile share it
        if len(self.contexts) == self.fail_at:
            raise HopFault(f"hop 1 broke, {context}")


async def test_symptoms_during_a_check_share_it_and_clean_ends_ask_nothing():
    log = EventLog()
    watch = Recording(log)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch.watch)
        log.append(Disconnected(0, 1, "end of stream"))
        await trio.testing.wait_all_tasks_blocked()
        assert watch.contexts == []
        log.append(Disconnected(0, 1, "network error: ReadError"))
        await trio.testing.wait_all_tasks_blocked()
        log.append(Disconnected(0, 2, "network error: ConnectError"))  # during the check
        watch.release.set()
        await trio.testing.wait_all_tasks_blocked()
        assert len(watch.contexts) == 1
        assert watch.contexts[0].startswith("mid-cell (a client's connection ended at ")
        assert watch.contexts[0].endswith(": network error: ReadError)")
        log.append(Disconnected(0, 3, "network error: ReadError"))  # cleared already
        await trio.testing.wait_all_tasks_blocked()
        assert len(watch.contexts) == 1
        log.append(Disconnected(0, 3, "network error: ConnectError"))  # a new one: a new check
        await trio.testing.wait_all_tasks_blocked()
        assert len(watch.contexts) == 2
        assert watch.contexts[1].endswith(": network error: ConnectError)")
        nursery.cancel_scope.cancel()


async def test_a_failed_check_ends_the_watch_with_the_fault():
    log = EventLog()
    watch = Recording(log, fail_at=1)
    watch.release.set()
    with pytest.raises(BaseExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch.watch)
            await trio.testing.wait_all_tasks_blocked()
            log.append(Disconnected(now_ns(), 1, "failed for good: status 502, 'text/html'"))
    fault = unwrap(raised.value)
    assert isinstance(fault, HopFault)
    assert str(fault) == (
        "hop 1 broke, mid-cell (a client's connection ended at 1.2 s: "
        "failed for good: status 502, 'text/html')"
    )


async def test_a_direct_cell_is_never_checked():
    watch = ChainWatch(
        [],
        "http://127.0.0.1:1",
        None,
        lambda: 0,
        lambda: 0.0,  # type: ignore[arg-type]
        EventLog(),
    )
    await watch.check("after the workload")
    assert watch.checks == 0
    with trio.move_on_after(1):
        await watch.watch()  # sleeps forever: no hop to break
    assert watch.checks == 0


async def test_a_check_whose_first_probe_met_a_stall_notes_it_as_a_finding(monkeypatch):
    """health.check_health returns what a first probe met when every probe of the diagnosis
    then crossed the chain: no fault, and the note says so."""
    from gauntlet import chain_watch

    async def stalled_then_relayed(*args, **kwargs) -> str:
        return "hop 1 (transparent, pid 101) did not answer at first, then the chain relayed"

    monkeypatch.setattr(chain_watch, "check_health", stalled_then_relayed)
    log = EventLog()
    watch = ChainWatch([hop(1, None)], "http://127.0.0.1:1", None, lambda: 0, lambda: 3.0, log)  # type: ignore[arg-type]
    await watch.check("after the workload")
    [note] = log.of(Note)
    assert note.text == (
        "chain relayed a health check at 3.0 s (after the workload; hop 1 (transparent, "
        "pid 101) did not answer at first, then the chain relayed): a finding, not a fault"
    )
