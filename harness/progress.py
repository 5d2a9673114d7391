"""Progress of a run on stderr: a live status line on a terminal, plain lines in CI.

The runner reports plain text lines (harness/runner.py): `[i/n] cell ...` when a cell
starts, `[i/n] cell: VERDICT: reason [elapsed, ETA]` when it ends, and indented topology
details. In CI (stderr not a terminal) every line is printed as it comes, so a log shows
the whole story. On a terminal the start line is a status line that the cell's result
then overwrites (carriage return, erase line), so a 116-cell run shows one line per
finished cell plus what is running now, with cells done / total, elapsed time and ETA.
"""

from __future__ import annotations

import re
from typing import TextIO

ERASE_LINE = "\r\x1b[K"
_STARTED = re.compile(r"^\[\d+/\d+\] \S+ \.\.\.$")


class ProgressPrinter:
    """Callable progress sink for `run_cells`; `verbose` also prints topology details."""

    def __init__(self, stream: TextIO, *, verbose: bool = False, live: bool | None = None):
        self.stream = stream
        self.verbose = verbose
        self.live = stream.isatty() if live is None else live
        self._status_shown = False

    def __call__(self, line: str) -> None:
        if line.startswith("  ") and not self.verbose:
            return
        if self.live and _STARTED.match(line):
            self._clear()
            self.stream.write(line)
            self._status_shown = True
        else:
            self._clear()
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Leave the terminal on a fresh line (a run that ends mid-cell, e.g. Ctrl-C)."""
        if self._status_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._status_shown = False

    def _clear(self) -> None:
        if self._status_shown:
            self.stream.write(ERASE_LINE)
            self._status_shown = False
