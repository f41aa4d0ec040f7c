"""The review keys of the cockpit: ``c`` CI view, ``d`` diff view, ``m`` merge, ``A`` approve.

No git and no tmux in these cockpit tests: the sample engine has no repository behind its
sessions, so the engine's ``ci``, ``diff``, ``merge``, ``send`` and ``approve`` are replaced
by recorders with canned answers (the engine side of each is tested against real git in
the core tests). What is checked here is what the cockpit does with them: which keys show,
what is drawn, which engine call each key makes, and that huge logs and diffs stay
responsive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.command import CommandPalette
from textual.widgets import DataTable, Static

from ao_tui.app import CockpitApp
from ao_tui.commands import CockpitCommands
from ao_tui.screens.ci import CiScreen, LogScreen, failing_line, format_duration, send_text
from ao_tui.screens.diff import DiffScreen, LineView
from ao_tui.screens.merge import MergeScreen, pr_blockers
from core.ci_report import CiReport
from core.engine import Engine
from core.models import DeliveryResult, SessionPR
from core.scm import MergeConflictError
from tests.support.canned import SAMPLE_EXCERPT, sample_ci
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.conftest import Recorder
from tests.tui.test_actions import record_notifications, select

MakeApp = Callable[..., CockpitApp]


def text_of(widget: Static) -> str:
    """A Static's text, whitespace folded."""
    return " ".join(str(widget.render()).split())


def table_rows(table: DataTable[Any]) -> list[list[str]]:
    """Every row of a table as plain strings."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


# keys and palette ---------------------------------------------------------------------


async def test_review_keys_show_only_when_they_apply(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-7")  # no PR yet
        keys = set(app.screen.active_bindings)
        assert not {"c", "d", "m", "A"} & keys
        await select(pilot, app, "app-5")  # open PR, CI failing
        keys = set(app.screen.active_bindings)
        assert {"c", "d", "m", "A"} <= keys
        await pilot.press("z")  # unfold Done
        await select(pilot, app, "app-2")  # merged: look, but nothing to merge
        keys = set(app.screen.active_bindings)
        assert {"c", "d"} <= keys and "m" not in keys and "A" not in keys


async def test_palette_offers_the_review_commands(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        app.action_command_palette()
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        provider = CockpitCommands(app.screen)
        titles = {command.title for command, _ in provider._commands()}
        assert {"session: CI", "session: diff", "session: merge", "session: approve"} <= titles


async def test_approve_key_approves_the_pr(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved = engine.get("app-5")
    approve = Recorder(result=approved)
    monkeypatch.setattr(engine, "approve", approve)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-5")
        await pilot.press("A")
        await wait_until(pilot, lambda: approve.calls)
        assert approve.calls[0][0] == ("app-5",)
        await wait_until(pilot, lambda: any("app-5: approve" in t for t in toasts))


# CI view ------------------------------------------------------------------------------


def unsorted_ci(tmp_path: Path) -> CiReport:
    """The sample CI answer with the failing check last, to see the view put it first."""
    answer = sample_ci(tmp_path / "ci")
    return replace(answer, checks=answer.checks[1:] + answer.checks[:1])


async def open_ci(pilot: Any, app: CockpitApp, session_id: str = "app-5") -> CiScreen:
    """Select ``session_id``, press c, wait for the checks."""
    await select(pilot, app, session_id)
    await pilot.press("c")
    screen = app.screen
    assert isinstance(screen, CiScreen)
    await wait_until(pilot, lambda: screen.query_one(DataTable).row_count > 0)
    return screen


async def test_ci_view_lists_failing_checks_first_with_the_excerpt(
    make_app: MakeApp, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = Recorder(result=unsorted_ci(tmp_path))
    monkeypatch.setattr(engine, "ci", ci)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_ci(pilot, app)
        assert ci.calls[0] == (("app-5",), {"run": False})
        rows = table_rows(screen.query_one(DataTable))
        assert rows == [
            ["pytest", "failing", "1m 14s"],
            ["ruff", "passing", "3.1s"],
            ["mypy --strict", "passing", "21.7s"],
        ]
        excerpt = screen.query_one("#ci-excerpt", Static)
        assert "AssertionError: assert 429 == 200" in text_of(excerpt)
        # The failing lines carry the theme's error colour, the others do not.
        rendered = excerpt.content
        assert isinstance(rendered, Text)
        error = app.theme_variables["error"].lower()
        styled = {
            rendered.plain[span.start : span.end]
            for span in rendered.spans
            if error in str(span.style).lower()
        }
        assert any("AssertionError" in line for line in styled)
        assert not any("collecting" in line or "def test_" in line for line in styled)
        await pilot.press("down")
        await pilot.pause(0.1)
        assert "no log excerpt" in text_of(excerpt)  # ruff passed: nothing to show
        await pilot.press("escape")
        assert not isinstance(app.screen, CiScreen)


async def test_ci_rerun_calls_ci_with_run(
    make_app: MakeApp, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = Recorder(result=sample_ci(tmp_path / "ci"))
    monkeypatch.setattr(engine, "ci", ci)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_ci(pilot, app)
        await wait_until(pilot, lambda: not screen.loading)
        await pilot.press("r")
        await wait_until(pilot, lambda: len(ci.calls) == 2)
        assert ci.calls[1] == (("app-5",), {"run": True})
        status = screen.query_one("#ci-status", Static)
        await wait_until(pilot, lambda: "rerun started" in text_of(status))


async def test_ci_send_hands_the_excerpt_to_the_agent(
    make_app: MakeApp, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "ci", Recorder(result=sample_ci(tmp_path / "ci")))
    send = Recorder(result=(DeliveryResult.DELIVERED, "the agent took it"))
    monkeypatch.setattr(engine, "send", send)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_ci(pilot, app)
        await pilot.press("s")
        await wait_until(pilot, lambda: send.calls)
        (session_id, text), _ = send.calls[0]
        assert session_id == "app-5"
        framing, _, body = text.partition("\n\n")
        assert "'pytest' is failing on 5f1c2e9a7b" in framing
        assert body.strip() == SAMPLE_EXCERPT.strip()
        status = screen.query_one("#ci-status", Static)
        await wait_until(pilot, lambda: "delivered" in text_of(status))
        assert "the agent took it" in text_of(status)


async def test_full_log_of_20_mb_shows_its_end_first_and_stays_responsive(
    make_app: MakeApp, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "huge.log"
    line = "PASSED tests/unit/test_module.py::test_case_with_a_long_name[param] " * 1 + "\n"
    count = 20 * 1024 * 1024 // len(line)
    with log.open("w", encoding="utf-8") as handle:
        handle.write(line * count)
        handle.write("FAILED tests/unit/test_client.py::test_the_last_line - boom\n")
    answer = sample_ci(tmp_path / "ci")
    first, *rest = answer.checks
    answer = replace(answer, checks=(replace(first, log_path=str(log)), *rest))
    monkeypatch.setattr(engine, "ci", Recorder(result=answer))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_ci(pilot, app)
        await pilot.press("l")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        view = screen.query_one(LineView)
        # How fast is measured by `python -m tests.bench review`; here: what shows first.
        await wait_until(pilot, lambda: view.lines, timeout=20)
        assert view.lines[-1].startswith("FAILED tests/unit/test_client.py")
        # The end of the log (where failures are) is what shows first.
        await wait_until(
            pilot, lambda: view.scroll_offset.y > 0 and view.is_vertical_scroll_end, timeout=20
        )
        # While the rest is read, keys still work: scrolling answers at once.
        await pilot.press("home")
        await wait_until(pilot, lambda: screen.complete, timeout=30)
        assert len(view.lines) >= count  # the whole file, not just its end
        note = text_of(screen.query_one("#log-note", Static))
        assert "20.0 MB" in note
        await pilot.press("end")
        await pilot.pause(0.1)
        assert view.is_vertical_scroll_end
        await pilot.press("escape")
        assert isinstance(app.screen, CiScreen)


# diff view ----------------------------------------------------------------------------


def big_diff(files: int, lines_per_file: int) -> str:
    """A unified diff of ``files`` files, each adding ``lines_per_file`` lines."""
    parts = []
    for index in range(files):
        parts.append(f"diff --git a/src/mod{index}.py b/src/mod{index}.py")
        parts.append(f"--- a/src/mod{index}.py")
        parts.append(f"+++ b/src/mod{index}.py")
        parts.append(f"@@ -0,0 +1,{lines_per_file} @@")
        parts.extend(f"+value_{index}_{n} = {n}" for n in range(lines_per_file))
    return "\n".join(parts) + "\n"


async def test_diff_shows_the_stat_and_the_coloured_diff(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stat = " src/mod0.py | 3 +++\n src/mod1.py | 3 +++\n 2 files changed, 6 insertions(+)\n"
    diff = big_diff(2, 3)
    calls: list[tuple[str, bool]] = []

    def fake_diff(session_id: str, *, stat: bool = False) -> str:
        calls.append((session_id, stat))
        return stat_text if stat else diff

    stat_text = stat
    monkeypatch.setattr(engine, "diff", fake_diff)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        await wait_until(pilot, lambda: screen.loaded)
        assert sorted(calls) == [("app-5", False), ("app-5", True)]
        assert "2 files changed, 6 insertions(+)" in text_of(screen.query_one("#diff-stat", Static))
        view = screen.query_one(LineView)
        assert view.lines == diff.splitlines()
        added = view.render_line(4)  # "+value_0_0 = 0"
        assert added.text.startswith("+value_0_0")
        success = app.theme_variables["success"].lower()
        assert any(success in str(seg.style).lower() for seg in added if seg.text.strip())
        await pilot.press("right_square_bracket")
        await pilot.pause(0.1)
        assert int(view.scroll_offset.y) == 7 or view.max_scroll_y < 7
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


async def test_a_50000_line_diff_opens_and_the_app_answers_keys(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    diff = big_diff(50, 1000)  # 50,200 lines
    monkeypatch.setattr(
        engine, "diff", lambda _id, *, stat=False: " 50 files changed\n" if stat else diff
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        # How fast is measured by `python -m tests.bench review`; here: it opens and pages.
        await wait_until(pilot, lambda: screen.loaded)
        view = screen.query_one(LineView)
        assert len(view.lines) == 50_200
        app.animation_level = "none"
        await pilot.press("end")
        await pilot.press("pageup", "pageup")
        await pilot.pause(0.05)
        assert int(view.scroll_offset.y) > 50_000
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


# merge dialog -------------------------------------------------------------------------


async def open_merge(pilot: Any, app: CockpitApp, session_id: str) -> MergeScreen:
    """Select ``session_id`` and press m."""
    await select(pilot, app, session_id)
    await pilot.press("m")
    await pilot.pause(0.1)
    screen = app.screen
    assert isinstance(screen, MergeScreen)
    return screen


async def test_merge_with_blockers_refuses_enter_and_f_overrides(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = "9a8b7c6d5e4f30211234567890abcdef01234567"
    merge = Recorder(result=(engine.get("app-5"), sha))
    monkeypatch.setattr(engine, "merge", merge)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        screen = await open_merge(pilot, app, "app-5")
        summary = text_of(screen.query_one("#merge-text", Static))
        assert "Not mergeable" in summary
        assert "CI failing" in summary and "not approved" in summary
        assert "behind base by 2 commits" in summary
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert merge.calls == []  # refused: blockers and no override
        status = text_of(screen.query_one("#merge-status", Static))
        assert "Not merged" in status and "F to merge anyway" in status
        assert app.screen is screen
        await pilot.press("F")
        await wait_until(pilot, lambda: merge.calls)
        assert merge.calls[0] == (("app-5",), {"method": "merge", "force": True})
        await wait_until(pilot, lambda: not isinstance(app.screen, MergeScreen))
        await wait_until(pilot, lambda: any(f"merged as {sha[:10]}" in t for t in toasts))


async def test_merge_without_blockers_enter_merges_with_the_chosen_method(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    merge = Recorder(result=(engine.get("app-4"), "feedface" * 5))
    monkeypatch.setattr(engine, "merge", merge)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_merge(pilot, app, "app-4")
        assert "Mergeable" in text_of(screen.query_one("#merge-text", Static))
        assert "● merge" in text_of(screen.query_one("#merge-method", Static))
        await pilot.press("s")  # squash instead of the project's default
        assert "● squash" in text_of(screen.query_one("#merge-method", Static))
        await pilot.press("enter")
        await wait_until(pilot, lambda: merge.calls)
        assert merge.calls[0] == (("app-4",), {"method": "squash", "force": False})
        await wait_until(pilot, lambda: not isinstance(app.screen, MergeScreen))


async def test_merge_conflict_stays_in_the_dialog_with_the_files(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def conflicting(session_id: str, *, method: str | None = None, force: bool = False) -> Any:
        raise MergeConflictError(
            f"{session_id} does not merge cleanly", ["src/app.py", "README.md"]
        )

    monkeypatch.setattr(engine, "merge", conflicting)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_merge(pilot, app, "app-4")
        await pilot.press("enter")
        status = screen.query_one("#merge-status", Static)
        await wait_until(pilot, lambda: "conflicting files" in text_of(status))
        assert "src/app.py" in text_of(status) and "README.md" in text_of(status)
        assert app.screen is screen


# helpers ------------------------------------------------------------------------------


def test_pr_blockers_are_the_pr_s_own_list() -> None:
    assert pr_blockers(SessionPR("ci_failed", blockers=("CI failing", "draft"))) == [
        "CI failing",
        "draft",
    ]
    assert pr_blockers(SessionPR("mergeable")) == []
    assert pr_blockers(None) != []


def test_failing_lines_durations_and_the_send_framing() -> None:
    assert failing_line("E       AssertionError: assert 1 == 2")
    assert failing_line("FAILED tests/test_x.py::test_y")
    assert not failing_line("collected 12 items")
    assert format_duration(None) == "—"
    assert format_duration(3.14) == "3.1s"
    assert format_duration(125) == "2m 05s"
    text = send_text({"name": "pytest", "state": "failing", "excerpt": "boom\n"}, "abcdef1234567")
    assert text.splitlines()[0].startswith("CI check 'pytest' is failing on abcdef1234")
    assert text.rstrip().endswith("boom")
