"""The ``terminal`` notifier: what it writes, where, once per key, and when it cannot.

The terminal here is a recording sink standing in for a cockpit's (the cockpit's own sink
is tested with a real cockpit in tests/tui/test_terminal_notifier_cockpit.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config_models import Config, Defaults, ProjectConfig
from core.config_notify import NotificationRouting, NotifierConfig
from core.notify.model import Notification, NotifierError
from core.notify.terminal import attach, attached, osc9, osc777, terminal_routed
from core.registry import Registry
from plugins.notifier.terminal import TerminalNotifier

ROOT = Path(__file__).resolve().parents[2]
ESCALATED = Notification(
    id="evt-7",
    type="reaction.escalated",
    priority="urgent",
    session_id="app-7",
    project_id="app",
    timestamp=0.0,
    title="app-7 needs you: CI still failing after 2 fixes (test_login_timeout)",
    detail="ci-failed: 2 attempts used of 2",
    command="ao-tui attach app-7",
)


class RecordingTerminal:
    """Stands in for the cockpit's terminal: keeps what was written."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write_terminal(self, sequence: str) -> None:
        self.written.append(sequence)


@pytest.fixture
def terminal() -> Iterator[RecordingTerminal]:
    sink = RecordingTerminal()
    detach = attach(sink)
    yield sink
    detach()


def test_no_cockpit_open_fails_at_once_and_says_so() -> None:
    assert attached() is None
    with pytest.raises(NotifierError, match="no cockpit is open") as raised:
        TerminalNotifier().send(ESCALATED, {}, key="evt-7:terminal")
    assert raised.value.retry is False


def test_rings_the_bell_and_sends_osc9_with_the_title(terminal: RecordingTerminal) -> None:
    TerminalNotifier().send(ESCALATED, {}, key="evt-7:terminal")
    assert terminal.written == ["\x07" + osc9(f"ao-tui: {ESCALATED.title}", inside_tmux=False)]


def test_osc777_carries_title_and_command_and_bell_can_be_off(
    terminal: RecordingTerminal,
) -> None:
    TerminalNotifier().send(ESCALATED, {"osc": 777, "bell": False}, key="k")
    assert terminal.written == [
        "\x1b]777;notify;ao-tui: app-7 needs you: CI still failing after 2 fixes "
        "(test_login_timeout);ao-tui attach app-7\x07"
    ]


def test_osc777_fields_cannot_be_split_or_escaped() -> None:
    assert osc777("a;b\x1b]x", "c\x07d", inside_tmux=False) == "\x1b]777;notify;a,b]x;cd\x07"


def test_a_resend_of_the_same_key_rings_once(terminal: RecordingTerminal) -> None:
    notifier = TerminalNotifier()
    notifier.send(ESCALATED, {}, key="evt-7:terminal")
    notifier.send(ESCALATED, {}, key="evt-7:terminal")
    notifier.send(ESCALATED, {}, key="evt-8:terminal")
    assert len(terminal.written) == 2


def test_a_terminal_that_refuses_is_retried() -> None:
    class Closing:
        def write_terminal(self, sequence: str) -> None:
            raise OSError("the cockpit is closing")

    detach = attach(Closing())
    try:
        with pytest.raises(NotifierError, match="closing") as raised:
            TerminalNotifier().send(ESCALATED, {}, key="k")
    finally:
        detach()
    assert raised.value.retry is True


def test_check_names_the_option_and_the_fix() -> None:
    notifier = TerminalNotifier()
    assert notifier.check({}) == []
    assert notifier.check({"bell": True, "osc": "777"}) == []
    problems = notifier.check({"bell": "yes", "osc": 8, "url": "x"})
    assert problems == [
        "bell: 'yes' is not true or false; write bell: true",
        "osc: '8' is not 9, 777 or none; write osc: 9",
        "unknown option(s) url; the terminal takes bell, osc",
    ]
    with pytest.raises(NotifierError, match="osc: '8'"):
        notifier.send(ESCALATED, {"osc": 8}, key="k")


def _config(**sections: object) -> Config:
    return Config(
        projects={"app": ProjectConfig(path=Path("/tmp/app"), session_prefix="app")},
        **sections,  # type: ignore[arg-type]
    )


def test_terminal_routed_by_name_by_plugin_or_by_default() -> None:
    assert not terminal_routed(_config())
    desktop_only = NotificationRouting(urgent=["desktop"])
    assert not terminal_routed(_config(notification_routing=desktop_only))
    assert terminal_routed(_config(notification_routing=NotificationRouting(info=["terminal"])))
    assert terminal_routed(_config(defaults=Defaults(notifiers=["terminal"])))
    screen = {"screen": NotifierConfig(plugin="terminal")}
    assert terminal_routed(
        _config(notifiers=screen, notification_routing=NotificationRouting(action=["screen"]))
    )


def test_entry_points_name_both_notifiers_and_they_fit_the_slot() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    points = pyproject["project"]["entry-points"]["ao_tui.plugins"]
    assert points["notifier:terminal"] == "plugins.notifier.terminal:TerminalNotifier"
    assert points["notifier:desktop"] == "plugins.notifier.desktop:DesktopNotifier"
    registry = Registry(discover=False)
    registry.register("notifier", "terminal", TerminalNotifier)
    assert isinstance(registry.get("notifier", "terminal"), TerminalNotifier)
