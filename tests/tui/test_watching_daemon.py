"""Issue 12, "Unattended": a cockpit opened while ``ao-tui daemon`` runs says the daemon
holds the lease, and takes over when the daemon is stopped (SIGTERM, as a service manager
stops it).

A real ``python -m ao_tui daemon`` subprocess and a real cockpit (Pilot) on one state dir
(the test's AO_TUI_HOME), real flock, real tmux on the test socket.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ao_tui.app import CockpitApp
from core.lease import read_holder
from core.locations import Locations
from tests.support.engine import make_engine, wait_for, write_config
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle

# The header as it reads while reactions run (tests/tui/test_watching.py).
pytestmark = pytest.mark.reactions


@pytest.fixture
def daemon(git_repo: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``ao-tui daemon`` on the repo's config, holding the lease."""
    write_config(git_repo, git_repo, command="sleep 600")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "daemon"],
        cwd=git_repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def holds() -> bool:
        holder = read_holder(Locations.from_env().engine_lock)
        return holder is not None and (holder.pid, holder.kind) == (proc.pid, "daemon")

    try:
        wait_for(holds, timeout=20)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("size", "wide"), [((80, 24), False), ((160, 45), True)])
async def test_a_cockpit_opened_while_the_daemon_runs_names_it(
    git_repo: Path, daemon: subprocess.Popen[bytes], size: tuple[int, int], wide: bool
) -> None:
    engine = make_engine(git_repo / "ao.config.yaml")
    app = CockpitApp(engine, reconcile=True, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.watching.holder is not None, timeout=5)
        await settle(pilot)
        header = str(app.counts.content)
        words = f"watching: daemon (pid {daemon.pid})" if wide else f"watch: daemon {daemon.pid}"
        assert words in header, header
        assert not app.watching.this and not app.watch_alarm.display

        daemon.send_signal(signal.SIGTERM)  # the service stopped: this cockpit takes over
        assert daemon.wait(timeout=15) == 0
        await wait_until(pilot, lambda: app.watching.this, timeout=5)
        await settle(pilot)
        assert (
            str(app.counts.content)
            .rstrip()
            .endswith("watching: this cockpit" if wide else "watch: this")
        )
