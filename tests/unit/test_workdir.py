"""The private work folder: 0700, removed on every exit, orphans of dead owners swept."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from gauntlet.workdir import OWNER_FILE, owner_alive, private_workdir, sweep_dead


def test_the_folder_is_private_and_removed_on_exit(tmp_path):
    with private_workdir("run", tmp_path) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        (path / "ca-key.pem").write_text("secret")
    assert not path.exists()


def test_the_folder_is_removed_when_the_run_raises(tmp_path):
    with pytest.raises(RuntimeError), private_workdir("run", tmp_path) as path:
        raise RuntimeError("boom")
    assert not path.exists()


def test_a_dead_owners_folder_is_swept_and_a_live_ones_kept(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = tmp_path / "gauntlet-dead-1"
    dead.mkdir()
    (dead / OWNER_FILE).write_text(f"{child.stdout.strip()} 12345\n")
    foreign = tmp_path / "gauntlet-no-owner"
    foreign.mkdir()
    assert sweep_dead(tmp_path) == [dead]
    assert foreign.exists()
    with private_workdir("live", tmp_path) as live:  # a run sweeps at start, keeps the living
        (dead).mkdir()
        (dead / OWNER_FILE).write_text(f"{child.stdout.strip()} 12345\n")
        assert sweep_dead(tmp_path) == [dead]
        assert live.exists() and foreign.exists()


def test_a_reused_pid_is_not_the_owner():
    assert owner_alive(f"{os.getpid()} not-my-start-time") is False
    assert owner_alive("garbage") is False
