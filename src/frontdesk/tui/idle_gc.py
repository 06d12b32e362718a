"""Garbage collection on the desk's time, not in the middle of a keystroke.

Python's automatic full collection scans every long-lived object: with a loaded week of
slots and the table's render caches that is 6-10 ms, and it lands on whichever key happens
to allocate past the threshold, pushing that key past one frame (16 ms). So the app turns
automatic full collections off while it runs and makes them itself once input has paused.
The young generations, where almost all garbage dies, are still collected as usual.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_SECONDS = 1.0  # no key or mouse input for this long counts as a pause
CHECK_SECONDS = 0.5
DUE = 10  # full collection after this many middle-generation ones (Python's own default)
OVERDUE = 200  # ...or, without a pause (a key held down for minutes), after this many
NEVER = 1 << 30


class IdleCollector:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.last_input = monotonic()
        self._saved_threshold: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved_threshold is None:
            self._saved_threshold = gc.get_threshold()
            young, middle, _ = self._saved_threshold
            gc.set_threshold(young, middle, NEVER)

    def stop(self) -> None:
        if self._saved_threshold is not None:
            gc.set_threshold(*self._saved_threshold)
            self._saved_threshold = None

    def input_seen(self) -> None:
        self.last_input = self.monotonic()

    def tick(self) -> bool:
        """Run a full collection if one is due and the desk is idle (or it is long overdue)."""
        due = gc.get_count()[2]  # middle-generation collections since the last full one
        idle = self.monotonic() - self.last_input >= IDLE_SECONDS
        if due >= OVERDUE or (due >= DUE and idle):
            gc.collect()
            return True
        return False


def settle_garbage() -> None:
    """Collect now, while the desk waits for a big load anyway, and freeze what survives.

    A week of 2,000 slots is ~200,000 objects. Frozen, they are skipped by every later full
    collection (and still freed by reference counting), which keeps those collections short;
    unfreezing first lets this collection find cycles left from earlier weeks.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
