"""The browser as a client, end to end: real Chromium (Debian's), real hops, real verdicts.

Acceptance of the browser client (its cells come from scenarios/browsers.toml, so the
expectations tested here are the matrix's own), containment (a forward proxy in front of the
browser sees only 127.0.0.1 targets), the reference SSE client against the browser on the
same cells, and what happens without a browser (SKIPPED) or with one that will not start
(ERROR with its stderr). Tolerances: reconnect delays are the server's `retry: 50` plus
loopback and scheduling; both clients must stay under RETRY_BAND_MS (far from Chromium's
3000 ms default, which would mean `retry:` was ignored) and within AGREE_MS of each other.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from statistics import median

import pytest
import trio

import gauntlet.clients.browser as browser_mod
from gauntlet.scenario import Intermediary, load_matrix
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from tests.e2e.conftest import alive, gauntlet_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]
CHROMIUM = Path(browser_mod.CHROMIUM_BINARY)
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
CELL_BOUND_S = 90
RETRY_BAND_MS = 500
AGREE_MS = 150


def cell(transport: str, intermediary: str, matrix: str = "browsers"):
    for c in load_matrix(matrix).cells:
        if (c.transport, c.intermediary.name) == (transport, intermediary):
            return c
    raise LookupError(f"{transport}-{intermediary} not in {matrix}")


async def measure(spec, tmp_path) -> dict:
    with trio.fail_after(CELL_BOUND_S):
        return await run_cell(spec, tmp_path)


@needs_chromium
async def test_browser_event_source_through_store_and_forward_sees_nothing_at_all(tmp_path):
    """A hop holding the whole response: no open, no error, no message, ever. A hop that
    passes the headers and holds the body (store_and_forward's default) is worse for an
    application: `open` fires, then silence, with no error to react to."""
    entry = await measure(cell("browser_sse", "store_and_forward_whole"), tmp_path / "whole")
    assert entry["verdict"] == entry["expected_verdict"] == "FAIL"
    events = entry["client"]["browser"]["page_events"]
    assert events["open"] == 0 and events["error"] == 0 and events["message"] == 0
    assert "/sse" in {s.split()[1] for s in entry["server_saw"]}  # it did reach the server
    entry = await measure(cell("browser_sse", "store_and_forward"), tmp_path / "body")
    assert entry["verdict"] == "FAIL"
    events = entry["client"]["browser"]["page_events"]
    assert events["open"] == 1 and events["error"] == 0 and events["message"] == 0


@needs_chromium
async def test_browser_event_source_close_each_through_store_and_forward_passes(tmp_path):
    entry = await measure(cell("browser_sse_close_each", "store_and_forward"), tmp_path)
    assert entry["verdict"] == "PASS", entry["reason"]
    assert entry["reconnection"]["last_event_ids"][:3] == ["1", "2", "3"]


@needs_chromium
async def test_browser_websocket_through_ws_refuse_fails(tmp_path):
    entry = await measure(cell("browser_websocket", "ws_refuse"), tmp_path)
    assert entry["verdict"] == "FAIL" and entry["metrics"]["delivered"] == 0
    assert entry["client"]["browser"]["page_events"]["open"] == 0
    assert entry["client"]["browser"]["page_events"]["close"] >= 1


@needs_chromium
async def test_browser_websocket_fallback_polls_through_ws_refuse_and_gives_up_on_kills(tmp_path):
    """The page's engine.io-style fallback (UpgradePolicy's rules in JavaScript): a hop that
    refuses every upgrade leaves it on polling, which delivers everything; a hop that kills
    each socket makes it give up after 3 failed probes and stay on polling, as the reference
    client does, instead of flapping as the page's plain WebSocket reconnect does."""
    refuse = await measure(cell("browser_websocket_fallback", "ws_refuse"), tmp_path / "refuse")
    assert refuse["verdict"] == refuse["expected_verdict"] == "PASS", refuse["reason"]
    events = refuse["client"]["browser"]["page_events"]
    assert events["close"] == 3 and events["open"] >= 1  # 3 refused probes, polls opened
    assert any("given up after 3 failed probes" in n for n in refuse["notes"])

    # 8 s of events, not the matrix's 3 s: three probes killed 300 ms after their upgrade,
    # with 0.5 s and 1 s between them, take about 2.5 s, and a loaded machine may stretch
    # that past a 3 s cell (measured once: the browser's third probe still open at the end).
    def eight_seconds(transport: str):
        spec = cell(transport, "ws_accept_then_kill")
        return replace(spec, workload=replace(spec.workload, events=40))

    kill = await measure(eight_seconds("browser_websocket_fallback"), tmp_path / "kill")
    reference = await measure(eight_seconds("websocket_fallback"), tmp_path / "reference")
    for entry in (kill, reference):
        assert entry["verdict"] == "PASS", entry["reason"]
        assert entry["metrics"]["delivered"] == 40
        assert any("given up after 3 failed probes" in n for n in entry["notes"])
        assert not any("upgraded" in n for n in entry["notes"])
    assert kill["client"]["browser"]["page_events"]["close"] == 3  # no probe after giving up


@needs_chromium
async def test_browser_long_poll_through_store_and_forward_passes(tmp_path):
    entry = await measure(cell("browser_long_poll", "store_and_forward"), tmp_path)
    assert entry["verdict"] == "PASS", entry["reason"]
    clock = entry["client"]["browser"]["browser_clock"]
    assert clock["round_trips"] >= 10 and clock["error_bound_ms"] < 50


@needs_chromium
async def test_forward_proxy_sees_only_loopback_targets_during_a_browser_cell(tmp_path):
    """Containment: every CONNECT, request and upstream connection the forward proxy logged
    (proxies/access_log.py) was for 127.0.0.1, page load and WebSocket included."""
    logging_proxy = HopSpec(("access_log", "transparent"), mode="regular")
    proxy = Intermediary("logging_forward_proxy", "logs flows", (logging_proxy,))
    for transport in ("browser_sse_close_each", "browser_websocket"):
        spec = replace(cell(transport, "old_proxy_connect_only"), intermediary=proxy)
        entry = await measure(spec, tmp_path / transport)
        assert entry["verdict"] == "PASS", entry["reason"]
        log = (tmp_path / transport / spec.id / "hop1.log").read_text(errors="replace")
        lines = re.findall(r"access: (\S+) (\S+)", log)
        assert any(m == "GET" for m, _ in lines) and any(m == "server-connect" for m, _ in lines)
        assert {target.rsplit(":", 1)[0] for _, target in lines} == {"127.0.0.1"}, log[-2000:]


@needs_chromium
async def test_reference_sse_client_reconnects_like_the_browser(tmp_path):
    """Same cells, both clients: retry: honoured, Last-Event-ID sent, 504 is final."""
    for intermediary in ("direct", "lifetime_cap"):
        transport = "sse_close_each" if intermediary == "direct" else "sse"
        ref = await measure(cell(transport, intermediary), tmp_path / f"ref-{intermediary}")
        web = await measure(
            cell("browser_" + transport, intermediary), tmp_path / f"web-{intermediary}"
        )
        r, b = ref["reconnection"], web["reconnection"]
        assert r["delays_ms"] and b["delays_ms"], (r, b)
        assert median(r["delays_ms"]) < RETRY_BAND_MS and median(b["delays_ms"]) < RETRY_BAND_MS
        assert abs(median(r["delays_ms"]) - median(b["delays_ms"])) < AGREE_MS, (r, b)
        assert r["last_event_ids"] and b["last_event_ids"]
        # each resumes from the last id it had: the ids sent are increasing, and the same
        # when the cuts come at the same events (close-each: after every event)
        for ids in (r["last_event_ids"], b["last_event_ids"]):
            assert [int(i) for i in ids] == sorted(int(i) for i in ids)
        if intermediary == "direct":
            assert r["last_event_ids"] == b["last_event_ids"] == [str(i) for i in range(1, 15)]
    ref = await measure(cell("sse", "gateway_504_brief"), tmp_path / "ref-504")
    web = await measure(cell("browser_sse", "gateway_504_brief"), tmp_path / "web-504")
    for entry in (ref, web):
        assert entry["verdict"] == "FAIL"
        assert entry["reconnection"]["closed_for_good"] is True
        assert entry["metrics"]["requests"] == 1  # no retry after the error status


async def test_browser_cell_is_skipped_when_chromium_is_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(browser_mod, "CHROMIUM_BINARY", str(tmp_path / "no-chromium"))
    entry = await measure(cell("browser_sse", "direct"), tmp_path)
    assert entry["verdict"] == "SKIPPED" and "no Chromium at" in entry["reason"]


async def test_browser_that_fails_to_start_is_an_error_with_its_stderr(tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display: fake failure' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(browser_mod, "CHROMIUM_BINARY", str(fake))
    entry = await measure(cell("browser_sse", "direct"), tmp_path)
    assert entry["verdict"] == "ERROR"
    assert "fake failure" in entry["reason"] and "exited (3)" in entry["reason"]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children of children included), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


async def wait_gone(pid: int, timeout_s: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        with trio.move_on_after(timeout_s):
            await trio.lowlevel.wait_readable(fd)  # readable once the process has exited
    finally:
        os.close(fd)
    return not alive(pid)


@needs_chromium
async def test_browser_and_its_driver_die_when_the_harness_is_killed(tmp_path):
    """SIGKILL mid-cell, no cleanup code runs: Chromium goes by PR_SET_PDEATHSIG (its
    helpers follow it), Playwright's driver when its stdin pipe closes."""
    proc = await trio.lowlevel.open_process(
        gauntlet_cmd(
            "run",
            "-v",
            "--transport",
            "browser_sse",
            "--intermediary",
            "direct",
            "--no-calibration",
            "--no-plots",
            "--results",
            str(tmp_path),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stderr = b""
    try:
        with trio.fail_after(60):
            while b"client connected; publishing" not in stderr:
                chunk = await proc.stderr.receive_some(4096)
                assert chunk, stderr.decode()
                stderr += chunk
        children = descendants(proc.pid)
        names = {
            Path(f"/proc/{p}/comm").read_text().strip()
            for p in children
            if Path(f"/proc/{p}/comm").exists()
        }
        assert any("chrom" in n for n in names) and any("node" in n for n in names), names
        proc.kill()
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
    assert [p for p in children if not await wait_gone(p, 10)] == []
