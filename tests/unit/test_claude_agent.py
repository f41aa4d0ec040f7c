"""The Claude Code agent plugin: settings merge, argv, observation and delivery proof."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.activity.received import prompt_matches
from core.models import ActivityState, Delivery, DeliveryMarker, SignalSource, WaitingFor
from core.slots import Agent, AgentContext, AgentSettings, PaneInfo, SlotError
from plugins.agent.claude_code.hooks import hook_command
from plugins.agent.claude_code.paths import transcript_path
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.claude_code.settings import SETTINGS_FILE
from tests.support.fakes import Clock, Screen

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "claude" / "real-2.1.197"
UUID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=999_999, dead=False)


def _ctx(tmp_path: Path, **kw: Any) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    defaults: dict[str, Any] = {
        "session_id": "app-1",
        "agent_session_id": UUID,
        "worktree": worktree,
        "state_dir": tmp_path / "state" / "app-1",
        "prompt": "fix the login bug",
        "env": {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
    }
    defaults.update(kw)
    return AgentContext(**defaults)


def test_implements_the_agent_protocol() -> None:
    agent = ClaudeCodeAgent()
    assert isinstance(agent, Agent)
    assert (agent.name, agent.confirms_delivery) == ("claude-code", True)


# -- prepare -------------------------------------------------------------------------------


def test_prepare_merges_with_the_users_settings(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    settings = ctx.worktree / SETTINGS_FILE
    settings.parent.mkdir()
    user_stop = {"hooks": [{"type": "command", "command": "notify-send done"}]}
    user = {
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {"Stop": [user_stop], "PreCompact": [user_stop]},
    }
    settings.write_text(json.dumps(user))
    assert ClaudeCodeAgent().prepare(ctx) == [".claude/settings.local.json"]
    assert ctx.state_dir.is_dir()
    merged = json.loads(settings.read_text())
    assert merged["permissions"] == {"allow": ["Bash(npm test)"]}
    assert merged["hooks"]["PreCompact"] == [user_stop]
    assert merged["hooks"]["Stop"][0] == user_stop
    ours = hook_command(ctx.state_dir / "hooks.jsonl")
    assert merged["hooks"]["Stop"][1]["hooks"][0]["command"] == ours
    assert merged["hooks"]["PreToolUse"] == [
        {"matcher": "*", "hooks": [{"type": "command", "command": ours}]}
    ]


def test_prepare_twice_does_not_duplicate_hooks(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    agent = ClaudeCodeAgent()
    agent.prepare(ctx)
    first = (ctx.worktree / SETTINGS_FILE).read_text()
    agent.prepare(ctx)
    assert (ctx.worktree / SETTINGS_FILE).read_text() == first
    hooks = json.loads(first)["hooks"]
    assert len(hooks) == 9 and all(len(entries) == 1 for entries in hooks.values())


def test_prepare_refuses_to_clobber_invalid_json(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    settings = ctx.worktree / SETTINGS_FILE
    settings.parent.mkdir()
    settings.write_text("{ not json")
    with pytest.raises(SlotError, match="not valid JSON"):
        ClaudeCodeAgent().prepare(ctx)
    assert settings.read_text() == "{ not json"


def test_prepared_hook_logs_through_the_real_shell(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ClaudeCodeAgent().prepare(ctx)
    settings = json.loads((ctx.worktree / SETTINGS_FILE).read_text())
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "hi"}) + "\n"
    proc = subprocess.run(["/bin/sh", "-c", command], input=payload, text=True, check=False)
    assert proc.returncode == 0
    assert ClaudeCodeAgent().delivery_confirmed(ctx, DeliveryMarker(), "hi")


# -- argv ----------------------------------------------------------------------------------


def test_launch_argv_default_and_configured(tmp_path: Path) -> None:
    prompt = 'say "hi"; rm -rf $(nothing)\nsecond line'
    agent = ClaudeCodeAgent()
    plan = agent.launch(_ctx(tmp_path, prompt=prompt))
    assert plan.argv == ["claude", "--session-id", UUID, prompt]
    settings = AgentSettings(command="/opt/bin/claude --verbose", permissions="skip", model="opus")
    plan = agent.launch(_ctx(tmp_path, prompt=prompt, settings=settings))
    assert plan.argv == [
        "/opt/bin/claude", "--verbose", "--session-id", UUID,
        "--permission-mode", "bypassPermissions", "--model", "opus", prompt,
    ]  # fmt: skip
    plan = agent.launch(_ctx(tmp_path, settings=AgentSettings(permissions="acceptEdits")))
    assert plan.argv[3:5] == ["--permission-mode", "acceptEdits"]


def test_prompt_that_looks_like_an_option_is_protected(tmp_path: Path) -> None:
    """The real CLI answers ``error: unknown option '- fix the bug'`` without the ``--``."""
    plan = ClaudeCodeAgent().launch(_ctx(tmp_path, prompt="- fix the bug\n- add a test"))
    assert plan.argv[-2:] == ["--", "- fix the bug\n- add a test"]


def test_resume_argv(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, settings=AgentSettings(model="sonnet"))
    _install_transcript(ctx, ['{"type": "user", "message": {"content": "hi"}}'])
    plan = ClaudeCodeAgent().resume(ctx)
    assert plan.argv == ["claude", "--resume", UUID, "--model", "sonnet"]
    assert plan.starts_on_task is False  # the resumed REPL waits for input


def test_launch_without_a_uuid_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SlotError):
        ClaudeCodeAgent().launch(_ctx(tmp_path, agent_session_id=""))


# -- observe -------------------------------------------------------------------------------


def _install_transcript(ctx: AgentContext, lines: list[str]) -> Path:
    config = Path(ctx.env["CLAUDE_CONFIG_DIR"])
    path = transcript_path(config, ctx.worktree, UUID)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _real_lines(name: str) -> list[str]:
    return (REAL / name).read_text().splitlines()


def _until(lines: list[str], needle: str) -> list[str]:
    return lines[: next(i for i, line in enumerate(lines) if needle in line) + 1]


def test_dead_or_missing_pane_is_exited(tmp_path: Path) -> None:
    agent = ClaudeCodeAgent(clock=Clock(50.0))
    screen = Screen()
    dead = PaneInfo("ao-app-1", "%1", 1, dead=True, dead_status=1)
    for pane, detail in ((dead, "agent exited (status 1)"), (None, "no pane")):
        obs = agent.observe(_ctx(tmp_path), pane, screen)
        assert [(s.state, s.source, s.detail) for s in obs.signals] == [
            (ActivityState.EXITED, SignalSource.RUNTIME, detail)
        ]
    assert screen.calls == 0


def test_permission_prompt_from_real_hooks_and_transcript(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    path = _install_transcript(ctx, _until(_real_lines("session-a-transcript.jsonl"), '"tool_use"'))
    hooks = _until(_real_lines("session-a-hooks.jsonl"), '"PermissionRequest"')
    # The hooks name the transcript where the recording ran; point them at this test's copy.
    recorded = json.loads(hooks[0] + "}")["payload"]["transcript_path"]
    hooks = [line.replace(recorded, str(path)) for line in hooks]
    (ctx.state_dir / "hooks.jsonl").write_text("\n".join([*hooks, "}"]) + "\n")
    clock = Clock(1_795_302_219.5)  # half a second after the PermissionRequest hook
    agent = ClaudeCodeAgent(clock=clock)
    screen = Screen((REAL / "pane-permission-bash.txt").read_text())
    obs = agent.observe(ctx, ALIVE, screen)
    by_source = {s.source: s for s in obs.signals}
    assert by_source[SignalSource.HOOK].state is ActivityState.WAITING_INPUT
    assert by_source[SignalSource.TRANSCRIPT].detail == "Bash: touch probe-file.txt"
    # The usage the morning report prices: the first answer's tokens (counted once though
    # each of its content blocks repeats them) and its model.
    assert obs.extra == {
        "transcript_path": str(path),
        "tokens": {"input": 22726, "output": 20, "cache_read": 0, "cache_creation": 0},
        "model": "claude-opus-4-8",
    }
    assert screen.calls == 0, "a fresh PermissionRequest hook needs no capture"
    clock.now += 10  # no status file confirms the wait: check the screen
    obs = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 1
    pane = [s for s in obs.signals if s.source is SignalSource.PANE]
    assert pane and pane[0].waiting_for == WaitingFor("permission", "Bash", "touch probe-file.txt")


def test_usage_already_kept_on_the_session_is_not_written_again(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    path = _install_transcript(ctx, _until(_real_lines("session-a-transcript.jsonl"), '"tool_use"'))
    first = ClaudeCodeAgent(clock=Clock(1_795_302_219.5)).observe(ctx, ALIVE, Screen())
    kept = replace(ctx, extra=dict(first.extra))
    again = ClaudeCodeAgent(clock=Clock(1_795_302_219.5)).observe(kept, ALIVE, Screen())
    assert again.extra == {}
    assert first.extra["transcript_path"] == str(path)


def test_fresh_instance_reads_the_persisted_transcript_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "moved" / f"{UUID}.jsonl"
    elsewhere.parent.mkdir()
    elsewhere.write_text((REAL / "session-c-transcript.jsonl").read_text())
    ctx = _ctx(tmp_path, extra={"transcript_path": str(elsewhere)})
    obs = ClaudeCodeAgent(clock=Clock(1_795_302_380.0)).observe(ctx, ALIVE, Screen())
    assert "transcript_path" not in obs.extra  # already persisted
    transcript = [s for s in obs.signals if s.source is SignalSource.TRANSCRIPT]
    assert transcript[0].detail == "interrupted by user"


def test_status_file_found_by_pane_pid_spares_the_capture(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    status = json.loads((REAL / "session-a-status-busy.json").read_text())
    status.update(sessionId=UUID, pid=ALIVE.pane_pid)
    del status["procStart"]  # pid 999999 is not a live process here
    sessions = Path(ctx.env["CLAUDE_CONFIG_DIR"]) / "sessions"
    sessions.mkdir(parents=True)
    (sessions / f"{ALIVE.pane_pid}.json").write_text(json.dumps(status))
    _install_transcript(ctx, _until(_real_lines("session-a-transcript.jsonl"), '"tool_use"'))
    screen = Screen()
    # Fresh: a busy status quiet for STALE_WORKING is checked on screen (API retries).
    obs = ClaudeCodeAgent(clock=Clock(status["statusUpdatedAt"] / 1000 + 5)).observe(
        ctx, ALIVE, screen
    )
    assert any(s.source is SignalSource.STATUS_FILE for s in obs.signals)
    assert screen.calls == 0


def test_status_file_of_a_child_process_is_found_by_scan(tmp_path: Path) -> None:
    """When Claude is not the pane's own process, its status file is found by session id."""
    ctx = _ctx(tmp_path)
    status = json.loads((REAL / "session-a-status-waiting.json").read_text())
    status.update(sessionId=UUID, pid=12_345)
    del status["procStart"]
    sessions = Path(ctx.env["CLAUDE_CONFIG_DIR"]) / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "111.json").write_text(json.dumps({**status, "sessionId": "another"}))
    (sessions / "12345.json").write_text(json.dumps(status))
    clock = Clock(status["statusUpdatedAt"] / 1000 + 1)
    agent = ClaudeCodeAgent(clock=clock)
    for _ in range(2):  # the second tick uses the remembered path
        obs = agent.observe(ctx, ALIVE, Screen())
        (found,) = [s for s in obs.signals if s.source is SignalSource.STATUS_FILE]
        assert found.state is ActivityState.WAITING_INPUT
        assert found.detail == "permission prompt"
        clock.now += 1


CAPTURED = REAL.parent.parent / "claude-2.1.197" / "03b-interrupt-before-first-token"


@pytest.mark.skipif(not CAPTURED.is_dir(), reason="recorded captures not present")
def test_stale_working_is_checked_on_the_pane(tmp_path: Path) -> None:
    """Escape before the first token: the hooks stop at UserPromptSubmit, the transcript at
    the prompt, and only the screen shows the prompt back in the input box."""
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    transcript = (CAPTURED / "02-escaped.transcript.jsonl").read_text().splitlines()
    path = _install_transcript(ctx, transcript)
    hooks = (CAPTURED / "02-escaped.hooks.jsonl").read_text().splitlines()
    recorded = json.loads(hooks[0] + "}")["payload"]["transcript_path"]
    (ctx.state_dir / "hooks.jsonl").write_text(
        "".join(line.replace(recorded, str(path)) + "\n" for line in hooks)
    )
    prompt_at = max(s.at for s in ClaudeCodeAgent().observe(ctx, ALIVE, Screen()).signals)
    clock = Clock(prompt_at + 2)
    agent = ClaudeCodeAgent(clock=clock)
    screen = Screen((CAPTURED / "02-escaped.pane.txt").read_text())
    agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 0, "a fresh prompt is working: no capture"
    clock.now = prompt_at + 11
    obs = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 1
    pane = [s for s in obs.signals if s.source is SignalSource.PANE]
    assert [(s.state, s.detail) for s in pane] == [
        (ActivityState.IDLE, "unsent text in the input box")
    ]


def test_nothing_known_captures_the_pane_and_throttles(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    clock = Clock(100.0)
    agent = ClaudeCodeAgent(clock=clock)
    screen = Screen((REAL / "pane-idle-after-tool.txt").read_text())
    obs = agent.observe(ctx, ALIVE, screen)
    assert [(s.state, s.source) for s in obs.signals] == [(ActivityState.IDLE, SignalSource.PANE)]
    clock.now += 1
    obs = agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 1, "unchanged session, recent capture: reused"
    assert obs.signals[0].at == 100.0
    clock.now += 10
    agent.observe(ctx, ALIVE, screen)
    assert screen.calls == 2


# -- delivery ------------------------------------------------------------------------------


def _hook_record(event: str, at: float, **payload: Any) -> str:
    body = json.dumps({"hook_event_name": event, "session_id": UUID, **payload})
    return f'{{"ao_ts":"{at}","payload":{body}\n}}\n'  # two lines, as Claude's newline makes it


def test_delivery_confirmed_by_a_user_prompt_submit_hook(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    log = ctx.state_dir / "hooks.jsonl"
    text = "please  also\nrun the tests"
    log.write_text(_hook_record("UserPromptSubmit", 1.0, prompt=text))
    agent = ClaudeCodeAgent(clock=Clock(10.0))
    marker = agent.delivery_marker(ctx)
    assert marker.at == 10.0
    assert not agent.delivery_confirmed(ctx, marker, text), "that prompt predates the marker"
    with log.open("a") as handle:
        handle.write(_hook_record("UserPromptSubmit", 11.0, prompt="something else"))
    assert not agent.delivery_confirmed(ctx, marker, text)
    with log.open("a") as handle:
        handle.write(_hook_record("UserPromptSubmit", 12.0, prompt="please also run the tests"))
    assert agent.delivery_confirmed(ctx, marker, text)


def test_delivery_confirmed_by_a_new_transcript_entry(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    lines = _real_lines("session-c-transcript.jsonl")
    path = _install_transcript(ctx, lines[:5])
    agent = ClaudeCodeAgent(clock=Clock(1_795_302_360.0))
    marker = agent.delivery_marker(ctx)
    assert str(path) in dict(marker.offsets)
    assert not agent.delivery_confirmed(ctx, marker, "RUN_BASH touch made-here.txt")
    with path.open("a") as handle:
        handle.write("".join(line + "\n" for line in lines[5:]))
    assert agent.delivery_confirmed(ctx, marker, "RUN_BASH touch made-here.txt")
    assert not agent.delivery_confirmed(ctx, marker, "never sent")


def test_delivery_when_the_transcript_appears_after_the_marker(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    agent = ClaudeCodeAgent(clock=Clock(1_795_302_300.0))
    marker = agent.delivery_marker(ctx)
    assert len(marker.offsets) == 1, "no transcript yet: only the hook log is marked"
    _install_transcript(ctx, _real_lines("session-c-transcript.jsonl"))
    assert agent.delivery_confirmed(ctx, marker, "SLOW 12")


def test_long_texts_match_on_prefix_and_suffix() -> None:
    sent = "start " + "x" * 5000 + " end"
    assert prompt_matches(sent, "start  " + "x" * 5000 + "\nend")
    assert prompt_matches(sent, sent[:150] + " [middle rewrapped] " + sent[-150:])
    assert not prompt_matches(sent, sent[:150])
    assert prompt_matches("fix it", "fix it")
    assert not prompt_matches("", "")


def test_paste_delay_and_answer_keys() -> None:
    agent = ClaudeCodeAgent()
    assert agent.paste_delay("hi") == pytest.approx(0.3, abs=0.01)
    assert 0.3 < agent.paste_delay("x" * 5000) < 3.0
    assert agent.paste_delay("x" * 200_000) == 3.0
    assert agent.answer_keys(True) == ["1"]
    assert agent.answer_keys(False) == ["Escape"]


SECOND = REAL.parent.parent / "claude-2.1.197" / "05-second-message"


@pytest.mark.skipif(not SECOND.is_dir(), reason="recorded captures not present")
def test_delivery_of_a_pasted_multiline_message_from_recorded_hooks(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    lines = (SECOND / "hooks.jsonl").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if "line one" in line)
    log = ctx.state_dir / "hooks.jsonl"
    log.write_text("".join(lines[:cut]))
    agent = ClaudeCodeAgent(clock=Clock(0.0))
    marker = agent.delivery_marker(ctx)
    sent = "line one\nline two\nline three"
    assert not agent.delivery_confirmed(ctx, marker, sent)
    log.write_text("".join(lines))
    assert agent.delivery_confirmed(ctx, marker, sent)
    assert not agent.delivery_confirmed(ctx, marker, "second message"), "sent before the marker"


def test_resume_without_a_transcript_starts_the_task_afresh(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    plan = ClaudeCodeAgent().resume(ctx)
    argv = plan.argv
    assert plan.starts_on_task
    assert "--resume" not in argv
    assert argv[argv.index("--session-id") + 1] == ctx.agent_session_id
    assert argv[-1] == ctx.prompt


def test_resume_of_a_transcript_with_no_message_sets_it_aside_and_starts_afresh(
    tmp_path: Path,
) -> None:
    """Claude 2.1.197 killed just after its first turn: the file holds only metadata lines,
    and both ``--resume`` ("No conversation found") and ``--session-id`` ("already in
    use") would exit 1 at once."""
    ctx = _ctx(tmp_path)
    meta = [
        f'{{"type":"ai-title","aiTitle":"Stand-in title","sessionId":"{UUID}"}}',
        f'{{"type":"mode","mode":"normal","sessionId":"{UUID}"}}',
        "not json at all",
        f'{{"type":"permission-mode","permissionMode":"default","sessionId":"{UUID}"}}',
    ]
    path = _install_transcript(ctx, meta)
    plan = ClaudeCodeAgent().resume(ctx)
    assert plan.starts_on_task and "--resume" not in plan.argv
    assert plan.argv[plan.argv.index("--session-id") + 1] == UUID
    assert not path.exists()
    aside = path.with_name(path.name + ".no-conversation")
    assert aside.read_text().splitlines() == meta  # kept, only renamed
    # A transcript with a message is resumed, wherever the message is.
    _install_transcript(ctx, [*meta, '{"type": "assistant", "message": {"content": []}}'])
    assert ClaudeCodeAgent().resume(ctx).argv[1:3] == ["--resume", UUID]


def test_a_missing_transcript_is_searched_at_most_every_few_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plugins.agent.claude_code.freshness as freshness
    import plugins.agent.claude_code.plugin as claude_code

    calls: list[str] = []

    def counting_find(*args: Any, **kwargs: Any) -> None:
        calls.append("search")

    monkeypatch.setattr(claude_code, "find_transcript", counting_find)
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    clock = Clock(100.0)
    agent = ClaudeCodeAgent(clock=clock)
    agent.observe(ctx, ALIVE, Screen())
    clock.now = 101.0
    agent.observe(ctx, ALIVE, Screen())
    assert calls == ["search"]
    clock.now = 100.0 + freshness.TRANSCRIPT_RESCAN + 0.1
    agent.observe(ctx, ALIVE, Screen())
    assert calls == ["search", "search"]


def test_ready_for_input_once_this_starts_session_start_hook_fired(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    agent = ClaudeCodeAgent(clock=clock)
    ctx = _ctx(tmp_path, started_at=995.0)
    assert not agent.ready_for_input(ctx)  # no hook log yet
    log = ctx.state_dir / "hooks.jsonl"
    log.parent.mkdir(parents=True)

    def hook(event: str, at: float) -> str:
        payload = {"hook_event_name": event, "session_id": UUID}
        return json.dumps({"ao_ts": f"{at:.6f}", "payload": payload}) + "\n"

    # A SessionStart of the previous run (before a restore) does not count.
    log.write_text(hook("SessionStart", 900.0) + hook("Stop", 950.0))
    assert not agent.ready_for_input(ctx)
    with log.open("a") as out:
        out.write(hook("SessionStart", 996.0))
    assert agent.ready_for_input(ctx)
    # A minute after the start the REPL is taken to be up without reading the log.
    log.unlink()
    clock.now = 995.0 + 61
    assert agent.ready_for_input(ctx)


def test_a_session_start_just_before_a_restore_is_not_the_restores(tmp_path: Path) -> None:
    # Measured with the real Claude: spawn, crash and restore within 0.6 s; the spawn's
    # SessionStart must not be taken for the resumed REPL's, or the message is pasted into a
    # REPL still loading and lost.
    agent = ClaudeCodeAgent(clock=Clock(1000.0))
    ctx = _ctx(tmp_path, started_at=995.7)
    log = ctx.state_dir / "hooks.jsonl"
    log.parent.mkdir(parents=True)

    def hook(at: str) -> str:
        payload = {"hook_event_name": "SessionStart", "session_id": UUID}
        return json.dumps({"ao_ts": at, "payload": payload}) + "\n"

    log.write_text(hook("995.100000000"))
    assert not agent.ready_for_input(ctx)
    log.write_text(hook("995.750000000"))
    assert agent.ready_for_input(ctx)
    # Whole-second stamps (no %N, as on macOS) are compared by their second.
    log.write_text(hook("994.N"))
    assert not agent.ready_for_input(ctx)
    log.write_text(hook("995.N"))
    assert agent.ready_for_input(ctx)


def test_delivery_reads_the_records_then_the_screen(tmp_path: Path) -> None:
    """Delivered once a hook shows the text; else queued when Claude's screen says it holds
    a message; else pending. The screen is read only when the records do not tell."""
    ctx = _ctx(tmp_path)
    ctx.state_dir.mkdir(parents=True)
    agent = ClaudeCodeAgent(clock=Clock(10.0))
    marker = agent.delivery_marker(ctx)
    captures: list[str] = []

    def screen(text: str) -> Callable[[], str]:
        def capture() -> str:
            captures.append(text)
            return text

        return capture

    queued = "✻ Working… (esc to interrupt)\n  ⎿ Press up to edit queued messages"
    assert agent.delivery(ctx, marker, "next step", screen("? for shortcuts")) is Delivery.PENDING
    assert agent.delivery(ctx, marker, "next step", screen(queued)) is Delivery.QUEUED
    log = ctx.state_dir / "hooks.jsonl"
    log.write_text(_hook_record("UserPromptSubmit", 11.0, prompt="next step"))
    captures.clear()
    assert agent.delivery(ctx, marker, "next step", screen(queued)) is Delivery.DELIVERED
    assert captures == [], "the records told: no capture"
