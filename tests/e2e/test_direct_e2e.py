"""Every transport through real processes, direct over h1, HTTPS and HTTP/2: each passes,
and over h2 every request but a WebSocket's is HTTP/2.

Determinism contract: loopback only, OS-chosen ports, a hard `fail_after` on every wait.
Tolerance: direct cells must deliver everything with p95 under the 250 ms budget; the slowest
by design is short polling (interval 5 s / 30 = 167 ms).
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.clients import TRANSPORTS
from gauntlet.scenario import CellSpec
from gauntlet.topology import run_cell
from tests.e2e.cells import TWO_SECONDS, cell

pytestmark = pytest.mark.e2e


def direct(transport: str, protocol: str) -> CellSpec:
    return cell(
        (), transport=transport, protocol=protocol, events=6, rate_per_s=10, timing=TWO_SECONDS
    )


@pytest.mark.parametrize("protocol", ["h1", "https", "h2"])
async def test_every_transport_passes_direct(protocol, tmp_path):
    failures = {}
    for transport in TRANSPORTS:
        with trio.fail_after(30):
            entry = await run_cell(direct(transport, protocol), tmp_path)
        if entry["verdict"] != "PASS":
            failures[transport] = entry["reason"]
        versions = {c.get("http_version") for c in entry["connections"]}
        # A WebSocket is HTTP/1.1 (no RFC 8441 here); a browser's page cannot see the wire
        # protocol its requests took, so its connections are labelled "browser".
        if protocol == "h2" and not transport.startswith(("websocket", "browser_")):
            assert versions == {"HTTP/2"}, (transport, versions)
    assert not failures
