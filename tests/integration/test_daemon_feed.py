"""The daemon reads the change feed: once it watches, it prints every change to the store,
its own ticks' and other processes' alike (a CLI's message, a cockpit's kill...).

Real processes (``python -m ao_tui daemon``), a real SQLite file written by this process as
another CLI would, real inotify.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from core.locations import Locations
from core.store import Store
from tests.support.engine import wait_for, write_config


def test_the_daemon_prints_a_change_another_process_wrote(git_repo: Path) -> None:
    write_config(git_repo, git_repo, command="sleep 600")
    before = Store(Locations.from_env().database)
    before.append_event("app-7", "message", {"result": "old"})  # before it watched: not told
    daemon = subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "daemon", "--json"],
        cwd=git_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed: list[str] = []
    said: list[str] = []

    def read(stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line.rstrip("\n"))

    for stream, into in ((daemon.stdout, printed), (daemon.stderr, said)):
        threading.Thread(target=read, args=(stream, into), daemon=True).start()
    try:
        wait_for(lambda: any("watching 0 sessions" in line for line in said), timeout=20)
        before.append_event("app-7", "message", {"result": "delivered"})
        wait_for(lambda: printed, timeout=10)
        assert [json.loads(line) for line in printed] == [
            {"session": "app-7", "kind": "message", "data": {"result": "delivered"}}
        ]
    finally:
        daemon.kill()
        daemon.wait(timeout=10)
        before.close()
