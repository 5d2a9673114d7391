"""The intermediary catalogue: one hostile behaviour per module, loaded by `mitmdump -s`.

Each behaviour module is a mitmproxy addon script: a small class, `addons = [...]` at module
level, options declared in `load()` with units in their names. Its docstring's first line
says what it does in one sentence; an `Imitates:` line names the real device and a `Source:`
the document it is drawn from. `BEHAVIOURS` is built from those docstrings, so `gauntlet
list` and the registry test read the same text the modules carry.

Modules whose names start with `_` are plumbing, not behaviours.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PROXIES_DIR = Path(__file__).resolve().parent
READY_ADDON = PROXIES_DIR / "_ready.py"


@dataclass(frozen=True)
class Behaviour:
    name: str
    path: Path
    summary: str
    imitates: str
    source: str


def _field(doc: str, label: str) -> str:
    text = " ".join(doc.split())
    if label not in text:
        return ""
    rest = text.split(label, 1)[1]
    for stop in ("Imitates:", "Source:"):
        if stop != label and stop in rest:
            rest = rest.split(stop, 1)[0]
    return rest.strip()


def _load(path: Path) -> Behaviour:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return Behaviour(
        name=path.stem,
        path=path,
        summary=doc.split("\n", 1)[0].strip(),
        imitates=_field(doc, "Imitates:"),
        source=_field(doc, "Source:"),
    )


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b for b in map(_load, sorted(PROXIES_DIR.glob("[!_]*.py")))
}
