"""The Pilot waits: the app runs (its timers fire) while a test waits on what it does."""

from __future__ import annotations

import time

import pytest
from textual.app import App

from tests.support.pilot_waits import pause_until, wait_until


class _Ticker(App[None]):
    """An app that counts its own timer's ticks, as the cockpit's refresh would land."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0

    def on_mount(self) -> None:
        """Tick every 50 ms."""
        self.set_interval(0.05, self._tick)

    def _tick(self) -> None:
        self.ticks += 1


async def test_wait_until_returns_once_the_app_has_done_it() -> None:
    app = _Ticker()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.ticks >= 3, timeout=5.0)
        assert 3 <= app.ticks < 10  # returned soon after, not at the timeout


async def test_wait_until_fails_after_the_timeout_naming_it() -> None:
    app = _Ticker()
    async with app.run_test() as pilot:
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"not met in time \(0.3 s\)"):
            await wait_until(pilot, lambda: False, timeout=0.3)
        assert 0.25 < time.monotonic() - started < 3.0


async def test_pause_until_says_whether_it_held_and_never_fails() -> None:
    app = _Ticker()
    async with app.run_test() as pilot:
        assert await pause_until(pilot, lambda: app.ticks >= 2, timeout=5.0)
        assert not await pause_until(pilot, lambda: False, timeout=0.1, interval=0.02)
        assert await pause_until(pilot, lambda: True, timeout=0.0)  # checked at least once
