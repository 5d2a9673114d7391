"""What CI runs: .ci/run runs the README's test command, and that command runs every test once,
the `serial` ones alone; the fast loop leaves out only `slow` tests (issue 14, "A faster loop").

The Makefile's pytest lines are read as make would expand them, and each `-m` expression is
evaluated for every combination of the markers that decide where a test runs.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MARKERS = ("matrix", "slow", "serial", "e2e")


def make_variables() -> dict[str, str]:
    text = (REPO / "Makefile").read_text()
    return dict(re.findall(r"^(\w+) \??:?= ?(.*)$", text, re.M))


def expand(text: str, variables: dict[str, str]) -> str:
    while m := re.search(r"\$\((\w+)\)", text):
        text = text.replace(m.group(0), variables[m.group(1)])
    return text


def pytest_runs(target: str) -> list[tuple[str, bool]]:
    """(the -m expression, side by side?) of each pytest the target's recipe runs."""
    text = (REPO / "Makefile").read_text()
    recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, f"no `{target}` target in the Makefile"
    lines = expand(recipe.group(1), make_variables())
    runs = re.findall(r"-m pytest([^\n|]*?) -m \"([^\"]+)\"", lines)
    return [(expr, " -n " in f"{opts} ") for opts, expr in runs]


def selected(expr: str, marks: set[str]) -> bool:
    return bool(eval(expr, {"__builtins__": {}}, {m: m in marks for m in MARKERS}))


def every_combination() -> list[set[str]]:
    return [set(c) for n in range(len(MARKERS) + 1) for c in itertools.combinations(MARKERS, n)]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    command = re.search(r"^(make \w+) +# .*what CI runs \(\.ci/run\)", readme, re.M)
    assert command, "the README names the command CI runs"
    assert f"exec {command.group(1)}\n" in (REPO / ".ci" / "run").read_text()
    assert command.group(1) == "make check"


@pytest.mark.parametrize("marks", every_combination(), ids=lambda m: "+".join(sorted(m)) or "-")
def test_check_runs_every_test_once_and_a_serial_one_alone(marks):
    runs = [side_by_side for expr, side_by_side in pytest_runs("check") if selected(expr, marks)]
    if "matrix" in marks:  # matrix cells are the nightly's (tox -e nightly), as before
        assert runs == []
    else:
        assert runs == ["serial" not in marks]


@pytest.mark.parametrize("marks", every_combination(), ids=lambda m: "+".join(sorted(m)) or "-")
def test_the_fast_loop_leaves_out_only_slow_tests_and_runs_side_by_side(marks):
    runs = [side_by_side for expr, side_by_side in pytest_runs("test") if selected(expr, marks)]
    if marks & {"matrix", "slow"}:
        assert runs == []
    else:  # a `serial` test that is not `slow` lands here, and tests/conftest.py fails it
        assert runs == [True]


def test_both_targets_lint_and_type_check_first():
    text = (REPO / "Makefile").read_text()
    for target in ("test", "check"):
        assert re.search(rf"^{target}: lint\b", text, re.M), target
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.M).group(1)
    assert "ruff check harness proxies tests" in lint and "mypy -p gauntlet" in lint
    assert "ruff format --check harness proxies tests" in lint  # one formatter, checked


def test_side_by_side_runs_keep_a_module_on_one_worker():
    """Module fixtures run whole matrices (test_transports_e2e, test_smoke_matrix): under
    `--dist load` each worker would run each of them again."""
    side_by_side = expand("$(SIDE_BY_SIDE)", make_variables())
    assert "--dist loadscope" in side_by_side and "-n " in side_by_side
