"""Bad input and interruptions through the real CLI: one-line errors, nothing left behind.

Each failure must end with exit status 2 and exactly one stderr line naming the problem,
never a traceback and never a hang (every subprocess call has a timeout). Ctrl-C mid-run
must kill every hop, close every port and still write the cells already measured.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
import trio

from tests.e2e.conftest import REPO, Topology, alive, gauntlet_cmd, port_refuses

pytestmark = pytest.mark.e2e


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(gauntlet_cmd(*args), capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert errors == lines[-1:], done.stderr  # one error line, and it is the last word
    assert lines[-1].startswith("gauntlet: error: ")
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[-1]


def test_unknown_transport(tmp_path):
    done = run_cli("run", "--transport", "smoke_signals", "--intermediary", "direct",
                   "--results", str(tmp_path))  # fmt: skip
    assert_one_line_error(done, "unknown transport 'smoke_signals'", "known: sse")


def test_unknown_intermediary(tmp_path):
    done = run_cli("run", "--transport", "sse", "--intermediary", "squid9",
                   "--results", str(tmp_path))  # fmt: skip
    assert_one_line_error(done, "unknown intermediary 'squid9'", "store_and_forward")


def test_malformed_scenario_file(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "smoke.toml").write_text("name = 'smoke'\ntime_scale = [\n")
    done = run_cli("--scenarios", str(scenarios), "run", "--matrix", "smoke")
    assert_one_line_error(done, str(scenarios / "smoke.toml"), "not valid TOML")


def test_proxy_that_fails_to_start(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for name in ("smoke.toml",):
        (scenarios / name).write_text((REPO / "scenarios" / name).read_text())
    (scenarios / "intermediaries.toml").write_text(
        '[broken]\ndescription = "a hop with an option mitmproxy does not know"\n'
        'hops = [{behaviours = ["transparent"], options = {no_such_option_ms = 5}}]\n'
    )
    done = run_cli("--scenarios", str(scenarios), "run", "--transport", "sse",
                   "--intermediary", "broken", "--no-calibration",
                   "--results", str(tmp_path / "results"))  # fmt: skip
    assert_one_line_error(done, "hop 1 (transparent) failed to start",
                          "unknown option no_such_option_ms")  # fmt: skip


def test_list_names_every_transport_intermediary_and_matrix():
    done = run_cli("list")
    assert done.returncode == 0
    for name in ("sse", "sse_close_each", "long_poll", "websocket", "direct", "transparent",
                 "store_and_forward", "smoke"):  # fmt: skip
        assert f"  {name} " in done.stdout


async def test_ctrl_c_mid_run_kills_everything_and_keeps_results(tmp_path):
    results = tmp_path / "results"
    topology = Topology()
    proc = await trio.lowlevel.open_process(
        gauntlet_cmd("run", "--matrix", "smoke", "-v", "--no-calibration", "--results",
                     str(results)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    stderr = b""
    try:
        with trio.fail_after(60):
            # Wait for the first cell to finish and the second to be publishing: a signal
            # from the run itself, not a sleep.
            while stderr.count(b"client connected; publishing") < 2:
                chunk = await proc.stderr.receive_some(4096)
                assert chunk, stderr.decode()
                stderr += chunk
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(30):
            while chunk := await proc.stderr.receive_some(4096):
                stderr += chunk
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
    text = stderr.decode()
    assert proc.returncode == 130, text
    assert "interrupted" in text and "Traceback" not in text
    for line in text.splitlines():
        topology.read(line)
    assert topology.ports
    assert not [pid for pid in topology.pids if alive(pid)]
    for port in topology.ports:
        assert await port_refuses(port), f"port {port} still listening after Ctrl-C"
    doc = json.loads((results / "latest" / "results.json").read_text())
    assert doc["interrupted"] is True
    assert 1 <= len(doc["cells"]) < 12
