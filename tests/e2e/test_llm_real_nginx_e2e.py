"""The anti-buffering header against a real nginx (Debian's defaults), not only its emulation.

Reuses the real-nginx rig of test_external_proxies.py (its `nginx` and `server_socket`
fixtures: nginx on an inherited 127.0.0.1 socket, the cell's server on one bound before
nginx starts). nginx docs (ngx_http_proxy_module, proxy_buffering): "Buffering can also be
enabled or disabled by passing yes or no in the X-Accel-Buffering response header field."
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.scenario import CellSpec, Intermediary, Timing, Workload
from gauntlet.topology import run_cell
from gauntlet.verdict import Budget
from tests.e2e.test_external_proxies import CELL_TIMEOUT_S, nginx, reverse, server_socket

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
__all__ = ["nginx", "server_socket"]  # fixtures, used by name


def llm_cell(url: str, headers: str) -> CellSpec:
    hop = reverse(url)
    inter = Intermediary(hop.label, "a real nginx started by the test", (hop,))
    return CellSpec(
        "test",
        "llm_stream",
        inter,
        Workload(60, 80, 64),
        Budget(250, max_batch_tokens=4),
        Timing(60, 60),
        None,
        None,
        headers=headers,
    )


@pytest.mark.parametrize(("headers", "verdict"), [("none", "DEGRADED"), ("x_accel", "PASS")])
async def test_real_nginx_streams_tokens_only_with_x_accel_buffering_no(
    nginx, server_socket, tmp_path, headers, verdict
):
    """60 tokens at 80/s: without the header nginx releases one page at a time, batched;
    with it, every token streams. Measured: 19 tokens typical, 20 per read at most (the
    `size_buffer` emulation: 19 and 20), and PASS with the header."""
    with trio.fail_after(CELL_TIMEOUT_S):
        entry = await run_cell(llm_cell(nginx, headers), tmp_path, server_socket=server_socket)
    assert entry["verdict"] == verdict, (entry["reason"], entry["connections"], entry["server_saw"])
    assert entry["metrics"]["delivered"] == 60
