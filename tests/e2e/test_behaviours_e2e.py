"""Each behaviour's signature effect, with numbers, through a real `mitmdump` hop.

Determinism contract: server, hop and client on 127.0.0.1 with OS-chosen ports; every test
has a hard `fail_after`. Timed effects use real-world defaults divided by a time scale, so
they also show the scaling. Tolerance for timers: +-150 ms around a target of 300-500 ms;
measured here the cut lands 0-10 ms late (asyncio timer plus one loop turn), so the band
absorbs scheduling noise on a loaded 2-core machine without hiding a wrong timer.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    Received,
    Request,
    ServerRequest,
)
from gauntlet.metrics import compute
from gauntlet.scenario import CellSpec, Intermediary, Timing, Workload
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from gauntlet.verdict import Budget, Verdict
from tests.e2e.cells import cell
from tests.e2e.signature import rig

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOLERANCE_MS = 150
MS = 1_000_000


def hop(name: str, **options: int | str) -> HopSpec:
    return HopSpec((name,), options=tuple((k, str(v)) for k, v in options.items()))


async def publish(r, n: int, every_s: float) -> None:
    for _ in range(n):
        r.publisher.publish()
        await trio.sleep(every_s)  # the workload's pacing


def latencies_ms(log) -> list[float]:
    m = {p.id: p.t_ns for p in log.records if type(p).__name__ == "Published"}
    return [(r.t_ns - m[r.id]) / MS for r in log.of(Received)]


async def test_transparent_relays_each_event_as_it_comes(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("transparent")], tmp_path) as r:
            await publish(r, 5, 0.05)
            await r.wait_received(5)
    assert len(latencies_ms(r.log)) == 5 and max(latencies_ms(r.log)) < 50


async def test_store_and_forward_delivers_nothing_until_the_response_ends(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("store_and_forward")], tmp_path) as r:
            await publish(r, 5, 0.1)
            await trio.sleep(0.5)  # a window in which a live hop would have delivered all
    assert r.log.of(Received) == [] and r.publisher.last_id == 5
    with trio.fail_after(20):
        async with rig("sse_close_each", [hop("store_and_forward")], tmp_path) as r:
            await publish(r, 5, 0.1)
            await r.wait_received(5)  # each response ends, so each is flushed


async def test_size_buffer_releases_in_blocks_of_n_bytes(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("size_buffer", size_buffer_bytes=512)], tmp_path) as r:
            await publish(r, 14, 0.02)  # 11-byte prelude + 14 x ~78-byte events = 1108 bytes
            await r.wait_received(12)  # two full blocks hold the first 12 events
            await trio.sleep(0.2)  # nothing more may come: the last 84 bytes are under a block
    sizes = [b.n for b in r.log.of(BytesReceived)]
    assert sum(sizes) == 1024 and all(n % 512 == 0 for n in sizes), sizes
    first_ids = [rec.id for rec in r.log.of(Received)]
    assert len(first_ids) == 12  # events 13 and 14 are still held


async def test_idle_timeout_cuts_a_quiet_stream_and_spares_one_with_heartbeats(tmp_path):
    # ALB's real 60 s, scaled by 120: 500 ms.
    spec = [hop("idle_timeout")]
    with trio.fail_after(20):
        async with rig("sse", spec, tmp_path, time_scale=120) as r:
            await trio.sleep(0.8)  # quiet: the hop must cut at ~500 ms
    connected = r.log.of(Connected)[0].t_ns
    cut = r.log.of(Disconnected)[0]
    assert "network error" in cut.reason
    assert abs((cut.t_ns - connected) / MS - 500) < TOLERANCE_MS
    with trio.fail_after(20):
        async with rig("sse", spec, tmp_path, time_scale=120) as r:
            await publish(r, 6, 0.25)  # a message every T/2 for 1.5 s = 3 T
            await r.wait_received(6)
    assert r.log.of(Disconnected) == [] and len(r.log.of(Connected)) == 1


async def test_lifetime_cap_cuts_a_busy_stream_and_sse_resumes_without_loss(tmp_path):
    # GCP's real 30 s backend timeout, scaled by 60: 500 ms.
    with trio.fail_after(20):
        async with rig("sse", [hop("lifetime_cap")], tmp_path, time_scale=60) as r:
            await publish(r, 16, 0.05)  # busy through the cut
            await r.wait_received(16)
    connected = r.log.of(Connected)[0].t_ns
    cut = r.log.of(Disconnected)[0]
    assert abs((cut.t_ns - connected) / MS - 500) < TOLERANCE_MS
    m = compute(r.log, t0_ns=0)
    assert m.reconnects >= 1 and m.lost == 0 and m.delivered == 16


async def test_ws_refuse_makes_the_websocket_handshake_fail(tmp_path):
    with trio.fail_after(20):
        async with rig("websocket", [hop("ws_refuse")], tmp_path, wait_for_request=False) as r:
            await r.wait_until(lambda log: len(log.of(Disconnected)) >= 2)  # two refusals
    assert r.log.of(Connected) == []
    assert all("handshake failed" in d.reason and "403" in d.reason for d in r.log.of(Disconnected))
    assert not [s for s in r.log.of(ServerRequest) if s.path == "/ws"]


async def test_ws_accept_then_kill_completes_the_upgrade_then_cuts_it(tmp_path):
    with trio.fail_after(20):
        async with rig("websocket", [hop("ws_accept_then_kill")], tmp_path) as r:
            await publish(r, 10, 0.1)
    conns = {c.conn: c.t_ns for c in r.log.of(Connected)}
    cuts = [d for d in r.log.of(Disconnected) if d.conn in conns]
    assert len(cuts) >= 2, "a naive client flaps: connect, killed, reconnect, killed"
    for d in cuts:
        assert abs((d.t_ns - conns[d.conn]) / MS - 300) < TOLERANCE_MS


async def test_gzip_buffer_holds_a_stream_inside_the_compressor(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("gzip_buffer")], tmp_path) as r:
            await publish(r, 5, 0.1)
            await trio.sleep(0.5)
    assert r.log.of(Received) == []
    with trio.fail_after(20):
        async with rig("sse_close_each", [hop("gzip_buffer")], tmp_path) as r:
            await publish(r, 3, 0.1)
            await r.wait_received(3)  # the compressor is flushed when each response ends


async def test_http10_hop_speaks_http10_both_ways_and_streams_close_delimited(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("http10_hop")], tmp_path) as r:
            await publish(r, 3, 0.05)
            await r.wait_received(3)
    assert {s.http_version for s in r.log.of(ServerRequest)} == {"HTTP/1.0"}
    assert {c.http_version for c in r.log.of(Connected)} == {"HTTP/1.0"}
    assert max(latencies_ms(r.log)) < 50


async def test_h1_only_keeps_both_sides_on_http11(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("h1_only")], tmp_path) as r:
            await publish(r, 1, 0)
            await r.wait_received(1)
    assert {s.http_version for s in r.log.of(ServerRequest)} == {"HTTP/1.1"}
    assert {c.http_version for c in r.log.of(Connected)} == {"HTTP/1.1"}


async def test_a_three_hop_chain_runs_and_is_reported_hop_by_hop(tmp_path):
    chain = Intermediary(
        "corp-chain",
        "corporate proxy, then two CDN-ish hops",
        (
            hop("size_buffer", size_buffer_bytes=256),
            hop("transparent"),
            hop("http10_hop"),
        ),
    )
    cell = CellSpec(
        "test",
        "sse",
        chain,
        Workload(10, 20, 64),
        Budget(250),
        Timing(30, 30),
        Verdict.PASS,
        "blocks of 256 bytes flow; nothing is held for long",
    )
    with trio.fail_after(30):
        entry = await run_cell(cell, tmp_path)
    assert [h["behaviours"] for h in entry["hops"]] == [
        ["size_buffer"],
        ["transparent"],
        ["http10_hop"],
    ]
    assert [h["index"] for h in entry["hops"]] == [1, 2, 3]
    assert len({h["url"] for h in entry["hops"]}) == 3
    assert entry["server_saw"] == ["HTTP/1.0 /sse"]
    assert entry["metrics"]["sent"] == 10


async def test_h2_front_h1_back_client_speaks_h2_while_the_server_sees_http11(tmp_path):
    with trio.fail_after(30):
        front = await run_cell(cell((hop("h2_front_h1_back"),), protocol="h2"), tmp_path)
        plain = await run_cell(cell((hop("transparent"),), protocol="h2"), tmp_path)
    assert {c["http_version"] for c in front["connections"]} == {"HTTP/2"}
    assert front["server_saw"] == ["HTTP/1.1 /sse"]
    assert plain["server_saw"] == ["HTTP/2 /sse"]  # without it, h2 goes all the way
    assert front["metrics"]["delivered"] == 5


async def test_h1_only_refuses_http2_on_both_sides_even_when_offered(tmp_path):
    with trio.fail_after(30):
        entry = await run_cell(cell((hop("h1_only"),), protocol="h2"), tmp_path)
    assert {c["http_version"] for c in entry["connections"]} == {"HTTP/1.1"}
    assert entry["server_saw"] == ["HTTP/1.1 /sse"]


def forward(*behaviours: str) -> HopSpec:
    return HopSpec(behaviours, mode="regular")


async def test_connect_passthrough_lets_https_stream_live_but_plain_http_is_held(tmp_path):
    hops = (forward("connect_passthrough", "store_and_forward"),)
    with trio.fail_after(30):
        tunnelled = await run_cell(cell(hops, protocol="https"), tmp_path)
        plain = await run_cell(cell(hops), tmp_path)
    assert tunnelled["metrics"]["delivered"] == 5 and tunnelled["verdict"] == "PASS"
    assert tunnelled["metrics"]["latency_ms"]["max"] < 50
    assert plain["metrics"]["delivered"] == 0 and plain["verdict"] == "FAIL"


async def test_tls_intercept_with_store_and_forward_holds_the_https_stream(tmp_path):
    with trio.fail_after(30):
        entry = await run_cell(
            cell((forward("tls_intercept", "store_and_forward"),), protocol="https"), tmp_path
        )
        live = await run_cell(cell((forward("tls_intercept"),), protocol="https"), tmp_path)
    assert entry["metrics"]["delivered"] == 0 and entry["verdict"] == "FAIL"
    assert live["metrics"]["delivered"] == 5  # interception alone streams


async def test_network_adds_its_latency_once_per_event_not_per_chunk(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("network", network_latency_ms=100)], tmp_path) as r:
            await publish(r, 6, 0.05)
            await r.wait_received(6)
    lat = latencies_ms(r.log)
    assert all(100 <= x < 100 + TOLERANCE_MS for x in lat), lat


async def test_network_resets_cut_connections_and_long_polling_recovers(tmp_path):
    spec = [hop("network", network_reset_per_mille=300, network_seed=1)]
    with trio.fail_after(20):
        async with rig("long_poll", spec, tmp_path) as r:
            await publish(r, 5, 0.05)
            await r.wait_received(5)  # long polling recovers from every reset
    resets = [d.reason for d in r.log.of(Disconnected)]
    assert resets and all("poll failed" in reason for reason in resets)
    assert compute(r.log, t0_ns=0).lost == 0


async def test_time_flush_releases_in_bursts_every_interval(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("time_flush", time_flush_interval_ms=300)], tmp_path) as r:
            await publish(r, 6, 0.1)
            await r.wait_received(6)
    arrivals = sorted(rec.t_ns for rec in r.log.of(Received))
    bursts = [a for a, prev in zip(arrivals, [0, *arrivals], strict=False) if a - prev > 20 * MS]
    gaps_ms = [(b - a) / MS for a, b in zip(bursts, bursts[1:], strict=False)]
    assert len(bursts) <= 3, "six events 100 ms apart arrive in at most three bursts"
    assert all(abs(g - 300) < TOLERANCE_MS for g in gaps_ms), gaps_ms
    assert max(latencies_ms(r.log)) < 300 + TOLERANCE_MS


async def test_external_forward_proxy_joins_a_chain_without_gauntlet_starting_it(tmp_path):
    # A team's own proxy, already running: here a plain mitmdump started outside the cell.
    from gauntlet.hops import running_hop
    from gauntlet.spec import scale_hop

    with trio.fail_after(30):
        async with running_hop(
            scale_hop(HopSpec(("transparent",), mode="regular")), 9, None, tmp_path / "team-proxy"
        ) as team_proxy:
            external = HopSpec((), mode="regular", external=team_proxy.url)
            entry = await run_cell(cell((external, hop("store_and_forward"))), tmp_path)
            assert team_proxy.process.returncode is None  # the cell did not stop it
    assert [h["external"] for h in entry["hops"]] == [True, False]
    assert entry["hops"][0]["url"] == team_proxy.url
    assert entry["metrics"]["delivered"] == 0  # the buffering hop behind it still holds sse


async def test_lifetime_cap_ttfb_cuts_a_request_whose_response_never_starts(tmp_path):
    # Heroku's 30 s to first byte, scaled by 100: 300 ms. With nothing published, the
    # server holds each long poll for 10 s, so only the cut can end it sooner.
    spec = [hop("lifetime_cap", lifetime_cap_ms=0, lifetime_cap_ttfb_ms=30_000)]
    with trio.fail_after(20):
        async with rig("long_poll", spec, tmp_path, time_scale=100) as r:
            await r.wait_until(lambda log: len(log.of(Request)) >= 3)  # two cuts
    starts = [q.t_ns for q in r.log.of(Request)]
    assert r.log.of(Connected) == []  # no poll ever got a response
    backoff_ms = 50  # the client's first reconnect delay (gauntlet.clients.base.Backoff)
    assert abs((starts[1] - starts[0]) / MS - 300 - backoff_ms) < TOLERANCE_MS


async def test_named_corporate_chain_holds_https_sse_but_not_close_each(tmp_path):
    from gauntlet.scenario import load_intermediaries

    chain = load_intermediaries()["corporate_tls_cdn"]
    with trio.fail_after(40):
        held = await run_cell(cell(chain.hops, protocol="h2"), tmp_path)
        flushed = await run_cell(
            cell(chain.hops, transport="sse_close_each", protocol="h2"), tmp_path
        )
    assert [h["behaviours"] for h in held["hops"]] == [
        ["tls_intercept", "store_and_forward"],
        ["h2_front_h1_back", "idle_timeout"],
    ]
    assert held["metrics"]["delivered"] == 0
    assert flushed["metrics"]["delivered"] == 5
    assert flushed["server_saw"] == ["HTTP/1.1 /sse/close-each"]


async def test_keep_back_holds_the_start_of_a_stream_for_t_then_relays_live(tmp_path):
    with trio.fail_after(20):
        async with rig("sse", [hop("keep_back", keep_back_ms=300)], tmp_path) as r:
            await publish(r, 1, 0)  # published during the hold
            await r.wait_received(1)
            await publish(r, 3, 0.05)  # after the hold: live
            await r.wait_received(4)
    request = r.log.of(ServerRequest)[0].t_ns
    held_ms = (r.log.of(Received)[0].t_ns - request) / MS
    assert 300 <= held_ms < 300 + TOLERANCE_MS, held_ms
    assert max(latencies_ms(r.log)[1:]) < 50


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_drop_events_loss_is_reported_exactly_with_the_dropped_ids(tmp_path, transport):
    from gauntlet.proxies.drop_events import drops

    seed, per_mille, events = 11, 200, 40
    expected = tuple(i for i in range(1, events + 1) if drops(seed, i, per_mille))
    spec = hop("drop_events", drop_events_per_mille=per_mille, drop_events_seed=seed)
    inter = Intermediary("drop_events", "drops a seeded set of events", (spec,))
    lossy = CellSpec(
        "test", transport, inter, Workload(events, 40, 64), Budget(250), Timing(1, 1), None, None
    )
    with trio.fail_after(30):
        entry = await run_cell(lossy, tmp_path)
    assert 0 < len(expected) < events
    m = entry["metrics"]
    assert m["sent"] == events and m["duplicates"] == 0
    assert m["lost"] == len(expected) and tuple(m["lost_ids"]) == expected
    assert m["delivered"] == events - len(expected)


async def test_error_status_fails_an_event_source_for_good_but_polling_recovers(tmp_path):
    gateway = hop(
        "error_status",
        error_status_code=504,
        error_status_first_n=2,
        error_status_paths="/sse,/poll",
    )
    with trio.fail_after(20):
        async with rig("sse", [gateway], tmp_path, wait_for_request=False) as r:
            await r.wait_until(lambda log: log.of(Disconnected))
    assert r.log.of(Connected) == [] and len(r.log.of(Request)) == 1  # never retried
    assert "status 504" in r.log.of(Disconnected)[0].reason
    assert not r.log.of(ServerRequest)  # the gateway answered; the origin saw nothing
    with trio.fail_after(20):
        async with rig("long_poll", [gateway], tmp_path, wait_for_request=False) as r:
            await r.wait_until(lambda log: log.of(ServerRequest))  # the third poll gets through
            await publish(r, 2, 0.05)
            await r.wait_received(2)
    assert len(r.log.of(Request)) >= 3


async def test_access_log_records_each_request_target_in_the_hop_log(tmp_path):
    with trio.fail_after(20):
        async with rig("sse_close_each", [hop("access_log")], tmp_path) as r:
            await publish(r, 2, 0.05)
            await r.wait_received(2)
    log = (tmp_path / "hop1.log").read_text()
    assert "access: GET 127.0.0.1:" in log and "/sse/close-each" in log
    assert "access: server-connect 127.0.0.1:" in log


# --- emulations of real devices (tests/e2e/test_external_proxies.py runs the devices) ------


async def test_nginx_defaults_holds_headers_and_refuses_websocket_as_nginx_does(tmp_path):
    """Five small events stay in the first page, headers included; WebSocket gets a 404."""
    with trio.fail_after(60):
        sse = await run_cell(cell((hop("nginx_defaults"),)), tmp_path)
        ws = await run_cell(cell((hop("nginx_defaults"),), transport="websocket"), tmp_path)
        close_each = await run_cell(
            cell((hop("nginx_defaults"),), transport="sse_close_each"), tmp_path
        )
    assert sse["server_saw"] == ["HTTP/1.0 /sse"] and sse["connections"] == []
    assert sse["metrics"]["delivered"] == 0 and sse["verdict"] == "FAIL"
    assert ws["server_saw"] == ["HTTP/1.0 /ws"] and ws["metrics"]["delivered"] == 0
    assert all("404" in c["ended"] for c in ws["connections"]) and ws["connections"]
    assert close_each["metrics"]["delivered"] == 5 and close_each["verdict"] == "PASS"


async def test_nginx_defaults_releases_exactly_the_first_page(tmp_path):
    """90 events at 100/s: ids 1..k where headers + k events fit in 4096 bytes (byte math)."""
    spec = cell((hop("nginx_defaults"),), events=90, rate_per_s=100)
    with trio.fail_after(60):
        entry = await run_cell(spec, tmp_path)
    delivered = sorted(s["id"] for s in entry["samples"] if s["received_ms"])
    k = len(delivered)
    assert 0 < k < 90 and delivered == list(range(1, k + 1)), delivered
    prelude = len(b"retry: 3000\n\n")
    body = [
        prelude + sum(len(f"id: {i}\ndata: \n\n") + 64 for i in range(1, n + 1)) for n in (k, k + 1)
    ]
    assert body[0] <= 4096 < body[1] + 512, (k, body)


async def test_gzip_flush_delivers_each_gzipped_event_as_it_comes(tmp_path):
    with trio.fail_after(30):
        entry = await run_cell(cell((hop("gzip_flush"),)), tmp_path)
    m = entry["metrics"]
    assert m["delivered"] == 5 and m["latency_ms"]["max"] < 50 and entry["verdict"] == "PASS"


async def test_chunked_cork_delays_chunked_events_200_ms_but_not_ended_bodies(tmp_path):
    """haproxy's defaults: ~200 ms per sse event; long polls and WebSocket go at once.

    At 5 events/s each event has its own 200 ms window (at 20/s they would share one)."""
    spec = cell((hop("chunked_cork"),), rate_per_s=5)
    with trio.fail_after(60):
        sse = await run_cell(spec, tmp_path)
        poll = await run_cell(cell((hop("chunked_cork"),), transport="long_poll"), tmp_path)
        ws = await run_cell(cell((hop("chunked_cork"),), transport="websocket"), tmp_path)
    assert sse["metrics"]["delivered"] == 5
    assert abs(sse["metrics"]["latency_ms"]["p50"] - 200) < TOLERANCE_MS
    for entry in (poll, ws):
        assert entry["metrics"]["delivered"] == 5
        assert entry["metrics"]["latency_ms"]["p50"] < sse["metrics"]["latency_ms"]["p50"] - 100


async def test_connect_passthrough_refuses_connect_to_a_port_outside_ssl_ports(tmp_path):
    """Debian's squid: CONNECT only to 443. ws:// (port 80 in production) is refused."""
    hops = (forward("connect_passthrough"),)
    with trio.fail_after(30):
        plain = await run_cell(cell(hops, transport="websocket"), tmp_path)
        tls = await run_cell(cell(hops, transport="websocket", protocol="https"), tmp_path)
    assert plain["connections"] and all("403" in c["ended"] for c in plain["connections"])
    assert plain["metrics"]["delivered"] == 0 and plain["verdict"] == "FAIL"
    assert tls["metrics"]["delivered"] == 5 and tls["verdict"] == "PASS"
