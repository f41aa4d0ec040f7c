"""Waiting in the cockpit's Pilot tests until something the app does has happened.

The cockpit reads the store and calls the engine in worker threads and repaints on its
own timers, so a test cannot know when an effect lands: it lets the app run in short
pauses (``pilot.pause`` also lets pending messages be handled) and checks in between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def pause_until(
    pilot: Pilot[Any], check: Callable[[], object], *, timeout: float, interval: float = 0.05
) -> bool:
    """Let the app run, ``interval`` seconds at a time, until ``check()`` is truthy or
    about ``timeout`` seconds of pauses have passed; whether it held.

    For waits that may end either way (a screenshot of whatever is there by then). The
    bound is a number of pauses, not a clock: on a loaded machine each pause takes longer,
    and the app gets as many chances to catch up as on an idle one.
    """
    for _ in range(max(1, round(timeout / interval))):
        if check():
            return True
        await pilot.pause(interval)
    return bool(check())


async def wait_until(
    pilot: Pilot[Any], check: Callable[[], object], timeout: float = 15.0, *, interval: float = 0.05
) -> None:
    """Let the app run until ``check()`` is truthy; fail after ``timeout`` seconds of pauses."""
    if not await pause_until(pilot, check, timeout=timeout, interval=interval):
        raise AssertionError(f"condition not met in time ({timeout} s)")
