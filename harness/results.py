"""The results document: one versioned JSON file per run, rewritten after every cell (write,
then rename) with `complete: false` until the run ends, so a SIGKILL or an out-of-memory
death leaves every finished cell on disk.

Other tools read this file, so these names are stable: top-level `schema_version`, `kind`
(`gauntlet-results`; absent in files written before it, which read as results) and `cells`;
each cell has `transport`, `intermediary`, `verdict`, `expected_verdict`, `reason`, and
`metrics` with `sent`, `delivered`, `lost`, `duplicates`, `latency_ms` (`p50`, `p95`, `p99`,
`max`) and `time_to_first_event_ms`; top-level `clock` (name, resolution) and `calibration`
(the instrument's measured error, harness/instrument/calibrate.py; null if not looked
for). Units are in field names; raw per-event samples are kept so plots and later analyses
need nothing else (pytest-benchmark, hyperfine). The model is ResultsDocument over the
shared header of harness/documents.py, which also writes the file and moves `latest`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any, ClassVar

from gauntlet import documents
from gauntlet.documents import (  # noqa: F401  (machine_info and the rest: re-exported)
    Document,
    Part,
    cpu_model,
    dependency_versions,
    dumps,
    git_info,
    header,
    json_safe,
    machine_info,
    write_text_atomic,
)
from gauntlet.verdict import Verdict

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
LATEST = "latest"


def new_run_id(label: str, now: dt.datetime | None = None) -> str:
    """`20261124T120000Z-smoke-1a2b`: sortable by time, unique across concurrent runs."""
    now = now or dt.datetime.now(dt.UTC)
    # A label may name a real device (`nginx:defaults`); a colon is no file name for CI
    # artifact stores or other systems, so the id keeps only portable characters.
    label = re.sub(r"[^A-Za-z0-9_.-]", "-", label)
    return f"{now:%Y%m%dT%H%M%SZ}-{label}-{secrets.token_hex(2)}"


class Cell(Part):
    """One measured cell (harness/topology.py: _entry). The verdicts are checked against the
    vocabulary; the measurements are kept as written (their readers check what they use)."""

    id: str
    verdict: Verdict
    expected_verdict: Verdict | None = None
    reason: str = ""


class ResultsDocument(Document):
    """results.json: one per run, in `<results>/<run-id>/` beside the run's report."""

    KIND: ClassVar[str] = "gauntlet-results"
    SCHEMA_VERSION: ClassVar[int] = SCHEMA_VERSION
    ID_FIELD: ClassVar[str] = "run_id"
    FILE: ClassVar[str | None] = RESULTS_FILE
    OPTIONAL: ClassVar[tuple[str, ...]] = ("repeats", "fidelity", "merged_from", "machines")
    KIND_IMPLIED: ClassVar[bool] = True  # results.json had no `kind` before this model

    run_id: str
    matrix: str
    time_scale: float | None  # null only if a non-finite scale was given
    interrupted: bool
    calibration: dict[str, Any] | None
    """gauntlet.instrument.calibrate.excerpt(...); null: the run did not look for one."""
    complete: bool = True
    cells: list[Cell]
    repeats: dict[str, Any] | None = None
    """gauntlet.repeats.summarize: verdict counts per cell over `--repeat N`."""
    fidelity: dict[str, Any] | None = None
    """`gauntlet fidelity`: pairs, rows, summary (harness/fidelity.py)."""
    merged_from: list[str | None] | None = None
    machines: list[dict[str, Any]] | None = None
    """A merged run: every shard's machine (compare refuses latency verdicts when they differ)."""


def build_document(
    *,
    run_id: str,
    matrix: str,
    time_scale: float,
    cells: list[dict[str, Any]],
    interrupted: bool,
    repo: Path,
    created: dt.datetime | None = None,
    calibration: dict[str, Any] | None = None,
    complete: bool = True,
) -> ResultsDocument:
    """`calibration` is gauntlet.instrument.calibrate.excerpt(...): the instrument's measured
    error, which every report shows in its header; None means the run did not look for one.
    `complete` is False while the run is still measuring (the file is rewritten after every
    cell)."""
    created = created or dt.datetime.now(dt.UTC)
    return ResultsDocument.model_validate(
        {
            **header(ResultsDocument, created=created, machine=machine_info(), repo=repo),
            "run_id": run_id,
            "matrix": matrix,
            "time_scale": time_scale,
            "interrupted": interrupted,
            "calibration": calibration,
            "complete": complete,
            "cells": cells,
        }
    )


def read_results(path: Path) -> ResultsDocument:
    """A results.json, validated; one-line DocumentError naming the file otherwise."""
    return documents.read(ResultsDocument, path)


def write_json(tree: Any, path: Path) -> Path:
    """Write a JSON tree that is not a gauntlet document (a comparison) atomically."""
    write_text_atomic(dumps(json_safe(tree)), path)
    return path


class PartialDocument:
    """The document of a run still measuring, rewritten after each cell at the cost of a copy.

    Each cell is serialised once, compactly, when it finishes (a few KB); the file is the
    header and the cells joined, so rewriting it never re-encodes the whole run, and a cell
    still measuring beside it is not held up (the write itself runs in a thread)."""

    def __init__(self, doc: ResultsDocument, path: Path, count: int) -> None:
        tree = doc.to_json()
        tree.pop("cells")
        head = json.dumps({**tree, "cells": []}, allow_nan=False)
        assert head.endswith('"cells": []}')
        self.head, self.path = head[: -len("[]}")], path
        self.cells: list[str | None] = [None] * count

    def add(self, index: int, entry: dict[str, Any]) -> None:
        self.cells[index] = json.dumps(json_safe(entry), allow_nan=False)

    def text(self) -> str:
        return self.head + "[" + ", ".join(c for c in self.cells if c is not None) + "]}\n"


def write_document(doc: ResultsDocument, results_dir: Path) -> Path:
    """Write `<results_dir>/<run_id>/results.json` atomically and point `latest` at the run."""
    return documents.write(doc, results_dir)


def merge_documents(
    docs: list[ResultsDocument], run_id: str, sources: list[str]
) -> ResultsDocument:
    """One document from the shards of one matrix run (`gauntlet run --shard K/N`).

    Shards must share schema and matrix; a cell may appear in one shard only. The merged
    document keeps the first shard's machine and versions and lists where each part came from.
    """
    from gauntlet.errors import GauntletError
    from gauntlet.repeats import summarize

    if not docs:
        raise GauntletError("merge needs at least one results document")
    first = docs[0]
    seen: dict[str, str] = {}
    cells: list[Cell] = []
    for doc, source in zip(docs, sources, strict=True):
        for key in ("schema_version", "matrix", "time_scale"):
            if getattr(doc, key) != getattr(first, key):
                raise GauntletError(
                    f"{source}: {key} {getattr(doc, key)!r} differs from "
                    f"{sources[0]}'s {getattr(first, key)!r}"
                )
        for cell in doc.cells:
            if cell.id in seen:
                raise GauntletError(f"{source}: cell {cell.id} is also in {seen[cell.id]}")
            seen[cell.id] = source
            cells.append(cell)
    machines = [m for d in docs for m in d.machines or [d.machine.model_dump(mode="json")]]
    return first.model_copy(
        update={
            "run_id": run_id,
            "cells": cells,
            "interrupted": any(d.interrupted for d in docs),
            "complete": all(d.complete for d in docs),
            "merged_from": [d.run_id for d in docs],
            "machines": machines,
            "repeats": summarize([c.model_dump(mode="json") for c in cells]),
        }
    )
