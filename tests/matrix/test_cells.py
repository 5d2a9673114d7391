"""Every cell of every matrix in scenarios/ as its own pytest case.

Ids are `transport-intermediary-protocol` (`sse-store_and_forward-h1`); each case carries
its matrix as a marker, so `pytest -m smoke`, `pytest -m tls -k sse` or `pytest -m matrix
-k websocket` select cells. They are deselected from the default run (`-m "not matrix"` in
pyproject.toml): the e2e suite already runs each matrix once through the CLI. A case passes
when the measured verdict equals the expected one; a mismatch prints metrics and reasons.
"""

from __future__ import annotations

import json

import pytest

from gauntlet.scenario import list_matrices, select_cells


def _cases():
    for name, _ in list_matrices():
        for cell in select_cells(matrix=name).cells:  # as `gauntlet run --matrix` does
            marks = [pytest.mark.matrix, pytest.mark.e2e]
            if name in ("smoke", "transports", "tls"):
                marks.append(getattr(pytest.mark, name))
            yield pytest.param(
                cell, id=f"{cell.transport}-{cell.intermediary.name}-{cell.protocol}", marks=marks
            )


@pytest.mark.parametrize("cell", list(_cases()))
async def test_cell_meets_its_expectation(cell, gauntlet_run_cell):
    entry = await gauntlet_run_cell(cell)
    if entry["verdict"] == "SKIPPED":  # a real hop's package is not installed here
        pytest.skip(entry["reason"])
    assert entry["verdict"] == entry["expected_verdict"], (
        f"{entry['id']}: measured {entry['verdict']} ({entry['reason']}), expected "
        f"{entry['expected_verdict']} ({entry['expected_reason']}); metrics "
        + json.dumps(entry["metrics"])
    )
