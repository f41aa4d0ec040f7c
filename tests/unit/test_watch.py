"""Waking on file changes (core.activity.watch): inotify, and the polling fallback.

Real files in a temp dir, real inotify (or real watchfiles for the fallback); timeouts are
generous because a loaded machine may be slow to schedule the watcher, never to report.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import core.activity.watch as watch
from core.activity.watch import watch_dirs

TIMEOUT = 10.0


class Watching:
    """Runs :func:`watch_dirs` in the background and counts its wake-ups."""

    def __init__(self, roots: Callable[[], list[Path]], **kwargs: Any) -> None:
        self.wakes = 0
        self.woken = asyncio.Event()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(watch_dirs(roots, self._wake, self.stop, **kwargs))

    def _wake(self) -> None:
        self.wakes += 1
        self.woken.set()

    async def next_wake(self, timeout: float = TIMEOUT) -> None:
        """Wait for a wake-up after the last one consumed."""
        await asyncio.wait_for(self.woken.wait(), timeout)
        self.woken.clear()

    async def quiet(self, seconds: float = 0.3) -> bool:
        """Whether no wake-up comes for ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), seconds)
            return False
        return True

    async def close(self) -> None:
        """Stop the watch and wait for it to end."""
        self.stop.set()
        await asyncio.wait_for(self.task, TIMEOUT)


async def _settled(w: Watching) -> None:
    """Give the watch time to register its directories before anything is written."""
    await asyncio.sleep(0.2)
    w.woken.clear()


async def test_an_append_in_a_directory_made_after_the_start_wakes(tmp_path: Path) -> None:
    w = Watching(lambda: [tmp_path], rescan=0.1)
    await _settled(w)
    session = tmp_path / "app-1"
    session.mkdir()  # a new session's state dir
    await w.next_wake()
    await asyncio.sleep(0.1)  # its watch is in place once the creation was reported
    w.woken.clear()
    with (session / "hooks.jsonl").open("a") as handle:
        handle.write('{"ao_ts":"1"}\n')
    await w.next_wake()
    await w.close()


async def test_only_the_named_files_count(tmp_path: Path) -> None:
    w = Watching(
        lambda: [tmp_path], recursive=False, accept={"state.db", "state.db-wal"}.__contains__
    )
    await _settled(w)
    (tmp_path / "state.db-shm").write_text("x")
    (tmp_path / "other.log").write_text("x")
    assert await w.quiet(), "changes to other files wake nobody"
    (tmp_path / "state.db-wal").write_text("commit")
    await w.next_wake()
    await w.close()


async def test_a_root_that_appears_later_is_watched(tmp_path: Path) -> None:
    later = tmp_path / "projects"
    w = Watching(lambda: [later], rescan=0.1)
    await asyncio.sleep(0.3)
    later.mkdir()
    await asyncio.sleep(0.5)  # a rescan adds it
    w.woken.clear()
    (later / "transcript.jsonl").write_text("{}\n")
    await w.next_wake()
    await w.close()


async def test_nothing_wakes_while_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / "hooks.jsonl").write_text("old\n")
    w = Watching(lambda: [tmp_path], rescan=0.1)
    await _settled(w)
    (tmp_path / "hooks.jsonl").read_text()  # reading is not a change
    assert await w.quiet(0.5)
    assert w.wakes == 0
    await w.close()


async def test_without_inotify_polling_still_wakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable() -> None:
        raise OSError("inotify is not available here")

    monkeypatch.setattr(watch, "Inotify", unavailable)
    w = Watching(lambda: [tmp_path])
    await asyncio.sleep(0.5)  # watchfiles starts its own watcher thread
    w.woken.clear()
    (tmp_path / "hooks.jsonl").write_text("line\n")
    await w.next_wake()
    await w.close()


def test_inotify_reports_a_write_with_its_directory_and_name(tmp_path: Path) -> None:
    notify = watch.Inotify()
    try:
        assert notify.add(tmp_path)
        assert not notify.add(tmp_path / "missing")
        (tmp_path / "hooks.jsonl").write_text("x")
        events = notify.read()
        assert (tmp_path, "hooks.jsonl") in [(d, n) for d, n, _mask in events]
        assert notify.read() == []
    finally:
        notify.close()


def test_the_reconcile_loop_is_not_woken_by_ci_logs() -> None:
    from core.daemon import is_signal

    for agent_file in ("hooks.jsonl", "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d.jsonl", "4242.json"):
        assert is_signal(agent_file), agent_file
    for ours in ("ci-0123456789ab.log", "ci-0123456789ab-2.log"):
        assert not is_signal(ours), ours
    # A run's spec is removed once its result is stored: the one wake that shows it.
    assert is_signal("ci-0123456789ab.json")
