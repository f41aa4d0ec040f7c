"""Issue 9 item 5: the header says in plain words who watches the sessions, loudly if nobody.

The sample engine (canned runtime, no tmux); the lease is real: another holder is an
:class:`EngineLease` this test takes, as a daemon or another cockpit would.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.text import Text

from ao_tui.app import NOBODY_GRACE, STORE_RESYNC, CockpitApp
from ao_tui.watching import NOBODY_LINE
from core.engine import Engine
from core.lease import EngineLease
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.test_actions import record_notifications

MakeApp = Callable[..., CockpitApp]

# Who watches, as the header says it while reactions run (when they do not, the header
# says so first and, at 80 columns, in place of the watcher: tests/tui/test_reactions.py).
pytestmark = pytest.mark.reactions


def header(app: CockpitApp) -> str:
    return str(app.counts.content)


def live(make_app: MakeApp, **kwargs: object) -> CockpitApp:
    """A cockpit that looks at the lease (no fixed answer for its header)."""
    return make_app(watching=None, **kwargs)


@pytest.mark.parametrize(
    ("size", "words"),
    [((80, 24), "watch: this"), ((160, 45), "watching: this cockpit")],
)
async def test_the_cockpit_that_reconciles_says_so(
    make_app: MakeApp, size: tuple[int, int], words: str
) -> None:
    app = make_app(reconcile=True)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.watching.this)
        await settle(pilot)
        assert header(app).rstrip().endswith(words)
        assert len(header(app)) <= size[0] - 2
        assert not app.watch_alarm.display


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 45)])
async def test_a_following_cockpit_names_the_daemon_that_watches(
    make_app: MakeApp, engine: Engine, size: tuple[int, int]
) -> None:
    daemon = EngineLease(engine.locations.engine_lock, kind="daemon")
    assert daemon.acquire()
    try:
        app = make_app(reconcile=True)
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: app.watching.holder is not None)
            await settle(pilot)
            text = header(app)
            pid = str(daemon.holder().pid)  # type: ignore[union-attr]
            assert (
                f"watching: daemon (pid {pid})" in text
                if size[0] >= 120
                else f"watch: daemon {pid}" in text
            ), text
            assert "Needs you 3" in text  # the counts are all still there
            assert not app.watching.this and not app.watch_alarm.display
    finally:
        daemon.release()


async def test_nobody_watching_is_said_loudly_and_only_while_true(
    make_app: MakeApp, engine: Engine
) -> None:
    """A cockpit that does not reconcile, with nobody else doing it: the alarm line, in the
    error colour, under the counts. A daemon starting ends it."""
    app = live(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.watch_alarm.display)
        assert str(app.watch_alarm.content) == NOBODY_LINE
        assert len(NOBODY_LINE) <= 78
        assert "NOBODY WATCHING" in header(app)
        line = app.counts.content
        assert isinstance(line, Text)
        loud = [
            str(span.style) for span in line.spans if "NOBODY" in line.plain[span.start : span.end]
        ]
        assert loud == [f"bold {app.palette.error}"]
        daemon = EngineLease(engine.locations.engine_lock, kind="daemon")
        assert daemon.acquire()
        try:
            await wait_until(pilot, lambda: not app.watch_alarm.display, timeout=2)
            assert "watch: daemon" in header(app) and "NOBODY" not in header(app)
        finally:
            daemon.release()
        await wait_until(pilot, lambda: app.watch_alarm.display, timeout=2)


async def test_a_holder_replaced_within_the_grace_raises_no_alarm(
    make_app: MakeApp, engine: Engine
) -> None:
    first = EngineLease(engine.locations.engine_lock, kind="daemon")
    assert first.acquire()
    app = live(make_app)
    alarms: list[bool] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.watching.holder is not None)
        original = app.watch_alarm.alarm

        def spy(nobody: bool) -> None:
            alarms.append(nobody)
            original(nobody)

        app.watch_alarm.alarm = spy  # type: ignore[method-assign]
        first.release()
        second = EngineLease(engine.locations.engine_lock, kind="cockpit")
        await pilot.pause(NOBODY_GRACE / 5)
        assert second.acquire()
        try:
            await wait_until(
                pilot,
                lambda: app.watching.holder is not None and app.watching.holder.kind == "cockpit",
            )
            await pilot.pause(NOBODY_GRACE * 2)
            assert True not in alarms
            assert not app.watch_alarm.display
        finally:
            second.release()


async def test_a_lease_that_cannot_be_taken_is_told_once_and_nobody_watches(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease file cannot be opened (here: a directory stands in its place). The cockpit
    says why once, keeps retrying, and does not pretend anyone watches."""
    engine.locations.engine_lock.mkdir(parents=True)
    app = make_app(reconcile=True)
    toasts = record_notifications(app, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.watch_alarm.display, timeout=5)
        await pilot.pause(STORE_RESYNC * 2 + 0.5)  # two more attempts failed meanwhile
        failures = [t for t in toasts if t.startswith("lease failed")]
        assert len(failures) == 1 and "engine.lock" in failures[0], toasts
        assert "NOBODY" in header(app) and not app.watching.this


async def test_a_filter_keeps_its_place_and_who_watches_gives_way(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"httpx")
        await pilot.pause()
        text = header(app)
        assert "/httpx 1/10" in text and len(text) <= 78, text
        await pilot.press("escape")
        await pilot.pause()
        assert header(app).rstrip().endswith("watch: this")
