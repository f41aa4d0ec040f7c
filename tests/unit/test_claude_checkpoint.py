"""The hook log checkpoint: a fresh process resumes the fold, and never from a wrong one.

Each test compares what a fresh plugin instance (a one-shot ``status``) reports with a
checkpoint in place against what it reports folding the log itself: they must be equal
whatever the checkpoint holds, was written by, or is left over from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from core.models import ActivityState, SignalSource, WaitingFor
from core.slots import AgentContext, PaneInfo
from plugins.agent.claude_code import checkpoint
from plugins.agent.claude_code.checkpoint import CHECKPOINT_FILE, KNOWN_FIELDS, SAVE_EVERY
from plugins.agent.claude_code.hooks import HookState
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from tests.support.fakes import Clock, Screen

ROOT = Path(__file__).resolve().parents[2]
UUID = "7e1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=999_998, dead=False)
T0 = 1_800_000_000.0


def _ctx(tmp_path: Path) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(parents=True, exist_ok=True)
    state_dir = tmp_path / "state" / "app-1"
    state_dir.mkdir(parents=True, exist_ok=True)
    return AgentContext(
        session_id="app-1",
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=state_dir,
        prompt="fix the login bug",
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude"), "HOME": str(tmp_path)},
    )


def _hook(event: str, at: float, **payload: Any) -> str:
    body = json.dumps({"hook_event_name": event, "session_id": UUID, **payload})
    return f'{{"ao_ts":"{at:.6f}","payload":{body}}}\n'


def _busy_turn(start: float, tools: int = 40) -> str:
    """A prompt, ``tools`` tool calls and a finished turn: well over SAVE_EVERY bytes."""
    lines = [_hook("UserPromptSubmit", start, prompt="run the tests")]
    for i in range(tools):
        call = {"tool_name": "Bash", "tool_input": {"command": f"pytest -k t{i}"}}
        lines.append(_hook("PreToolUse", start + i + 0.1, **call))
        lines.append(_hook("PostToolUse", start + i + 0.2, **call))
    lines.append(_hook("Stop", start + tools + 1, last_assistant_message="all green"))
    return "".join(lines)


def _permission(at: float) -> str:
    call = {"tool_name": "Bash", "tool_input": {"command": "rm -rf build"}}
    return _hook("PermissionRequest", at, **call) + _hook(
        "Notification", at + 0.5, notification_type="permission_prompt", message="Claude needs"
    )


def _append(ctx: AgentContext, text: str) -> None:
    with (ctx.state_dir / "hooks.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(text)


def _hook_view(ctx: AgentContext, now: float) -> tuple[Any, ...]:
    """What a fresh process reports from the hooks: the signal and the folded summary."""
    agent = ClaudeCodeAgent(clock=Clock(now))
    observed = agent.observe(ctx, ALIVE, Screen())
    hooks = agent._watches[ctx.session_id].hooks
    signal = next((s for s in observed.signals if s.source is SignalSource.HOOK), None)
    return signal, hooks.summary(), hooks.start_at, hooks.records


def _without_checkpoint(ctx: AgentContext, now: float) -> tuple[Any, ...]:
    saved = ctx.state_dir / CHECKPOINT_FILE
    body = saved.read_bytes() if saved.exists() else None
    saved.unlink(missing_ok=True)
    try:
        return _hook_view(ctx, now)
    finally:
        if body is not None:
            saved.write_bytes(body)


def _resumed_offset(ctx: AgentContext) -> int | None:
    found = checkpoint.resume(ctx.state_dir / "hooks.jsonl", backscan=64 * 1024)
    return None if found is None else found[2]


def test_a_fresh_process_resumes_from_the_checkpoint_and_reads_only_the_rest(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("SessionStart", T0, source="startup") + _busy_turn(T0 + 1))
    first = _hook_view(ctx, T0 + 100)
    assert first[0].state is ActivityState.IDLE
    size = (ctx.state_dir / "hooks.jsonl").stat().st_size
    assert size > SAVE_EVERY
    assert _resumed_offset(ctx) == size, "the first fold leaves a checkpoint at the end"

    _append(ctx, _permission(T0 + 200))
    resumed = _hook_view(ctx, T0 + 210)
    assert resumed[0].state is ActivityState.WAITING_INPUT
    assert resumed[0].began == T0 + 200, "the run's start survives the checkpoint"
    assert resumed == _without_checkpoint(ctx, T0 + 210)


def test_a_checkpoint_written_by_another_process_gives_the_same_state(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("SessionStart", T0, source="startup") + _busy_turn(T0 + 1))
    _append(ctx, _permission(T0 + 60))
    # The checkpoint is written by a separate interpreter, as the daemon or cockpit would.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from plugins.agent.claude_code.checkpoint import session_watch, note_fold\n"
        "watch = session_watch(Path(sys.argv[1]))\n"
        "watch.hooks.fold_lines(watch.hook_tailer.read().lines)\n"
        "note_fold(watch)\n"
        "assert watch.hook_checkpoint is not None\n"
    )
    log = ctx.state_dir / "hooks.jsonl"
    subprocess.run([sys.executable, "-c", code, str(log)], cwd=ROOT, check=True)
    assert _resumed_offset(ctx) == log.stat().st_size
    _append(ctx, _hook("PostToolUse", T0 + 70, tool_name="Bash") + _busy_turn(T0 + 80, 3))
    resumed = _hook_view(ctx, T0 + 100)
    assert resumed[0].state is ActivityState.IDLE
    assert resumed == _without_checkpoint(ctx, T0 + 100)


def _waiting_checkpoint(tmp_path: Path) -> AgentContext:
    """A session whose checkpoint says a permission prompt waits."""
    ctx = _ctx(tmp_path)
    _append(ctx, _busy_turn(T0) + _permission(T0 + 50))
    assert _hook_view(ctx, T0 + 60)[0].state is ActivityState.WAITING_INPUT
    assert _resumed_offset(ctx) is not None
    return ctx


def _replace_log(ctx: AgentContext, text: str) -> None:
    fresh = ctx.state_dir / "hooks.new"
    fresh.write_text(text, encoding="utf-8")
    fresh.replace(ctx.state_dir / "hooks.jsonl")


def _rewrite_in_place(ctx: AgentContext, text: str) -> None:
    # Same inode, same or bigger size: only the bytes tell this log from the old one.
    with (ctx.state_dir / "hooks.jsonl").open("r+", encoding="utf-8") as handle:
        handle.truncate(0)
        handle.write(text)


def _other_session_checkpoint(ctx: AgentContext) -> None:
    other = _ctx(ctx.state_dir.parent.parent / "other")
    _append(other, _busy_turn(T0) + _hook("Stop", T0 + 99))
    _hook_view(other, T0 + 100)
    (other.state_dir / CHECKPOINT_FILE).replace(ctx.state_dir / CHECKPOINT_FILE)


def _other_code(ctx: AgentContext) -> None:
    path = ctx.state_dir / CHECKPOINT_FILE
    data = json.loads(path.read_text())
    data["code"] = "0" * 64
    data["state"]["state_event"] = "Stop"
    path.write_text(json.dumps(data))


STALE = {
    "log replaced": lambda ctx: _replace_log(ctx, _busy_turn(T0 + 500, 45)),
    "log rewritten in place": lambda ctx: _rewrite_in_place(ctx, _busy_turn(T0 + 500, 45)),
    "log truncated": lambda ctx: _rewrite_in_place(ctx, ""),
    "log removed": lambda ctx: (ctx.state_dir / "hooks.jsonl").unlink(),
    "another session's checkpoint": _other_session_checkpoint,
    "another version's checkpoint": _other_code,
}


@pytest.mark.parametrize("change", list(STALE), ids=list(STALE))
def test_a_stale_checkpoint_never_yields_a_wrong_state(tmp_path: Path, change: str) -> None:
    ctx = _waiting_checkpoint(tmp_path)
    STALE[change](ctx)
    resumed_at = _resumed_offset(ctx)
    assert _hook_view(ctx, T0 + 600) == _without_checkpoint(ctx, T0 + 600)
    assert resumed_at is None


def _valid(ctx: AgentContext) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ctx.state_dir / CHECKPOINT_FILE).read_text())
    return data


def _with_state(**change: Any) -> Any:
    def garble(ctx: AgentContext) -> bytes:
        data = _valid(ctx)
        data["state"].update(change)
        return json.dumps(data).encode()

    return garble


GARBLED: dict[str, Any] = {
    "random bytes": lambda ctx: os.urandom(512),
    "empty": lambda ctx: b"",
    "json null": lambda ctx: b"null",
    "a list": lambda ctx: b"[1, 2, 3]",
    "deeply nested": lambda ctx: b"[" * 200_000,
    "too big": lambda ctx: b" " * (checkpoint.MAX_CHECKPOINT_BYTES + 1),
    "offset past the end": lambda ctx: json.dumps({**_valid(ctx), "offset": 10**9}).encode(),
    "offset a string": lambda ctx: json.dumps({**_valid(ctx), "offset": "12"}).encode(),
    "no state": lambda ctx: json.dumps({k: v for k, v in _valid(ctx).items() if k != "state"}),
    "a count that is text": _with_state(records="many"),
    "a time that is a bool": _with_state(state_at=True),
    "an unknown activity": _with_state(run=[["dancing", "", ""], T0]),
    "a permission that is a list": _with_state(pending_permission=["Bash"]),
    "too many prompts": _with_state(prompts=[["p", T0]] * 1000),
    "a parser of the wrong shape": _with_state(parser=[0, 0]),
}


@pytest.mark.parametrize("garble", list(GARBLED), ids=list(GARBLED))
def test_a_garbled_checkpoint_is_ignored(tmp_path: Path, garble: str) -> None:
    ctx = _waiting_checkpoint(tmp_path)
    _append(ctx, _hook("Stop", T0 + 70))
    body = GARBLED[garble](ctx)
    (ctx.state_dir / CHECKPOINT_FILE).write_bytes(body.encode() if isinstance(body, str) else body)
    assert _resumed_offset(ctx) is None
    view = _hook_view(ctx, T0 + 80)
    assert view[0].state is ActivityState.IDLE
    (ctx.state_dir / CHECKPOINT_FILE).unlink()
    assert view == _hook_view(ctx, T0 + 80)


def test_a_checkpoint_that_is_a_fifo_neither_blocks_nor_counts(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _busy_turn(T0))
    os.mkfifo(ctx.state_dir / CHECKPOINT_FILE)
    assert _resumed_offset(ctx) is None
    assert _hook_view(ctx, T0 + 60)[0].state is ActivityState.IDLE  # and the save failed quietly


def test_a_checkpoint_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    (ctx.state_dir / CHECKPOINT_FILE).mkdir()
    _append(ctx, _busy_turn(T0))
    assert _hook_view(ctx, T0 + 60)[0].state is ActivityState.IDLE
    assert (ctx.state_dir / CHECKPOINT_FILE).is_dir()
    left = sorted(p.name for p in ctx.state_dir.iterdir())
    assert left == sorted([CHECKPOINT_FILE, "hooks.jsonl"]), "no temporary file is left behind"


def test_a_new_checkpoint_is_written_only_after_enough_new_log(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _busy_turn(T0))
    _hook_view(ctx, T0 + 60)
    first = _resumed_offset(ctx)
    _append(ctx, _hook("UserPromptSubmit", T0 + 70, prompt="one more"))
    _hook_view(ctx, T0 + 80)
    assert _resumed_offset(ctx) == first, "a few new lines are cheaper to re-read than save"
    _append(ctx, _busy_turn(T0 + 90))
    _hook_view(ctx, T0 + 200)
    assert _resumed_offset(ctx) == (ctx.state_dir / "hooks.jsonl").stat().st_size


def test_a_record_split_over_two_lines_at_the_checkpoint_completes_after_it(
    tmp_path: Path,
) -> None:
    # Claude 2.1.x wrote each record over two lines; the checkpoint may fall between them.
    ctx = _ctx(tmp_path)
    half = _hook("Stop", T0 + 45, last_assistant_message="done").rstrip("}\n")
    _append(ctx, _busy_turn(T0) + half + "\n")
    _hook_view(ctx, T0 + 50)
    assert _resumed_offset(ctx) == (ctx.state_dir / "hooks.jsonl").stat().st_size
    _append(ctx, "}\n")
    view = _hook_view(ctx, T0 + 60)
    assert view[1]["last_event"] == "Stop"
    assert view == _without_checkpoint(ctx, T0 + 60)


def test_every_hook_state_field_is_carried_by_the_checkpoint() -> None:
    # A field added to HookState must be added to the checkpoint (its type checked on the
    # way in); until then no checkpoint is saved or resumed, which is slow but never wrong.
    assert {f.name for f in fields(HookState)} == KNOWN_FIELDS


def test_a_state_with_a_field_the_checkpoint_does_not_know_is_never_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _waiting_checkpoint(tmp_path)
    monkeypatch.setattr(checkpoint, "KNOWN_FIELDS", KNOWN_FIELDS - {"stop_error"})
    assert _resumed_offset(ctx) is None
    (ctx.state_dir / CHECKPOINT_FILE).unlink()
    _hook_view(ctx, T0 + 60)
    assert not (ctx.state_dir / CHECKPOINT_FILE).exists()


def test_a_state_too_big_to_save_is_not_encoded_tick_after_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A prompt can be megabytes: its state is never saved, and a daemon folding a busy
    # log must not pay for encoding it again every few ticks.
    encoded: list[int] = []
    original = checkpoint._encode

    def encode(state: HookState) -> dict[str, Any]:
        encoded.append(state.records)
        return original(state)

    monkeypatch.setattr(checkpoint, "_encode", encode)
    ctx = _ctx(tmp_path)
    _append(ctx, _busy_turn(T0, 3))
    agent = ClaudeCodeAgent(clock=Clock(T0 + 60))
    agent.observe(ctx, ALIVE, Screen())
    assert len(encoded) == 1
    saved = _resumed_offset(ctx)
    huge = "x" * (checkpoint.MAX_CHECKPOINT_BYTES + 1)
    _append(ctx, _hook("UserPromptSubmit", T0 + 61, prompt=huge) + _busy_turn(T0 + 62, 3))
    assert _states_of(agent.observe(ctx, ALIVE, Screen())) is ActivityState.IDLE
    for i in range(5):
        _append(ctx, _busy_turn(T0 + 70 + i * 10, 20))
        agent.observe(ctx, ALIVE, Screen())
    assert len(encoded) == 1, "the state was never encoded again"
    assert _resumed_offset(ctx) == saved, "the older checkpoint still stands"
    # The log now passes HOOK_BACKSCAN: a process without a checkpoint folds only its end,
    # one resuming folds from the older checkpoint on, so more history (record counts
    # differ, as they do for a daemon up since before). The state is the same.
    assert _hook_view(ctx, T0 + 200)[0] == _without_checkpoint(ctx, T0 + 200)[0]


def _states_of(observed: Any) -> ActivityState:
    states = [s.state for s in observed.signals if s.source is SignalSource.HOOK]
    assert len(states) == 1
    return ActivityState(states[0])


def test_writing_a_checkpoint_wakes_no_reconcile_tick(tmp_path: Path) -> None:
    # The engine's watcher wakes a tick for every change in a session's state dir: were the
    # checkpoint (or its temporary file) a signal, each save would cost a tick of tmux and
    # git processes, and an idle fleet would not stay idle.
    from core.daemon import is_signal

    ctx = _ctx(tmp_path)
    _append(ctx, _busy_turn(T0))
    _hook_view(ctx, T0 + 60)
    assert (ctx.state_dir / CHECKPOINT_FILE).is_file()
    written: list[str] = []
    real_replace = Path.replace

    def replace(self: Path, target: Any) -> Any:
        written.append(self.name)
        return real_replace(self, target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "replace", replace)
        checkpoint.save_if_due(*_watch_parts(ctx))
    assert written, "a checkpoint was written through a temporary file"
    assert not [name for name in [*written, CHECKPOINT_FILE] if is_signal(name)]
    assert is_signal("hooks.jsonl")


def _watch_parts(ctx: AgentContext) -> tuple[Any, HookState, None]:
    """A fresh fold of the session's log, ready for :func:`checkpoint.save_if_due`."""
    (ctx.state_dir / CHECKPOINT_FILE).unlink()
    watch = checkpoint.session_watch(ctx.state_dir / "hooks.jsonl")
    watch.hooks.fold_lines(watch.hook_tailer.read().lines)
    return watch.hook_tailer, watch.hooks, None


def test_a_checkpoint_taken_while_a_question_waits_keeps_the_question(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _append(ctx, _hook("SessionStart", T0, source="startup") + _busy_turn(T0 + 1))
    _append(ctx, _permission(T0 + 200))
    first = _hook_view(ctx, T0 + 210)
    assert first[0].state is ActivityState.WAITING_INPUT
    size = (ctx.state_dir / "hooks.jsonl").stat().st_size
    assert _resumed_offset(ctx) == size, "the checkpoint holds the pending question"
    resumed = _hook_view(ctx, T0 + 220)
    assert resumed[0].waiting_for == WaitingFor("permission", "Bash", "rm -rf build")
    assert resumed == _without_checkpoint(ctx, T0 + 220)
