"""Telling a reconcile loop, on its own event loop, the moment a GitHub poll brought news.

Polls run on the plugin's loop thread (:mod:`plugins.github.loop`); the reconcile loop runs
on another thread's asyncio loop. Each waiting caller is a :class:`Listeners` entry: its
loop and a callback, which a finished poll schedules there with ``call_soon_threadsafe``
(the only thread-safe way into a running loop). Every finished poll is told, news or not,
so the caller's scheduler knows when to look again; only news reaches its ``wake``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

Told = Callable[[bool], None]
"""A listener's callback, run on its own loop with whether the poll brought news."""


class Listeners:
    """The callers waiting for polls to end, each on its own event loop (thread-safe)."""

    def __init__(self) -> None:
        """No one listens yet."""
        self._lock = threading.Lock()
        self._items: list[tuple[asyncio.AbstractEventLoop, Told]] = []

    def add(self, loop: asyncio.AbstractEventLoop, told: Told) -> None:
        """Run ``told(news)`` on ``loop`` after each poll from now on."""
        with self._lock:
            self._items.append((loop, told))

    def remove(self, told: Told) -> None:
        """Stop telling ``told``."""
        with self._lock:
            self._items = [(loop, t) for loop, t in self._items if t is not told]

    def tell(self, news: bool) -> None:
        """A poll ended (any thread): schedule each listener's callback on its loop."""
        with self._lock:
            items = list(self._items)
        for loop, told in items:
            # A loop that closed before it unregistered has no one left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(told, news)


async def watch(
    listeners: Listeners,
    start_due: Callable[[], float | None],
    wake: Callable[[], None],
    stop: asyncio.Event,
) -> None:
    """Start the polls that are due and ``wake()`` after each one that brought news, until
    ``stop``.

    ``start_due`` starts every due poll (it only submits work to the plugin's loop, so it
    may run here) and says how many seconds until the next one is due, or None when only
    a running poll's end (or a first one, started by a reconcile tick) can say. Between
    two polls this waits and does nothing: no timer spins while the polls are running or
    while no repository is asked about.
    """
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()

    def told(news: bool) -> None:
        ended.set()
        if news:
            wake()

    listeners.add(loop, told)
    try:
        while not stop.is_set():
            # Cleared before looking: a poll that ends while we look brings us back at once.
            ended.clear()
            pause = start_due()
            stop_wait = asyncio.create_task(stop.wait())
            ended_wait = asyncio.create_task(ended.wait())
            await asyncio.wait(
                {stop_wait, ended_wait}, timeout=pause, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            ended_wait.cancel()
    finally:
        listeners.remove(told)
