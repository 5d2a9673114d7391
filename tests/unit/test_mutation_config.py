"""`tox -e mutation`: its configuration, the reviewed equivalents list, the nightly step, and
how scripts/mutation.py names a mutant (stable across runs, unlike mutmut's numbers)."""

from __future__ import annotations

import configparser
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]


def script():
    spec = importlib.util.spec_from_file_location("mutation_script", REPO / "scripts/mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def mutmut_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]


def test_a_mutant_is_named_by_module_function_and_change_not_by_number():
    m = script()
    assert m.function_of("gauntlet.metrics.x_compute__mutmut_17") == "compute"
    assert m.function_of("gauntlet.metrics.xǁMetricsǁto_json__mutmut_3") == "Metrics.to_json"
    diff = (
        "--- harness/verdict.py\n+++ harness/verdict.py\n@@ -1,3 +1,3 @@\n def judge():\n"
        "-    if m.out_of_order > 0:\n+    if m.out_of_order > 1:\n     pass"
    )
    assert m.change_of(diff) == "if m.out_of_order > 0: -> if m.out_of_order > 1:"


def test_the_modules_under_mutation_exist_and_every_equivalent_names_one_with_a_reason():
    staged = mutmut_config()["only_mutate"]  # as the stage names them when mutmut runs this
    assert all((REPO / module).is_file() for module in staged), staged
    modules = [script().repo_path(module) for module in staged]
    assert {
        "harness/metrics.py",
        "harness/verdict.py",
        "harness/sse.py",
        "harness/clients/policy.py",
        "harness/report/scorecard.py",
        "harness/fidelity_compare.py",
        "proxies/_body.py",
    } <= set(modules)
    entries = tomllib.loads((REPO / "tests/mutation/equivalents.toml").read_text())["equivalent"]
    reviewed = script().load_equivalents()
    assert len(reviewed) == len(entries)  # no entry listed twice
    for module, function, change in reviewed:
        assert module in modules and function and " -> " in change
        assert reviewed[(module, function, change)].strip()


def test_the_nightly_runs_mutation_testing_with_pinned_actions_and_read_only_access():
    workflow = YAML(typ="safe").load((REPO / ".github/workflows/nightly.yml").read_text())
    job = workflow["jobs"]["mutation"]
    assert job["permissions"] == {"contents": "read"}
    assert any(step.get("run", "").startswith("tox -e mutation") for step in job["steps"])
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO / "tox.ini")
    env = tox["testenv:mutation"]
    assert "scripts/mutation.py" in env["commands"] and "mutation" in env["extras"].split()


def test_the_summary_separates_killed_listed_equivalents_and_unexpected_survivors():
    m = script()
    mutants = [
        m.Mutant("a__mutmut_1", "harness/x.py", "f", "", "killed"),
        m.Mutant("a__mutmut_2", "harness/x.py", "f", "", "caught by type check"),
        m.Mutant("a__mutmut_3", "harness/x.py", "f", "a -> b", "survived"),
        m.Mutant("a__mutmut_4", "harness/x.py", "f", "c -> d", "no tests"),
    ]
    row = m.summary(mutants, {("harness/x.py", "f", "a -> b")})[2].split()
    assert row == ["harness/x.py", "4", "2", "1", "1", "1", "66.7", "%"]


def test_the_stage_lays_the_package_out_as_it_is_imported():
    """mutmut names a mutant after its path; the stage puts each folder where its import name
    says (pyproject.toml package-dir), and results map back to the repository's paths."""
    m = script()
    assert m.repo_path("src/gauntlet/metrics.py") == "harness/metrics.py"
    assert m.repo_path("src/gauntlet/proxies/_body.py") == "proxies/_body.py"
    staged = tomllib.loads(m.staged_pyproject((REPO / "pyproject.toml").read_text()))
    mutmut = staged["tool"]["mutmut"]
    assert mutmut["source_paths"] == ["src"] and "mypy_path" not in staged["tool"]["mypy"]
    assert "src/gauntlet/metrics.py" in mutmut["only_mutate"]
    assert "src/gauntlet/proxies/_body.py" in mutmut["only_mutate"]
    assert "src/gauntlet/metrics.py" in mutmut["type_check_command"]
    assert "scenarios" in mutmut["also_copy"]  # folders copied beside the tests keep their place
