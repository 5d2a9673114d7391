"""harness/fidelity: the plan, the cells it makes, and the pure comparison of two cells."""

from __future__ import annotations

import pytest

from gauntlet import fidelity
from gauntlet.errors import ScenarioError
from gauntlet.report.fidelity import fidelity_html, fidelity_markdown
from tests.unit.fidelity_entry import entry


def test_identical_cells_agree():
    assert fidelity.compare(entry(), entry(), entry(p50=0.5)) == ("agree", [])


def test_added_latency_agrees_within_5_ms_or_25_percent():
    direct = entry(p50=1.0)
    assert fidelity.compare(entry(p50=5.0), entry(p50=9.9), direct)[0] == "agree"  # 4 vs 8.9
    status, diffs = fidelity.compare(entry(p50=5.0), entry(p50=11.0), direct)  # 4 vs 10
    assert status == "differ" and diffs == ["added p50 real 4.0 ms, emulation 10.0 ms"]
    # 200 vs 240 ms added: within 25 % of the larger
    assert fidelity.compare(entry(p50=201), entry(p50=241), direct)[0] == "agree"
    assert fidelity.compare(entry(p50=201), entry(p50=301), direct)[0] == "differ"


def test_a_refused_websocket_differs_on_verdict_delivery_headers_and_status():
    real = entry("FAIL", 0, conns=[{"conn": 1, "ended": "handshake failed: 404 Not Found"}])
    status, diffs = fidelity.compare(real, entry(), entry())
    assert status == "differ"
    assert diffs[:4] == [
        "verdict real FAIL, emulation PASS",
        "delivered real 0/15, emulation 15/15",
        "headers_seen real False, emulation True",
        "statuses real [404], emulation []",
    ]


def test_reconnecting_is_compared_not_the_exact_count():
    assert fidelity.compare(entry(reconnects=2), entry(reconnects=3), None)[0] == "agree"
    assert fidelity.compare(entry(reconnects=0), entry(reconnects=1), None)[0] == "differ"


def test_a_skipped_side_makes_the_row_skipped():
    skipped = entry("SKIPPED")
    skipped["reason"] = "haproxy not installed: apt-get install haproxy"
    assert fidelity.compare(skipped, entry(), None) == ("skipped", [skipped["reason"]])


def test_rows_pair_cells_by_workload_and_transport_and_mark_unclaimed():
    pairs = [
        {
            "real": "nginx:tuned",
            "emulation": "transparent~nginx:tuned",
            "claims": "c",
            "not_claimed": {"websocket": "docstring narrowed"},
        },
        {
            "real": "haproxy:defaults",
            "emulation": None,
            "claims": "nothing imitates it",
            "not_claimed": {},
        },
    ]
    cells = [
        entry(id_=f"steady:{t}-{i}", p50=p)
        for t in ("sse", "websocket")
        for i, p in (
            ("direct", 0.5),
            ("nginx:tuned", 0.8),
            ("transparent~nginx:tuned", 1.1),
            ("haproxy:defaults", 200.0),
        )
    ]
    rows = fidelity.rows(cells, pairs)
    by = {(r["device"], r["preset"], r["transport"]): r for r in rows}
    assert by[("nginx", "tuned", "sse")]["status"] == "agree"
    assert by[("nginx", "tuned", "websocket")]["status"] == "not claimed"
    assert by[("nginx", "tuned", "websocket")]["differs"] == ["docstring narrowed"]
    assert by[("haproxy", "defaults", "sse")]["status"] == "not claimed"
    assert by[("haproxy", "defaults", "sse")]["real"]["added_p50_ms"] == 199.5
    assert fidelity.summary(rows) == {"agree": 1, "differ": 0, "not claimed": 3, "skipped": 0}
    pairs[0]["not_claimed"] = {"steady": "no idle timeout"}  # a workload, not a transport
    assert fidelity.rows(cells, pairs)[0]["differs"] == ["no idle timeout"]
    text = fidelity.render(rows)
    assert "nginx:tuned" in text and text.endswith(
        "4 comparisons: 1 agree, 0 differ, 3 not claimed, 0 skipped"
    )
    doc = {"fidelity": {"rows": rows, "summary": fidelity.summary(rows), "command": "gauntlet x"}}
    assert "docstring narrowed" in fidelity_markdown(doc) and "gauntlet x" in fidelity_html(doc)
    assert fidelity_html({}) == "" and fidelity_markdown({}) == ""


def test_the_plan_loads_and_names_a_device_gauntlet_can_start_for_every_pair():
    plan = fidelity.load_plan()
    assert {"steady", "bursts", "large", "quiet"} <= set(plan.workloads)
    assert {
        "sse",
        "sse_close_each",
        "long_poll",
        "websocket",
        "sse_padded",
        "sse_heartbeat",
    } <= set(plan.transports)
    assert plan.workloads["bursts"].rate_per_s == 20
    assert plan.workloads["large"].payload_bytes == 1024
    quiet = plan.workloads["quiet"]
    assert quiet.quiet_real_s > 60  # past nginx's proxy_read_timeout and haproxy's 50 s
    devices = {p.real.split(":")[0] for p in plan.pairs}
    assert {"nginx", "haproxy", "squid"} <= devices
    cells = fidelity.cells(plan, workloads=("steady",), transports=("sse",), devices=("squid",))
    assert [i for i, _ in cells] == [
        "steady:sse-direct",
        "steady:sse-relay~regular",
        "steady:sse-squid:defaults",
        "steady:sse-connect_passthrough~squid:defaults",
    ]
    relay = cells[1][1].intermediary.hops[0]  # the bare hop the emulation's latency is against
    assert relay.mode == "regular" and relay.behaviours == ("transparent",)
    assert cells[2][1].intermediary.hops[0].mode == "regular"
    relays = {p["emulation"]: p["relay"] for p in fidelity.pairs_json(plan)}
    assert relays["connect_passthrough~squid:defaults"] == "relay~regular"
    # nginx_defaults opens a connection per request as nginx does: its relay does the same
    assert relays["nginx_defaults~nginx:defaults"] == "relay~reverse~per-request"
    nginx = dict(
        fidelity.cells(
            plan, workloads=("steady",), transports=("sse",), devices=("nginx:defaults",)
        )
    )
    per_request = nginx["steady:sse-relay~reverse~per-request"].intermediary.hops[0]
    assert per_request.behaviours == ("transparent",)
    assert per_request.options == (("transparent_connection_per_request", "true"),)


def test_a_relay_option_the_transparent_hop_lacks_is_an_error_naming_the_pair(tmp_path):
    text = fidelity.PAIRS_FILE.read_text().replace(
        "relay_options = { transparent_connection_per_request = true }",
        "relay_options = { no_such_option = 1 }",
    )
    path = tmp_path / "pairs.toml"
    path.write_text(text)
    with pytest.raises(
        ScenarioError, match=r"pair\[0\]\.relay_options: field 'no_such_option': unknown option"
    ):
        fidelity.load_plan(path)


def test_latency_not_claimed_for_an_unknown_workload_is_an_error_naming_it(tmp_path):
    text = fidelity.PAIRS_FILE.read_text().replace(
        "[latency_not_claimed]\n", '[latency_not_claimed]\nstedy = "a typo"\n'
    )
    path = tmp_path / "pairs.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        fidelity.load_plan(path)
    assert str(caught.value).startswith(
        f"{path}: latency_not_claimed: field 'stedy': unknown workload (known: steady, bursts"
    )


def test_fidelity_command_with_nothing_to_run_is_one_line_and_exit_2(capsys, tmp_path):
    from gauntlet.cli import main

    assert main(["fidelity", "--devices", "lighttpd", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "gauntlet: error: fidelity: unknown device 'lighttpd' (known: nginx, haproxy, squid"
    )
    assert main(["fidelity", "--workloads", "none", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gauntlet: error: fidelity: no cell matches --workloads/--transports/--devices"]
    assert not list(tmp_path.iterdir())  # nothing was run or written


def test_unclaimed_latency_makes_a_latency_only_difference_not_claimed():
    direct, why = entry(p50=1.0), "the hop's own cost"
    status, diffs = fidelity.compare(entry(p50=1.2), entry(p50=8.0), direct, why)
    assert status == "not claimed"
    assert diffs == ["added p50 real 0.2 ms, emulation 7.0 ms: not claimed (the hop's own cost)"]
    assert fidelity.compare(entry(p50=1.2), entry(p50=2.0), direct, why) == ("agree", [])
    status, diffs = fidelity.compare(entry(p50=1.2), entry("FAIL", p50=9.0), direct, why)
    assert status == "differ" and diffs == ["verdict real PASS, emulation FAIL"]


def test_a_workload_named_in_latency_not_claimed_leaves_its_latency_unclaimed_in_rows():
    plan = fidelity.load_plan()
    assert dict(plan.latency_not_claimed) == {}  # every workload's added latency is claimed
    pairs = [dict(p, latency_not_claimed={"bursts": "why"}) for p in fidelity.pairs_json(plan)]
    cells = [
        entry(id_=f"{w}:sse-{i}", p50=p)
        for w in ("steady", "bursts")
        for i, p in (
            ("direct", 0.5),
            ("haproxy:no_delay", 0.7),
            ("transparent~haproxy:no_delay", 9.0),
        )
    ]
    rows = {r["workload"]: r for r in fidelity.rows(cells, pairs) if r["preset"] == "no_delay"}
    assert rows["steady"]["status"] == "differ" and rows["bursts"]["status"] == "not claimed"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("time_scale = 30", 'time_scale = "30"'), "field 'time_scale': expected int or float"),
        (("events = 15", "events = 0"), "workloads.steady: field 'events': "),
        (('claims = "nginx proxy', 'claim = "nginx proxy'), "pair[2]: field 'claims': missing"),
        (
            ("[workloads.steady]\n", "[workloads.steady]\ncolour = 1\n"),
            "workloads.steady: field 'colour': unknown field (a typo?)",
        ),
        (("latency_p95_ms = 500", "latency_p95_ms = -1"), "budget: field 'latency_p95_ms': "),
        (("quiet_after = 3", "quiet_after = 9"), "workloads.quiet: field 'quiet_after': "),
    ],
)
def test_a_broken_pairs_file_is_one_line_naming_file_place_and_field(tmp_path, edit, message):
    old, new = edit
    text = fidelity.PAIRS_FILE.read_text()
    assert old in text
    path = tmp_path / "pairs.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as caught:
        fidelity.load_plan(path)
    line = str(caught.value)
    assert line.startswith(f"{path}: ") and message in line and "\n" not in line, line
