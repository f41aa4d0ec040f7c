"""The demo's own watcher, for a demo with no cockpit (``ao-tui demo --headless``, tests).

The cockpit watches the sandbox itself: it takes the engine lease and runs the engine loop
with the reactions, which is what sends a failing CI to the demo agent that broke it. With
no cockpit, something else must, or the headless board would show a failure nobody acts
on. This thread does what ``ao-tui daemon`` does, in-process: it waits for the lease, then
runs :func:`core.daemon.reconcile_loop` with ``react=True`` until stopped.
"""

from __future__ import annotations

import asyncio
import threading

from core.daemon import reconcile_loop
from core.engine import Engine
from core.lease import EngineLease, wait_for_lease

STOP_WAIT = 10.0
"""Seconds :meth:`DemoWatcher.stop` waits for the loop to end (a tick or a send in flight)."""


class DemoWatcher(threading.Thread):
    """Reconciles and reacts on ``engine``'s sessions, holding the engine lease, until
    :meth:`stop`; a failing tick is kept in :attr:`errors` and the loop goes on."""

    def __init__(self, engine: Engine, *, interval: float = 0.5) -> None:
        """Prepare (not start) the watcher; ``interval`` is the timer tick in seconds."""
        super().__init__(name="ao-tui-demo-watcher", daemon=True)
        self.engine = engine
        self.interval = interval
        self.errors: list[str] = []
        self.watching = threading.Event()
        """Set once the lease is taken and the loop runs."""
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._halt: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        """Start the thread, and return once it can be stopped."""
        super().start()
        self._ready.wait(timeout=STOP_WAIT)

    def run(self) -> None:
        """The thread: one event loop running the lease and the engine loop."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self._halt = asyncio.Event()
        self._ready.set()
        # "daemon": to `status` and `doctor` this process watches as a daemon would.
        lease = EngineLease(self.engine.locations.engine_lock, kind="daemon")
        try:
            if await wait_for_lease(lease, self._halt):
                self.watching.set()
                await reconcile_loop(
                    self.engine,
                    self._halt,
                    interval=self.interval,
                    on_error=lambda exc: self.errors.append(str(exc)),
                    react=True,
                )
        finally:
            lease.close()

    def stop(self) -> None:
        """End the loop, give the lease back and wait for the thread."""
        loop, halt = self._event_loop, self._halt
        if loop is not None and halt is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(halt.set)
            except RuntimeError:
                pass  # the loop ended between the check and the call: nothing to stop
        if self.is_alive():
            self.join(timeout=STOP_WAIT)
