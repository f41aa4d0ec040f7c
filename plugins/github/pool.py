"""The GitHub plugins' shared plumbing: one event loop thread and one client per API root.

Both the SCM and the tracker plugin talk to GitHub from synchronous protocol methods; each
owns a :class:`ClientPool`, which runs their coroutines on a private loop
(:class:`plugins.github.loop.LoopThread`) and hands out one :class:`GitHubClient` per API
root, finding the token on first use and again after GitHub rejected it (the operator may
have set a new one or run ``gh auth login`` since).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from plugins.github.auth import find_token
from plugins.github.client import Backoff, Clock, GitHubClient
from plugins.github.loop import LoopThread

T = TypeVar("T")


class ClientPool:
    """A loop thread named ``name`` and its clients, with the given request settings."""

    def __init__(
        self,
        name: str,
        *,
        timeout: float = 20.0,
        clock: Clock = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        """Nothing starts (and no token is looked for) until the first call."""
        self._loop = LoopThread(name)
        self._timeout = timeout
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._clients: dict[str, GitHubClient] = {}
        """API root → client; touched only on the loop thread."""

    async def client(self, api_url: str) -> GitHubClient:
        """The client for ``api_url`` (call on the loop); :class:`ScmUnavailableError`
        from :func:`find_token` when there is no token at all."""
        root = api_url.rstrip("/")
        client = self._clients.get(root)
        if client is not None and client.rejected and client.blocked() is None:
            # Refused before: look for the token again (the back-off spaces the retries).
            client.use_token(await asyncio.to_thread(find_token, root))
        if client is None:
            token = await asyncio.to_thread(find_token, root)
            client = GitHubClient(
                root, token, timeout=self._timeout, clock=self._clock, backoff=self._backoff
            )
            self._clients[root] = client
        return client

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; its future."""
        return self._loop.submit(coro)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait up to ``timeout`` seconds (TimeoutError)."""
        return self._loop.run(coro, timeout)

    def close(self) -> None:
        """Close the clients and stop the loop thread."""
        self._loop.close(self._close_clients())

    async def _close_clients(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
