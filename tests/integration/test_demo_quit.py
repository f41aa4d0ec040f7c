"""Quitting ``ao-tui demo`` says what actually happens: the sandbox and its sessions go.

The real ``ao-tui demo`` cockpit runs in a real tmux pane at 80x24 (the test socket), and
``q`` is typed into it; the pane stays after the process ends so its last words can be read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_demo import SPEED, _tmux_sessions
from tests.support.engine import wait_for

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]


def tmux(*args: str) -> str:
    proc = subprocess.run(
        ["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@pytest.mark.parametrize("keep", [False, True], ids=["removed", "kept"])
def test_the_demo_quit_note_matches_what_happens_to_the_sandbox(tmp_path: Path, keep: bool) -> None:
    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    argv = [sys.executable, "-m", "ao_tui", "demo", "--sessions", "1", "--speed", str(SPEED)]
    tmux(
        "new-session", "-d", "-s", "operator", "-x", "80", "-y", "24",
        "-e", f"TMPDIR={tmp_path}", "--", *argv, *(["--keep"] if keep else []),
    )  # fmt: skip
    tmux("set-option", "-t", "=operator:", "remain-on-exit", "on")

    def screen() -> str:
        return tmux("capture-pane", "-p", "-J", "-t", "=operator:")

    wait_for(lambda: "demo-1" in screen() and "Needs you" in screen(), timeout=60)
    tmux("send-keys", "-t", "=operator:", "q")
    wait_for(
        lambda: "demo sandbox" in screen() and ("kept in" in screen() or "removed" in screen()),
        timeout=30,
    )
    said = " ".join(screen().split())
    # Never the cockpit's usual line: nothing keeps running, and `ao-tui` reopens nothing.
    assert "reopens the cockpit" not in said
    if keep:
        assert "--keep leaves the sandbox and its sessions running" in said
        assert "demo sandbox kept in" in said and "cockpit:" in said
        # (Its session may be merged by then: the demo's scripted operator merges.)
        assert len(list(tmp_path.glob("ao-tui-demo-*"))) == 1
    else:
        assert "removing the demo sandbox and its sessions" in said
        assert "demo sandbox removed" in said
        assert not list(tmp_path.glob("ao-tui-demo-*"))
        assert "ao-demo-1" not in _tmux_sessions(socket)
