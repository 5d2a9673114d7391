"""Cheap checks of a run's arguments, made before anything slow (calibration, cells) starts,
and `gauntlet check`: scenario files validated without starting a process.

Each failure is one GauntletError line naming the argument or file and what is wrong."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from gauntlet import limits
from gauntlet.errors import GauntletError
from gauntlet.scenario import (
    INTERMEDIARIES_FILE,
    PROFILES_FILE,
    list_matrices,
    load_intermediaries,
    load_matrix,
    load_profiles,
    matrix_path,
)


def check_jobs(jobs: int, where: str) -> int:
    """1 <= jobs <= limits.max_jobs(): more cells side by side than cores distorts latency."""
    if not 1 <= jobs <= limits.max_jobs():
        raise GauntletError(
            f"{where} {jobs}: must be 1 to {limits.max_jobs()} on this machine (one cell per "
            f"core, {os.cpu_count()} cores): more cells side by side compete for the CPU and "
            "their latencies measure the machine, not the intermediary"
        )
    return jobs


def check_repeat(times: int) -> None:
    low, high = limits.PROFILE_REPEATS
    if not low <= times <= high:
        raise GauntletError(f"--repeat {times}: must be {low} to {high}")


def match_cells(ids: list[str], patterns: list[str]) -> list[int]:
    """The positions of the cells whose id matches any `--cell` pattern (shell-style, `*`
    and `?`; a profile's repeat suffix `#k` is not part of the id matched), in run order. A
    pattern that matches no cell is an error naming a few ids, so a typo never runs an empty
    selection by mistake."""
    bare = [re.sub(r"#\d+$", "", i) for i in ids]
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(i, pattern) for i in bare):
            shown = ", ".join(dict.fromkeys(bare[:6])) + (", ..." if len(bare) > 6 else "")
            raise GauntletError(f"--cell {pattern}: matches no cell (ids: {shown})")
    return [n for n, i in enumerate(bare) if any(fnmatch.fnmatchcase(i, p) for p in patterns)]


def check_results_dir(path: Path) -> None:
    """The results folder exists or can be made, is a folder, and is writable."""
    if path.exists() and not path.is_dir():
        raise GauntletError(f"--results {path}: is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GauntletError(f"--results {path}: cannot create it: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise GauntletError(f"--results {path}: not writable")


def check_scenarios(files: list[Path], scenarios_dir: Path) -> str:
    """Load every given file (or every file of `scenarios_dir`) as the run would; one summary
    line. Loading parses and validates only: no hop, server or client is started."""
    if not scenarios_dir.is_dir():
        raise GauntletError(f"--scenarios {scenarios_dir}: not a folder")
    matrices, cells = 0, 0
    intermediaries = load_intermediaries(scenarios_dir)
    profiles = load_profiles(scenarios_dir)
    names = [name for name, _ in list_matrices(scenarios_dir)]  # the team's and the built-ins
    targets = files or [matrix_path(name, scenarios_dir) for name in names]
    for path in targets:
        if path.name == INTERMEDIARIES_FILE:
            intermediaries = load_intermediaries(path.parent)
        elif path.name == PROFILES_FILE:
            profiles = load_profiles(path.parent)
        else:
            matrix = load_matrix(str(path) if "/" in str(path) else f"./{path}", scenarios_dir)
            matrices, cells = matrices + 1, cells + len(matrix.cells)
    return (
        f"ok: {matrices} matrices ({cells} cells), {len(intermediaries)} intermediaries, "
        f"{len(profiles)} profiles"
    )
