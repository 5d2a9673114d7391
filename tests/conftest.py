"""Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: `fast` locally and in CI, `deep` nightly.

(mitmproxy's test/mitmproxy/proxy/conftest.py does the same.) No deadline in either: CI
machines stall now and then, and a property's truth does not depend on its speed.

Also: a temp folder of its own for each pytest-xdist worker (pytest_configure below), and the
imported heap frozen once collection is done (pytest_collection_finish).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("fast", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test`, `make check`), each worker gets its own temp folder.

    Every run sweeps the system temp folder of work folders whose owner died (harness/
    workdir.py), and test_kill.py SIGKILLs a run and then checks that its folder is still
    there until *its* next run sweeps it: a run on another worker would sweep it in between.
    TMPDIR is what tempfile.gettempdir() reads here and in every child (spawn.ENV_KEPT).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return
    folder = Path(tempfile.mkdtemp(prefix=f"pytest-{worker}-tmp-"))
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every test module and what it imports, frozen out of the cyclic GC's full passes.

    The e2e tests time events in this process (the reference server and clients run on the
    test's trio loop), as the runner does in its; a full collection over a test session's
    heap paused it 100+ ms on the 2-core machine (harness/instrument/heap.py), more than the
    50 ms several e2e tests allow an event. The runner freezes its own start-up heap; this
    does the same for the tests that open a topology themselves."""
    from gauntlet.instrument.heap import freeze_startup_heap

    freeze_startup_heap()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `serial` test must have no other test beside it: it fails on an xdist worker."""
    if item.get_closest_marker("serial") and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail(
            "marked `serial`: it must run alone, without -n (-m 'not serial' under -n; Makefile)",
            pytrace=False,
        )
