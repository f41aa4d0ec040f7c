"""Attach when the operator's own tmux is another server than the agents' one.

With a private ``AO_TUI_TMUX_SOCKET`` the operator's client cannot be switched to an agent
session, and a client nested in the cockpit's pane would leave ``prefix d`` to the outer
tmux (it detaches the operator's whole terminal). Enter opens the agent in a popup of the
operator's tmux instead; ``prefix d`` closes it, and the cockpit is still there, running.

Three real tmux servers, all private to the test: the agents' (the test socket), the
operator's (the cockpit runs in one of its panes) and a terminal server whose 80x24 pane
holds the operator's tmux client, so the test has a terminal to type into and read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.runtime import TmuxRuntime
from tests.support.engine import wait_for
from tests.tui.test_tmux_roundtrip import World, tmux, world

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]

__all__ = ["world"]  # the fixture, used by name


@pytest.fixture
def operator(world: World) -> Iterator[tuple[str, str]]:
    """The operator's tmux (cockpit in a pane) and the terminal server showing its client."""
    agents = os.environ["AO_TUI_TMUX_SOCKET"]
    own, terminal = f"{agents}-own", f"{agents}-term"
    tmux(
        "new-session", "-d", "-s", "cockpit", "-x", "80", "-y", "24",
        *world.env_flags, *world.cockpit, socket=own,
    )  # fmt: skip
    tmux(
        "new-session", "-d", "-s", "terminal", "-x", "80", "-y", "24",
        "env", "-u", "TMUX", "tmux", "-L", own, "attach", "-t", "=cockpit",
        socket=terminal,
    )  # fmt: skip
    yield own, terminal
    for socket in (terminal, own):
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def test_attach_opens_a_popup_and_prefix_d_comes_back_to_the_running_cockpit(
    world: World, operator: tuple[str, str]
) -> None:
    own, terminal = operator
    agent = world.session.tmux

    def shown() -> str:
        return tmux("capture-pane", "-p", "-t", "terminal", socket=terminal)

    wait_for(lambda: world.session.id in shown() and "attach" in shown(), timeout=20)
    tmux("send-keys", "-t", "cockpit", "Enter", socket=own)
    # The popup's title says which session and how to leave; the agent's screen is in it.
    wait_for(lambda: f"{agent} · prefix d comes back" in shown(), timeout=10)
    wait_for(lambda: f"[{agent}]" in shown() and "AGENT-MARK-42" in shown(), timeout=10)
    # A client of the agents' server, in the popup; the operator's client stays where it was.
    assert tmux("list-clients", "-F", "#{client_session}").split() == [agent]
    assert tmux("list-clients", "-F", "#{client_session}", socket=own).split() == ["cockpit"]

    def back_on_the_board() -> bool:
        if tmux("list-clients").strip():
            # A client that just attached may still be reading the terminal's replies to
            # its queries and drop the prefix: press it again until the popup goes.
            tmux("send-keys", "-t", "terminal", "C-b", "d", socket=terminal)
            return False
        return "Needs you" in shown() and "prefix d comes back" not in shown()

    wait_for(back_on_the_board, timeout=15, interval=0.5)
    # prefix d reached the inner client, not the operator's: their terminal is still on.
    assert tmux("list-clients", "-F", "#{client_session}", socket=own).split() == ["cockpit"]
    # The agent's window has its size back, and the cockpit kept running all along.
    size = "#{window_width}x#{window_height}"
    wait_for(lambda: tmux("display-message", "-p", "-t", f"={agent}:", size).strip() == "200x50")
    tmux("send-keys", "-t", "cockpit", "q", socket=own)
    wait_for(lambda: not _server_up(own), timeout=10)  # its only pane, the cockpit, ended
    tmux("has-session", "-t", f"={agent}")  # quitting the cockpit left the agent running


def _server_up(socket: str) -> bool:
    return (
        subprocess.run(
            ["tmux", "-L", socket, "has-session"], capture_output=True, check=False
        ).returncode
        == 0
    )


def test_the_runtime_picks_switch_popup_or_attach_by_the_operators_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `ao-tui attach` execs too: the same three cases, decided on the real socket."""
    runtime = TmuxRuntime()
    runtime.create("ao-app-1", tmp_path, ["sleep", "600"])
    socket = runtime.socket_path()
    assert socket is not None and Path(socket).is_socket()
    assert runtime.attach_argv("ao-app-1", inside_tmux=False)[-3:] == [
        "attach-session", "-t", "=ao-app-1",
    ]  # fmt: skip
    monkeypatch.setenv("TMUX", f"{socket},1,0")  # a pane of the agents' own server
    assert runtime.attach_argv("ao-app-1", inside_tmux=True)[-3:] == [
        "switch-client", "-t", "=ao-app-1",
    ]  # fmt: skip
    monkeypatch.setenv("TMUX", f"{tmp_path / 'default'},1,0")  # the operator's own tmux
    argv = runtime.attach_argv("ao-app-1", inside_tmux=True)
    assert argv[:2] == ["tmux", "display-popup"]  # no -L: the server $TMUX names
    assert argv[-5:] == ["-S", socket, "attach-session", "-t", "=ao-app-1"]
