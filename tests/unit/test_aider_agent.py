"""The Aider plugin on golden captures of the real Aider 0.86.2 (tests/fixtures/aider-0.86.2).

Each pane was saved at one state by tests/e2e/capture_aider_fixtures.py, with the number of
chat-history lines written by then (steps.json): the screen reader, the history reader, the
plugin's fusion inputs and ``ao-tui inspect transcript`` must each read every one right.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ao_tui.cli import main
from core.activity.fusion import fuse
from core.models import ActivityState, Delivery, DeliveryMarker
from core.slots import AgentContext, AgentSettings, PaneInfo
from plugins.agent.aider import AiderAgent
from plugins.agent.aider.plugin import HISTORY_FILE, TYPEAHEAD
from plugins.agent.aider.reader import read_history
from plugins.agent.aider.screen import aider_pane_signal
from plugins.agent.aider.typeahead import at_prompt

CAPTURES = Path(__file__).parents[1] / "fixtures" / "aider-0.86.2"
HISTORY = CAPTURES / "chat.history.md"
STEPS = {s["step"]: s for s in json.loads((CAPTURES / "steps.json").read_text())}
NOW = 2_000_000_000.0

PANE_TRUTH = {
    "01-waiting-create-file": (ActivityState.WAITING_INPUT, "Create new file?"),
    "02-idle-after-turn": (ActivityState.IDLE, "at the prompt"),
    "03-generating": (ActivityState.WORKING, "generating"),
    "04-streaming": (ActivityState.WORKING, "replying"),
    "05-interrupted": (ActivityState.IDLE, "at the prompt"),
    "06-api-error": (ActivityState.IDLE, "at the prompt"),
    "07-retrying": (ActivityState.RETRYING, "retrying after API error"),
}
HISTORY_TRUTH = {
    # The question waiting is not in the history: it ends on the file name shown.
    "01-waiting-create-file": (ActivityState.IDLE, "reply finished"),
    "02-idle-after-turn": (ActivityState.IDLE, "reply finished"),
    "03-generating": (ActivityState.WORKING, "waiting for the model"),
    "04-streaming": (ActivityState.WORKING, "waiting for the model"),
    "05-interrupted": (ActivityState.IDLE, "interrupted"),
    "06-api-error": (ActivityState.ERROR, "BadRequestError"),
    "07-retrying": (ActivityState.RETRYING, "retrying after API error 3/?"),
    "08-exited": (ActivityState.EXITED, "^C"),
}


def _history_at(step: str) -> list[str]:
    return HISTORY.read_text().splitlines(keepends=True)[: int(STEPS[step]["history_lines"])]


@pytest.mark.parametrize("step", sorted(PANE_TRUTH))
def test_each_captured_screen_reads_right(step: str) -> None:
    state, detail = PANE_TRUTH[step]
    signal = aider_pane_signal((CAPTURES / f"{step}.pane.txt").read_text(), NOW)
    assert signal is not None
    assert signal.state is state
    assert detail in signal.detail


def test_the_question_names_the_file_it_would_create() -> None:
    signal = aider_pane_signal((CAPTURES / "01-waiting-create-file.pane.txt").read_text(), NOW)
    assert signal is not None and signal.waiting_for is not None
    assert (signal.waiting_for.kind, signal.waiting_for.tool) == ("confirm", "create-file")
    assert signal.waiting_for.command == "hello.txt"


@pytest.mark.parametrize("step", sorted(HISTORY_TRUTH))
def test_the_history_as_it_was_at_each_step_reads_right(step: str) -> None:
    state, detail = HISTORY_TRUTH[step]
    signal = read_history(_history_at(step)).signal(NOW)
    assert signal is not None
    assert signal.state is state
    assert detail in signal.detail


def test_an_empty_enter_is_no_input() -> None:
    state = read_history(["# aider chat started at 2026-12-02 16:48:46\n", "#### <blank>\n"])
    assert state.prompts == []
    assert state.last_kind == "session"


def _inspect(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["inspect", "transcript", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def test_inspect_transcript_reads_the_history_and_aiders_screen(tmp_path: Path) -> None:
    report = _inspect(str(HISTORY), "--pane", str(CAPTURES / "07-retrying.pane.txt"))
    assert report["format"] == "aider"
    assert report["signals"]["transcript"]["state"] == "exited"
    assert report["signals"]["pane"]["state"] == "retrying"
    assert report["transcript"]["prompts"] == 5

    waiting = tmp_path / "waiting.aider.chat.history.md"
    waiting.write_text("".join(_history_at("01-waiting-create-file")))
    pane = str(CAPTURES / "01-waiting-create-file.pane.txt")
    report = _inspect(str(waiting), "--pane", pane)
    assert (report["state"], report["source"]) == ("waiting_input", "pane")
    assert report["waiting_for"]["tool"] == "create-file"


def test_the_relay_types_only_at_the_input_prompt() -> None:
    raw = (CAPTURES / "prompt-drawn.raw").read_bytes()
    drawn = raw.find(b"\x1b[?2004h")
    assert at_prompt(raw)
    assert not at_prompt(raw[:drawn])  # the banner alone: not yet
    question = b"Create new file? (Y)es/(N)o [Yes]: "
    assert not at_prompt(raw[:drawn] + b"\x1b[?2004h" + question)


def _ctx(tmp_path: Path, **settings: Any) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    return AgentContext(
        session_id="app-1",
        agent_session_id="",
        worktree=worktree,
        state_dir=tmp_path / "state",
        prompt="- fix the login test",
        settings=AgentSettings(**settings),
        started_at=NOW - 100,
    )


def test_launch_types_the_task_through_the_relay(tmp_path: Path) -> None:
    agent = AiderAgent()
    ctx = _ctx(tmp_path, command="/opt/aider --dark-mode", model="sonnet")
    assert agent.prepare(ctx) == [".aider*"]
    plan = agent.launch(ctx)
    assert plan.argv[:4] == [sys.executable, str(TYPEAHEAD), "- fix the login test", "--"]
    aider = plan.argv[4:]
    assert aider[:2] == ["/opt/aider", "--dark-mode"]
    assert aider[aider.index("--chat-history-file") + 1] == str(ctx.worktree / HISTORY_FILE)
    assert aider[-2:] == ["--model", "sonnet"]
    assert "--yes-always" not in aider  # every question reaches the operator by default
    assert plan.starts_on_task


@pytest.mark.parametrize(
    ("mode", "flags"),
    [
        ("default", []),
        ("acceptEdits", ["--yes-always"]),
        ("bypassPermissions", ["--yes-always"]),
        ("plan", ["--chat-mode", "ask"]),
    ],
)
def test_permission_modes_map_to_aiders_own(tmp_path: Path, mode: str, flags: list[str]) -> None:
    argv = AiderAgent().launch(_ctx(tmp_path, permissions=mode)).argv
    assert argv[argv.index("--no-show-release-notes") + 1 :] == flags


def test_resume_restores_the_chat_history_and_waits(tmp_path: Path) -> None:
    agent = AiderAgent()
    ctx = _ctx(tmp_path)
    assert agent.resume(ctx).argv[0] == sys.executable  # never started: the task again
    (ctx.worktree / HISTORY_FILE).write_text(HISTORY.read_text())
    plan = agent.resume(ctx)
    assert plan.argv[-1] == "--restore-chat-history"
    assert TYPEAHEAD.name not in " ".join(plan.argv)
    assert not plan.starts_on_task


def _write_history(ctx: AgentContext, step: str) -> None:
    """The history as it was at ``step``, written during this start (10 s ago)."""
    path = ctx.worktree / HISTORY_FILE
    path.write_text("".join(_history_at(step)))
    os.utime(path, (NOW - 10, NOW - 10))


def _observe_at(tmp_path: Path, step: str, pane_step: str) -> Any:
    ctx = _ctx(tmp_path)
    _write_history(ctx, step)
    pane = PaneInfo("ao-app-1", "%1", 1, dead=False)
    screen = (CAPTURES / f"{pane_step}.pane.txt").read_text()
    observation = AiderAgent(clock=lambda: NOW).observe(ctx, pane, lambda: screen)
    return fuse(observation.signals, None, NOW)


def test_observe_fuses_history_and_screen(tmp_path: Path) -> None:
    waiting = _observe_at(tmp_path, "01-waiting-create-file", "01-waiting-create-file")
    assert waiting.state is ActivityState.WAITING_INPUT
    assert waiting.waiting_for.tool == "create-file"
    generating = _observe_at(tmp_path, "03-generating", "03-generating")
    assert generating.state is ActivityState.WORKING
    failed = _observe_at(tmp_path, "06-api-error", "06-api-error")
    assert failed.state is ActivityState.ERROR
    retrying = _observe_at(tmp_path, "07-retrying", "07-retrying")
    assert retrying.state is ActivityState.RETRYING


def test_an_input_just_taken_is_work_though_the_prompt_still_shows(tmp_path: Path) -> None:
    # Right after Enter, Aider's screen still ends on "> STALL 6" before its spinner.
    captured = (CAPTURES / "03-generating.pane.txt").read_text()
    screen = captured[: captured.index("> STALL 6")] + "> STALL 6\n"
    assert aider_pane_signal(screen, NOW).state is ActivityState.IDLE  # type: ignore[union-attr]
    ctx = _ctx(tmp_path)
    _write_history(ctx, "03-generating")
    pane = PaneInfo("ao-app-1", "%1", 1, dead=False)
    observation = AiderAgent(clock=lambda: NOW).observe(ctx, pane, lambda: screen)
    assert fuse(observation.signals, None, NOW).state is ActivityState.WORKING


def test_a_send_is_delivered_once_the_history_holds_it(tmp_path: Path) -> None:
    agent = AiderAgent(clock=lambda: NOW)
    ctx = _ctx(tmp_path)
    history = ctx.worktree / HISTORY_FILE
    history.write_text("".join(_history_at("02-idle-after-turn")))
    marker = agent.delivery_marker(ctx)
    assert isinstance(marker, DeliveryMarker)
    assert agent.delivery(ctx, marker, "STALL 6", lambda: "") is Delivery.PENDING
    history.write_text("".join(_history_at("03-generating")))
    assert agent.delivery(ctx, marker, "STALL 6", lambda: "") is Delivery.DELIVERED
    # An input from before the marker is no receipt for the same text sent again.
    later = agent.delivery_marker(ctx)
    assert agent.delivery(ctx, later, "STALL 6", lambda: "") is Delivery.PENDING


def test_the_transcript_tab_reads_the_history_as_turns() -> None:
    turns = AiderAgent().read_turns(HISTORY)
    users = [t.body for t in turns if t.kind == "user"]
    assert users == [
        "WRITE_FILE hello.txt hi from aider",
        "STALL 6",
        "SLOW 12",
        "FAIL400 please",
        "FAIL500 please",
    ]
    replies = [t.title for t in turns if t.kind == "assistant"]
    assert replies[:2] == ["Creating the file.", "Hello from the stand-in."]
    assert any("Create new file? (Y)es/(N)o [Yes]: y" in t.body for t in turns if t.kind == "tool")
