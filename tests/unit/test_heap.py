"""harness/instrument/heap.py: what exists when the harness starts measuring is frozen out of
later collections; what is created after is collected as before."""

from __future__ import annotations

import gc

from gauntlet.instrument.heap import freeze_startup_heap


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freezing_moves_the_live_heap_out_of_collections_and_leaves_new_garbage_collectable():
    was_frozen = gc.get_freeze_count() > 0  # the session's freeze (tests/conftest.py)
    gc.unfreeze()
    try:
        before = Cycle()
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is before for o in gc.get_objects())  # frozen: no generation holds it
        Cycle()  # garbage made after the freeze: a cycle only the collector frees
        assert gc.collect() >= 1
        assert freeze_startup_heap() >= frozen  # again: what was created since joins it
    finally:
        gc.unfreeze()
        if was_frozen:
            freeze_startup_heap()
