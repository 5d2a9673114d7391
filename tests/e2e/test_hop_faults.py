"""Harness faults are ERROR with their cause, never FAIL: a hop killed mid-cell, an external hop
on a closed port or on a port that does not speak HTTP (harness/health.py).

Real hops, real sockets, all on 127.0.0.1 with ports from the OS. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from functools import partial
from pathlib import Path

import pytest
import trio

from gauntlet.progress import Event, HopListening, Publishing
from gauntlet.runner import run_cells
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from tests.e2e.cells import cell
from tests.e2e.conftest import alive, gauntlet_cmd

pytestmark = pytest.mark.e2e
CELL_TIMEOUT_S = 60.0


def closed_port() -> int:
    """A port the OS gave out and that nothing listens on any more."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_hop_killed_mid_cell_is_error_naming_the_hop(tmp_path: Path):
    pids: list[int] = []
    publishing = trio.Event()

    def progress(event: Event) -> None:
        if isinstance(event, HopListening) and event.pid is not None:
            pids.append(event.pid)
        if isinstance(event, Publishing):
            publishing.set()

    spec = cell((HopSpec(("transparent",)),), "transparent", events=50, rate_per_s=5)
    result: list[dict] = []

    async def measure() -> None:
        result.append(await run_cell(spec, tmp_path, progress))

    with trio.fail_after(CELL_TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(measure)
            await publishing.wait()
            pid = pids[0]
            os.kill(pid, signal.SIGKILL)
    entry = result[0]
    assert entry["verdict"] == "ERROR", entry["reason"]
    assert f"hop 1 (transparent, pid {pid}) exited with signal 9 (SIGKILL) at " in entry["reason"]
    assert entry["metrics"] is None  # no finding about the network
    assert not alive(pid)


async def test_an_external_hop_on_a_closed_port_is_error_before_the_workload(tmp_path: Path):
    url = f"http://127.0.0.1:{closed_port()}"
    spec = cell((HopSpec((), "regular", (), url),), "closed")
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(spec, tmp_path)
    assert entry["verdict"] == "ERROR"
    assert entry["reason"].startswith(f"hop 1 (external {url}) ")
    assert "before the workload" in entry["reason"]
    assert entry["metrics"] is None


async def _garbage(stream: trio.SocketStream) -> None:
    async with stream:
        await stream.send_all(b"\x00\x01 this is not HTTP \xff\r\n\r\n")


async def test_a_non_http_listener_as_external_hop_is_error_and_the_run_goes_on(tmp_path):
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _garbage, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        bad = cell((HopSpec((), "reverse", (), url),), "garbage")
        good = cell((), "direct")
        with trio.fail_after(CELL_TIMEOUT_S):
            outcome = await run_cells(
                [bad, good],
                run_id="faults",
                matrix="test",
                time_scale=60,
                results_dir=tmp_path / "results",
            )
        nursery.cancel_scope.cancel()
    first, second = outcome.document.to_json()["cells"]
    assert first["verdict"] == "ERROR"
    assert first["reason"].startswith(f"hop 1 (external {url}) does not speak HTTP")
    assert second["verdict"] == "PASS", second["reason"]  # the rest of the run is unaffected
    assert outcome.error is None and not outcome.interrupted


def test_the_cli_exits_non_zero_when_a_cell_is_error(tmp_path: Path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    smoke = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.toml"
    (scenarios / "smoke.toml").write_text(smoke.read_text())
    (scenarios / "intermediaries.toml").write_text(
        f'[dead_proxy]\ndescription = "nothing listens there"\n'
        f'hops = [{{ external = "http://127.0.0.1:{closed_port()}", mode = "regular" }}]\n'
    )
    done = subprocess.run(
        gauntlet_cmd(
            "--scenarios",
            str(scenarios),
            "run",
            "--transport",
            "sse",
            "--intermediary",
            "dead_proxy",
            "--no-calibration",
            "--no-plots",
            "--results",
            str(tmp_path / "r"),
        ),
        capture_output=True,
        text=True,
        timeout=CELL_TIMEOUT_S,
    )
    assert done.returncode == 1, done.stderr
    assert "ERROR" in done.stdout and "refused the connection" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout


async def _bad_gateway(stream: trio.SocketStream) -> None:
    """A proxy that answers every request 502 itself, never forwarding."""
    async with stream:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = await stream.receive_some(4096)
            if not chunk:
                return
            request += chunk
        await stream.send_all(
            b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )


async def test_a_hop_answering_502_itself_is_error_naming_the_status(tmp_path: Path):
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _bad_gateway, 0, host="127.0.0.1"))
        url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        with trio.fail_after(CELL_TIMEOUT_S):
            entry = await run_cell(cell((HopSpec((), "reverse", (), url),), "gateway"), tmp_path)
        nursery.cancel_scope.cancel()
    assert entry["verdict"] == "ERROR"
    assert entry["reason"].startswith(
        f"502 from hop 1 (external {url}): the hop answered 502 itself (the server saw no request)"
    )


async def test_a_hop_gets_a_minimal_environment(tmp_path: Path, monkeypatch):
    from gauntlet.hops import running_hop
    from gauntlet.spec import scale_hop

    monkeypatch.setenv("GAUNTLET_TEST_SECRET", "hunter2")
    with trio.fail_after(CELL_TIMEOUT_S):
        async with running_hop(
            scale_hop(HopSpec(("transparent",))), 1, "http://127.0.0.1:9", tmp_path
        ) as hop:
            environ = Path(f"/proc/{hop.pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environ if b"hunter2" in v]
    assert any(v.startswith(b"PATH=") for v in environ)
