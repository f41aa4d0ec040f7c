"""After a restore, nothing the killed process left behind is applied to the session.

The hook lines are the real Claude Code 2.1.197 ones: ``03-killed-by-tmux`` ends with the
``SessionEnd`` (reason ``other``) Claude fires when ``tmux kill-session`` stops it, and
``07-resume`` starts with the ``SessionStart`` (source ``resume``) of ``claude --resume``.
Applied after a restore, that ``SessionEnd`` put every restored session in Needs you with
"session ended (other)", a toast and a bell. No tmux: the pane is a fixed
:class:`PaneInfo` and the screen a canned capture.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.activity.fusion import fuse
from core.activity.starts import SIGNALS_FROM, at_or_after, of_this_start, signals_from
from core.models import Activity, ActivitySignal, ActivityState, SignalSource
from core.slots import AgentContext, PaneInfo
from plugins.agent.claude_code.hooks import parse_hook_line
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from tests.support.fakes import Clock, Screen

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-2.1.197"
KILLED = FIXTURES / "01-simple-idle" / "03-killed-by-tmux.hooks.jsonl"
RESUMED = FIXTURES / "07-resume" / "hooks.jsonl"
IDLE_SCREEN = (FIXTURES / "07-resume" / "01-resumed.pane.txt").read_text()
ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=999_997, dead=False)


def records(path: Path) -> list[str]:
    """The log's records, one per line (Claude 2.1.197 split each over two lines)."""
    return [line + "}\n" for line in path.read_text().split("\n}\n") if line.strip()]


def stamp(record: str) -> float:
    found = re.match(r'\{"ao_ts":"([0-9.]+)"', record)
    assert found is not None
    return float(found.group(1))


def restamped(record: str, at: float) -> str:
    return re.sub(r'^\{"ao_ts":"[0-9.]+"', f'{{"ao_ts":"{at:.9f}"', record)


KILLED_LINES = records(KILLED)
KILLED_AT = stamp(KILLED_LINES[-1])  # the SessionEnd
FIRST = parse_hook_line(KILLED_LINES[0])
assert FIRST is not None
UUID = str(FIRST.payload["session_id"])


def ctx_for(tmp_path: Path, extra: dict[str, Any]) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    state_dir = tmp_path / "state"
    state_dir.mkdir(exist_ok=True)
    (state_dir / "hooks.jsonl").write_text("".join(KILLED_LINES))
    return AgentContext(
        session_id="app-1",
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=state_dir,
        prompt="say hi",
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
        extra=extra,
        started_at=float(extra.get("started_at", 0.0)),
    )


def append(ctx: AgentContext, record: str) -> None:
    with (ctx.state_dir / "hooks.jsonl").open("a", encoding="utf-8") as log:
        log.write(record)


def hook_states(observation_signals: list[ActivitySignal]) -> list[tuple[str, str]]:
    return [(s.state.value, s.detail) for s in observation_signals if s.source.value == "hook"]


def test_the_fixture_is_what_a_killed_claude_writes() -> None:
    assert '"hook_event_name":"SessionEnd"' in KILLED_LINES[-1]
    assert '"reason":"other"' in KILLED_LINES[-1]
    assert '"source":"resume"' in records(RESUMED)[0]


def test_without_a_restore_the_session_end_is_what_the_hooks_say(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, {})
    agent = ClaudeCodeAgent(clock=Clock(KILLED_AT + 5))
    observed = agent.observe(ctx, ALIVE, Screen(IDLE_SCREEN))
    assert ("exited", "session ended (other)") in hook_states(observed.signals)


def test_the_killed_processs_session_end_is_not_applied_after_a_restore(tmp_path: Path) -> None:
    restored = KILLED_AT + 30
    ctx = ctx_for(
        tmp_path, {"started_at": restored, SIGNALS_FROM: restored, "starts_on_task": False}
    )
    clock = Clock(restored + 0.5)
    agent = ClaudeCodeAgent(clock=clock)
    observed = agent.observe(ctx, ALIVE, Screen(IDLE_SCREEN))
    assert all(s.state is not ActivityState.EXITED for s in observed.signals)
    assert hook_states(observed.signals) == []

    # Dying slowly on a loaded machine, the old process's SessionEnd lands after the
    # restore began, before the new process's SessionStart: still not this start's.
    append(ctx, restamped(KILLED_LINES[-1], restored + 0.3))
    clock.now = restored + 1.0
    observed = agent.observe(ctx, ALIVE, Screen(IDLE_SCREEN))
    assert all(s.state is not ActivityState.EXITED for s in observed.signals)

    # The new process's own start is applied: a resumed conversation waits for input.
    append(ctx, restamped(records(RESUMED)[0], restored + 1.2))
    clock.now = restored + 1.5
    observed = agent.observe(ctx, ALIVE, Screen(IDLE_SCREEN))
    assert hook_states(observed.signals) == [("idle", "session resume")]

    # Its own end (the operator typed /exit) is applied as ever.
    append(ctx, restamped(KILLED_LINES[-1], restored + 9.0))
    clock.now = restored + 9.5
    observed = agent.observe(ctx, ALIVE, Screen(IDLE_SCREEN))
    assert hook_states(observed.signals) == [("exited", "session ended (other)")]


def test_signals_stamped_before_the_restore_are_dropped_for_every_source() -> None:
    restored = 1_800_000_100.0
    old = [
        ActivitySignal(ActivityState.EXITED, SignalSource.HOOK, restored - 5, "session ended"),
        ActivitySignal(ActivityState.WORKING, SignalSource.TRANSCRIPT, restored - 60, "Bash"),
        ActivitySignal(ActivityState.WAITING_INPUT, SignalSource.STATUS_FILE, restored - 1, ""),
    ]
    new = [
        ActivitySignal(ActivityState.IDLE, SignalSource.HOOK, restored + 1, "session resume"),
        ActivitySignal(ActivityState.IDLE, SignalSource.PANE, restored + 2, "at a prompt"),
    ]
    assert of_this_start(old + new, {SIGNALS_FROM: restored}) == new
    assert of_this_start(old + new, {}) == old + new  # never restored: every signal counts
    # `started_at` alone (doctor --fix adopting a running agent) drops nothing.
    assert of_this_start(old, {"started_at": restored}) == old
    assert signals_from({SIGNALS_FROM: True}) is None
    previous = Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, restored, "restarting")
    fused = fuse(of_this_start(old, {SIGNALS_FROM: restored}), previous, restored + 3)
    assert fused == previous  # nothing new: it stays "restarting"


def test_whole_second_stamps_compare_by_their_second() -> None:
    # macOS `date` has no %N: the hook's stamp is the whole second.
    assert at_or_after(1_800_000_100.0, 1_800_000_100.7)
    assert not at_or_after(1_800_000_099.0, 1_800_000_100.2)
    assert at_or_after(1_800_000_100.66, 1_800_000_100.7)  # two reads of one clock
    assert not at_or_after(1_800_000_100.5, 1_800_000_100.7)
    assert at_or_after(None, 1_800_000_100.7)
