"""The bootstrap script: finds a Python >= 3.12, or says clearly what to install.

Runs the real script in a scratch copy of the project with a PATH that holds only an old
Python (or a fake one), so no virtualenv is created and nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scratch(tmp_path: Path, fake_python_version: str | None) -> tuple[Path, dict]:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap.sh", project / "scripts")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cat", "sha256sum", "cut", "ls", "sort", "env"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    if fake_python_version:
        fake = bin_dir / "python3"
        major, minor = fake_python_version.split(".")
        fake.write_text(f"#!/bin/sh\nexit $([ {minor} -ge 12 ] && echo 0 || echo 1)\n")
        fake.chmod(0o755)
    return project, {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def bootstrap(project: Path, env: dict) -> subprocess.CompletedProcess:
    """scripts/bootstrap.sh in the scratch project, with only `env` (bounded: 30 s)."""
    return subprocess.run(
        ["bash", "scripts/bootstrap.sh"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_no_suitable_python_is_a_clear_message_and_exit_2(tmp_path):
    project, env = scratch(tmp_path, fake_python_version="3.11")
    done = bootstrap(project, env)
    assert done.returncode == 2
    assert "no Python >= 3.12 found" in done.stderr
    assert "GAUNTLET_PYTHON" in done.stderr and "install Python 3.12" in done.stderr
    assert not (project / ".venv").exists()


def test_explicit_python_that_is_too_old_is_skipped(tmp_path):
    project, env = scratch(tmp_path, fake_python_version=None)
    env["GAUNTLET_PYTHON"] = "/usr/bin/python3.11"
    done = bootstrap(project, env)
    assert done.returncode == 2 and "no Python >= 3.12 found" in done.stderr
