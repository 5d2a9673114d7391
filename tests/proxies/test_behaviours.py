"""Behaviour addons, tested without sockets (mitmproxy's taddons / tflow helpers).

Determinism contract: no sockets, no clock; each test drives the addon hooks by hand and
feeds body chunks through the stream callable exactly as mitmproxy's HTTP layer would.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import zlib
from pathlib import Path

import pytest
from mitmproxy import tcp, websocket
from mitmproxy.proxy import server_hooks
from mitmproxy.test import taddons, tflow
from wsproto.frame_protocol import Opcode

from gauntlet import proxies
from gauntlet.proxies._body import HOLD_WHOLE_RESPONSE, BodyPipeline, add_body_filter


def load(name: str):
    """A fresh copy of the addon module (its own addon instance), under its package name so
    that `tox -e mutation` sees these tests exercise `gauntlet.proxies.<name>`."""
    path = Path(proxies.PROXIES_DIR) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"gauntlet.proxies.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.addons[0]


def stream_through(flow, chunks: list[bytes]) -> list[list[bytes]]:
    """What the client gets after each chunk and after the end marker b""."""
    stream = flow.response.stream
    return [list(stream(c)) if callable(stream) else [c] for c in chunks + [b""]]


def test_transparent_streams_every_chunk_as_it_comes():
    addon = load("transparent")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        assert flow.response.stream is True


def test_transparent_can_do_nginx_defaults_connection_work_and_nothing_else():
    addon = load("transparent")
    with taddons.context(addon) as tctx:
        flow = tflow.tflow(resp=True)  # by default: nothing changes but streaming
        addon.requestheaders(flow)
        assert flow.request.http_version == "HTTP/1.1"
        tctx.configure(addon, transparent_connection_per_request=True)
        flow = tflow.tflow(resp=True)
        flow.request.headers["connection"] = "keep-alive"
        addon.requestheaders(flow)
        assert flow.request.http_version == "HTTP/1.0"  # upstream closes after the response
        assert flow.request.headers["connection"] == "close"
        flow.response.http_version = "HTTP/1.0"
        del flow.response.headers["content-length"]
        addon.responseheaders(flow)
        assert flow.response.http_version == "HTTP/1.1"  # as the client asked
        assert flow.response.headers["connection"] == "close"
        assert flow.response.headers["transfer-encoding"] == "chunked"
        assert flow.response.stream is True  # no holding: the behaviour is not the relay's


def test_store_and_forward_holds_body_until_end():
    addon = load("store_and_forward")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        out = stream_through(flow, [b"id: 1\n\n", b"id: 2\n\n"])
        assert out == [[], [], [b"id: 1\n\nid: 2\n\n"]]


def test_store_and_forward_can_hold_headers_too():
    addon, baseline = load("store_and_forward"), load("_baseline")
    with taddons.context(addon, baseline) as tctx:
        tctx.configure(addon, store_and_forward_hold_headers=True)
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        baseline.responseheaders(flow)
        assert flow.metadata[HOLD_WHOLE_RESPONSE] is True
        assert flow.response.stream is False  # mitmproxy reads the whole response first


def test_store_and_forward_leaves_websocket_upgrade_alone():
    addon = load("store_and_forward")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        flow.response.status_code = 101
        addon.responseheaders(flow)
        assert not flow.response.stream


def test_transparent_does_not_undo_a_holding_behaviour_stacked_before_it():
    saf, transparent = load("store_and_forward"), load("transparent")
    with taddons.context(saf, transparent):
        flow = tflow.tflow(resp=True)
        saf.responseheaders(flow)
        transparent.responseheaders(flow)
        assert isinstance(flow.response.stream, BodyPipeline)
        assert stream_through(flow, [b"a", b"b"]) == [[], [], [b"ab"]]


def test_pipeline_runs_filters_in_order_and_flushes_each_at_end():
    flow = tflow.tflow(resp=True)
    add_body_filter(flow, lambda c: [c.upper()] if c else [b"!"])
    add_body_filter(flow, lambda c: [c + b"."] if c else [])
    assert stream_through(flow, [b"a", b"b"]) == [[b"A."], [b"B."], [b"!."]]


def test_baseline_streams_what_no_behaviour_holds():
    baseline = load("_baseline")
    with taddons.context(baseline):
        flow = tflow.tflow(resp=True)
        baseline.responseheaders(flow)
        assert flow.response.stream is True


@pytest.mark.parametrize(
    ("block", "chunks", "expected"),
    [
        (4, [b"ab", b"cd", b"e"], [[], [b"abcd"], [], [b"e"]]),
        (2, [b"abcde"], [[b"ab", b"cd"], [b"e"]]),
        (8, [b"abc"], [[], [b"abc"]]),
    ],
)
def test_size_buffer_releases_whole_blocks_and_the_rest_at_the_end(block, chunks, expected):
    addon = load("size_buffer")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, size_buffer_bytes=block)
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        assert stream_through(flow, chunks) == expected


def test_size_buffer_threshold_mode_streams_after_the_first_block():
    addon = load("size_buffer")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, size_buffer_bytes=4, size_buffer_mode="threshold")
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        assert stream_through(flow, [b"ab", b"cdef", b"g"]) == [[], [b"abcd", b"ef"], [b"g"], []]


def test_size_buffer_rejects_a_zero_block():
    addon = load("size_buffer")
    with taddons.context(addon) as tctx, pytest.raises(Exception, match="size_buffer_bytes"):
        tctx.configure(addon, size_buffer_bytes=0)


def sse_flow(cache_control: str | None = None):
    flow = tflow.tflow(resp=True)
    flow.request.headers["accept-encoding"] = "gzip, deflate"
    flow.response.headers["content-type"] = "text/event-stream"
    if cache_control:
        flow.response.headers["cache-control"] = cache_control
    return flow


def test_gzip_buffer_compresses_event_streams_and_holds_small_events():
    addon = load("gzip_buffer")
    with taddons.context(addon):
        flow = sse_flow()
        addon.responseheaders(flow)
        assert flow.response.headers["content-encoding"] == "gzip"
        out = stream_through(flow, [b"data: 1\n\n", b"data: 2\n\n"])
        assert len(b"".join(out[0] + out[1])) <= 10  # at most the gzip header before the end
        assert gzip.decompress(b"".join(sum(out, []))) == b"data: 1\n\ndata: 2\n\n"


@pytest.mark.parametrize(("honour", "compressed"), [(True, False), (False, True)])
def test_gzip_buffer_no_transform_is_honoured_only_when_configured(honour, compressed):
    addon = load("gzip_buffer")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, gzip_buffer_honour_no_transform=honour)
        flow = sse_flow("no-cache, no-transform")
        addon.responseheaders(flow)
        assert ("content-encoding" in flow.response.headers) is compressed


def test_gzip_buffer_leaves_clients_that_do_not_accept_gzip_alone():
    addon = load("gzip_buffer")
    with taddons.context(addon):
        flow = sse_flow()
        del flow.request.headers["accept-encoding"]
        addon.responseheaders(flow)
        assert "content-encoding" not in flow.response.headers


def ws_flow():
    flow = tflow.tflow()
    flow.request.headers["upgrade"] = "websocket"
    flow.request.headers["connection"] = "Upgrade"
    flow.request.headers["sec-websocket-key"] = "x"
    return flow


def test_ws_refuse_answers_403_to_an_upgrade_and_ignores_plain_requests():
    addon = load("ws_refuse")
    with taddons.context(addon):
        flow = ws_flow()
        addon.requestheaders(flow)
        assert flow.response.status_code == 403
        plain = tflow.tflow()
        addon.requestheaders(plain)
        assert plain.response is None


def test_ws_refuse_strip_mode_removes_the_upgrade_headers():
    addon = load("ws_refuse")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, ws_refuse_mode="strip")
        flow = ws_flow()
        addon.requestheaders(flow)
        assert flow.response is None
        assert "upgrade" not in flow.request.headers
        assert "sec-websocket-key" not in flow.request.headers
        with pytest.raises(Exception, match="ws_refuse_mode"):
            tctx.configure(addon, ws_refuse_mode="maybe")


def test_http10_hop_downgrades_both_directions_and_drops_chunking():
    addon = load("http10_hop")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        flow.response.headers["transfer-encoding"] = "chunked"
        addon.requestheaders(flow)
        addon.responseheaders(flow)
        assert flow.request.http_version == flow.response.http_version == "HTTP/1.0"
        assert "transfer-encoding" not in flow.response.headers
        assert flow.response.headers["connection"] == "close"


def test_h1_only_turns_http2_off():
    addon = load("h1_only")
    with taddons.context(addon) as tctx:
        assert tctx.options.http2 is True
        addon.running()
        assert tctx.options.http2 is False


def test_h2_front_h1_back_offers_only_http11_to_the_server():
    addon = load("h2_front_h1_back")
    with taddons.context(addon) as tctx:
        tctx.options.http2 = False
        addon.running()
        assert tctx.options.http2 is True
        data = server_hooks.ServerConnectionHookData(
            server=tflow.tserver_conn(), client=tflow.tclient_conn()
        )
        addon.server_connect(data)
        assert data.server.alpn_offers == (b"http/1.1",)


@pytest.mark.parametrize(
    ("name", "ignore_hosts"),
    [
        ("connect_passthrough", [".*"]),
        ("tls_intercept", []),
    ],
)
def test_forward_proxies_tunnel_or_intercept_every_host(name, ignore_hosts):
    addon = load(name)
    with taddons.context(addon) as tctx:
        tctx.options.ignore_hosts = ["example"]
        addon.running()
        assert tctx.options.ignore_hosts == ignore_hosts
    assert proxies.BEHAVIOURS[name].mode == "regular"


def test_network_releases_chunks_as_a_pipeline_in_order():
    addon = load("network")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, network_latency_ms=100, network_bandwidth_kbps=8)  # 1 byte/ms
        key = ("flow", False)
        assert addon.release_at(key, 0.0, 10) == pytest.approx(0.110)
        assert addon.release_at(key, 0.001, 10) == pytest.approx(0.120)  # queued behind it
        assert addon.release_at(key, 5.0, 0) == pytest.approx(5.100)  # no build-up when idle


def test_network_jitter_is_seeded():
    def delays(seed: int) -> list[float]:
        addon = load("network")
        with taddons.context(addon) as tctx:
            tctx.configure(addon, network_latency_ms=50, network_jitter_ms=40, network_seed=seed)
            return [addon.release_at((str(i), False), 0.0, 0) for i in range(20)]

    assert delays(7) == delays(7) != delays(8)
    assert all(0.010 <= d <= 0.090 for d in delays(7))


def test_time_flush_holds_server_bytes_and_passes_client_bytes():
    addon = load("time_flush")
    with taddons.context(addon) as tctx:
        tctx.master.commands.call = lambda name, flow, to_client, data: None
        flow = tflow.ttcpflow()
        flow.messages = [tcp.TCPMessage(False, b"event one")]
        addon.tcp_message(flow)
        assert flow.messages[-1].content == b"" and addon.held[flow.id] == b"event one"
        flow.messages.append(tcp.TCPMessage(True, b"GET /"))
        addon.tcp_message(flow)
        assert flow.messages[-1].content == b"GET /"
        release = b"event one"
        addon.reinjector.send(flow, release)  # what its timer does with the held bytes
        flow.messages.append(tcp.TCPMessage(False, release))
        addon.tcp_message(flow)  # our own release passes through untouched
        assert flow.messages[-1].content == b"event one"


def test_keep_back_holds_server_bytes_for_t_from_the_first_byte_then_relays_live():
    addon = load("keep_back")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, keep_back_ms=250)
        injected: list[bytes] = []
        tctx.master.commands.call = lambda name, flow, to_client, data: injected.append(data)
        flow = tflow.ttcpflow()
        flow.messages = [tcp.TCPMessage(True, b"GET /")]
        addon.tcp_message(flow)
        assert flow.messages[-1].content == b"GET /" and flow.id not in addon.timers
        for chunk in (b"HTTP/1.1 200", b" OK"):
            flow.messages.append(tcp.TCPMessage(False, chunk))
            addon.tcp_message(flow)
            assert flow.messages[-1].content == b""
        loop = tctx.master.event_loop
        assert addon.timers[flow.id].when() - loop.time() == pytest.approx(0.250, abs=0.05)
        addon.release(flow)  # what the timer does at T
        assert injected == [b"HTTP/1.1 200 OK"]
        flow.messages.append(tcp.TCPMessage(False, b"id: 2"))  # before our release echoes
        addon.tcp_message(flow)
        assert flow.messages[-1].content == b"" and injected[-1] == b"id: 2"  # kept in order
        for echo in list(injected):
            flow.messages.append(tcp.TCPMessage(False, echo))
            addon.tcp_message(flow)
            assert flow.messages[-1].content == echo  # our own releases pass untouched
        flow.messages.append(tcp.TCPMessage(False, b"id: 3"))
        addon.tcp_message(flow)
        assert flow.messages[-1].content == b"id: 3"  # after the hold: live
        addon.tcp_end(flow)
        assert flow.id not in addon.held and flow.id not in addon.timers


def sse_frames(*ids: int) -> bytes:
    return b"".join(b"id: %d\ndata: {}\n\n" % i for i in ids)


def test_drop_events_choice_is_a_pure_function_of_seed_id_and_share():
    drop_events = importlib.import_module("gauntlet.proxies.drop_events")
    chosen = [i for i in range(1, 2001) if drop_events.drops(7, i, 100)]
    assert chosen == [i for i in range(1, 2001) if drop_events.drops(7, i, 100)]
    assert 150 < len(chosen) < 250  # about 10 %
    assert chosen != [i for i in range(1, 2001) if drop_events.drops(8, i, 100)]
    assert not any(drop_events.drops(7, i, 0) for i in range(1, 200))
    assert all(drop_events.drops(7, i, 1000) for i in range(1, 200))


@pytest.mark.parametrize("cut", [1, 5, 9, 17, 40])
def test_drop_events_removes_exactly_the_chosen_sse_frames_however_chunked(cut):
    drop_events = importlib.import_module("gauntlet.proxies.drop_events")
    addon = load("drop_events")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, drop_events_per_mille=300, drop_events_seed=3)
        flow = sse_flow()
        addon.responseheaders(flow)
        body = b"retry: 50\n\n" + sse_frames(*range(1, 21)) + b": heartbeat\n\nid: 21"
        chunks = [body[i : i + cut] for i in range(0, len(body), cut)]
        out = b"".join(b"".join(c) for c in stream_through(flow, chunks))
    kept = [i for i in range(1, 21) if not drop_events.drops(3, i, 300)]
    assert 0 < len(kept) < 20
    assert out == b"retry: 50\n\n" + sse_frames(*kept) + b": heartbeat\n\nid: 21"


def test_drop_events_drops_chosen_websocket_messages_and_leaves_other_bodies_alone():
    drop_events = importlib.import_module("gauntlet.proxies.drop_events")
    addon = load("drop_events")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, drop_events_per_mille=500, drop_events_seed=1)
        flow = tflow.twebsocketflow()
        for i in range(1, 11):
            flow.websocket.messages.append(
                websocket.WebSocketMessage(Opcode.TEXT, False, b'{"id": %d, "sent_ns": 1}' % i)
            )
            addon.websocket_message(flow)
        flow.websocket.messages.append(websocket.WebSocketMessage(Opcode.TEXT, True, b"hi"))
        addon.websocket_message(flow)
        dropped = [json.loads(m.content)["id"] for m in flow.websocket.messages if m.dropped]
        assert dropped == [i for i in range(1, 11) if drop_events.drops(1, i, 500)]
        assert not flow.websocket.messages[-1].dropped
        plain = tflow.tflow(resp=True)  # JSON (long poll) is not an event stream: untouched
        addon.responseheaders(plain)
        assert not plain.response.stream


def test_tcp_behaviours_run_alone_in_reverse_hops():
    from gauntlet.errors import ScenarioError
    from gauntlet.hops import mitmdump_args
    from gauntlet.spec import HopSpec, scale_hop

    args = mitmdump_args(scale_hop(HopSpec(("network",))), "https://127.0.0.1:9", Path("/c"), 3)
    assert args[args.index("--mode") + 1] == "reverse:tcp://127.0.0.1:9"
    with pytest.raises(ScenarioError, match="connection-level"):
        HopSpec(("network", "store_and_forward"))
    assert proxies.BEHAVIOURS["time_flush"].layer == "tcp"


@pytest.mark.parametrize(
    ("name", "option", "default", "scaled"),
    [
        ("idle_timeout", "idle_timeout_ms", 60_000, True),
        ("lifetime_cap", "lifetime_cap_ms", 30_000, True),
        ("lifetime_cap", "lifetime_cap_ttfb_ms", 0, True),
        ("ws_accept_then_kill", "ws_kill_after_ms", 300, False),
        ("network", "network_latency_ms", 0, False),
    ],
)
def test_timed_behaviours_declare_real_world_defaults_in_ms(name, option, default, scaled):
    """Their effect needs a live connection: tests/e2e/test_behaviours_e2e.py shows it."""
    addon = load(name)
    with taddons.context(addon) as tctx:
        assert getattr(tctx.options, option) == default
    assert next(o for o in proxies.BEHAVIOURS[name].options if o.name == option).scaled is scaled


def test_only_real_world_patience_is_divided_by_the_time_scale():
    from gauntlet.spec import HopSpec, scale_options

    spec = HopSpec(("idle_timeout",), options=(("idle_timeout_ms", "90000"),))
    assert scale_options(spec, 30) == {"idle_timeout_ms": "3000"}
    assert scale_options(HopSpec(("lifetime_cap",)), 60) == {
        "lifetime_cap_ms": "500",
        "lifetime_cap_ttfb_ms": "0",
    }
    latency = HopSpec(("network",), options=(("network_latency_ms", "100"),))
    assert scale_options(latency, 30) == {"network_latency_ms": "100"}


@pytest.mark.parametrize("name", sorted(proxies.BEHAVIOURS))
def test_every_behaviour_is_documented_with_device_and_source(name):
    behaviour = proxies.BEHAVIOURS[name]
    assert behaviour.summary.endswith("."), f"{name}: first docstring line must be a sentence"
    assert behaviour.imitates, f"{name}: docstring needs an 'Imitates:' line"
    assert behaviour.source, f"{name}: docstring needs a 'Source:' line"


E2E_TESTS = Path(__file__).parents[1] / "e2e" / "test_behaviours_e2e.py"


@pytest.mark.parametrize("name", sorted(proxies.BEHAVIOURS))
def test_every_behaviour_has_a_unit_test_and_an_end_to_end_test(name):
    unit = Path(__file__).read_text()
    assert f'"{name}"' in unit, f"{name} has no unit test in {Path(__file__).name}"
    assert f'"{name}"' in E2E_TESTS.read_text(), f"{name} has no test in {E2E_TESTS.name}"


@pytest.mark.parametrize(
    ("header", "honour", "held"),
    [
        ("no", True, False),
        ("no", False, True),
        (None, True, True),
        ("yes", True, True),
    ],
)
def test_size_buffer_streams_when_the_upstream_sends_x_accel_buffering_no(header, honour, held):
    addon = load("size_buffer")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, size_buffer_bytes=4, size_buffer_honour_x_accel=honour)
        flow = tflow.tflow(resp=True)
        if header:
            flow.response.headers["x-accel-buffering"] = header
        addon.responseheaders(flow)
        assert isinstance(flow.response.stream, BodyPipeline) is held


def test_error_status_answers_the_first_n_matching_requests_then_forwards():
    addon = load("error_status")
    with taddons.context(addon) as tctx:
        tctx.configure(
            addon, error_status_code=504, error_status_first_n=2, error_status_paths="/sse, /ws"
        )
        page = tflow.tflow()
        page.request.path = "/browser/page"
        addon.requestheaders(page)
        assert page.response is None  # outside the prefix: forwarded, not counted
        answered = []
        for _ in range(3):
            flow = tflow.tflow()
            flow.request.path = "/sse"
            addon.requestheaders(flow)
            answered.append(flow.response.status_code if flow.response else None)
        assert answered == [504, 504, None]
        with pytest.raises(Exception, match="error_status_code"):
            tctx.configure(addon, error_status_code=200)


def test_error_status_with_first_n_zero_answers_every_request():
    addon = load("error_status")
    with taddons.context(addon):
        codes = []
        for _ in range(5):
            flow = tflow.tflow()
            addon.requestheaders(flow)
            codes.append(flow.response.status_code)
        assert codes == [503] * 5


def test_access_log_writes_every_target_and_changes_nothing(caplog):
    addon = load("access_log")
    with taddons.context(addon):
        flow = tflow.tflow()
        flow.request.host, flow.request.port, flow.request.path = "127.0.0.1", 8080, "/sse"
        before = flow.request.get_state()
        addon.http_connect(flow)
        addon.requestheaders(flow)
        addon.server_connect(
            server_hooks.ServerConnectionHookData(server=flow.server_conn, client=flow.client_conn)
        )
        assert flow.request.get_state() == before and flow.response is None
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("access:")]
    assert lines[0] == "access: CONNECT 127.0.0.1:8080"
    assert lines[1] == "access: GET 127.0.0.1:8080 /sse"
    assert lines[2].startswith("access: server-connect ")


# --- emulations checked against the real device they name (issue 10) ---------------------


def test_gzip_flush_sends_each_event_as_a_decodable_gzip_piece():
    """nginx gzip with proxy_buffering off: every write leaves at once, sync-flushed."""
    addon = load("gzip_flush")
    with taddons.context(addon):
        flow = sse_flow()
        addon.responseheaders(flow)
        assert flow.response.headers["content-encoding"] == "gzip"
        out = stream_through(flow, [b"data: 1\n\n", b"data: 2\n\n"])
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        assert decoder.decompress(b"".join(out[0])) == b"data: 1\n\n"  # no wait for more
        assert decoder.decompress(b"".join(out[1])) == b"data: 2\n\n"
        assert gzip.decompress(b"".join(sum(out, []))) == b"data: 1\n\ndata: 2\n\n"


def test_gzip_flush_leaves_json_polls_compressed_and_plain_clients_alone():
    addon = load("gzip_flush")
    with taddons.context(addon):
        flow = sse_flow()
        del flow.request.headers["accept-encoding"]
        addon.responseheaders(flow)
        assert "content-encoding" not in flow.response.headers


def test_gzip_buffer_honours_no_transform_by_default_as_express_compression_does():
    addon = load("gzip_buffer")
    with taddons.context(addon):
        flow = sse_flow("no-cache, no-transform")
        addon.responseheaders(flow)
        assert "content-encoding" not in flow.response.headers


def nginx_flow(**response_headers: str):
    flow = ws_flow()
    flow.response = tflow.tresp()
    flow.response.http_version = "HTTP/1.0"
    flow.response.headers.clear()
    flow.response.headers["content-type"] = "text/event-stream"
    flow.response.headers["connection"] = "close"
    for name, value in response_headers.items():
        flow.response.headers[name.replace("_", "-")] = value
    return flow


def test_nginx_defaults_speaks_http10_upstream_and_drops_the_upgrade():
    addon = load("nginx_defaults")
    with taddons.context(addon):
        flow = ws_flow()
        addon.requestheaders(flow)
        assert flow.request.http_version == "HTTP/1.0"
        assert "upgrade" not in flow.request.headers
        assert flow.request.headers["connection"] == "close"  # as nginx sends it
        assert flow.request.headers["sec-websocket-key"] == "x"  # not hop-by-hop: passed on


def test_nginx_defaults_holds_headers_with_the_first_page_then_whole_pages():
    from mitmproxy.addons.proxyserver import Proxyserver
    from mitmproxy.net.http.http1 import assemble_response_head

    addon = load("nginx_defaults")
    with taddons.context(addon, Proxyserver()) as tctx:  # stream_large_bodies is its option
        tctx.configure(addon, nginx_buffer_bytes=1024)
        flow = nginx_flow()
        addon.responseheaders(flow)
        assert flow.metadata[HOLD_WHOLE_RESPONSE] is True and flow.response.stream is False
        head = len(assemble_response_head(flow.response))
        first = 1024 - head
        assert tctx.options.stream_large_bodies == str(first - 1)  # headers wait for it
        assert flow.response.headers["transfer-encoding"] == "chunked"
        assert flow.response.http_version == "HTTP/1.1"
        flow.response.stream = True  # what mitmproxy does when the first page is full
        body_filter = flow.response.stream
        assert callable(body_filter)
        assert body_filter(b"a" * first + b"b" * 1000) == [b"a" * first]
        assert body_filter(b"c" * 24) == [b"b" * 1000 + b"c" * 24]
        assert body_filter(b"d") == [] and body_filter(b"") == [b"d"]


def test_nginx_defaults_sets_its_hold_threshold_only_when_a_head_changes_it():
    """An options update reruns every addon's configure (2-6 ms in mitmdump): not per response."""
    from mitmproxy.addons.proxyserver import Proxyserver

    addon = load("nginx_defaults")
    with taddons.context(addon, Proxyserver()) as tctx:
        updates: list[set[str]] = []

        def seen(updated) -> None:  # held here: mitmproxy's signals keep weak references
            updates.append(set(updated))

        tctx.options.changed.connect(seen)
        for _ in range(3):  # the same head three times: one update
            addon.responseheaders(nginx_flow())
        assert updates == [{"stream_large_bodies"}]
        addon.responseheaders(nginx_flow(x_longer_head="x" * 10))  # another head length
        assert len(updates) == 2
        assert tctx.options.stream_large_bodies != "4095"


def test_nginx_defaults_streams_when_the_upstream_says_x_accel_buffering_no():
    addon = load("nginx_defaults")
    with taddons.context(addon):
        flow = nginx_flow(x_accel_buffering="no")
        addon.responseheaders(flow)
        assert flow.response.stream is True and HOLD_WHOLE_RESPONSE not in flow.metadata
        assert "x-accel-buffering" not in flow.response.headers  # nginx hides X-Accel-*


def test_nginx_defaults_rejects_a_buffer_smaller_than_its_headers():
    addon = load("nginx_defaults")
    with taddons.context(addon) as tctx, pytest.raises(Exception, match="nginx_buffer_bytes"):
        tctx.configure(addon, nginx_buffer_bytes=100)


def connect_flow(host: str, port: int):
    flow = tflow.tflow()
    flow.request.method, flow.request.host, flow.request.port = "CONNECT", host, port
    return flow


@pytest.mark.parametrize(
    ("host", "port", "tls", "rig_port_as", "refused"),
    [
        ("127.0.0.1", 45001, True, "scheme", False),  # the rig's origin stands for 443
        ("127.0.0.1", 45001, False, "scheme", True),  # ... and for 80 when plain (ws://)
        ("127.0.0.1", 45001, True, "real", True),  # a real squid here: the real port
        ("example.org", 443, False, "scheme", False),
        ("example.org", 8080, True, "scheme", True),
    ],
)
def test_connect_passthrough_allows_connect_to_ssl_ports_only(
    host, port, tls, rig_port_as, refused
):
    """Debian's squid.conf: `http_access deny CONNECT !SSL_ports`, SSL_ports = 443."""
    addon = load("connect_passthrough")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, connect_rig_port_as=rig_port_as)
        tctx.options.ssl_verify_upstream_trusted_ca = "/ca.pem" if tls else None
        flow = connect_flow(host, port)
        addon.http_connect(flow)
        assert (flow.response is not None and flow.response.status_code == 403) is refused


def test_connect_passthrough_port_list_and_its_errors():
    connect_passthrough = importlib.import_module("gauntlet.proxies.connect_passthrough")
    assert connect_passthrough.allowed_ports("443, 8000-8002") == {443, 8000, 8001, 8002}
    addon = load("connect_passthrough")
    with taddons.context(addon) as tctx:
        with pytest.raises(Exception, match="connect_allowed_ports"):
            tctx.configure(addon, connect_allowed_ports="https")
        with pytest.raises(Exception, match="connect_rig_port_as"):
            tctx.configure(addon, connect_rig_port_as="maybe")


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("cut", range(1, 80, 7))
def test_framer_finds_chunked_bodies_however_the_bytes_are_split(cut):
    framing = importlib.import_module("gauntlet.proxies._framing")
    wire = (
        CHUNKED_HEAD
        + b"5\r\nhello\r\n0\r\n\r\n"
        + b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"
        + b"HTTP/1.1 101 S\r\n\r\nws"
    )
    framer = framing.ResponseFramer()
    pieces = framer.feed(wire[:cut]) + framer.feed(wire[cut:])
    assert b"".join(p[0] for p in pieces) == wire
    held = b"".join(p[0] for p in pieces if p[1] and not p[2])
    assert held == b"5\r\nhello\r\n0\r\n"  # inside the chunked body, up to its last line
    assert [p[0] for p in pieces if p[2]] == [b"\r\n"]  # the body's end, once


def test_framer_leaves_what_is_not_http1_opaque():
    framing = importlib.import_module("gauntlet.proxies._framing")
    tls = b"\x16\x03\x01 tls"
    assert framing.ResponseFramer().feed(tls) == [(tls, False, False)]


def test_chunked_cork_holds_chunked_bytes_207_ms_and_lets_ends_go_at_once():
    """haproxy without http-no-delay: MSG_MORE inside a chunked body, none at its end."""
    addon = load("chunked_cork")
    with taddons.context(addon) as tctx:
        injected: list[bytes] = []
        tctx.master.commands.call = lambda name, flow, to_client, data: injected.append(data)
        flow = tflow.ttcpflow()
        for data in (CHUNKED_HEAD, b"5\r\nev  1\r\n", b"5\r\nev  2\r\n"):
            flow.messages.append(tcp.TCPMessage(False, data))
            addon.tcp_message(flow)
            assert flow.messages[-1].content == b""
        assert injected == [CHUNKED_HEAD]  # the head goes at once, the events wait
        loop = tctx.master.event_loop
        assert addon.timers[flow.id].when() - loop.time() == pytest.approx(0.207, abs=0.005)
        addon.release(flow, b"")  # what the timer does
        assert injected[-1] == b"5\r\nev  1\r\n5\r\nev  2\r\n"  # coalesced, as measured
        for echo in list(injected):
            flow.messages.append(tcp.TCPMessage(False, echo))
            addon.tcp_message(flow)
            assert flow.messages[-1].content == echo  # our own releases pass untouched
        flow.messages.append(tcp.TCPMessage(False, b"5\r\nev  3\r\n0\r\n\r\n"))
        addon.tcp_message(flow)
        assert injected[-1] == b"5\r\nev  3\r\n0\r\n\r\n"  # the body's end: no cork
        assert flow.id not in addon.timers
        poll = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        flow.messages.append(tcp.TCPMessage(False, poll))
        addon.tcp_message(flow)
        assert b"".join(injected[-2:]) == poll and flow.id not in addon.timers
        addon.tcp_end(flow)
        assert flow.id not in addon.framers


@pytest.mark.parametrize(
    ("content_type", "held"),
    [
        ("text/event-stream", True),
        ("text/html; charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("text/plain", False),
        ("application/json", False),
        ("", False),
    ],
)
def test_store_and_forward_holds_only_what_privoxy_filters(content_type, held):
    addon, baseline = load("store_and_forward"), load("_baseline")
    with taddons.context(addon, baseline) as tctx:
        tctx.configure(
            addon, store_and_forward_hold_headers=True, store_and_forward_filtered_types_only=True
        )
        flow = tflow.tflow(resp=True)
        flow.response.headers["content-type"] = content_type
        addon.responseheaders(flow)
        baseline.responseheaders(flow)
        assert bool(flow.metadata.get(HOLD_WHOLE_RESPONSE)) is held
        assert flow.response.stream is (not held)  # streamed live, or read whole first
