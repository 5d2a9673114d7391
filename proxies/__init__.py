"""The intermediary catalogue: one hostile behaviour per module, loaded by `mitmdump -s`.

Each behaviour module is a mitmproxy addon script: a small class, `addons = [...]` at module
level, options declared in `load()` with units in their names. Its docstring's first line
says what it does in one sentence; an `Imitates:` line names the real device and a `Source:`
the document it is drawn from. `BEHAVIOURS` is built from those docstrings and from the
options each addon declares, so `gauntlet list`, the scaling of durations and the registry
test all read what the modules themselves say.

Durations are ints in milliseconds (`*_ms`: mitmproxy options have no float type). The ones
a module lists in `SCALED_OPTIONS` are the real world's patience (an ALB's 60 s idle timeout,
a 30 s lifetime cap): the harness divides them by the scenario's time scale before the hop
starts. Latencies, jitter and kill delays are not scaled: they are already short, and the
clients' own reconnect timings they interact with run in real time.

Modules whose names start with `_` are plumbing, not behaviours.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PROXIES_DIR = Path(__file__).resolve().parent
READY_ADDON = PROXIES_DIR / "_ready.py"
BASELINE_ADDON = PROXIES_DIR / "_baseline.py"


@dataclass(frozen=True)
class Option:
    name: str
    type: str
    default: Any
    help: str
    scaled: bool = False  # a real-world duration, divided by the scenario's time scale


@dataclass(frozen=True)
class Behaviour:
    name: str
    path: Path
    summary: str
    imitates: str
    source: str
    options: tuple[Option, ...]
    mode: str  # how the hop runs when this behaviour stands alone: "reverse" or "regular"
    layer: str  # "http" (parses HTTP, stacks with HTTP behaviours) or "tcp" (raw relay)


class _OptionRecorder:
    """Stands in for mitmproxy's loader: records what an addon declares in `load()`."""

    def __init__(self) -> None:
        self.options: list[Option] = []

    def add_option(self, name, typespec, default, help, choices=None) -> None:  # noqa: A002
        type_name = getattr(typespec, "__name__", str(typespec))
        self.options.append(Option(name, type_name, default, " ".join(help.split())))

    def add_command(self, *args, **kwargs) -> None:  # pragma: no cover - none use it yet
        pass


def _field(doc: str, label: str) -> str:
    text = " ".join(doc.split())
    if label not in text:
        return ""
    rest = text.split(label, 1)[1]
    for stop in ("Imitates:", "Source:"):
        if stop != label and stop in rest:
            rest = rest.split(stop, 1)[0]
    return rest.strip()


def _declared(path: Path) -> tuple[tuple[Option, ...], str, str]:
    """An addon's options from `load()`, its `HOP_MODE` (reverse) and `HOP_LAYER` (http)."""
    spec = importlib.util.spec_from_file_location(f"gauntlet_behaviour_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    recorder = _OptionRecorder()
    for addon in getattr(module, "addons", []):
        if hasattr(addon, "load"):
            addon.load(recorder)
    mode, layer = getattr(module, "HOP_MODE", "reverse"), getattr(module, "HOP_LAYER", "http")
    scaled = set(getattr(module, "SCALED_OPTIONS", ()))
    options = tuple(replace(o, scaled=o.name in scaled) for o in recorder.options)
    return options, mode, layer


def _load(path: Path) -> Behaviour:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    options, mode, layer = _declared(path)
    return Behaviour(
        name=path.stem,
        path=path,
        summary=doc.split("\n", 1)[0].strip(),
        imitates=_field(doc, "Imitates:"),
        source=_field(doc, "Source:"),
        options=options,
        mode=mode,
        layer=layer,
    )


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b for b in map(_load, sorted(PROXIES_DIR.glob("[!_]*.py")))
}
