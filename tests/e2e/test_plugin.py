"""The pytest plugin from another project's point of view (a pytester subprocess run)."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

OTHER_PROJECT_TEST = """
import pytest
import trio

from gauntlet.eventlog import Received
from gauntlet.clients import Target
from gauntlet.scenario import load_matrix

pytestmark = pytest.mark.trio


async def test_store_and_forward_holds_sse(gauntlet_server, gauntlet_chain, gauntlet_client):
    with trio.fail_after(20):
        async with gauntlet_chain(["store_and_forward"], gauntlet_server.url) as hops:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(gauntlet_client("sse"), Target(hops[0].url),
                                   gauntlet_server.log)
                await gauntlet_server.publisher.first_request.wait()
                gauntlet_server.publisher.publish()
                await trio.sleep(0.5)
                nursery.cancel_scope.cancel()
    assert gauntlet_server.log.of(Received) == []


async def test_a_whole_cell_is_collected(gauntlet_run_cell):
    cell = next(c for c in load_matrix("smoke").cells if c.id == "long_poll-direct")
    entry = await gauntlet_run_cell(cell)
    assert entry["verdict"] == "PASS"
"""


def test_fixtures_work_in_another_project_and_results_are_written(pytester):
    pytester.makepyfile(test_other=OTHER_PROJECT_TEST)
    results = pytester.path / "gauntlet-results"
    outcome = pytester.runpytest_subprocess(
        "-p", "trio", f"--gauntlet-results={results}", "--gauntlet-time-scale=60", timeout=120
    )
    outcome.assert_outcomes(passed=2)
    doc = json.loads((results / "latest" / "results.json").read_text())
    assert [c["id"] for c in doc["cells"]] == ["long_poll-direct"]
    assert doc["cells"][0]["spec"]["timing"]["time_scale"] == 60


def test_options_are_in_one_gauntlet_group(pytester):
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "Gauntlet: server-push delivery through real proxies" in help_text
    assert "--gauntlet-results=DIR" in help_text and "--gauntlet-time-scale=FACTOR" in help_text


SELECTED_CELLS_TEST = """
def test_each_selected_cell(gauntlet_cell):
    assert gauntlet_cell.matrix == "smoke" and gauntlet_cell.timing.time_scale == 30
"""


def test_cells_are_selected_as_gauntlet_run_selects_them(pytester):
    """The same function as `gauntlet run --matrix smoke --shard 2/4` (harness/scenario.py)."""
    from gauntlet.scenario import select_cells

    expected = [c.id for c in select_cells(matrix="smoke", shard="2/4").cells]
    pytester.makepyfile(test_selected=SELECTED_CELLS_TEST)
    outcome = pytester.runpytest_subprocess(
        "-p", "trio", "--gauntlet-matrix=smoke", "--gauntlet-shard=2/4", "-v", timeout=120
    )
    outcome.assert_outcomes(passed=len(expected))
    for cell_id in expected:
        outcome.stdout.fnmatch_lines([f"*test_each_selected_cell[[]{cell_id}[]] PASSED*"])


OWN_STACK_TEST = """
import socket

import pytest

from gauntlet.scenario import adhoc_cell

pytestmark = pytest.mark.trio


async def test_my_app_on_my_port(gauntlet_run_cell):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    with sock:
        entry = await gauntlet_run_cell(adhoc_cell("sse_close_each", "store_and_forward"),
                                        app="gauntlet.examples.push_app:app", server_socket=sock)
    assert entry["target"] == "app gauntlet.examples.push_app:app"
    assert entry["verdict"] == "PASS"


async def test_a_target_off_loopback_is_refused(gauntlet_run_cell):
    from gauntlet.errors import GauntletError

    with pytest.raises(GauntletError, match="not loopback"):
        await gauntlet_run_cell(adhoc_cell("sse", "direct"), target="http://192.0.2.1:80")
"""


def test_run_cell_fixture_takes_an_app_a_target_and_a_server_socket(pytester):
    pytester.makepyfile(test_own=OWN_STACK_TEST)
    outcome = pytester.runpytest_subprocess("-p", "trio", timeout=120)
    outcome.assert_outcomes(passed=2)
