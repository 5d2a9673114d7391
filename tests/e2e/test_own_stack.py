"""A team's own endpoint under test: the example app (--app), a running endpoint (--target),
and bad targets refused in one line before any cell runs.

The example endpoint (harness/examples/push_app.py) meets docs/endpoint-contract.md; through
mitmdump hops it must get the verdicts the reference server gets (the smoke matrix's
expectations), because the transports, not the server, decide what a buffering hop does.
Everything binds 127.0.0.1 with ports from the OS; every wait has a bound.
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
import trio

from gauntlet.examples.push_app import make_app
from gauntlet.scenario import adhoc_cell
from gauntlet.server import serve_push_app
from gauntlet.target import TargetChoice
from gauntlet.topology import run_cell
from tests.e2e.conftest import gauntlet_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
APP = "gauntlet.examples.push_app:app"
CELL_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 60.0


@pytest.mark.parametrize(
    ("transport", "verdict"),
    [
        ("sse", "FAIL"),
        ("sse_close_each", "PASS"),
        ("long_poll", "PASS"),
        ("websocket", "PASS"),
    ],
)
async def test_example_app_through_store_and_forward_gets_the_reference_verdicts(
    tmp_path, transport, verdict
):
    """docs/field.md's buffering proxy: a stream that never ends is held; ending responses and
    WebSocket get through. Same verdicts as the smoke matrix's for the reference server."""
    cell = adhoc_cell(transport, "store_and_forward")
    assert str(cell.expected_verdict) == verdict  # the reference server's expectation
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell, tmp_path, target=TargetChoice(app_spec=APP))
    assert entry["target"] == f"app {APP}"
    assert entry["verdict"] == verdict, entry["reason"]
    assert entry["server_saw"], "the app's requests are recorded"
    if verdict == "PASS":
        assert entry["metrics"]["latency_ms"]["p95"] is not None  # sent_ns was measured


@pytest.fixture
async def endpoint(nursery):
    """The example app served on its own (a team's running endpoint): (url, app factory)."""

    async def serve(send_time: bool = True) -> str:
        return await nursery.start(serve_push_app, make_app(send_time))

    return serve


async def test_a_running_endpoint_is_measured_with_latency_from_its_send_time(endpoint, tmp_path):
    url = await endpoint()
    cell = adhoc_cell("sse_close_each", "store_and_forward")
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell, tmp_path, target=TargetChoice(url=url))
    assert entry["target"] == f"target {url}" and entry["verdict"] == "PASS", entry["reason"]
    m = entry["metrics"]
    assert m["delivered"] == m["sent"] == cell.workload.events
    assert m["latency_ms"]["p95"] is not None and "latency" not in entry
    assert entry["server_saw"] == []  # a running endpoint's requests are not visible here


async def test_without_send_time_latency_is_not_measured_and_the_report_says_so(endpoint, tmp_path):
    url = await endpoint(send_time=False)
    cell = adhoc_cell("long_poll", "store_and_forward")
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(cell, tmp_path, target=TargetChoice(url=url))
    assert entry["latency"] == "not measured (endpoint sends no send time)"
    assert entry["metrics"]["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}
    assert entry["verdict"] == "PASS"
    assert "latency not measured (endpoint sends no send time)" in entry["reason"]
    assert entry["metrics"]["delivered"] == cell.workload.events


async def test_sse_through_store_and_forward_fails_for_a_running_endpoint_too(endpoint, tmp_path):
    url = await endpoint()
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(
            adhoc_cell("sse", "store_and_forward"), tmp_path, target=TargetChoice(url=url)
        )
    assert entry["verdict"] == "FAIL" and entry["metrics"]["delivered"] == 0


# --- bad targets: one line, exit 2, before any cell ------------------------------------


async def cli(*args: str) -> subprocess.CompletedProcess:
    with trio.fail_after(CLI_TIMEOUT_S):
        return await trio.run_process(
            gauntlet_cmd(*args), capture_stdout=True, capture_stderr=True, check=False
        )


def one_line_error(done: subprocess.CompletedProcess, *needles: str) -> str:
    err = done.stderr.decode()
    assert done.returncode == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("gauntlet: error: ") and "Traceback" not in err, err
    assert [line for line in lines if "error" in line] == lines[-1:], err
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    assert b"results:" not in done.stdout  # no cell ran
    return lines[-1]


async def test_a_target_off_loopback_is_refused_without_connecting(tmp_path):
    done = await cli(
        "run", "--target", "http://192.0.2.1:80", "--transport", "sse", "--results", str(tmp_path)
    )
    one_line_error(done, "host '192.0.2.1' is not loopback")


async def test_a_target_that_is_down_is_one_line(tmp_path):
    with socket.socket() as probe:  # a port the OS just handed out, then closed: refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = await cli(
        "run",
        "--target",
        f"http://127.0.0.1:{port}",
        "--transport",
        "sse",
        "--results",
        str(tmp_path),
    )
    one_line_error(
        done,
        f"--target http://127.0.0.1:{port}: nothing answers (connection "
        "refused); expected a running push endpoint",
    )


def broken(app, *, sse_type: bytes | None = None, ws_status: int | None = None):
    """The example app with one transport answered wrongly."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/sse" and sse_type is not None:
            body = b"<html>login</html>"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", sse_type)],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "websocket" and ws_status is not None:
            await receive()
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": ws_status,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "websocket.http.response.body", "body": b"no"})
        else:
            await app(scope, receive, send)

    return wrapped


@pytest.mark.parametrize(
    ("transport", "needle"),
    [
        (
            "sse",
            "GET /sse answered 200 with content-type 'text/html'; expected 200 "
            "text/event-stream for sse",
        ),
        ("websocket", "WS /ws answered status 404, no Upgrade; expected 101 Switching Protocols"),
    ],
)
async def test_a_target_that_does_not_speak_the_transport_is_one_line(
    nursery, tmp_path, transport, needle
):
    app = broken(make_app(), sse_type=b"text/html", ws_status=404)
    url = await nursery.start(serve_push_app, app)
    done = await cli("run", "--target", url, "--transport", transport, "--results", str(tmp_path))
    one_line_error(done, needle)


async def test_a_server_port_in_use_is_one_line_naming_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = await cli(
            "run",
            "--server-port",
            str(port),
            "--transport",
            "sse",
            "--intermediary",
            "direct",
            "--no-calibration",
            "--results",
            str(tmp_path),
        )
    one_line_error(done, f"--server-port: 127.0.0.1:{port} is in use")


async def test_app_and_server_port_from_the_cli(tmp_path):
    """`--app` on exactly `--server-port`: the cell's server listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = await cli(
        "run",
        "--app",
        APP,
        "--server-port",
        str(port),
        "--transport",
        "long_poll",
        "--intermediary",
        "direct",
        "--no-calibration",
        "--no-plots",
        "-v",
        "--results",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr.decode()
    assert f"app {APP} listening on http://127.0.0.1:{port}" in done.stderr.decode()
    doc = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert [c["verdict"] for c in doc["cells"]] == ["PASS"]


async def test_an_app_that_does_not_speak_the_transport_is_one_line(tmp_path):
    """`--app` is asked the same questions before any cell (an app answering /poll with HTML)."""
    done = await cli(
        "run",
        "--app",
        "tests.e2e.test_own_stack:html_poll_app",
        "--transport",
        "long_poll",
        "--results",
        str(tmp_path),
    )
    one_line_error(
        done,
        "--app tests.e2e.test_own_stack:html_poll_app served at http://127.0.0.1:",
        "GET /poll answered 200 with a body that is not JSON (text/html); expected 200 JSON",
    )


def _html_poll(app):
    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/poll":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/html")],
                }
            )
            await send({"type": "http.response.body", "body": b"<html>sign in</html>"})
        else:
            await app(scope, receive, send)

    return wrapped


html_poll_app = _html_poll(make_app())
