"""Bad input and interruptions through the real CLI: one-line errors, nothing left behind.

Each failure must end with exit status 2 and exactly one stderr line naming the problem,
never a traceback and never a hang (every subprocess call has a timeout). Ctrl-C mid-run
must kill every hop, close every port and still write the cells already measured.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from tests.e2e.conftest import (
    REPO,
    SMOKE_RUN,
    Topology,
    count,
    gauntlet_cmd,
    outlived,
    signal_mid_run,
)
from tests.matrices import MINI

pytestmark = pytest.mark.e2e


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(gauntlet_cmd(*args), capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert errors == lines[-1:], done.stderr  # one error line, and it is the last word
    assert lines[-1].startswith("gauntlet: error: ")
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[-1]


def test_unknown_transport(tmp_path):
    done = run_cli(
        "run",
        "--transport",
        "smoke_signals",
        "--intermediary",
        "direct",
        "--results",
        str(tmp_path),
    )
    assert_one_line_error(done, "unknown transport 'smoke_signals'", "known: sse")


def test_unknown_intermediary(tmp_path):
    done = run_cli(
        "run", "--transport", "sse", "--intermediary", "squid9", "--results", str(tmp_path)
    )
    assert_one_line_error(done, "unknown intermediary 'squid9'", "(known: access_log, ")


def test_malformed_scenario_file(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "smoke.toml").write_text("name = 'smoke'\ntime_scale = [\n")
    done = run_cli("--scenarios", str(scenarios), "run", "--matrix", "smoke")
    assert_one_line_error(done, str(scenarios / "smoke.toml"), "not valid TOML")


def test_proxy_that_fails_to_start(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for name in ("smoke.toml",):
        (scenarios / name).write_text((REPO / "scenarios" / name).read_text())
    (scenarios / "intermediaries.toml").write_text(
        '[broken]\ndescription = "a hop with an option mitmproxy does not know"\n'
        'hops = [{behaviours = ["transparent"], options = {no_such_option_ms = 5}}]\n'
    )
    done = run_cli(
        "--scenarios",
        str(scenarios),
        "run",
        "--transport",
        "sse",
        "--intermediary",
        "broken",
        "--no-calibration",
        "--results",
        str(tmp_path / "results"),
    )
    assert_one_line_error(
        done, "hop 1 (transparent) failed to start", "unknown option no_such_option_ms"
    )


def test_list_names_every_transport_intermediary_and_matrix():
    done = run_cli("list")
    assert done.returncode == 0
    for name in (
        "sse",
        "sse_close_each",
        "long_poll",
        "websocket",
        "direct",
        "transparent",
        "store_and_forward",
        "smoke",
    ):
        assert f"  {name} " in done.stdout


async def test_ctrl_c_mid_run_kills_everything_and_keeps_results(tmp_path):
    results = tmp_path / "results"
    # Once the first cell has finished and the second is publishing: a signal from the run.
    run = await signal_mid_run(
        (*SMOKE_RUN, "--no-calibration", "--results", str(results)),
        lambda events: count(events, "Publishing") >= 2,
        signal.SIGINT,
    )
    assert run.returncode == 130, run.stderr
    assert "interrupted" in run.stderr and "Traceback" not in run.stderr
    topology = Topology.of(run.stderr)
    assert topology.ports
    assert not await outlived(topology)
    doc = json.loads((results / "latest" / "results.json").read_text())
    assert doc["interrupted"] is True
    assert 1 <= len(doc["cells"]) < 12


# --- A corpus of hostile inputs: each one line and a non-zero exit, never a traceback -----
# In-process calls of gauntlet.cli.main (fast); anything that would start calibration or a cell
# fails the test instead, so an input accepted by mistake cannot hide behind a long run.

RUN_MINI = ("run", "--matrix", "mini", "--no-calibration", "--results", "{T}/r")


def _chain(hops: str, name: str = "bad") -> dict[str, str]:
    return {"intermediaries.toml": f'[{name}]\ndescription = "x"\nhops = {hops}\n'}


def _mini(old: str, new: str) -> dict[str, str]:
    assert old in MINI
    return {"mini.toml": MINI.replace(old, new, 1)}


def _profile(body: str, name: str = "p") -> dict[str, str]:
    return {"profiles.toml": f'[{name}]\ndescription = "x"\n{body}\n'}


FIFTY_HOPS = "[" + ", ".join(['{ behaviours = ["transparent"] }'] * 50) + "]"
SB = '[{ behaviours = ["size_buffer"], options = { size_buffer_bytes = %s } }]'
HOSTILE: list[tuple[str, dict[str, str | bytes], tuple[str, ...], str]] = [
    # (id, files written into the scenario folder, argv, a needle of the one error line)
    ("time_scale-inf", _mini("time_scale = 10", "time_scale = inf"), RUN_MINI, "finite"),
    ("time_scale-nan", _mini("time_scale = 10", "time_scale = nan"), RUN_MINI, "finite"),
    ("time_scale-1e9", _mini("time_scale = 10", "time_scale = 1e9"), RUN_MINI, "time_scale"),
    ("time_scale-1e-9", _mini("time_scale = 10", "time_scale = 1e-9"), RUN_MINI, "time_scale"),
    ("time_scale-neg", _mini("time_scale = 10", "time_scale = -1"), RUN_MINI, "time_scale"),
    ("time_scale-str", _mini("time_scale = 10", 'time_scale = "x"'), RUN_MINI, "expected int"),
    ("time_scale-bool", _mini("time_scale = 10", "time_scale = true"), RUN_MINI, "time_scale"),
    ("events-1e9-int", _mini("events = 3", "events = 1000000000"), RUN_MINI, "events"),
    ("events-1e9-float", _mini("events = 3", "events = 1e9"), RUN_MINI, "expected int"),
    ("events-neg", _mini("events = 3", "events = -5"), RUN_MINI, "events"),
    ("rate-1e-9", _mini("rate_per_s = 10", "rate_per_s = 1e-9"), RUN_MINI, "rate_per_s"),
    ("rate-inf", _mini("rate_per_s = 10", "rate_per_s = inf"), RUN_MINI, "finite"),
    ("rate-nan", _mini("rate_per_s = 10", "rate_per_s = nan"), RUN_MINI, "finite"),
    (
        "payload-huge",
        _mini("payload_bytes = 32", "payload_bytes = 99999999999"),
        RUN_MINI,
        "payload_bytes",
    ),
    ("payload-zero", _mini("payload_bytes = 32", "payload_bytes = 0"), RUN_MINI, "payload_bytes"),
    ("burst-huge", _mini("events = 3", "events = 3\nburst = 1000000000"), RUN_MINI, "burst"),
    (
        "quiet-inf",
        _mini("events = 3", "events = 3\nquiet_after = 1\nquiet_real_s = inf"),
        RUN_MINI,
        "quiet_real_s",
    ),
    ("p95-inf", _mini("latency_p95_ms = 100", "latency_p95_ms = inf"), RUN_MINI, "finite"),
    ("p95-neg", _mini("latency_p95_ms = 100", "latency_p95_ms = -1"), RUN_MINI, "latency_p95_ms"),
    ("p95-nan", _mini("latency_p95_ms = 100", "latency_p95_ms = nan"), RUN_MINI, "finite"),
    ("p95-zero", _mini("latency_p95_ms = 100", "latency_p95_ms = 0"), RUN_MINI, "> 0"),
    (
        "max_lost-neg",
        _mini("latency_p95_ms = 100", "latency_p95_ms = 100\nmax_lost = -1"),
        RUN_MINI,
        "max_lost",
    ),
    (
        "max_lost-huge",
        _mini("latency_p95_ms = 100", "latency_p95_ms = 100\nmax_lost = 1000"),
        RUN_MINI,
        "max_lost",
    ),
    (
        "deliver-inf",
        _mini("deliver_within_real_s = 20", "deliver_within_real_s = inf"),
        RUN_MINI,
        "finite",
    ),
    (
        "deliver-zero",
        _mini("deliver_within_real_s = 20", "deliver_within_real_s = 0"),
        RUN_MINI,
        "deliver_within_real_s",
    ),
    (
        "cell-too-long",
        _mini("deliver_within_real_s = 20", "deliver_within_real_s = 500000"),
        RUN_MINI,
        "at most 3600 s",
    ),
    ("name-dotdot", _mini('name = "mini"', 'name = "../evil"'), RUN_MINI, "file name"),
    ("name-slash", _mini('name = "mini"', 'name = "a/b"'), RUN_MINI, "file name"),
    ("name-empty", _mini('name = "mini"', 'name = ""'), RUN_MINI, "file name"),
    ("name-dash", _mini('name = "mini"', 'name = "-rf"'), RUN_MINI, "file name"),
    ("name-newline", _mini('name = "mini"', 'name = "a\\nb"'), RUN_MINI, "file name"),
    ("dup-transport", _mini('["sse", "long_poll"]', '["sse", "sse"]'), RUN_MINI, "twice"),
    ("dup-intermediary", _mini('["direct"]', '["direct", "direct"]'), RUN_MINI, "twice"),
    (
        "dup-protocol",
        _mini("time_scale = 10", 'time_scale = 10\nprotocols = ["h1", "h1"]'),
        RUN_MINI,
        "twice",
    ),
    ("transport-int", _mini('["sse", "long_poll"]', "[1]"), RUN_MINI, "expected str"),
    ("transport-str", _mini('["sse", "long_poll"]', '"sse"'), RUN_MINI, "expected list"),
    ("transport-nested", _mini('["sse", "long_poll"]', '[["sse"]]'), RUN_MINI, "expected str"),
    (
        "expect-int",
        {
            "mini.toml": MINI.split("[[expect]]")[0].replace(
                'intermediaries = ["direct"]', 'intermediaries = ["direct"]\nexpect = 5'
            )
        },
        RUN_MINI,
        "expect",
    ),
    (
        "unknown-field",
        _mini("time_scale = 10", "time_scale = 10\ntime_scael = 3"),
        RUN_MINI,
        "unknown field",
    ),
    (
        "workload-not-table",
        {"mini.toml": MINI.replace("[workload]", "workload = 3\n[x]")},
        RUN_MINI,
        "workload",
    ),
    (
        "chain-name-dotdot",
        _chain('[{ behaviours = ["transparent"] }]', '"../x"'),
        RUN_MINI,
        "file name",
    ),
    ("chain-50-hops", _chain(FIFTY_HOPS), RUN_MINI, "at most 8"),
    ("option-str-for-int", _chain(SB % '"big"'), RUN_MINI, "expected int"),
    ("option-neg", _chain(SB % "-1"), RUN_MINI, "size_buffer_bytes"),
    ("option-inf", _chain(SB % "inf"), RUN_MINI, "expected int"),
    ("option-huge", _chain(SB % str(2**40)), RUN_MINI, "size_buffer_bytes"),
    ("option-table", _chain(SB % "{ a = 1 }"), RUN_MINI, "expected int"),
    (
        "option-unknown-table",
        _chain('[{ behaviours = ["transparent"], options = { x = [1] } }]'),
        RUN_MINI,
        "field 'x'",
    ),
    ("behaviours-int", _chain("[{ behaviours = [1] }]"), RUN_MINI, "expected str"),
    ("behaviours-str", _chain('[{ behaviours = "transparent" }]'), RUN_MINI, "expected list"),
    (
        "behaviour-unknown",
        _chain('[{ behaviours = ["squid9"] }]'),
        RUN_MINI,
        "unknown proxy behaviour",
    ),
    (
        "external-userinfo",
        _chain('[{ external = "http://bob:hunter2@127.0.0.1:3128" }]'),
        RUN_MINI,
        "no user or password",
    ),
    (
        "external-remote",
        _chain('[{ external = "http://10.0.0.1:3128" }]'),
        RUN_MINI,
        "this machine only",
    ),
    (
        "external-at-trick",
        _chain('[{ external = "http://127.0.0.1@evil.example:80" }]'),
        RUN_MINI,
        "no user or password",
    ),
    (
        "external-prefix-trick",
        _chain('[{ external = "http://127.evil.example:80" }]'),
        RUN_MINI,
        "this machine only",
    ),
    (
        "external-no-port",
        _chain('[{ external = "http://127.0.0.1" }]'),
        RUN_MINI,
        "port is required",
    ),
    ("mode-int", _chain('[{ behaviours = ["transparent"], mode = 5 }]'), RUN_MINI, "expected str"),
    ("hops-str", _chain('"x"'), RUN_MINI, "expected list"),
    (
        "profile-jobs-1000",
        _profile('matrices = ["mini"]\njobs = 1000'),
        ("run", "--profile", "p", "--no-calibration"),
        "jobs",
    ),
    (
        "profile-repeats-0",
        _profile('matrices = ["mini"]\nrepeats = 0'),
        ("run", "--profile", "p", "--no-calibration"),
        "repeats",
    ),
    (
        "profile-matrices-int",
        _profile("matrices = [1]"),
        ("run", "--profile", "p", "--no-calibration"),
        "expected str",
    ),
    (
        "profile-name-dotdot",
        _profile('matrices = ["mini"]', '"../p"'),
        ("run", "--profile", "../p", "--no-calibration"),
        "file name",
    ),
    (
        "profile-jobs-inf",
        _profile('matrices = ["mini"]\njobs = inf'),
        ("run", "--profile", "p", "--no-calibration"),
        "expected int",
    ),
    (
        "binary-file",
        {"bin.toml": b"\x00\xff\xfe\x00garbage\x89PNG"},
        ("run", "--matrix", "{S}/bin.toml", "--no-calibration"),
        "not UTF-8",
    ),
    (
        "latin-1-file",
        {"l1.toml": MINI.replace("two cells", "deux cellules é").encode("latin-1")},
        ("run", "--matrix", "{S}/l1.toml", "--no-calibration"),
        "not UTF-8",
    ),
    ("matrix-is-dir", {}, ("run", "--matrix", "{S}/", "--no-calibration"), "folder"),
    (
        "matrix-missing",
        {},
        ("run", "--matrix", "{S}/nope.toml", "--no-calibration"),
        "no such scenario file",
    ),
    (
        "results-is-file",
        {},
        ("run", "--matrix", "mini", "--no-calibration", "--results", "{S}/mini.toml"),
        "is a file",
    ),
    (
        "scenarios-is-file",
        {},
        ("--scenarios", "{S}/mini.toml", "run", "--matrix", "mini"),
        "unknown matrix",
    ),
    ("jobs-0", {}, (*RUN_MINI, "--jobs", "0"), "--jobs 0"),
    ("jobs-1000", {}, (*RUN_MINI, "--jobs", "1000"), "--jobs 1000"),
    ("jobs-neg", {}, (*RUN_MINI, "--jobs", "-1"), "--jobs -1"),
    ("shard-past-cells", {}, (*RUN_MINI, "--shard", "99/100"), "would be empty"),
    ("shard-zero", {}, (*RUN_MINI, "--shard", "0/3"), "--shard"),
    ("shard-text", {}, (*RUN_MINI, "--shard", "x"), "--shard"),
    ("transport-alone", {}, ("run", "--transport", "sse"), "go together"),
    ("repeat-0", {}, (*RUN_MINI, "--repeat", "0"), "--repeat 0"),
    ("repeat-1000", {}, (*RUN_MINI, "--repeat", "1000"), "--repeat 1000"),
    ("check-binary", {"bin.toml": b"\x00\xff"}, ("check", "{S}/bin.toml"), "not UTF-8"),
    ("check-dir", {}, ("check", "{S}"), "folder"),
    (
        "check-inf",
        _mini("time_scale = 10", "time_scale = inf"),
        ("check", "{S}/mini.toml"),
        "finite",
    ),
    ("check-scenarios-missing", {}, ("--scenarios", "{S}/nope", "check"), "not a folder"),
]


@pytest.fixture
def nothing_starts(monkeypatch):
    """Calibration, cells or any child process: none may start for a rejected input."""
    import gauntlet.instrument.calibrate
    import gauntlet.runner

    def refuse(*args, **kwargs):
        raise AssertionError("a hostile input got past validation and started something")

    monkeypatch.setattr(gauntlet.instrument.calibrate, "for_run", refuse)
    monkeypatch.setattr(gauntlet.runner, "run_cells", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.mark.parametrize(
    ("files", "argv", "needle"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_hostile_input_gets_one_line_and_exit_2(
    tmp_path, capsys, nothing_starts, files, argv, needle
):
    from gauntlet.cli import main

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "mini.toml").write_text(MINI)
    for name, content in files.items():
        path = scenarios / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    args = [a.replace("{S}", str(scenarios)).replace("{T}", str(tmp_path)) for a in argv]
    if args[0] != "--scenarios":
        args = ["--scenarios", str(scenarios), *args]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gauntlet: error: "), err
    assert needle in lines[0], lines[0]
    assert "hunter2" not in err  # a password in a URL is never echoed


def test_the_hostile_corpus_has_at_least_60_inputs():
    assert len(HOSTILE) >= 60
    assert len({case[0] for case in HOSTILE}) == len(HOSTILE)
