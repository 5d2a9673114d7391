"""harness/fidelity_compare: what a fidelity row says, field by field, at the tolerance's edges.

A fidelity row decides whether Gauntlet may keep an emulation; a comparison that calls a
faster or a refusing emulation "agree" is a confident wrong answer. These tests pin what a
reader of the table sees: each field, the latency tolerance max(5 ms, 25 % of the larger) on
its boundaries, negative added latency, and which row a cell lands in."""

from __future__ import annotations

from gauntlet import fidelity_compare as fc
from tests.unit.fidelity_entry import entry

DIRECT = entry(p50=0.0)


def agrees(real_added: float, emu_added: float) -> bool:
    return fc.compare(entry(p50=real_added), entry(p50=emu_added), DIRECT)[0] == fc.AGREE


def test_added_latency_agrees_up_to_5_ms_apart_when_25_percent_is_smaller():
    assert agrees(10.0, 15.0)  # 5 ms apart: 25 % of 15 is only 3.75 ms
    assert not agrees(10.0, 15.5)
    assert agrees(15.0, 10.0)  # either side may be the larger


def test_added_latency_agrees_up_to_25_percent_of_the_larger_when_that_exceeds_5_ms():
    assert agrees(150.0, 200.0)  # 50 ms = 25 % of 200
    assert not agrees(150.0, 200.5)
    assert agrees(200.0, 150.0)
    assert not agrees(200.5, 150.0)


def test_negative_added_latency_is_judged_by_its_magnitude():
    # a proxy faster than direct (noise, or a cached answer): -100 vs -80 is 20 % apart
    assert agrees(-100.0, -80.0)
    assert not agrees(-100.0, -70.0)


def test_latency_measured_on_one_side_only_differs_and_on_neither_agrees():
    status, diffs = fc.compare(entry(p50=4.0), entry(p50=None), DIRECT)
    assert (status, diffs) == (fc.DIFFER, ["added p50 real 4.0 ms, emulation None ms"])
    assert fc.compare(entry(p50=None), entry(p50=4.0), DIRECT)[0] == fc.DIFFER
    assert fc.compare(entry(p50=None), entry(p50=None), DIRECT) == (fc.AGREE, [])
    # no direct cell: no baseline, so added latency is not compared at all
    assert fc.compare(entry(p50=1.0), entry(p50=500.0), None) == (fc.AGREE, [])


def test_what_a_cell_showed_in_the_terms_the_row_uses():
    conns = [
        {"conn": 1, "ended": "closed: 502 Bad Gateway after 503 Service Unavailable"},
        {"conn": 2, "http_version": "HTTP/1.1", "ended": "502 again; 1234 ms, port 8080"},
        {"conn": 3},
    ]
    seen = fc.observed(entry("FAIL", 3, 15, p50=12.345, conns=conns, reconnects=2), entry(p50=2.0))
    assert seen == {
        "verdict": "FAIL",
        "delivered": "3/15",
        "headers_seen": True,
        "statuses": [502, 503],
        "reconnected": True,
        "added_p50_ms": 10.3,
    }


def test_a_cell_without_metrics_or_connections_showed_nothing():
    bare = {"verdict": "ERROR"}
    assert fc.observed(bare, None) == {
        "verdict": "ERROR",
        "delivered": "0/0",
        "headers_seen": False,
        "statuses": [],
        "reconnected": False,
        "added_p50_ms": None,
    }
    assert fc.observed(entry(), bare)["added_p50_ms"] is None  # a direct cell without p50
    no_reconnects = entry()
    del no_reconnects["metrics"]["reconnects"]
    assert fc.observed(no_reconnects, None)["reconnected"] is False


def test_every_differing_field_is_named_with_both_values():
    real = entry(
        "FAIL", 0, conns=[{"conn": 1, "ended": "refused: 403 Forbidden"}], reconnects=1, p50=None
    )
    status, diffs = fc.compare(real, entry(), DIRECT)
    assert status == fc.DIFFER
    assert diffs == [
        "verdict real FAIL, emulation PASS",
        "delivered real 0/15, emulation 15/15",
        "headers_seen real False, emulation True",
        "statuses real [403], emulation []",
        "reconnected real True, emulation False",
        "added p50 real None ms, emulation 1.0 ms",
    ]


def test_a_skipped_emulation_makes_the_row_skipped_with_its_reason():
    assert fc.compare(entry(), entry("SKIPPED"), None) == (fc.SKIPPED, ["skipped reason"])
    assert fc.compare(entry("SKIPPED"), entry("FAIL"), None) == (fc.SKIPPED, ["skipped reason"])


PAIRS = [
    {
        "real": "nginx:tuned",
        "emulation": "transparent~nginx:tuned",
        "claims": "c",
        "not_claimed": {},
    },
    {
        "real": "squid:defaults",
        "emulation": "connect_passthrough~squid:defaults",
        "claims": "CONNECT only",
    },
]


def cell(workload, transport, intermediary, **kw):
    return {**entry(**kw), "id": f"{workload}:{transport}-{intermediary}", "transport": transport}


def test_rows_come_per_pair_then_workload_then_transport_in_name_order():
    cells = [
        cell(w, t, i)
        for w in ("steady", "bursts")
        for t in ("websocket", "sse")
        for i in ("direct", "nginx:tuned", "transparent~nginx:tuned")
    ]
    cells.append(cell("steady", "sse", "squid:defaults"))  # its emulation was not run
    got = [
        (r["device"], r["preset"], r["workload"], r["transport"], r["status"])
        for r in fc.rows(cells, PAIRS)
    ]
    assert got == [
        ("nginx", "tuned", "bursts", "sse", "agree"),
        ("nginx", "tuned", "bursts", "websocket", "agree"),
        ("nginx", "tuned", "steady", "sse", "agree"),
        ("nginx", "tuned", "steady", "websocket", "agree"),
        ("squid", "defaults", "steady", "sse", "not claimed"),
    ]
    squid = fc.rows(cells, PAIRS)[-1]
    assert squid["differs"] == ["CONNECT only"] and "emulated" not in squid
    assert squid["emulation"] == "connect_passthrough~squid:defaults"


def test_a_compared_row_carries_both_sides_and_what_differs():
    cells = [
        cell("steady", "sse", "direct", p50=1.0),
        cell("steady", "sse", "nginx:tuned", p50=3.0),
        cell("steady", "sse", "transparent~nginx:tuned", p50=30.0, reconnects=1),
    ]
    [row] = fc.rows(cells, PAIRS[:1])
    assert row["status"] == fc.DIFFER
    assert row["differs"] == [
        "reconnected real False, emulation True",
        "added p50 real 2.0 ms, emulation 29.0 ms",
    ]
    assert row["real"]["added_p50_ms"] == 2.0 and row["emulated"]["added_p50_ms"] == 29.0


def test_a_row_without_a_direct_cell_compares_everything_but_latency():
    cells = [
        cell("steady", "sse", "nginx:tuned", p50=3.0),
        cell("steady", "sse", "transparent~nginx:tuned", p50=300.0),
    ]
    [row] = fc.rows(cells, PAIRS[:1])
    assert row["status"] == fc.AGREE and row["real"]["added_p50_ms"] is None


def test_not_claimed_by_transport_or_by_workload_gives_its_reason_not_a_comparison():
    pairs = [dict(PAIRS[0], not_claimed={"websocket": "no ws", "quiet": "no idle timeout"})]
    cells = [
        cell(w, t, i, verdict="FAIL" if i.startswith("transparent") else "PASS")
        for w in ("quiet", "steady")
        for t in ("sse", "websocket")
        for i in ("nginx:tuned", "transparent~nginx:tuned")
    ]
    got = {
        (r["workload"], r["transport"]): (r["status"], r["differs"]) for r in fc.rows(cells, pairs)
    }
    assert got == {
        ("quiet", "sse"): ("not claimed", ["no idle timeout"]),
        ("quiet", "websocket"): ("not claimed", ["no ws"]),
        ("steady", "sse"): ("differ", ["verdict real PASS, emulation FAIL"]),
        ("steady", "websocket"): ("not claimed", ["no ws"]),
    }


def test_a_device_nothing_imitates_is_listed_not_claimed_with_what_the_pair_says():
    pairs = [
        {
            "real": "haproxy:defaults",
            "emulation": None,
            "claims": "nothing imitates it",
            "not_claimed": {},
        }
    ]
    cells = [cell("steady", "sse", "haproxy:defaults"), cell("steady", "sse", "None")]
    [row] = fc.rows(cells, pairs)
    assert (row["status"], row["differs"], row["emulation"]) == (
        fc.NOT_CLAIMED,
        ["nothing imitates it"],
        None,
    )


def test_summary_counts_every_status_including_absent_ones():
    rows = [{"status": s} for s in ("agree", "agree", "differ", "skipped")]
    assert fc.summary(rows) == {"agree": 2, "differ": 1, "not claimed": 0, "skipped": 1}


def test_the_terminal_table_aligns_columns_and_shows_what_differs_only_when_it_does():
    rows = [
        {
            "device": "nginx",
            "preset": "defaults",
            "emulation": "nginx_defaults~nginx:defaults",
            "workload": "steady",
            "transport": "sse",
            "status": "differ",
            "differs": [
                "verdict real FAIL, emulation PASS",
                "delivered real 0/15, emulation 15/15",
            ],
        },
        {
            "device": "haproxy",
            "preset": "defaults",
            "emulation": None,
            "workload": "quiet",
            "transport": "websocket",
            "status": "not claimed",
            "differs": ["nothing imitates it"],
        },
        {
            "device": "squid",
            "preset": "defaults",
            "emulation": "connect_passthrough~squid:x",
            "workload": "steady",
            "transport": "sse",
            "status": "agree",
            "differs": ["ignored"],
        },
    ]
    assert fc.render(rows).splitlines() == [
        "device:preset     emulation            workload  transport  status       what differs",
        "nginx:defaults    nginx_defaults       steady    sse        differ       verdict real "
        "FAIL, emulation PASS; delivered real 0/15, emulation 15/15",
        "haproxy:defaults  -                    quiet     websocket  not claimed  nothing "
        "imitates it",
        "squid:defaults    connect_passthrough  steady    sse        agree",
        "3 comparisons: 1 agree, 1 differ, 1 not claimed, 0 skipped",
    ]


def test_the_emulations_latency_is_what_its_behaviour_adds_beyond_a_bare_mitmdump_hop():
    # haproxy holds 200 ms; the emulation's hop relays 9 ms slower than haproxy on its own
    pair = dict(PAIRS[0], relay="relay~reverse")
    cells = [
        cell("steady", "sse", "direct", p50=1.0),
        cell("steady", "sse", "relay~reverse", p50=10.0),
        cell("steady", "sse", "nginx:tuned", p50=201.0),
        cell("steady", "sse", "transparent~nginx:tuned", p50=212.0),
    ]
    [row] = fc.rows(cells, [pair])
    assert row["status"] == fc.AGREE
    assert row["real"]["added_p50_ms"] == 200.0 and row["emulated"]["added_p50_ms"] == 202.0
    # the same cells without the relay cell: against direct, 200 vs 211 ms still agree (25 %),
    # but a hold the emulation lacks is a difference whatever the relay's cost
    cells[3] = cell("steady", "sse", "transparent~nginx:tuned", p50=14.0)
    [row] = fc.rows(cells, [pair])
    assert row["status"] == fc.DIFFER
    assert row["differs"] == ["added p50 real 200.0 ms, emulation 4.0 ms"]


def sampled(latencies_ms, p50):
    """An entry with per-event samples (sent at 0, received `latency` later) and its p50."""
    e = entry(p50=p50)
    e["samples"] = [
        {"id": i, "sent_ms": 0.0, "received_ms": [x]} for i, x in enumerate(latencies_ms)
    ]
    return e


def test_a_latency_difference_inside_the_cells_noise_agrees_and_says_so():
    # the squid long-poll row that flipped: p50s 13.8 apart, samples spread over 20 ms
    direct = sampled([1.0] * 15, 1.0)
    real = sampled([2.0 + i * 1.5 for i in range(15)], 14.8)
    relay = sampled([2.0 + i * 1.5 for i in range(15)], 14.8)
    emu = sampled([1.0 + i * 1.5 for i in range(15)], 13.8)
    status, notes = fc.compare(real, emu, direct, relay=relay)
    assert status == fc.AGREE
    [note] = notes
    assert note.startswith("added p50 real 13.8 ms, emulation -1.0 ms (95 % intervals [")
    assert note.endswith("ms): within noise")


def test_a_latency_difference_beyond_the_noise_and_the_tolerance_differs_with_intervals():
    direct = sampled([1.0] * 15, 1.0)
    real = sampled([3.0 + i * 0.1 for i in range(15)], 3.7)
    relay = sampled([10.0 + i * 0.1 for i in range(15)], 10.7)
    emu = sampled([30.0 + i * 0.1 for i in range(15)], 30.7)  # 20 ms over the relay
    status, diffs = fc.compare(real, emu, direct, relay=relay)
    assert status == fc.DIFFER
    assert diffs == [
        "added p50 real 2.7 ms, emulation 20.0 ms (95 % intervals [2.4, 3.0] and [19.6, 20.4] ms)"
    ]


def test_intervals_exactly_the_tolerance_apart_are_noise_and_a_hair_more_is_not():
    direct = sampled([0.0] * 15, 0.0)
    real = sampled([10.0] * 15, 10.0)
    assert fc.added_interval(real, direct) == (10.0, 10.0)
    assert fc.compare(real, sampled([15.0] * 15, 16.0), direct)[0] == fc.AGREE  # gap 5
    assert fc.compare(real, sampled([15.1] * 15, 16.0), direct)[0] == fc.DIFFER
    assert fc.compare(sampled([15.1] * 15, 16.0), real, direct)[0] == fc.DIFFER


def test_without_samples_on_a_side_there_is_no_interval_and_the_p50s_decide():
    assert fc.added_interval(entry(), DIRECT) is None
    assert fc.added_interval(sampled([1.0], 1.0), None) is None
    direct = sampled([0.0] * 15, 0.0)
    assert fc.compare(entry(p50=10.0), sampled([10.0] * 15, 20.0), direct)[0] == fc.DIFFER


def test_noise_does_not_hide_a_behavioural_difference_and_stays_a_note_beside_it():
    direct = sampled([1.0] * 15, 1.0)
    real = sampled([2.0 + i * 1.5 for i in range(15)], 14.8)
    emu = sampled([1.0 + i * 1.5 for i in range(15)], 3.0)
    emu["verdict"] = "FAIL"
    status, diffs = fc.compare(real, emu, direct)
    assert status == fc.DIFFER
    assert diffs[0] == "verdict real PASS, emulation FAIL" and diffs[1].endswith("within noise")
