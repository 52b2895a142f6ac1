"""Waiting on the event a test checks, never on a sleep (one helper for every test).

A test that sleeps for "long enough" passes on an idle machine and fails under load. Instead poll the
condition itself with a deadline so generous that only a real hang reaches it: the deadline costs
nothing when the condition comes true early.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

HANG_S = 60.0
"""Default deadline: far above the slowest honest run on a loaded 2-core machine."""


def wait_until(predicate: Callable[[], T], timeout_s: float = HANG_S, what: str = "the condition",
               interval_s: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail after ``timeout_s``.

    The failure names ``what`` and the last value seen, so a hang reads as a clear test failure.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")
        time.sleep(interval_s)


def holds_for(predicate: Callable[[], object], duration_s: float, what: str = "the condition",
              interval_s: float = 0.05) -> None:
    """Assert ``predicate`` stays truthy for ``duration_s`` (a negative check: nothing more arrives).

    Only for checks that something does *not* happen; the duration bounds how long we look, so it can
    miss a late event but never fails a correct run.
    """
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        if not predicate():
            raise AssertionError(f"{what} stopped holding")
        time.sleep(interval_s)
