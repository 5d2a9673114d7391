"""The built-in scenarios come from the installed package; a team's folder adds to them."""

from __future__ import annotations

import importlib.resources

import pytest

from gauntlet.errors import ScenarioError
from gauntlet.preflight import check_scenarios
from gauntlet.scenario import (
    SCENARIOS_DIR,
    list_matrices,
    load_intermediaries,
    load_matrix,
    load_profiles,
    matrix_path,
)

TEAM_MATRIX = """
name = "team"
description = "our own"
time_scale = 10
transports = ["sse"]
intermediaries = ["our_chain", "small_threshold_buffer"]
[workload]
events = 3
rate_per_s = 10
payload_bytes = 32
[budget]
latency_p95_ms = 100
deliver_within_real_s = 20
[[expect]]
transport = "sse"
intermediary = "our_chain"
verdict = "PASS"
reason = "a transparent hop"
[[expect]]
transport = "sse"
intermediary = "small_threshold_buffer"
verdict = "PASS"
reason = "a small buffer"
"""


def test_builtins_are_the_packages_data():
    package = load_matrix.__module__.rpartition(".")[0]  # harness, or gauntlet once installed
    assert SCENARIOS_DIR == importlib.resources.files(f"{package}.scenarios")
    assert (SCENARIOS_DIR / "smoke.toml").is_file()
    assert (SCENARIOS_DIR / "fidelity" / "pairs.toml").is_file()


@pytest.fixture
def team(tmp_path):
    (tmp_path / "team.toml").write_text(TEAM_MATRIX)
    (tmp_path / "intermediaries.toml").write_text(
        '[our_chain]\ndescription = "ours"\nhops = [{behaviours = ["transparent"]}]\n'
    )
    (tmp_path / "profiles.toml").write_text(
        '[ours]\ndescription = "o"\nmatrices = ["team", "smoke"]\n'
    )
    return tmp_path


def test_a_team_folder_adds_matrices_chains_and_profiles(team):
    names = dict(list_matrices(team))
    assert names["team"] == "our own" and "smoke" in names  # its own and the built-ins
    chains = load_intermediaries(team)
    assert "our_chain" in chains and set(load_intermediaries()) <= set(chains)
    profiles = load_profiles(team)
    assert profiles["ours"].matrices == ("team", "smoke") and "smoke" in profiles
    assert matrix_path("smoke", team) == SCENARIOS_DIR / "smoke.toml"
    assert [c.intermediary.name for c in load_matrix("team", team).cells] == [
        "our_chain",
        "small_threshold_buffer",
    ]
    assert check_scenarios([], team).startswith("ok: ")


def test_a_team_file_wins_a_name_both_have(team):
    (team / "smoke.toml").write_text(TEAM_MATRIX.replace('"team"', '"smoke"'))
    assert matrix_path("smoke", team) == team / "smoke.toml"
    assert dict(list_matrices(team))["smoke"] == "our own"


def test_an_unknown_matrix_names_the_teams_and_the_builtins(team):
    with pytest.raises(ScenarioError, match=r"unknown matrix 'nope' \(known: .*smoke.*team"):
        matrix_path("nope", team)


def test_cell_patterns_pick_cells_in_run_order_and_a_pattern_matching_none_is_an_error():
    from gauntlet.errors import GauntletError
    from gauntlet.preflight import match_cells

    ids = ["tls:sse-ssl_inspection-h2#1", "tls:long_poll-direct#1", "tls:sse-ssl_inspection-h2#2"]
    assert match_cells(ids, ["tls:sse-*"]) == [0, 2]  # the repeat suffix is not matched
    assert match_cells(ids, ["*-direct", "tls:sse-ssl_inspection-h2"]) == [0, 1, 2]
    with pytest.raises(GauntletError, match="--cell sse_canary-\\*: matches no cell"):
        match_cells(ids, ["tls:*", "sse_canary-*"])
