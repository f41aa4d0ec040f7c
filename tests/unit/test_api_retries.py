"""API retries show as their own condition; the error that ends them stays on show.

Every file here is what the real Claude Code 2.1.197 wrote while the API stand-in answered
HTTP 500 (``tests/fixtures/claude-2.1.197/04-api-500-default-retries``). For up to three
minutes its status file says ``busy``, its hooks say the prompt was submitted, and its
transcript says nothing, so the session showed as ``working``. Only its screen says
``API error · Retrying in 5s · attempt 4/10``. No tmux here: the pane facts are a fixed
:class:`PaneInfo`, the screen the recorded capture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.activity.fusion import fuse
from core.models import Activity, ActivitySignal, ActivityState, SignalSource
from core.slots import AgentContext, PaneInfo
from plugins.agent.claude_code.freshness import STALE_WORKING
from plugins.agent.claude_code.hooks import HookState, parse_hook_log
from plugins.agent.claude_code.paths import transcript_path
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from tests.support.fakes import Clock, Screen

RUN = Path(__file__).resolve().parent.parent / "fixtures" / "claude-2.1.197"
RETRIES = RUN / "04-api-500-default-retries"
ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=999_996, dead=False)
UUID = json.loads((RETRIES / "01-retrying.status.json").read_text())["sessionId"]


def world(tmp_path: Path, step: str) -> tuple[AgentContext, float, Screen]:
    """A session whose hook log, status file and transcript are the recorded ones of ``step``."""
    config = tmp_path / "claude"
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    state_dir = tmp_path / "state"
    state_dir.mkdir(exist_ok=True)
    (state_dir / "hooks.jsonl").write_text((RETRIES / f"{step}.hooks.jsonl").read_text())
    status = json.loads((RETRIES / f"{step}.status.json").read_text())
    status.update(pid=ALIVE.pane_pid)
    del status["procStart"]  # that pid is no live process here
    (config / "sessions").mkdir(parents=True, exist_ok=True)
    (config / "sessions" / f"{ALIVE.pane_pid}.json").write_text(json.dumps(status))
    transcript = transcript_path(config, worktree, UUID)
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text((RETRIES / f"{step}.transcript.jsonl").read_text())
    ctx = AgentContext(
        session_id="app-1",
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=state_dir,
        prompt="FAIL500 default retries",
        env={"CLAUDE_CONFIG_DIR": str(config)},
    )
    return ctx, status["statusUpdatedAt"] / 1000, Screen((RETRIES / f"{step}.pane.txt").read_text())


def fused(signals: list[ActivitySignal], now: float, previous: Activity | None = None) -> Activity:
    return fuse(signals, previous, now)


def test_retries_read_as_retrying_once_busy_has_gone_quiet(tmp_path: Path) -> None:
    ctx, busy_since, screen = world(tmp_path, "01-retrying")
    clock = Clock(busy_since + 2)
    agent = ClaudeCodeAgent(clock=clock)
    early = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 0  # a fresh "busy" is believed as it is
    assert fused(early.signals, clock.now).state is ActivityState.WORKING

    clock.now = busy_since + STALE_WORKING + 0.5  # busy, and not a word since
    late = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 1
    activity = fused(late.signals, clock.now)
    assert (activity.state, activity.source) == (ActivityState.RETRYING, SignalSource.PANE)
    assert activity.detail == "retrying after API error 4/10"


def test_the_final_error_stays_what_it_says(tmp_path: Path) -> None:
    ctx, at, screen = world(tmp_path, "02-gave-up")
    clock = Clock(at + 1)
    agent = ClaudeCodeAgent(clock=clock)
    retrying = Activity(
        ActivityState.RETRYING, SignalSource.PANE, at - 30, "retrying after API error 10/10"
    )
    error = fused(agent.observe(ctx, ALIVE, screen).signals, clock.now, retrying)
    assert error.state is ActivityState.ERROR
    assert error.detail.startswith("API Error: 500 Internal server error.")

    # A minute later Claude reminds that it waits for input; the error is still the news.
    log = ctx.state_dir / "hooks.jsonl"
    reminder = {
        "session_id": UUID,
        "hook_event_name": "Notification",
        "message": "Claude is waiting for your input",
        "notification_type": "idle_prompt",
    }
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f'{{"ao_ts":"{at + 60:.9f}","payload":{json.dumps(reminder)}}}\n')
    clock.now = at + 61
    later = fused(agent.observe(ctx, ALIVE, screen).signals, clock.now, error)
    assert (later.state, later.detail) == (ActivityState.ERROR, error.detail)


def test_a_new_prompt_after_the_error_clears_it() -> None:
    lines = (RETRIES / "02-gave-up.hooks.jsonl").read_text().splitlines()
    hooks = HookState()
    hooks.fold_lines(lines)
    signal = hooks.signal()
    assert signal is not None and signal.state is ActivityState.ERROR
    at = max(r.at or 0.0 for r in parse_hook_log(lines))
    prompt: dict[str, Any] = {
        "session_id": UUID,
        "hook_event_name": "UserPromptSubmit",
        "prompt": "try again",
    }
    hooks.fold_lines([f'{{"ao_ts":"{at + 90:.9f}","payload":{json.dumps(prompt)}}}'])
    reminder = dict(prompt, hook_event_name="Notification", notification_type="idle_prompt")
    hooks.fold_lines([f'{{"ao_ts":"{at + 200:.9f}","payload":{json.dumps(reminder)}}}'])
    signal = hooks.signal()
    assert signal is not None and signal.state is ActivityState.IDLE
