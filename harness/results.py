"""The results document: one versioned JSON file per run, rewritten after every cell (write,
then rename) with `complete: false` until the run ends, so a SIGKILL or an out-of-memory
death leaves every finished cell on disk.

Other tools read this file, so these names are stable: top-level `schema_version` and
`cells`; each cell has `transport`, `intermediary`, `verdict`, `expected_verdict`, `reason`,
and `metrics` with `sent`, `delivered`, `lost`, `duplicates`, `latency_ms` (`p50`, `p95`,
`p99`, `max`) and `time_to_first_event_ms`; top-level `clock` (name, resolution) and
`calibration` (the instrument's measured error, harness/calibrate.py; null if not looked
for). Units are in field names; raw per-event samples are kept so plots and later analyses
need nothing else (pytest-benchmark, hyperfine).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from gauntlet import __version__
from gauntlet.eventlog import CLOCK_NAME, clock_resolution_ns

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
LATEST = "latest"
DEPENDENCIES = ("mitmproxy", "hypercorn", "trio", "trio-websocket", "httpx", "h2", "matplotlib")


def new_run_id(label: str, now: dt.datetime | None = None) -> str:
    """`20261124T120000Z-smoke-1a2b`: sortable by time, unique across concurrent runs."""
    now = now or dt.datetime.now(dt.UTC)
    # A label may name a real device (`nginx:defaults`); a colon is no file name for CI
    # artifact stores or other systems, so the id keeps only portable characters.
    label = re.sub(r"[^A-Za-z0-9_.-]", "-", label)
    return f"{now:%Y%m%dT%H%M%SZ}-{label}-{secrets.token_hex(2)}"


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
    }


def cpu_model() -> str | None:
    """The first `model name` of /proc/cpuinfo: hosted CI runners of one image differ in it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None


def dependency_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_info(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                                  text=True, timeout=5, check=True)  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def build_document(
    *, run_id: str, matrix: str, time_scale: float, cells: list[dict[str, Any]],
    interrupted: bool, repo: Path, created: dt.datetime | None = None,
    calibration: dict[str, Any] | None = None, complete: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """`calibration` is gauntlet.calibrate.excerpt(...): the instrument's measured error, which
    every report shows in its header; None means the run did not look for one. `complete` is
    False while the run is still measuring (the file is rewritten after every cell)."""
    created = created or dt.datetime.now(dt.UTC)
    return json_safe({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "gauntlet", "version": __version__},
        "run_id": run_id,
        "created_utc": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "matrix": matrix,
        "time_scale": time_scale,
        "interrupted": interrupted,
        "machine": machine_info(),
        "dependencies": dependency_versions(),
        "git": git_info(repo),
        "clock": {"name": CLOCK_NAME, "resolution_ns": clock_resolution_ns()},
        "calibration": calibration,
        "complete": complete,
        "cells": cells,
    })


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (inf, nan) replaced by None, so the strict writer
    (`allow_nan=False`: other tools read this file) never meets one after the cells ran."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(doc: dict[str, Any], *paths: Path) -> Path:
    """Write `doc` to each path atomically (write a temporary file, then rename); the first."""
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    for path in paths:
        write_text_atomic(text, path)
    return paths[0]


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class PartialDocument:
    """The document of a run still measuring, rewritten after each cell at the cost of a copy.

    Each cell is serialised once, compactly, when it finishes (a few KB); the file is the
    header and the cells joined, so rewriting it never re-encodes the whole run, and a cell
    still measuring beside it is not held up (the write itself runs in a thread)."""

    def __init__(self, header: dict[str, Any], path: Path, count: int) -> None:
        head = json.dumps({**header, "cells": []}, allow_nan=False)
        assert head.endswith('"cells": []}')
        self.head, self.path = head[: -len("[]}")], path
        self.cells: list[str | None] = [None] * count

    def add(self, index: int, entry: dict[str, Any]) -> None:
        self.cells[index] = json.dumps(json_safe(entry), allow_nan=False)

    def text(self) -> str:
        return self.head + "[" + ", ".join(c for c in self.cells if c is not None) + "]}\n"


def write_document(doc: dict[str, Any], results_dir: Path) -> Path:
    """Write `<results_dir>/<run_id>/results.json` atomically and point `latest` at the run."""
    path = write_json(doc, results_dir / doc["run_id"] / RESULTS_FILE)
    link = results_dir / LATEST
    tmp_link = results_dir / f".{LATEST}.{doc['run_id']}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(doc["run_id"], target_is_directory=True)
    os.replace(tmp_link, link)
    return path


def merge_documents(docs: list[dict[str, Any]], run_id: str, sources: list[str]) -> dict[str, Any]:
    """One document from the shards of one matrix run (`gauntlet run --shard K/N`).

    Shards must share schema and matrix; a cell may appear in one shard only. The merged
    document keeps the first shard's machine and versions and lists where each part came from.
    """
    from gauntlet.errors import GauntletError

    if not docs:
        raise GauntletError("merge needs at least one results document")
    first = docs[0]
    seen: dict[str, str] = {}
    cells: list[dict[str, Any]] = []
    for doc, source in zip(docs, sources, strict=True):
        for key in ("schema_version", "matrix", "time_scale"):
            if doc.get(key) != first.get(key):
                raise GauntletError(f"{source}: {key} {doc.get(key)!r} differs from "
                                    f"{sources[0]}'s {first.get(key)!r}")  # fmt: skip
        for cell in doc["cells"]:
            if cell["id"] in seen:
                raise GauntletError(f"{source}: cell {cell['id']} is also in {seen[cell['id']]}")
            seen[cell["id"]] = source
            cells.append(cell)
    merged = {**first, "run_id": run_id, "cells": cells,
              "interrupted": any(d.get("interrupted") for d in docs),
              "complete": all(d.get("complete", True) for d in docs),
              "merged_from": [d.get("run_id") for d in docs],
              "machines": [m for d in docs
                           for m in d.get("machines") or [d.get("machine") or {}]]}  # fmt: skip
    from gauntlet.repeats import summarize

    merged.pop("repeats", None)
    if (repeated := summarize(cells)) is not None:
        merged["repeats"] = repeated
    return merged
