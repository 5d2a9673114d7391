"""Gauntlet's pytest plugin (the `pytest11` entry point): markers, options and fixtures.

Other projects get, without writing any plumbing:
- `gauntlet_server`: a started reference push server (`.url`, `.publisher`, `.log`);
- `gauntlet_chain`: `async with gauntlet_chain(["store_and_forward"], upstream_url) as hops`
  starts real mitmdump hops from behaviour or intermediary names;
- `gauntlet_client`: `gauntlet_client("sse")` is that transport's reference client coroutine;
- `gauntlet_run_cell`: measure a whole `CellSpec` and collect it for the session's results;
  `gauntlet_run_cell(cell, target="http://127.0.0.1:PORT")` measures a team's running
  endpoint, `app="package.module:app"` serves a team's ASGI app, `server_socket=sock` (a
  listening loopback socket, e.g. on the port a team's reverse proxy names) is where the
  server or app listens (docs/endpoint-contract.md);
- `gauntlet_results`: the cells collected so far; written as one results run at the end of the
  session when `--gauntlet-results DIR` is given;
- `gauntlet_cell`: a test that takes it runs once per selected cell, chosen as `gauntlet run`
  chooses them (harness/scenario.py `select_cells`): `--gauntlet-matrix NAME` (default smoke)
  or `--gauntlet-profile NAME`, `--gauntlet-shard K/N`, `--gauntlet-scenarios DIR`.
Options live in one `--gauntlet-*` group. Async fixtures need pytest-trio (trio mode).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

MATRIX_MARKERS = {
    "smoke": "a cell of the smoke matrix (about a minute)",
    "transports": "a cell of the transports matrix",
    "tls": "a cell of the tls matrix",
    "matrix": "a measured matrix cell (deselected unless asked for with -m)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gauntlet", "Gauntlet: server-push delivery through real proxies")
    group.addoption(
        "--gauntlet-results",
        metavar="DIR",
        default=None,
        help="write the cells measured in this session as one run in DIR (default: not written)",
    )
    group.addoption(
        "--gauntlet-time-scale",
        metavar="FACTOR",
        type=float,
        default=None,
        help="divide real-world durations by FACTOR instead of each scenario's "
        "time_scale (default: the scenario's)",
    )
    what = group.addoption  # the cells a `gauntlet_cell` test runs over, as `gauntlet run`'s
    what(
        "--gauntlet-matrix",
        metavar="NAME",
        default=None,
        help="`gauntlet_cell` tests run over this matrix's cells (default: smoke)",
    )
    what(
        "--gauntlet-profile",
        metavar="NAME",
        default=None,
        help="... or over this profile's cells (its repeats included)",
    )
    what(
        "--gauntlet-shard",
        metavar="K/N",
        default=None,
        help="... only the K-th of N disjoint shares of them",
    )
    what(
        "--gauntlet-scenarios",
        metavar="DIR",
        default=None,
        help="a team's own scenario folder, added to the built-in one",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs real processes and sockets")
    config.addinivalue_line("markers", "slow: real-clock test with a written tolerance")
    for name, help_text in MATRIX_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `gauntlet_cell` runs once per selected cell, with the cell's id."""
    if "gauntlet_cell" not in metafunc.fixturenames:
        return
    from gauntlet.scenario import SCENARIOS_DIR, select_cells

    option = metafunc.config.getoption
    folder = option("--gauntlet-scenarios")
    selection = select_cells(
        matrix=option("--gauntlet-matrix"),
        profile=option("--gauntlet-profile"),
        shard=option("--gauntlet-shard"),
        scenarios_dir=Path(folder) if folder else SCENARIOS_DIR,
    )
    ids, cells = zip(*selection.pairs, strict=True) if selection.cells else ((), ())
    metafunc.parametrize("gauntlet_cell", cells, ids=ids)


@dataclass
class RunningServer:
    url: str
    publisher: Any
    log: Any


@pytest.fixture
async def gauntlet_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A reference push server: the server end of a topology with no hops
    (gauntlet.topology_open), stopped after the test."""
    from gauntlet.eventlog import EventLog
    from gauntlet.target import ReferenceServer
    from gauntlet.topology_open import open_topology

    log = EventLog()
    server = ReferenceServer(log, payload_bytes=64)
    async with open_topology((), tmp_path / "gauntlet-server", log, server=server) as t:
        yield RunningServer(t.server_url, server.publisher, log)


@pytest.fixture
def gauntlet_chain(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager]:
    """`async with gauntlet_chain(names, upstream_url) as hops`: a topology over a server that
    is already running (`upstream_url`); yields the hops, client-first."""
    from gauntlet.eventlog import EventLog
    from gauntlet.scenario import load_intermediaries
    from gauntlet.spec import HopSpec, scale_chain
    from gauntlet.topology_open import open_topology

    @asynccontextmanager
    async def chain(names: list[str], upstream: str, time_scale: float = 1.0):
        known = load_intermediaries()
        specs: list[HopSpec] = []
        for name in names:
            specs += known[name].hops if name in known else [HopSpec((name,))]
        async with open_topology(
            scale_chain(specs, time_scale), tmp_path, EventLog(), server=upstream
        ) as t:
            yield t.hops

    return chain


@pytest.fixture
def gauntlet_client() -> Callable[..., Any]:
    from gauntlet.clients import TRANSPORTS
    from gauntlet.spec import client_timings

    def client(transport: str, time_scale: float = 1.0):
        return TRANSPORTS[transport].client(client_timings(time_scale))

    return client


@pytest.fixture(scope="session")
def gauntlet_results(request: pytest.FixtureRequest) -> Iterator[list[dict[str, Any]]]:
    cells: list[dict[str, Any]] = []
    yield cells
    target = request.config.getoption("--gauntlet-results")
    if target and cells:
        from gauntlet.results import build_document, new_run_id, write_document

        doc = build_document(
            run_id=new_run_id("pytest"),
            matrix="pytest",
            time_scale=cells[0]["spec"]["timing"]["time_scale"],
            cells=cells,
            interrupted=False,
            repo=Path(__file__).resolve().parent.parent,
            created=dt.datetime.now(dt.UTC),
        )
        write_document(doc, Path(target))


@pytest.fixture
def gauntlet_run_cell(gauntlet_results, tmp_path: Path, request: pytest.FixtureRequest):
    from dataclasses import replace

    from gauntlet.topology import run_cell

    scale = request.config.getoption("--gauntlet-time-scale")

    async def run(
        cell, *, target: str | None = None, app: str | None = None, server_socket: Any = None
    ) -> dict[str, Any]:
        from gauntlet.loopback import check_target_url
        from gauntlet.target import TargetChoice, load_app

        if scale is not None:
            cell = replace(cell, timing=replace(cell.timing, time_scale=scale))
        if app is not None:
            load_app(app)  # a bad name fails the test here, in one line
        choice = TargetChoice(url=check_target_url(target) if target else None, app_spec=app)
        with trio.fail_after(120):
            entry = await run_cell(cell, tmp_path, server_socket=server_socket, target=choice)
        gauntlet_results.append(entry)
        return entry

    return run
