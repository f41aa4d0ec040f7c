"""The real cockpit in a real tmux: attach to a shell agent, come back, land on the board.

Everything runs on the isolated test socket (``AO_TUI_TMUX_SOCKET``): the agent session
the engine spawns, and a tmux session ``cockpit`` running ``python -m ao_tui``. Keys go
in with ``send-keys`` and the screen comes back with ``capture-pane``.

Two ways in and back out:

- from a plain SSH login (``TMUX`` unset), Enter suspends the cockpit and runs ``tmux
  attach`` in its terminal; prefix + d in that nested client detaches and the cockpit
  must resume without a deadlock;
- from inside the same tmux server, Enter switches the operator's client to the agent
  and the cockpit keeps running; prefix + L switches back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.models import Session
from tests.support.engine import make_engine, wait_for, write_config

pytestmark = [
    # The header is read as an operator sees it: with reactions on, it names the watcher.
    pytest.mark.reactions,
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]

ROOT = Path(__file__).resolve().parents[2]


def tmux(*args: str, socket: str | None = None) -> str:
    """Run tmux on the test socket (or ``socket``); its stdout."""
    proc = subprocess.run(
        ["tmux", "-L", socket or os.environ["AO_TUI_TMUX_SOCKET"], *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"tmux {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def screen(target: str = "cockpit") -> str:
    """What the pane shows now."""
    return tmux("capture-pane", "-p", "-t", target)


@dataclass
class World:
    """A shell agent session, and the command line that starts the cockpit on it."""

    session: Session
    env_flags: list[str]
    cockpit: list[str]

    def start_cockpit(self, *argv_prefix: str) -> None:
        """Run the cockpit in tmux session ``cockpit`` (kept visible after it exits)."""
        tmux(
            "new-session",
            "-d",
            "-s",
            "cockpit",
            "-x",
            "100",
            "-y",
            "30",
            "-c",
            str(ROOT),
            *self.env_flags,
            *argv_prefix,
            *self.cockpit,
        )
        tmux("set-option", "-t", "cockpit", "remain-on-exit", "on")
        wait_for(lambda: self.session.id in screen() and "attach" in screen(), timeout=20)
        assert "watching: this cockpit" in screen()  # this cockpit holds the engine lease

    def still_answers_keys_and_quits_cleanly(self) -> None:
        """The cockpit was not wedged; q leaves the agent running."""
        tmux("send-keys", "-t", "cockpit", "?")
        wait_for(lambda: "Keys and legend" in screen(), timeout=10)

        def help_closed() -> bool:
            if "Keys and legend" not in screen():
                return True
            # A lone Escape is told from the start of a key sequence by a pause after it,
            # which a loaded machine may not give: press it again until the help closes.
            tmux("send-keys", "-t", "cockpit", "Escape")
            return False

        wait_for(help_closed, timeout=10, interval=0.5)
        tmux("send-keys", "-t", "cockpit", "q")
        wait_for(lambda: "keep running" in screen(), timeout=10)
        tmux("has-session", "-t", f"={self.session.tmux}")
        assert "AGENT-MARK-42" in screen(self.session.pane_id)


@pytest.fixture
def world(git_repo: Path, tmp_path: Path) -> Iterator[World]:
    """A spawned shell agent with a marker on its screen."""
    config = write_config(tmp_path, git_repo, agent="shell", command="sh")
    session = make_engine(config).spawn("app", "a plain shell to attach to", title="plain shell")
    tmux("send-keys", "-t", session.pane_id, "echo AGENT-MARK-$((6*7))", "Enter")
    wait_for(lambda: "AGENT-MARK-42" in screen(session.pane_id))
    env = {
        "AO_TUI_HOME": os.environ["AO_TUI_HOME"],
        "AO_TUI_TMUX_SOCKET": os.environ["AO_TUI_TMUX_SOCKET"],
        "TMUX_TMPDIR": os.environ["TMUX_TMPDIR"],
        "PYTHONPATH": str(ROOT),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    flags = [part for name, value in env.items() for part in ("-e", f"{name}={value}")]
    cockpit = [sys.executable, "-m", "ao_tui", "--config", str(config)]
    yield World(session, flags, cockpit)
    subprocess.run(
        ["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "kill-session", "-t", "=cockpit"],
        capture_output=True,
        check=False,
    )


def test_attach_suspends_and_detach_returns_to_the_board(world: World) -> None:
    world.start_cockpit("env", "-u", "TMUX")  # as from a plain SSH login
    tmux("send-keys", "-t", "cockpit", "Enter")
    # The nested client's status line names the agent's tmux session.
    attached = f"[{world.session.tmux}]"
    wait_for(lambda: attached in screen() and "AGENT-MARK-42" in screen(), timeout=10)

    def back_on_the_board() -> bool:
        if attached in screen():
            # A client that just attached may still be reading the outer terminal's
            # replies to its queries and drop the prefix: press it again until it goes.
            tmux("send-keys", "-t", "cockpit", "C-b", "d")
            return False
        return "Needs you" in screen() and "attach" in screen()

    wait_for(back_on_the_board, timeout=15, interval=0.5)
    assert tmux("list-clients").strip() == ""
    world.still_answers_keys_and_quits_cleanly()


def test_attach_inside_tmux_switches_the_client_and_back(world: World) -> None:
    world.start_cockpit()  # a pane of this server: TMUX is set, switch-client applies
    # The operator's terminal: a client attached to the cockpit, itself run in a pane of
    # a second private server so that the test has a terminal to send keys to.
    operator = f"{os.environ['AO_TUI_TMUX_SOCKET']}-op"
    client = [
        "env",
        "-u",
        "TMUX",
        "tmux",
        "-L",
        os.environ["AO_TUI_TMUX_SOCKET"],
        "attach",
        "-t",
        "=cockpit",
    ]
    tmux("new-session", "-d", "-s", "terminal", "-x", "100", "-y", "31", *client, socket=operator)
    try:

        def client_on(name: str) -> bool:
            return tmux("list-clients", "-F", "#{client_session}").strip() == name

        wait_for(lambda: client_on("cockpit"), timeout=10)
        tmux("send-keys", "-t", "cockpit", "Enter")
        wait_for(lambda: client_on(world.session.tmux), timeout=10)
        wait_for(
            lambda: (
                "AGENT-MARK-42" in tmux("capture-pane", "-p", "-t", "terminal", socket=operator)
            ),
            timeout=10,
        )

        def switched_back() -> bool:
            if not client_on("cockpit"):
                tmux("send-keys", "-t", "terminal", "C-b", "L", socket=operator)
                return False
            return "Needs you" in screen()

        wait_for(switched_back, timeout=15, interval=0.5)
        assert "switched to app-1" in screen()  # the toast saying how to come back
        world.still_answers_keys_and_quits_cleanly()
    finally:
        subprocess.run(["tmux", "-L", operator, "kill-server"], capture_output=True, check=False)
