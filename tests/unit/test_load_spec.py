"""`gauntlet load`'s input checks, Locust command lines and document pieces, without sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet import cli
from gauntlet.errors import GauntletError
from gauntlet.load.document import clock_entry, cpu_per_event, summary_lines
from gauntlet.load.run import LoadSpec, master_argv, worker_argv


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"transport": "short_poll"}, "--transport 'short_poll'"),
        ({"users": 0}, "--users 0"),
        ({"users": 20_001}, "--users 20001"),
        ({"spawn_rate": 0}, "--spawn-rate 0"),
        ({"rate_per_s": 0}, "--rate 0"),
        ({"duration_s": 3601}, "--duration 3601"),
        ({"workers": 17}, "--workers 17"),
        ({"workers": 0}, "at least one worker"),
        ({"users": 1, "workers": 2, "spawn_rate": 1}, "fewer users than workers"),
        ({"clock": "tsc"}, "--clock 'tsc'"),
        ({"remote_workers": 2}, "--clock wall"),
    ],
)
def test_bad_specs_name_the_argument(kw: dict, why: str) -> None:
    spec = LoadSpec(**{"transport": "sse", "users": 10, **kw})
    with pytest.raises(GauntletError) as exc:
        spec.check()
    assert why in str(exc.value)


def test_events_and_the_masters_own_bound() -> None:
    spec = LoadSpec(
        "sse",
        1000,
        spawn_rate=100,
        rate_per_s=0.1,
        duration_s=60,
        deliver_within_s=15,
        connect_within_s=30,
    )
    assert spec.events == 6
    assert spec.max_seconds == 30 + 2 * 10 + 60 + 15


def test_master_and_worker_command_lines_stay_on_loopback(tmp_path: Path) -> None:
    spec = LoadSpec("websocket", 50, workers=2, remote_workers=1, clock="wall")
    argv = master_argv(spec, "http://127.0.0.1:8000", 5557, tmp_path)
    assert argv[argv.index("--master-bind-host") + 1] == "127.0.0.1"
    assert argv[argv.index("--expect-workers") + 1] == "3"
    assert "WebSocketSubscriber" in argv and "--headless" in argv
    assert argv[argv.index("--gauntlet-clock") + 1] == "wall"
    worker = worker_argv("127.0.0.1", 5557)
    assert worker[worker.index("--master-host") + 1] == "127.0.0.1" and "--worker" in worker


def test_clock_entry_states_the_sync_error() -> None:
    assert clock_entry("monotonic", None, 1)["sync_error_ms"] == 0.0
    wall = clock_entry("wall", None, 1)
    assert wall["sync_error_ms"] is None and "not stated" in wall["note"]
    assert clock_entry("wall", 0.5, 1)["sync_error_ms"] == 0.5


def test_cpu_per_event_sums_each_role() -> None:
    point = {
        "delivered": 1000,
        "processes": [
            {"role": "server", "cpu_s": 0.5},
            {"role": "worker", "cpu_s": 0.1},
            {"role": "worker", "cpu_s": 0.3},
            {"role": "proxy", "cpu_s": None},
        ],
    }
    assert cpu_per_event(point) == {"server": 500.0, "worker": 400.0}
    assert cpu_per_event({"delivered": 0, "processes": point["processes"]}) == {}


def test_summary_names_the_limiting_process_and_the_machine() -> None:
    point = {
        "transport": "sse",
        "users": 10,
        "path": "direct",
        "workers": 2,
        "error": None,
        "delivered": 9,
        "expected_deliveries": 10,
        "delivered_fraction": 0.9,
        "lost": 1,
        "duplicates": 0,
        "latency_ms": {"p50": 1.0, "p99": 2.0},
        "processes": [],
        "machine_busy_cores": 2.0,
        "limiting": {
            "role": "server",
            "pid": 7,
            "cpu_share": 0.5,
            "saturated": False,
            "machine_saturated": True,
        },
    }
    text = "\n".join(summary_lines({"points": [point]}))
    assert "delivered 9/10" in text and "lost 1" in text
    assert "server (pid 7) at 50% of a core; the machine was saturated" in text


@pytest.mark.parametrize(
    "argv, why",
    [
        (["load", "--users", "0"], "--users 0"),
        (["load", "--target", "http://192.0.2.1:80"], "is not loopback"),
        (["load", "--through", "nosuch"], "unknown intermediary 'nosuch'"),
        (["load", "--target", "http://127.0.0.1:9", "--app", "x:y"], "choose one"),
        (["load", "--master-port", "70000"], "--master-port 70000"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], why: str, capsys) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert why in err and "\n" not in err


def test_a_process_that_exited_keeps_its_last_peak_rss(monkeypatch) -> None:
    """A worker read after it exited (a zombie: /proc has its CPU, no memory) keeps the peak
    of its last live reading, and its CPU counts to the end."""
    from gauntlet.instrument.bench.procs import ProcReading
    from gauntlet.load import run as load_run

    readings = iter([ProcReading(1.0, 50.0), ProcReading(2.5, None)])
    monkeypatch.setattr(load_run.procs, "read", lambda pid=None: next(readings))
    monkeypatch.setattr(load_run.procs, "read_system", lambda: None)
    sampler = load_run._Sampler([("worker", 12345)])
    sampler.sample()
    sampler.sample()
    row = sampler.rows()[0]
    assert (row["cpu_s"], row["peak_rss_mb"]) == (1.5, 50.0)


def test_the_delivery_window_ends_after_the_last_event_and_the_ramp() -> None:
    """The harness ends the run deliver_within_s after the last publish (never later than the
    ramp's doubled time needs): a run one subscriber short of every event no longer idles
    every stream until the master's time limit (issue 15: nginx's proxy_read_timeout cut them
    all, and the reconnection storm followed)."""
    from gauntlet.load.run import delivery_window_end

    fast = LoadSpec("sse", 10_000, spawn_rate=500, deliver_within_s=15)  # ramp 20 s
    assert delivery_window_end(fast, 100.0, 150.0) == 150.0 + 15
    slow = LoadSpec("sse", 1000, spawn_rate=10, deliver_within_s=15)  # ramp 100 s
    assert delivery_window_end(slow, 100.0, 150.0) == 100.0 + 200 + 15
    bench = LoadSpec("sse", 1000, spawn_rate=10, deliver_within_s=15, publish_when_subscribed=True)
    assert delivery_window_end(bench, 100.0, 150.0) == 150.0 + 15  # subscribed before publishing


def test_summary_says_who_never_subscribed_apart_from_loss() -> None:
    point = {
        "transport": "sse",
        "users": 3,
        "path": "nginx:tuned_many",
        "workers": 1,
        "error": "load not established: 1 of 3 users never subscribed",
        "delivered": 4,
        "expected_deliveries": 6,
        "delivered_fraction": 1.0,
        "lost": 0,
        "never_subscribed": 1,
        "lost_never_subscribed": 2,
        "never_subscribed_causes": {"TimeoutError": 1},
        "duplicates": 0,
        "reconnects": 0,
        "client_error_kinds": {"TimeoutError": 4},
        "stop_reason": "delivery window",
        "latency_ms": {"p50": 1.0, "p99": 2.0},
        "processes": [],
    }
    text = "\n".join(summary_lines({"points": [point]}))
    assert "ERROR load not established" in text and "lost 0" in text
    assert "never subscribed (not loss through the path): 1 users, 2 deliveries" in text
    assert "reconnects 0" in text and "stop: delivery window" in text


def test_the_sampler_keeps_each_process_busiest_second(monkeypatch) -> None:
    """At 0.1 events/s a window is mostly idle: the average share hides the process a fan-out
    waits on, its busiest second shows it (limiting_at_peak)."""
    from gauntlet.instrument.bench.procs import ProcReading
    from gauntlet.load import run as load_run

    cpu = iter([0.0, 0.1, 1.05, 1.15])  # idle, a fan-out (0.95 s of CPU in 1 s), idle
    clock = iter([0.0, 1.0, 2.0, 3.0])
    monkeypatch.setattr(load_run.procs, "read", lambda pid=None: ProcReading(next(cpu), 1.0))
    monkeypatch.setattr(load_run.procs, "read_system", lambda: None)
    sampler = load_run._Sampler([("server", 12345)], clock=lambda: next(clock))
    for _ in range(4):
        sampler.sample()
    row = sampler.rows()[0]
    assert (row["cpu_share"], row["peak_cpu_share"]) == (round(1.15 / 3, 3), 0.95)
