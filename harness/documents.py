"""The documents gauntlet writes (results, calibration, bench, load): one header, one writer,
one reader, one `latest` convention.

Every document starts with the same header (`schema_version`, `kind`, `tool`, `created_utc`,
`machine`, `dependencies`, `git`, `clock`) and has its own id field (`run_id`, `id`,
`bench_id`, `load_id`: names other tools already read, so they stay). The models are
pydantic v2 (already installed with the `mcp` and `openai` SDKs): a document is validated
when it is built and when it is read, and a reader meets a version it does not know as one
line naming the file and the version, never as a KeyError three modules later.

Layout, one rule for all: `<folder>/<id><suffix>` is the document (`<id>.json`, or for a run
the folder `<run-id>/` holding `results.json` beside its report), and `<folder>/latest<suffix>`
is a relative symlink to the newest (`latest.json -> <id>.json`, `latest -> <run-id>`), moved
by rename so a reader never sees it half made. Folders written before this rule hold a copied
`latest.json`: it is an ordinary file with the same content, so it still reads, and the next
write replaces it with the link.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from gauntlet import __version__
from gauntlet.errors import GauntletError
from gauntlet.eventlog import CLOCK_NAME, clock_resolution_ns

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LATEST = "latest"


class DocumentError(GauntletError):
    """A document that cannot be used: unreadable, of another kind or version, or malformed.
    One line naming the file and, for a malformed one, the place and the field."""


class Part(BaseModel):
    """A part of a document: fields it names are checked; ones a newer writer added are kept."""

    model_config = ConfigDict(extra="allow")


class Tool(Part):
    name: str = "gauntlet"
    version: str


class Git(Part):
    commit: str | None
    dirty: bool | None


class Clock(Part):
    name: str
    resolution_ns: int | None


class Machine(Part):
    """harness/results.py machine_info(); the bench and load add memory and open-file limits."""

    python: str
    implementation: str | None = None
    platform: str | None = None
    machine: str | None = None
    cpu_count: int | None
    cpu_model: str | None = None


class Document(Part):
    """The shared header. Subclasses set KIND, SCHEMA_VERSION, ID_FIELD and the layout."""

    KIND: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    ID_FIELD: ClassVar[str]
    FILE: ClassVar[str | None] = None
    """None: the document is `<id>.json`; a name: `<id>/<FILE>` (a run's folder)."""
    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    """Fields written only when set (absent, not null, in files other tools read)."""
    KIND_IMPLIED: ClassVar[bool] = False
    """True: files written before `kind` existed (results.json) read as this kind."""

    schema_version: int
    kind: str
    tool: Tool
    created_utc: str
    machine: Machine
    dependencies: dict[str, str | None]
    git: Git
    clock: Clock

    @property
    def doc_id(self) -> str:
        return str(getattr(self, self.ID_FIELD))

    def to_json(self) -> dict[str, Any]:
        """The JSON tree: non-finite floats as null (other tools read these files strictly)."""
        tree = self.model_dump(mode="json", by_alias=True)
        for key in self.OPTIONAL:
            if tree.get(key) is None:
                tree.pop(key, None)
        return json_safe(tree)

    @classmethod
    def name(cls) -> str:
        """`results`, `calibration`, `bench`, `load`: what the messages call it."""
        return cls.KIND.removeprefix("gauntlet-")

    @classmethod
    def from_json(cls, tree: Any, source: str) -> Self:
        """Validate a JSON tree read from `source` (a path, for the messages)."""
        if not isinstance(tree, dict):
            raise DocumentError(f"{source}: not a {cls.name()} document (not a JSON object)")
        kind = tree.get("kind", cls.KIND if cls.KIND_IMPLIED else None)
        if kind != cls.KIND:
            raise DocumentError(f"{source}: kind {kind!r:.40}, expected {cls.KIND!r}")
        version = tree.get("schema_version")
        if version != cls.SCHEMA_VERSION:
            raise DocumentError(
                f"{source}: schema_version {version!r:.20}, this gauntlet reads "
                f"{cls.SCHEMA_VERSION}: a {cls.name()} document of another "
                f"gauntlet version (this is {__version__})"
            )
        try:
            return cls.model_validate({"kind": cls.KIND, **tree})
        except ValidationError as exc:
            raise DocumentError(f"{source}: {first_problem(exc)}") from None


DEPENDENCIES = ("mitmproxy", "hypercorn", "trio", "trio-websocket", "httpx", "h2", "matplotlib")


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
            done = subprocess.run(
                ["git", "-C", str(repo), *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def header(
    cls: type[Document], *, created: dt.datetime, machine: dict[str, Any], repo: Path
) -> dict[str, Any]:
    """The header fields every document starts with (reads versions, git and the clock)."""
    return {
        "schema_version": cls.SCHEMA_VERSION,
        "kind": cls.KIND,
        "tool": {"name": "gauntlet", "version": __version__},
        "created_utc": created.strftime(TIME_FORMAT),
        "machine": machine,
        "dependencies": dependency_versions(),
        "git": git_info(repo),
        "clock": {"name": CLOCK_NAME, "resolution_ns": clock_resolution_ns()},
    }


class Problem(NamedTuple):
    """pydantic's first error, split where a reader looks for it. The scenario loader
    (harness/scenario_models.py) words it as `<place>: field '<field>': ...`, documents as
    `<place>.<field>: ...` (`first_problem`)."""

    place: str
    """The table or list entry the field is in: `cells[0]`, `corp.hops[1]`; '' at the top."""
    field: str
    """The last name, with the indexes after it: `verdict`, `transports[1]`."""
    kind: str
    """pydantic's error type: `missing`, `extra_forbidden`, or a validator's own."""
    message: str
    got: Any


def place_and_field(loc: Sequence[int | str]) -> tuple[str, str]:
    """Split a pydantic location at its last name: `("expect", 3, "verdict")` is the field
    `verdict` of `expect[3]`, `("transports", 1)` the field `transports[1]` at the top."""
    cut = max((i for i, part in enumerate(loc) if isinstance(part, str)), default=0)

    def dotted(parts: Sequence[int | str]) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")

    return dotted(loc[:cut]), dotted(loc[cut:])


def problem(exc: ValidationError, at: Sequence[int | str] = ()) -> Problem:
    """The first error of `exc`; `at` is where the validated value sits in its file."""
    err = exc.errors()[0]
    place, field = place_and_field((*at, *err["loc"]))
    return Problem(place, field, err["type"], err["msg"], err.get("input"))


def first_problem(exc: ValidationError) -> str:
    """pydantic's first error as `place.field: message` on one line."""
    found = problem(exc)
    where = ".".join(part for part in (found.place, found.field) if part)
    got = "" if found.kind == "missing" else f" (got {found.got!r:.40})"
    return f"{where or 'document'}: {found.message}{got}"


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


def dumps(tree: Any) -> str:
    return json.dumps(tree, indent=1, allow_nan=False) + "\n"


def write_text_atomic(text: str, path: Path) -> None:
    """Write a temporary file beside `path`, then rename it over: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def document_path(cls: type[Document], folder: Path, doc_id: str) -> Path:
    return folder / doc_id / cls.FILE if cls.FILE else folder / f"{doc_id}.json"


def latest_path(cls: type[Document], folder: Path) -> Path:
    """Where `latest` points into a document: `latest/results.json` or `latest.json`."""
    return folder / LATEST / cls.FILE if cls.FILE else folder / f"{LATEST}.json"


def write(doc: Document, folder: Path) -> Path:
    """Write `doc` to `<folder>/<id>` atomically, then move `latest` to it; the path written."""
    path = document_path(type(doc), folder, doc.doc_id)
    write_text_atomic(dumps(doc.to_json()), path)
    point_latest(folder, path.parent.name if doc.FILE else path.name, directory=bool(doc.FILE))
    return path


def point_latest(folder: Path, target: str, *, directory: bool) -> None:
    """`latest` (a folder's link) or `latest.json` -> `target`, relative, swapped by rename."""
    link = folder / (LATEST if directory else f"{LATEST}.json")
    if link.is_dir() and not link.is_symlink():
        raise DocumentError(
            f"{link}: a folder, not the link gauntlet keeps to the newest document; move it away"
        )
    tmp = folder / f".{link.name}.{os.getpid()}.link"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=directory)
    os.replace(tmp, link)


def read[D: Document](cls: type[D], path: Path) -> D:
    """The document at `path`, validated; DocumentError (one line) if it cannot be used."""
    try:
        tree = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such {cls.name()} file") from None
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{path}: not a {cls.name()} document: {exc}") from None
    return cls.from_json(tree, str(path))


def read_latest[D: Document](cls: type[D], folder: Path) -> D | None:
    """The newest document in `folder` (the `latest` link, or an older copied `latest.json`);
    None when there is none. One that exists but cannot be used raises DocumentError."""
    path = latest_path(cls, folder)
    if not path.exists():
        return None
    return read(cls, path)
