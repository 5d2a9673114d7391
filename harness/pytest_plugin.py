"""Gauntlet's pytest plugin (registered through the `pytest11` entry point).

Declares the markers Gauntlet's own tests and other projects' tests use. Fixtures for a
started reference server, proxy chains and clients come with the full-matrix work (issue 5).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs real processes and sockets")
    config.addinivalue_line("markers", "slow: real-clock test with a written tolerance")
