"""components/ui/heap.py: the imports' objects leave the collector's way once, and only when
new modules arrived."""

from __future__ import annotations

import gc
import sys
import types
import weakref

import pytest

from components.ui import heap


class Node:
    other: Node | None = None


@pytest.fixture
def thawed():
    gc.unfreeze()
    heap._frozen_at = (0, float("-inf"))  # as in a fresh server process
    yield
    gc.unfreeze()  # the rest of the test run collects as usual


def test_the_first_run_freezes_what_is_alive_and_later_runs_leave_it(thawed):
    heap.settle()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the imports' functions, classes and modules
    gc.collect()  # a full collection leaves them where they are
    assert gc.get_freeze_count() == frozen
    made = [Node() for _ in range(1000)]  # a run that imported nothing freezes nothing
    heap.settle()
    assert gc.get_freeze_count() == frozen
    assert len(made) == 1000


def test_new_modules_freeze_again(thawed):
    heap.settle()
    frozen = gc.get_freeze_count()
    name = "flux_studio_test_heap_module"
    sys.modules[name] = types.ModuleType(name)  # what a page's first visit does: imports
    kept = [Node() for _ in range(5000)]
    try:
        heap.settle()
        assert gc.get_freeze_count() >= frozen + len(kept)
    finally:
        del sys.modules[name]


def test_what_a_freeze_caught_is_collected_at_the_next_settle(thawed, monkeypatch):
    """A session's data alive at a freeze, in a cycle, closed later: the next settle (at the
    latest REFREEZE_S on) thaws and collects it."""
    held = Node()
    held.other = Node()
    held.other.other = held  # a cycle, alive at the freeze
    gone = weakref.ref(held)
    heap.settle()
    del held
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see it
    monkeypatch.setattr(heap, "REFREEZE_S", 0.0)  # the time has come
    heap.settle()
    assert gone() is None


def test_garbage_is_collected_before_the_freeze(thawed):
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    heap.settle()
    assert gone() is None  # collected, not frozen for ever
