"""The hook log contract: the command Claude runs, the lines it writes, what they mean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from core.models import ActivityState, SignalSource, WaitingFor
from plugins.agent.claude_code.hooks import (
    HOOK_EVENTS,
    HookState,
    hook_command,
    hooks_settings,
    parse_hook_line,
    parse_hook_log,
    read_hook_log,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude"


def test_hook_command_is_exactly_the_contract() -> None:
    log = Path("/tmp/ao home/it's/hooks.jsonl")
    assert hook_command(log) == (
        """{ p=$(tr -d '\\n'); [ -z "$p" ] || printf '{"ao_ts":"%s","payload":%s}\\n'"""
        """ "$(date +%s.%N)" "$p"; }"""
        """ >> '/tmp/ao home/it'"'"'s/hooks.jsonl' 2>/dev/null; exit 0"""
    )


def _run_hook(command: str, payload: str) -> subprocess.CompletedProcess[str]:
    # Claude runs hook commands through a shell; so does this test, with the real string.
    return subprocess.run(
        ["/bin/sh", "-c", command], input=payload, capture_output=True, text=True, timeout=10
    )


def test_running_the_real_command_appends_one_parseable_line(tmp_path: Path) -> None:
    log = tmp_path / "dir with space" / "hooks.jsonl"
    log.parent.mkdir()
    payload = {
        "session_id": "abc",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo 'quotes' \"and\" $(subst) `ticks`; done"},
    }
    before = time.time()
    # Claude 2.1.197 ends its payload with a newline: the record must still be one line.
    first = _run_hook(hook_command(log), json.dumps(payload, indent=1) + "\n")
    second = _run_hook(hook_command(log), json.dumps({**payload, "hook_event_name": "Stop"}))
    assert first.returncode == 0 and second.returncode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    record = parse_hook_line(lines[0])
    assert record is not None
    assert record.event == "PreToolUse"
    assert record.payload == payload
    assert record.at is not None and before - 1 <= record.at <= time.time() + 1
    assert json.loads(lines[1])["payload"]["hook_event_name"] == "Stop"


def test_command_exits_zero_when_the_log_dir_is_missing(tmp_path: Path) -> None:
    log = tmp_path / "gone" / "hooks.jsonl"
    proc = _run_hook(hook_command(log), '{"hook_event_name": "Stop"}')
    assert proc.returncode == 0
    assert not log.exists()


def test_a_hook_killed_before_its_payload_ends_writes_nothing(tmp_path: Path) -> None:
    # Gemini CLI does not wait for its last hook: killed while its payload is unread, the
    # hook used to leave a record's opening that the next hook's record continued.
    log = tmp_path / "hooks.jsonl"
    slow = subprocess.Popen(
        ["/bin/sh", "-c", hook_command(log)], stdin=subprocess.PIPE, start_new_session=True
    )
    assert slow.stdin is not None
    slow.stdin.write(b'{"hook_event_name": "SessionEnd", "re')
    slow.stdin.flush()
    time.sleep(0.2)
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    _run_hook(hook_command(log), '{"hook_event_name": "SessionStart", "text": "50% \\\\ off"}')
    records = parse_hook_log(log.read_text().splitlines())
    assert [r.event for r in records] == ["SessionStart"]
    assert records[0].payload["text"] == "50% \\ off"  # printf's %s copies it as it is


def test_a_record_inside_an_older_records_opening_is_read() -> None:
    line = (
        '{"ao_ts":"1712345670.5","payload":'
        '{"ao_ts":"1712345678.25","payload":{"hook_event_name":"SessionStart"}}}'
    )
    record = parse_hook_line(line)
    assert record is not None
    assert (record.event, record.at) == ("SessionStart", 1712345678.25)


def test_an_empty_payload_writes_nothing(tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    assert _run_hook(hook_command(log), "").returncode == 0
    assert not log.exists() or log.read_text() == ""


def test_hooks_settings_cover_every_event_with_matchers_where_taken(tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    block = hooks_settings(log)
    assert list(block) == list(HOOK_EVENTS)
    assert set(HOOK_EVENTS) == {
        "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PermissionRequest",
        "Notification", "Stop", "StopFailure", "SessionEnd",
    }  # fmt: skip
    for event, entries in block.items():
        assert len(entries) == 1
        entry = entries[0]
        assert entry["hooks"] == [{"type": "command", "command": hook_command(log)}]
        if event in ("UserPromptSubmit", "Stop"):
            assert "matcher" not in entry
        else:
            assert entry["matcher"] == "*"


@pytest.mark.parametrize(
    ("line", "at"),
    [
        (
            '{"ao_ts":"1712345678.123456789","payload":{"hook_event_name":"Stop"}}',
            1712345678.123456789,
        ),
        ('{"ao_ts":"1712345678.N","payload":{"hook_event_name":"Stop"}}', 1712345678.0),
        ('{"hook_event_name":"Stop","session_id":"s"}', None),
    ],
)
def test_parse_hook_line_timestamps(line: str, at: float | None) -> None:
    record = parse_hook_line(line)
    assert record is not None
    assert record.event == "Stop"
    assert record.at == at


@pytest.mark.parametrize(
    "line",
    ["", "garbage", "[]", '{"ao_ts":"1","payload":"x"}', '{"ao_ts":"1","payload":{}}', "{}"],
)
def test_parse_hook_line_rejects_what_is_not_a_hook(line: str) -> None:
    assert parse_hook_line(line) is None


def _line(event: str, at: float, **payload: Any) -> str:
    body = {"session_id": "s-1", "transcript_path": "/t/s-1.jsonl", "hook_event_name": event}
    return json.dumps({"ao_ts": f"{at:.9f}", "payload": {**body, **payload}})


BASH_INPUT = {"command": "rm -rf build", "description": "clean"}


def test_permission_request_is_waiting_with_tool_and_command() -> None:
    state = read_hook_log(
        [
            _line("UserPromptSubmit", 10, prompt="clean the build"),
            _line("PreToolUse", 11, tool_name="Bash", tool_input=BASH_INPUT),
            _line("PermissionRequest", 11.1, tool_name="Bash", tool_input=BASH_INPUT),
        ]
    )
    signal = state.signal()
    assert signal is not None
    assert signal.state is ActivityState.WAITING_INPUT
    assert signal.source is SignalSource.HOOK
    assert signal.at == pytest.approx(11.1)
    assert signal.waiting_for == WaitingFor("permission", "Bash", "rm -rf build")
    assert state.transcript_path == "/t/s-1.jsonl"
    assert [(p.text, p.at) for p in state.prompts] == [("clean the build", 10.0)]


def test_permission_notification_uses_the_tool_from_pre_tool_use() -> None:
    state = read_hook_log(
        [
            _line("PreToolUse", 11, tool_name="Bash", tool_input=BASH_INPUT),
            _line(
                "Notification",
                12,
                notification_type="permission_prompt",
                message="Claude needs your permission to use Bash",
            ),
        ]
    )
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.WAITING_INPUT
    assert signal.waiting_for == WaitingFor("permission", "Bash", "rm -rf build")
    assert state.notification_type == "permission_prompt"


@pytest.mark.parametrize(
    ("event", "payload", "state"),
    [
        ("PostToolUse", {"tool_name": "Bash", "tool_input": BASH_INPUT}, ActivityState.WORKING),
        ("Stop", {"last_assistant_message": "Done."}, ActivityState.IDLE),
        ("StopFailure", {"error": "rate_limit"}, ActivityState.ERROR),
        ("SessionEnd", {"reason": "prompt_input_exit"}, ActivityState.EXITED),
        ("SessionEnd", {"reason": "clear"}, ActivityState.IDLE),
        ("Notification", {"notification_type": "idle_prompt"}, ActivityState.IDLE),
        # ao-tui starts Claude with the task prompt: a fresh start means work begins.
        ("SessionStart", {"source": "startup"}, ActivityState.WORKING),
        ("SessionStart", {"source": "resume"}, ActivityState.IDLE),
        ("UserPromptSubmit", {"prompt": "next"}, ActivityState.WORKING),
    ],
)
def test_each_event_after_a_permission_prompt(
    event: str, payload: dict[str, Any], state: ActivityState
) -> None:
    hooks = read_hook_log(
        [
            _line("PermissionRequest", 11, tool_name="Bash", tool_input=BASH_INPUT),
            _line(event, 20, **payload),
        ]
    )
    signal = hooks.signal()
    assert signal is not None
    assert signal.state is state
    assert signal.at == 20
    assert hooks.pending_permission is None


def test_events_that_do_not_decide_keep_the_state() -> None:
    hooks = read_hook_log(
        [
            _line("PreToolUse", 11, tool_name="Read", tool_input={"file_path": "/a.py"}),
            _line("SessionStart", 12, source="compact"),
            _line("SubagentStop", 13),
            _line("Notification", 14, notification_type="auth_success"),
        ]
    )
    signal = hooks.signal()
    assert signal is not None
    assert (signal.state, signal.detail, signal.at) == (ActivityState.WORKING, "Read: /a.py", 11)
    assert hooks.last_event == "Notification"
    assert hooks.records == 4


def test_stop_detail_is_the_last_assistant_message() -> None:
    hooks = read_hook_log([_line("Stop", 5, last_assistant_message="All\n  tests pass.")])
    signal = hooks.signal()
    assert signal is not None and signal.detail == "All tests pass."


def test_malformed_lines_are_counted() -> None:
    hooks = HookState()
    hooks.fold_lines(["{", "", _line("Stop", 1), '{"ao_ts": "1"}'])
    assert (hooks.records, hooks.malformed) == (1, 2)


def test_relogged_real_payloads_fold_by_field_names() -> None:
    """Real 2.0.76 payloads, re-logged by a third party with ``event``/``ts`` keys."""
    lines = (FIXTURES / "hooks-relogged__fasthooks__sample_hook_logs.jsonl").read_text()
    hooks = read_hook_log(lines.splitlines())
    assert hooks.records == 36 and hooks.malformed == 0
    assert hooks.prompts[0].text == "can you run a command ls -la "
    assert hooks.prompts[0].at is None  # bare payloads carry no ao_ts
    assert hooks.session_id == "c45af7b1-cb7c-4e51-93db-8cbb250a877a"
    assert hooks.signal() is None  # without times nothing can be fused


# -- hook logs written through our hook command by the real Claude Code 2.1.197 -------------

REAL = FIXTURES / "real-2.1.197"


def test_real_records_span_two_lines_and_are_joined() -> None:
    raw = (REAL / "session-a-hooks.jsonl").read_text().splitlines()
    assert raw[1] == "}"  # Claude ends its stdin JSON with a newline; cat copies it
    hooks = read_hook_log(raw)
    assert hooks.malformed == 0
    events = [r.event for r in parse_hook_log(raw)]
    assert events == [
        "SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse",
        "Stop", "UserPromptSubmit", "UserPromptSubmit", "Stop", "UserPromptSubmit",
        "StopFailure", "UserPromptSubmit", "StopFailure", "SessionEnd",
    ]  # fmt: skip
    assert [p.text for p in hooks.prompts][:2] == ["RUN_BASH touch probe-file.txt", "SLOW 12"]


def test_real_permission_request_state() -> None:
    raw = (REAL / "session-a-hooks.jsonl").read_text().splitlines()
    records = parse_hook_log(raw)
    upto = [r.event for r in records].index("PermissionRequest")
    hooks = HookState()
    for record in records[: upto + 1]:
        hooks.fold(record)
    signal = hooks.signal()
    assert signal is not None and signal.state is ActivityState.WAITING_INPUT
    assert signal.waiting_for == WaitingFor("permission", "Bash", "touch probe-file.txt")


def test_real_stop_failure_carries_the_error_type() -> None:
    raw = (REAL / "session-a-hooks.jsonl").read_text().splitlines()
    records = parse_hook_log(raw)
    hooks = HookState()
    for record in records[:-1]:  # before SessionEnd
        hooks.fold(record)
    signal = hooks.signal()
    assert signal is not None
    # The error as Claude showed it, not only its type (server_error).
    assert signal.state is ActivityState.ERROR
    assert signal.detail.startswith("API Error: 500 Internal server error. This is a server-")


def test_split_record_completed_by_a_later_read() -> None:
    first, closing = _line("Stop", 5)[:-1], "}"
    hooks = HookState()
    hooks.fold_lines([_line("UserPromptSubmit", 1, prompt="go"), first])
    assert hooks.last_event == "UserPromptSubmit"
    hooks.fold_lines([closing])
    assert hooks.last_event == "Stop" and hooks.malformed == 0


def test_an_unfinished_record_followed_by_a_new_one_is_counted() -> None:
    truncated = _line("PreToolUse", 1, tool_name="Bash")[:40]
    hooks = HookState()
    hooks.fold_lines([truncated, _line("Stop", 2), "}"])
    assert hooks.last_event == "Stop"
    assert hooks.malformed == 2  # the truncated record, and the stray closing brace


def test_a_state_is_dated_from_the_first_record_of_its_run() -> None:
    """Issue 9 item 6: ``began`` is the evidence's own start of the state, ``at`` its newest
    record. A prompt repeated by a Notification began with its PermissionRequest; a turn
    of tool calls began with its prompt; a new question is a new run."""
    lines = [
        _line("UserPromptSubmit", 10, prompt="clean the build"),
        _line("PreToolUse", 11, tool_name="Read", tool_input={"file_path": "a.py"}),
        _line("PostToolUse", 12, tool_name="Read", tool_input={"file_path": "a.py"}),
        _line("PreToolUse", 13, tool_name="Bash", tool_input=BASH_INPUT),
    ]
    working = read_hook_log(lines).signal()
    assert working is not None and working.state is ActivityState.WORKING
    assert (working.at, working.began) == (13.0, 10.0)
    lines += [
        _line("PermissionRequest", 14, tool_name="Bash", tool_input=BASH_INPUT),
        _line("Notification", 20, notification_type="permission_prompt", message="Bash?"),
    ]
    waiting = read_hook_log(lines).signal()
    assert waiting is not None and waiting.state is ActivityState.WAITING_INPUT
    assert (waiting.at, waiting.began) == (20.0, 14.0)
    other = {"command": "git push --force", "description": "push"}
    lines += [_line("PermissionRequest", 30, tool_name="Bash", tool_input=other)]
    again = read_hook_log(lines).signal()
    assert again is not None and (again.at, again.began) == (30.0, None)
