"""Full garbage collections wait for a pause in the desk's typing (a fake monotonic clock)."""

from __future__ import annotations

import gc

import pytest

from frontdesk.tui.idle_gc import DUE, IDLE_SECONDS, NEVER, OVERDUE, IdleCollector


@pytest.fixture
def collector():
    now = [100.0]
    idle = IdleCollector(monotonic=lambda: now[0])
    idle.now = now
    saved = gc.get_threshold()
    idle.start()
    yield idle
    idle.stop()
    assert gc.get_threshold() == saved


def middle_collections(count: int) -> None:
    """Make `count` middle-generation collections, as allocation would."""
    for _ in range(count):
        gc.collect(1)


def test_python_never_starts_a_full_collection_itself_while_the_app_runs(collector):
    assert gc.get_threshold()[2] == NEVER
    assert gc.get_threshold()[:2] == collector._saved_threshold[:2]  # the young ones as usual


def test_a_due_collection_waits_until_input_pauses(collector):
    gc.collect()
    middle_collections(DUE)
    collector.input_seen()
    collector.now[0] += IDLE_SECONDS / 2
    assert not collector.tick()  # still typing
    assert gc.get_count()[2] >= DUE
    collector.now[0] += IDLE_SECONDS
    assert collector.tick()  # the pause came
    assert gc.get_count()[2] == 0
    assert not collector.tick()  # nothing due any more


def test_nothing_is_collected_early_however_idle(collector):
    gc.collect()
    middle_collections(DUE - 2)
    collector.now[0] += 60
    assert not collector.tick()


def test_a_long_overdue_collection_runs_even_without_a_pause(collector):
    gc.collect()
    middle_collections(OVERDUE)
    collector.input_seen()
    assert collector.tick()
    assert gc.get_count()[2] == 0
