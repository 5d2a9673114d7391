"""The package as a user gets it: the wheel, installed into a fresh virtualenv outside the
checkout, run from an empty folder (issue 14, "The package").

One module-scoped install (the wheel is built by pip from this checkout; its dependencies
come from the configured index, pinned by constraints.txt, so pip reuses its wheel cache), then
`gauntlet list`, `gauntlet run --matrix smoke`, `--scenarios DIR` and another project's pytest
run against the plugin's fixtures, each from a folder with nothing of the repository in it.
Most of its time is pip installing the dependencies (see the report of issue 14 for timings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.test_plugin import OTHER_PROJECT_TEST

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 1800  # a bound, not a budget: ~100 wheels unpacked on a shared 2-core machine
RUN_TIMEOUT_S = 300


class Installed:
    def __init__(self, root: Path, wheel: Path) -> None:
        self.root, self.wheel = root, wheel
        self.bin = root / "venv" / "bin"
        self.empty = root / "empty"  # the user's folder: nothing of the checkout in it
        self.empty.mkdir()

    def env(self) -> dict[str, str]:
        """No PYTHONPATH, no virtualenv of the checkout: only the fresh venv's bin on PATH."""
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR", "TERM")}
        return {**keep, "PATH": f"{self.bin}{os.pathsep}/usr/bin:/bin"}

    def run(self, *argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd or self.empty,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("package")
    assert REPO not in root.parents
    dist = root / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    (wheel,) = dist.glob("gauntlet-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    # --no-compile: byte-compiling scipy, matplotlib and mitmproxy at install is most of the
    # time; Python compiles what a run imports anyway.
    subprocess.run(
        [
            str(root / "venv" / "bin" / "python"),
            *pip[1:],
            "install",
            "--no-compile",
            "-c",
            str(REPO / "constraints.txt"),
            f"{wheel}[test]",
        ],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    return Installed(root, wheel)


def test_the_wheel_claims_one_import_name_and_ships_the_scenarios(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"gauntlet", "gauntlet-0.1.0.dist-info"}
    assert "gauntlet/scenarios/smoke.toml" in names
    assert (
        "gauntlet/proxies/_body.py" in names
        and "gauntlet/real/templates/nginx-defaults.conf" in names
    )
    assert "gauntlet/report/templates/report.html.j2" in names  # report.html's template
    done = installed.run(installed.bin / "python", "-c", "import harness")
    assert "No module named 'harness'" in done.stderr
    done = installed.run(installed.bin / "python", "-c", "import proxies")
    assert "No module named 'proxies'" in done.stderr


def test_list_shows_the_builtin_matrices_and_profiles(installed):
    done = installed.run("gauntlet", "list")
    assert done.returncode == 0, done.stderr
    assert "\n  smoke " in done.stdout and "Profiles:" in done.stdout
    assert "store_and_forward" in done.stdout  # a behaviour from gauntlet.proxies


def test_a_team_folder_adds_its_matrix_to_the_builtins(installed):
    team = installed.empty / "our-scenarios"
    team.mkdir()
    builtin = installed.run("gauntlet", "list").stdout
    smoke = (REPO / "scenarios" / "smoke.toml").read_text()
    (team / "ours.toml").write_text(smoke.replace('description = "', 'description = "ours: ', 1))
    done = installed.run("gauntlet", "--scenarios", team, "list")
    assert done.returncode == 0, done.stderr
    assert "\n  ours " in done.stdout and "\n  smoke " in done.stdout and builtin != done.stdout


def test_run_the_smoke_matrix_from_an_empty_folder(installed):
    """Real mitmdump hops from the fresh venv import gauntlet.proxies from the wheel."""
    done = installed.run(
        "gauntlet", "run", "--matrix", "smoke", "--no-calibration", "--results", "results"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads((installed.empty / "results" / "latest" / "results.json").read_text())
    assert doc["cells"] and all(c["verdict"] == c["expected_verdict"] for c in doc["cells"])
    page = (installed.empty / "results" / "latest" / "report.html").read_text()  # the template
    assert page.count('data-cell="') == len(doc["cells"]) and 'id="scorecard"' in page


def test_another_projects_pytest_uses_the_plugins_fixtures(installed):
    project = installed.empty / "other-project"
    project.mkdir()
    (project / "test_other.py").write_text(OTHER_PROJECT_TEST)
    done = installed.run(
        installed.bin / "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "trio",
        "--gauntlet-results=gauntlet-results",
        "--gauntlet-time-scale=60",
        cwd=project,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
    doc = json.loads((project / "gauntlet-results" / "latest" / "results.json").read_text())
    assert [c["id"] for c in doc["cells"]] == ["long_poll-direct"]
