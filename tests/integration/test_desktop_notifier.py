"""The ``desktop`` notifier on a real D-Bus session bus, with python-dbusmock's notification
daemon as the desktop: what it receives (summary, body, urgency, sound, key), and the clear
errors when there is no bus or no notification server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.notify.model import Notification, NotifierError
from plugins.notifier.desktop import DesktopNotifier
from tests.support.dbus_session import NotificationDaemon, notification_daemon, session_bus

ESCALATED = Notification(
    id="evt-7",
    type="reaction.escalated",
    priority="urgent",
    session_id="app-7",
    project_id="app",
    timestamp=0.0,
    title="app-7 needs you: CI still failing after 2 fixes (test_login_timeout)",
    detail="ci-failed: <2 of 2> attempts used",
    command="ao-tui attach app-7",
)


@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with session_bus(tmp_path) as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def desktop(bus: str) -> Iterator[NotificationDaemon]:
    with notification_daemon(bus) as daemon:
        yield daemon


def test_urgent_is_critical_with_a_sound_and_says_what_to_do(desktop: NotificationDaemon) -> None:
    DesktopNotifier(platform="linux").send(ESCALATED, {}, key="evt-7:desktop")
    [notify] = desktop.notifies()
    app_name, replaces, _icon, summary, body, actions, hints, expire = notify
    assert app_name == "ao-tui"
    assert replaces == 0
    assert summary == "app-7 needs you: CI still failing after 2 fixes (test_login_timeout)"
    # The mock advertises body-markup: text someone else wrote shows as written.
    assert body == "ci-failed: &lt;2 of 2&gt; attempts used\n→ ao-tui attach app-7"
    assert actions == []
    assert hints["urgency"] == ("y", 2)
    assert hints["sound-name"] == ("s", "message-new-instant")
    assert hints["x-ao-tui-key"] == ("s", "evt-7:desktop")
    assert expire == -1


@pytest.mark.parametrize(("priority", "urgency"), [("action", 1), ("warning", 1), ("info", 0)])
def test_other_priorities_are_quieter(
    desktop: NotificationDaemon, priority: str, urgency: int
) -> None:
    notification = Notification(
        id="evt-9",
        type="reaction.notified",
        priority=priority,  # type: ignore[arg-type]
        session_id="app-2",
        project_id="app",
        timestamp=0.0,
        title="app-2 merged",
    )
    DesktopNotifier(platform="linux").send(notification, {"appName": "fleet"}, key="k")
    [notify] = desktop.notifies()
    assert notify[0] == "fleet"
    assert notify[4] == ""
    assert notify[6]["urgency"] == ("y", urgency)
    assert "sound-name" not in notify[6]


def test_sound_can_be_turned_off(desktop: NotificationDaemon) -> None:
    DesktopNotifier(platform="linux").send(ESCALATED, {"sound": False}, key="k")
    [notify] = desktop.notifies()
    assert notify[6]["urgency"] == ("y", 2)
    assert "sound-name" not in notify[6]


def test_a_resend_of_the_same_key_replaces_instead_of_stacking(
    desktop: NotificationDaemon,
) -> None:
    notifier = DesktopNotifier(platform="linux")
    notifier.send(ESCALATED, {}, key="evt-7:desktop")
    notifier.send(ESCALATED, {}, key="evt-7:desktop")
    first, second = desktop.notifies()
    assert first[1] == 0
    assert second[1] != 0  # replaces_id: the id the server gave the first


def test_no_session_bus_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(NotifierError, match="DBUS_SESSION_BUS_ADDRESS") as raised:
        DesktopNotifier(platform="linux").send(ESCALATED, {}, key="k")
    assert raised.value.retry is False


def test_a_bus_that_is_gone_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(NotifierError, match="DBUS_SESSION_BUS_ADDRESS") as raised:
        DesktopNotifier(platform="linux").send(ESCALATED, {}, key="k")
    assert raised.value.retry is False


def test_a_bus_without_a_notification_server_says_so(bus: str) -> None:
    with pytest.raises(NotifierError, match=r"no notification server.*org\.freedesktop") as raised:
        DesktopNotifier(platform="linux").send(ESCALATED, {}, key="k")
    assert raised.value.retry is True


def test_bad_options_and_platforms_are_named() -> None:
    assert DesktopNotifier(platform="linux").check({}) == []
    assert DesktopNotifier(platform="win32").check({"sound": "loud", "url": "x"}) == [
        "desktop notifications need Linux (D-Bus) or macOS; this is win32",
        "sound: 'loud' is not true or false; write sound: true",
        "unknown option(s) url; the desktop takes appName, sound",
    ]
