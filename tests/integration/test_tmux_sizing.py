"""An agent's window gets its size back once the operator stops looking at it.

Real tmux throughout: the agents' server is the test's private socket; the operator's
terminal is a pane of a second private server, sized 80x24, in which a real ``tmux attach``
client runs (as from an SSH login). Attaching shrinks the agent's window to 80x23; tmux
alone would keep it there after the client leaves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.runtime import TmuxRuntime
from tests.support.engine import wait_for

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary"),
]

AGENT = [sys.executable, "-c", "import time; time.sleep(600)"]


def tmux(socket: str, *args: str) -> str:
    """Run tmux on ``socket`` (under the test's TMUX_TMPDIR); its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    proc = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"tmux {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def size(socket: str, name: str) -> str:
    return tmux(
        socket, "display-message", "-p", "-t", f"={name}:", "#{window_width}x#{window_height}"
    ).strip()


@pytest.fixture
def agents() -> str:
    return os.environ["AO_TUI_TMUX_SOCKET"]


@pytest.fixture
def terminal(agents: str) -> Iterator[str]:
    """A second server whose sessions stand in for the operator's terminals."""
    socket = f"{agents}-term"
    yield socket
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def open_terminal(terminal: str, name: str, width: int, height: int, *client: str) -> None:
    """A terminal of ``width`` x ``height`` running ``client`` (a tmux client command)."""
    tmux(
        terminal, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
        "--", "env", "-u", "TMUX", "-u", "TMUX_PANE", *client,
    )  # fmt: skip


def clients(socket: str) -> list[str]:
    return tmux(socket, "list-clients", "-F", "#{client_session}").split()


def test_detaching_gives_the_window_its_size_back(
    agents: str, terminal: str, tmp_path: Path
) -> None:
    runtime = TmuxRuntime()
    runtime.create("ao-app-1", tmp_path, AGENT)
    assert size(agents, "ao-app-1") == "200x50"

    open_terminal(terminal, "t1", 80, 24, "tmux", "-L", agents, "attach", "-t", "=ao-app-1")
    wait_for(lambda: size(agents, "ao-app-1") == "80x23")
    tmux(agents, "detach-client", "-s", "=ao-app-1")
    # No tick, no listing of the panes: the session's own hook does it.
    wait_for(lambda: size(agents, "ao-app-1") == "200x50", timeout=5)

    # The window still follows the next client (it was not pinned to 200x50)...
    open_terminal(terminal, "t2", 100, 30, "tmux", "-L", agents, "attach", "-t", "=ao-app-1")
    wait_for(lambda: size(agents, "ao-app-1") == "100x29")
    # ...and a terminal closed under its client gives the size back too.
    tmux(terminal, "kill-session", "-t", "=t2")
    wait_for(lambda: size(agents, "ao-app-1") == "200x50", timeout=5)


def test_a_client_still_attached_keeps_its_size(agents: str, terminal: str, tmp_path: Path) -> None:
    runtime = TmuxRuntime()
    runtime.create("ao-app-1", tmp_path, AGENT)
    attach = ("tmux", "-L", agents, "attach", "-t", "=ao-app-1")
    open_terminal(terminal, "small", 80, 24, *attach)
    wait_for(lambda: len(clients(agents)) == 1)
    open_terminal(terminal, "large", 120, 40, *attach)
    wait_for(lambda: size(agents, "ao-app-1") == "120x39")
    tmux(terminal, "kill-session", "-t", "=large")
    # The other client is still looking: the window is its size, not the one it was made at.
    wait_for(lambda: size(agents, "ao-app-1") == "80x23", timeout=5)
    runtime.list_panes()
    assert size(agents, "ao-app-1") == "80x23"
    tmux(terminal, "kill-session", "-t", "=small")
    wait_for(lambda: size(agents, "ao-app-1") == "200x50", timeout=5)


def test_switching_away_is_caught_by_the_next_listing(
    agents: str, terminal: str, tmp_path: Path
) -> None:
    """Same server: the operator's client switches to the agent and back (no detach)."""
    runtime = TmuxRuntime()
    runtime.create("ao-app-1", tmp_path, AGENT)
    tmux(agents, "new-session", "-d", "-s", "operator", "-x", "80", "-y", "24")
    open_terminal(terminal, "t", 80, 24, "tmux", "-L", agents, "attach", "-t", "=operator")
    wait_for(lambda: clients(agents) == ["operator"])
    tmux(agents, "switch-client", "-t", "=ao-app-1")
    wait_for(lambda: size(agents, "ao-app-1") == "80x23")
    tmux(agents, "switch-client", "-t", "=operator")
    wait_for(lambda: clients(agents) == ["operator"])
    assert size(agents, "ao-app-1") == "80x23"  # tmux leaves it so: no client detached
    runtime.list_panes()  # what every reconcile tick runs
    assert size(agents, "ao-app-1") == "200x50"
    # Sessions ao-tui did not make are left alone.
    assert size(agents, "operator") == "80x23"


def test_odd_session_names_and_odd_size_options(agents: str, terminal: str, tmp_path: Path) -> None:
    runtime = TmuxRuntime()
    runtime.create("ao-a+b=c@d", tmp_path, AGENT, width=120, height=40)
    open_terminal(terminal, "t", 80, 24, "tmux", "-L", agents, "attach", "-t", "=ao-a+b=c@d")
    wait_for(lambda: size(agents, "ao-a+b=c@d") == "80x23")
    tmux(terminal, "kill-session", "-t", "=t")
    wait_for(lambda: size(agents, "ao-a+b=c@d") == "120x40", timeout=5)
    # Another tool's sessions with a size option ao-tui would never write: left as they are.
    for index, odd in enumerate(("99999999x1", "0x0", "abc", "80x24;kill-server")):
        name = f"other-{index}"
        tmux(agents, "new-session", "-d", "-s", name, "-x", "90", "-y", "20")
        tmux(agents, "set-option", "-t", f"={name}:", "@ao-tui-size", odd)
    assert "ao-a+b=c@d" in runtime.list_panes()
    assert {size(agents, f"other-{i}") for i in range(4)} == {"90x20"}
    assert tmux(agents, "has-session", "-t", "=ao-a+b=c@d") == ""
