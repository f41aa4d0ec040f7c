"""The Claude plugin reuses an observation while nothing it reads has changed, and only then.

Each test proves that a change is still seen at the very next observation after one that was
reused: a hook line, a status file, a transcript appearing, and the changes no file shows,
which come from time alone (a silence reaching its threshold, the startup grace ending).
No tmux: the pane facts are a fixed :class:`PaneInfo` and the screen a canned capture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import plugins.agent.claude_code.freshness as freshness
from core.activity.tailer import FileTailer
from core.models import ActivityState, SignalSource, WaitingFor
from core.slots import AgentContext, PaneInfo
from plugins.agent.claude_code.paths import transcript_path
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from tests.support.fakes import Clock, Screen

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "claude" / "real-2.1.197"
UUID = "7e1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=999_998, dead=False)
T0 = 1_800_000_000.0


def _ctx(tmp_path: Path, **kw: Any) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    state_dir = tmp_path / "state" / "app-1"
    state_dir.mkdir(parents=True, exist_ok=True)
    defaults: dict[str, Any] = {
        "session_id": "app-1",
        "agent_session_id": UUID,
        "worktree": worktree,
        "state_dir": state_dir,
        "prompt": "fix the login bug",
        "env": {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
    }
    defaults.update(kw)
    return AgentContext(**defaults)


def _hook(event: str, at: float, **payload: Any) -> str:
    body = json.dumps({"hook_event_name": event, "session_id": UUID, **payload})
    return f'{{"ao_ts":"{at}","payload":{body}}}\n'


def _append(ctx: AgentContext, line: str) -> None:
    with (ctx.state_dir / "hooks.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(line)


def _states(signals: list[Any]) -> dict[SignalSource, ActivityState]:
    return {s.source: s.state for s in signals}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file read by a tailer (hook log, transcript), in order."""
    seen: list[Path] = []
    original = FileTailer.read

    def read(self: FileTailer) -> Any:
        seen.append(self.path)
        return original(self)

    monkeypatch.setattr(FileTailer, "read", read)
    return seen


def test_an_unchanged_session_is_not_read_again(tmp_path: Path, reads: list[Path]) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("Stop", T0, last_assistant_message="done"))
    clock = Clock(T0 + 30)
    agent = ClaudeCodeAgent(clock=clock)
    first = agent.observe(ctx, ALIVE, Screen())
    assert _states(first.signals) == {SignalSource.HOOK: ActivityState.IDLE}
    read_once = len(reads)
    clock.now += 1
    assert agent.observe(ctx, ALIVE, Screen()) is first
    assert len(reads) == read_once, "nothing changed: no file is read again"


def test_a_hook_line_appended_after_a_reused_tick_is_seen_at_once(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("PreToolUse", T0, tool_name="Bash", tool_input={"command": "ls"}))
    clock = Clock(T0 + 0.2)
    agent = ClaudeCodeAgent(clock=clock)
    first = agent.observe(ctx, ALIVE, Screen())
    assert _states(first.signals)[SignalSource.HOOK] is ActivityState.WORKING
    clock.now += 0.5
    assert agent.observe(ctx, ALIVE, Screen()) is first  # reused
    permission = {"command": "rm -rf build"}
    _append(ctx, _hook("PermissionRequest", T0 + 0.6, tool_name="Bash", tool_input=permission))
    # Same instant as the reused observation: only the file changed.
    after = agent.observe(ctx, ALIVE, Screen())
    hook = next(s for s in after.signals if s.source is SignalSource.HOOK)
    assert hook.state is ActivityState.WAITING_INPUT
    assert hook.waiting_for == WaitingFor("permission", "Bash", "rm -rf build")


def test_a_silence_reaching_its_threshold_brings_a_capture(tmp_path: Path) -> None:
    """A tool call pending without a hook for HOOK_SILENCE seconds: the screen is checked
    (a permission prompt no hook reported), although no file changed since."""
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("PreToolUse", T0, tool_name="Bash", tool_input={"command": "make"}))
    clock = Clock(T0 + 0.5)
    agent = ClaudeCodeAgent(clock=clock)
    screen = Screen((REAL / "pane-permission-bash.txt").read_text())
    agent.observe(ctx, ALIVE, screen)
    clock.now = T0 + 1.0
    agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 0, "a fresh hook: no capture"
    clock.now = T0 + freshness.HOOK_SILENCE + 0.1
    obs = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 1
    pane = next(s for s in obs.signals if s.source is SignalSource.PANE)
    assert pane.state is ActivityState.WAITING_INPUT


def test_the_startup_grace_still_expires(tmp_path: Path) -> None:
    """Before any hook, an idle-looking screen reads as "starting" during the grace only."""
    ctx = _ctx(tmp_path, started_at=T0)
    clock = Clock(T0 + 1)
    agent = ClaudeCodeAgent(clock=clock)
    screen = Screen((REAL / "pane-idle-after-tool.txt").read_text())

    def pane_state() -> tuple[ActivityState, str]:
        obs = agent.observe(ctx, ALIVE, screen)
        pane = next(s for s in obs.signals if s.source is SignalSource.PANE)
        return pane.state, pane.detail

    assert pane_state() == (ActivityState.WORKING, "starting on the task")
    # Re-captured here, so the next capture is not due before the grace ends: only the
    # grace's own deadline can end the reuse in time.
    clock.now = T0 + freshness.STARTUP_GRACE - 4
    assert pane_state() == (ActivityState.WORKING, "starting on the task")
    clock.now = T0 + freshness.STARTUP_GRACE + 0.5
    state, _ = pane_state()
    assert state is ActivityState.IDLE, "the grace ended: the screen is taken as it is"


def test_no_startup_grace_after_a_resume(tmp_path: Path) -> None:
    """A resumed conversation waits for input: its idle screen is read as it is."""
    ctx = _ctx(tmp_path, started_at=T0, extra={"starts_on_task": False})
    agent = ClaudeCodeAgent(clock=Clock(T0 + 1))
    screen = Screen((REAL / "pane-idle-after-tool.txt").read_text())
    obs = agent.observe(ctx, ALIVE, screen)
    pane = next(s for s in obs.signals if s.source is SignalSource.PANE)
    assert pane.state is ActivityState.IDLE


def test_a_status_file_appearing_under_the_panes_pid_is_seen_at_once(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("Stop", T0, last_assistant_message="done"))
    clock = Clock(T0 + 30)
    agent = ClaudeCodeAgent(clock=clock)
    agent.observe(ctx, ALIVE, Screen())
    clock.now += 1
    agent.observe(ctx, ALIVE, Screen())  # reused
    status = json.loads((REAL / "session-a-status-busy.json").read_text())
    status.update(sessionId=UUID, pid=ALIVE.pane_pid, statusUpdatedAt=(T0 + 31) * 1000)
    del status["procStart"]  # no live process has this pid here
    sessions = Path(ctx.env["CLAUDE_CONFIG_DIR"]) / "sessions"
    sessions.mkdir(parents=True)
    (sessions / f"{ALIVE.pane_pid}.json").write_text(json.dumps(status))
    obs = agent.observe(ctx, ALIVE, Screen())
    assert _states(obs.signals).get(SignalSource.STATUS_FILE) is ActivityState.WORKING


def test_a_transcript_appearing_is_read_at_the_next_due_search(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("Stop", T0))  # no transcript_path in the payload: it must be found
    clock = Clock(T0 + 30)
    agent = ClaudeCodeAgent(clock=clock)
    first = agent.observe(ctx, ALIVE, Screen())
    assert SignalSource.TRANSCRIPT not in _states(first.signals)
    config = Path(ctx.env["CLAUDE_CONFIG_DIR"])
    path = transcript_path(config, ctx.worktree, UUID)
    path.parent.mkdir(parents=True)
    path.write_text((REAL / "session-c-transcript.jsonl").read_text())
    clock.now += freshness.TRANSCRIPT_RESCAN + 0.1
    obs = agent.observe(ctx, ALIVE, Screen())
    assert obs.extra["transcript_path"] == str(path)
    transcript = next(s for s in obs.signals if s.source is SignalSource.TRANSCRIPT)
    assert transcript.detail == "interrupted by user"


def test_reuse_is_bounded_even_when_nothing_changes(tmp_path: Path, reads: list[Path]) -> None:
    """What no file shows (a status file's pid reused by another process) is re-checked."""
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("Stop", T0, last_assistant_message="done"))
    clock = Clock(T0 + 60)
    agent = ClaudeCodeAgent(clock=clock)
    agent.observe(ctx, ALIVE, Screen())
    read_once = len(reads)
    clock.now += freshness.REUSE_LIMIT + 0.5
    agent.observe(ctx, ALIVE, Screen())
    assert len(reads) > read_once


def test_another_pane_is_never_served_the_old_observation(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("Stop", T0))
    clock = Clock(T0 + 30)
    agent = ClaudeCodeAgent(clock=clock)
    first = agent.observe(ctx, ALIVE, Screen())
    restarted = PaneInfo(session_name="ao-app-1", pane_id="%7", pane_pid=999_997, dead=False)
    assert agent.observe(ctx, restarted, Screen()) is not first
    dead = PaneInfo("ao-app-1", "%7", 999_997, dead=True, dead_status=2)
    exited = agent.observe(ctx, dead, Screen())
    assert _states(exited.signals) == {SignalSource.RUNTIME: ActivityState.EXITED}
