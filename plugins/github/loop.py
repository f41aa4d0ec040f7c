"""One private asyncio event loop on a daemon thread, for synchronous callers.

The SCM protocol is synchronous, and its callers (the reconciler's timer loop, the cockpit)
must never wait on the network. The plugin owns one loop running here; callers submit
coroutines and either keep the future (background polls) or wait on it with a timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A lazily started event loop in a daemon thread named ``name``."""

    def __init__(self, name: str) -> None:
        """Nothing runs until the first :meth:`submit`."""
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; its future, to keep or to wait on."""
        return asyncio.run_coroutine_threadsafe(coro, self._started())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` and wait up to ``timeout`` seconds (TimeoutError after that)."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g}s") from None

    def close(self, cleanup: Coroutine[Any, Any, None] | None = None) -> None:
        """Run ``cleanup`` (if any) on the loop, then stop it and join the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            if cleanup is not None:
                cleanup.close()
            return
        if cleanup is not None:
            try:
                asyncio.run_coroutine_threadsafe(cleanup, loop).result(10)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()
