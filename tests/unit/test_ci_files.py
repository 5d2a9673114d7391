"""The CI files parse, and the nightly workflow names only tox envs and matrices that exist."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from ruamel.yaml import YAML

from gauntlet.scenario import list_matrices, load_profiles

REPO = Path(__file__).resolve().parents[2]


def tox_envs() -> set[str]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "tox.ini")
    envs = {s.removeprefix("testenv:") for s in config.sections() if s.startswith("testenv:")}
    envs |= {e.strip() for e in config["tox"]["envlist"].split(",")}
    return envs


def test_tox_has_the_envs_the_project_promises():
    promised = {"py312", "py313", "lint", "types", "smoke", "nightly", "report", "mutation"}
    assert promised <= tox_envs()


def test_every_tox_env_installs_with_the_pinned_constraints():
    """tox 4 refuses `deps = -c constraints.txt`, which broke every env but one; the pins go in
    through PIP_CONSTRAINT, and an env that sets its own setenv replaces the base one's."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "tox.ini")
    pin = "PIP_CONSTRAINT = {toxinidir}/constraints.txt"
    envs = [s for s in config.sections() if s == "testenv" or s.startswith("testenv:")]
    assert pin in config["testenv"]["setenv"]
    for env in envs:
        assert "-c" not in config[env].get("deps", "").split(), env
        if "setenv" in config[env]:
            assert pin in config[env]["setenv"], env


def test_nightly_workflow_parses_and_uses_existing_envs_and_matrices():
    workflow = YAML(typ="safe").load((REPO / ".github/workflows/nightly.yml").read_text())
    assert "schedule" in workflow["on"]  # YAML 1.2: "on" stays a string key
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    used_envs = {m for run in runs for m in re.findall(r"tox -e (\w+)", run)}
    assert used_envs and used_envs <= tox_envs()
    shards = workflow["jobs"]["matrix"]["strategy"]["matrix"]["shard"]
    assert sorted(shards) == ["1/3", "2/3", "3/3"]
    merged = re.search(r"for profile in ([\w ]+); do", "\n".join(runs)).group(1).split()
    assert set(merged) <= set(load_profiles())


def test_nightly_runs_every_matrix_repeatedly():
    nightly = (REPO / "tox.ini").read_text().split("[testenv:nightly]")[1].split("[testenv:")[0]
    assert "--profile nightly" in nightly and "HYPOTHESIS_PROFILE = deep" in nightly
    profile = load_profiles()["nightly"]
    assert set(profile.matrices) == {name for name, _ in list_matrices()}
    assert profile.repeats >= 3


def test_nightly_workflow_is_pinned_least_privilege_and_compares_with_the_previous_night():
    workflow = YAML(typ="safe").load((REPO / ".github/workflows/nightly.yml").read_text())
    assert workflow["permissions"] == {}
    steps = [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]
    for name, step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), (name, step["uses"])
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, name
        assert "${{" not in step.get("run", ""), (name, step["run"])  # contexts via env only
    for name, job in workflow["jobs"].items():
        assert set(job["permissions"]) <= {"contents", "actions"}, name
        assert set(job["permissions"].values()) == {"read"}, name
    merge = "\n".join(step.get("run", "") for _, step in steps)
    assert 'gauntlet report "$run" --compare-with "$old"' in merge
    assert 'gauntlet compare "$old" "$run"' in merge
