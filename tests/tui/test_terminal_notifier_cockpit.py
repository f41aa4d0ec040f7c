"""The terminal notifier rings through a real cockpit, and the cockpit then does not ring a
second time for the same news; with no terminal routing the cockpit rings as it always did
(tests/tui/test_actions.py keeps that).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ao_tui.app import CockpitApp
from ao_tui.watching import Watching
from core.config_notify import NotificationRouting
from core.engine import Engine
from core.models import Activity, ActivityState, SignalSource, WaitingFor
from core.notify.model import Notification, NotifierError
from core.notify.terminal import attached, osc9
from plugins.notifier.terminal import TerminalNotifier
from tests.support.canned import NOW
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]
NEWS = Notification(
    id="evt-3",
    type="reaction.escalated",
    priority="urgent",
    session_id="app-8",
    project_id="app",
    timestamp=0.0,
    title="app-8 needs you: permission: Bash make deploy",
    command="ao-tui attach app-8",
)


def _route_terminal(engine: Engine) -> None:
    engine.config = engine.config.model_copy(
        update={"notification_routing": NotificationRouting(urgent=["terminal"])}
    )


def _needs_you(engine: Engine) -> None:
    waiting = WaitingFor("permission", "Bash", "make deploy")
    engine.store.update_session(
        "app-8",
        activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", waiting),
    )


async def test_routed_terminal_rings_through_the_cockpit_from_the_outbox_thread(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_terminal(engine)
    app = make_app(notify_bell=True, refresh_interval=0.2)
    written: list[str] = []
    monkeypatch.setattr(app, "write_raw", written.append)
    monkeypatch.setattr(app, "bell", lambda: written.append("bell()"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert attached() is not None
        _needs_you(engine)
        await wait_until(pilot, lambda: app.toasts.text("needs-you") is not None)
        await pilot.pause(0.5)
        assert written == []  # the news is the notifier's to ring, not the cockpit's
        # The outbox sends from a worker thread: the write lands on the cockpit's thread.
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                TerminalNotifier().send(NEWS, {}, key="evt-3:terminal")
            except BaseException as exc:
                errors.append(exc)

        sender = threading.Thread(target=deliver)
        sender.start()
        await wait_until(pilot, lambda: written)
        sender.join(5)
        assert errors == []
        assert written == ["\x07" + osc9(f"ao-tui: {NEWS.title}", inside_tmux=False)]
    assert attached() is None  # closed: the terminal is no longer lent
    with pytest.raises(NotifierError, match="no cockpit is open"):
        TerminalNotifier().send(NEWS, {}, key="evt-4:terminal")


async def test_a_cockpit_following_a_daemon_keeps_its_own_bell(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_terminal(engine)
    # Another process holds the lease: the outbox (and the notifier) run there.
    app = make_app(notify_bell=True, refresh_interval=0.2, watching=Watching(this=False))
    written: list[str] = []
    monkeypatch.setattr(app, "write_raw", written.append)
    monkeypatch.setattr(app, "bell", lambda: None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        _needs_you(engine)
        await wait_until(pilot, lambda: written)
        assert written == [
            osc9("ao-tui: app-8 needs you: permission: Bash make deploy", inside_tmux=False)
        ]
