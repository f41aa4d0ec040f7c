"""Issue 9 item 5: when the cockpit that watches dies, another takes over within 2 s.

Two real cockpits on one state dir and one tmux server (the test's private socket): the
first runs as ``python -m ao_tui`` in a tmux session and takes the engine lease; the
second is a Pilot cockpit in this process, which must say who watches. The first is
SIGKILLed; the second must hold the lease within 2 s, and a permission prompt that
comes up afterwards (``tests/support/asking_agent.py`` started in the shell agent's pane)
must reach its board, with a toast.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from ao_tui.app import CockpitApp
from core.lease import read_holder
from core.models import Zone
from core.zones import zone_of
from tests.support.engine import make_engine, wait_for, write_config
from tests.support.pilot_waits import wait_until
from tests.tui.test_actions import record_notifications
from tests.tui.test_tmux_roundtrip import ROOT, screen, tmux

pytestmark = [
    # The header names the watcher as it does while reactions run (test_reactions.py has
    # the header of a cockpit whose reactions are off).
    pytest.mark.reactions,
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]

ASKING = ROOT / "tests" / "support" / "asking_agent.py"


def start_cockpit(config: Path, tmp_path: Path) -> None:
    """The first cockpit, a real process in tmux session ``holder`` (kept after it dies)."""
    env = {
        "AO_TUI_HOME": os.environ["AO_TUI_HOME"],
        "AO_TUI_TMUX_SOCKET": os.environ["AO_TUI_TMUX_SOCKET"],
        "TMUX_TMPDIR": os.environ["TMUX_TMPDIR"],
        "PYTHONPATH": str(ROOT),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    flags = [part for name, value in env.items() for part in ("-e", f"{name}={value}")]
    argv = [sys.executable, "-m", "ao_tui", "--config", str(config)]
    tmux("new-session", "-d", "-s", "holder", "-x", "100", "-y", "30", "-c", str(ROOT),
         *flags, *argv)  # fmt: skip
    tmux("set-option", "-t", "holder", "remain-on-exit", "on")


def header(app: CockpitApp) -> str:
    return str(app.counts.content)


async def test_sigkilled_cockpit_is_replaced_within_two_seconds_and_prompts_still_reach_the_board(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger, answers = tmp_path / "ask-now", tmp_path / "answers.txt"
    # Busy (its screen changes) until the trigger file appears, then it asks permission.
    busy_then_ask = (
        f"while [ ! -e {trigger} ]; do date +%s%N; sleep 0.1; done; "
        f"exec {sys.executable} {ASKING} {answers}"
    )
    config = write_config(
        tmp_path, git_repo, agent="shell", command=f"sh -c {shlex.quote(busy_then_ask)}"
    )
    session = make_engine(config).spawn("app", "a shell that will ask", title="asks later")
    start_cockpit(config, tmp_path)
    wait_for(lambda: "watching: this cockpit" in screen("holder"), timeout=30)
    holder = read_holder(make_engine(config).locations.engine_lock)
    assert holder is not None and holder.kind == "cockpit" and holder.pid
    assert holder.pid != os.getpid()

    app = CockpitApp(
        make_engine(config), notify_bell=False, cursor_blink=False, refresh_interval=0.2
    )
    toasts = record_notifications(app, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        # Following: the header names the cockpit that watches, by pid, at 80 columns.
        await wait_until(pilot, lambda: f"watch: cockpit {holder.pid}" in header(app))
        assert not app.watching.this and not app.watch_alarm.display
        await wait_until(pilot, lambda: session.id in app.sessions)
        assert zone_of(app.sessions[session.id]) is Zone.WORKING

        killed = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)
        await wait_until(pilot, lambda: app.watching.this, timeout=5)
        took = time.monotonic() - killed
        assert took < 2.0, f"took over after {took:.2f}s"
        assert "watch: this" in header(app)
        taken = read_holder(app.engine.locations.engine_lock)
        assert taken is not None and (taken.kind, taken.pid) == ("cockpit", os.getpid())

        # A prompt that comes up now is seen by the cockpit that took over: board and toast.
        trigger.touch()

        def needs_you() -> bool:
            shown = app.sessions.get(session.id)
            return shown is not None and zone_of(shown) is Zone.NEEDS_YOU

        await wait_until(pilot, needs_you, timeout=15)
        await wait_until(
            pilot, lambda: any(t.startswith(f"{session.id} needs you") for t in toasts)
        )
        assert session.id in app.board.active_table().row_keys()
