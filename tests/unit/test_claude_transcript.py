"""The Claude transcript reader on every real fixture and on each state it must detect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.activity.received import parse_timestamp
from core.models import ActivityState, SignalSource
from plugins.agent.claude_code.transcript import TranscriptState, read_transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude"
TRANSCRIPTS = sorted(p for p in FIXTURES.glob("*.jsonl") if not p.name.startswith("hooks-"))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _read(name: str) -> TranscriptState:
    return read_transcript(_lines(FIXTURES / name))


def test_fixtures_are_present() -> None:
    assert len(TRANSCRIPTS) >= 12


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_every_fixture_parses_without_malformed_lines(path: Path) -> None:
    lines = _lines(path)
    state = read_transcript(lines)
    assert state.lines == sum(1 for line in lines if line.strip())
    assert state.malformed == 0
    summary = state.summary()
    json.dumps(summary)  # JSON-ready
    assert summary["lines"] == state.lines


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_folding_line_by_line_equals_folding_at_once(path: Path) -> None:
    lines = _lines(path)
    incremental = TranscriptState()
    for line in lines:
        incremental.fold(line)
    assert incremental.summary() == read_transcript(lines).summary()


def test_user_interrupt_is_idle_and_clears_pending_tools() -> None:
    state = _read("spotter__tool_heavy.jsonl")
    assert state.last_event == "interrupt"
    assert not state.pending_tools
    signal = state.signal()
    assert signal is not None
    assert signal.state is ActivityState.IDLE
    assert signal.source is SignalSource.TRANSCRIPT
    assert signal.detail == "interrupted by user"
    assert signal.at == parse_timestamp("2026-02-10T22:59:46.748Z")


def test_prompts_and_slash_commands_are_recorded_with_times() -> None:
    state = _read("spotter__tool_heavy.jsonl")
    texts = [p.text for p in state.prompts]
    assert texts[0] == "start phoenix in background"
    assert "/mcp" in texts
    assert state.prompts[0].at == parse_timestamp("2026-02-10T22:57:54.684Z")
    assert [q.text for q in state.queued] == ["/mcp"]
    assert not any("local-command" in text for text in texts)


def test_rejected_tool_then_interrupt_for_tool_use() -> None:
    lines = _lines(FIXTURES / "spotter__short.jsonl")
    upto = next(i for i, line in enumerate(lines) if "interrupted by user for tool use" in line)
    state = read_transcript(lines[: upto + 1])
    assert state.last_event == "interrupt"
    assert not state.pending_tools
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.IDLE
    state.fold_lines(lines[upto + 1 :])  # then a slash command ran: still idle
    assert state.last_event == "local_command"
    assert state.interrupted_at == parse_timestamp("2026-02-10T21:12:02.480Z")


def test_sidechain_files_do_not_move_the_main_state() -> None:
    for name in (
        "spotter__subagent__agent-aac57f5.jsonl",
        "spotter__subagent__agent-acompact-946d2b.jsonl",
        "fasthooks__sample_agent_sidechain.jsonl",
    ):
        state = _read(name)
        assert state.sidechain == state.lines, name
        assert state.signal() is None, name
        assert state.prompts == [], name


def test_end_turn_stop_reason_means_idle_and_tokens_are_counted() -> None:
    state = _read("kvsankar__real_sessions_claude_session-01.jsonl")
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.IDLE
    assert (state.input_tokens, state.output_tokens) == (6, 16)
    assert (state.cache_read_tokens, state.cache_creation_tokens) == (3057, 1045)
    assert state.version == "2.1.152"


def test_a_finished_slash_command_is_idle() -> None:
    state = _read("fasthooks__sample_main_transcript.jsonl")
    assert "/compact" in [p.text for p in state.prompts]
    assert state.last_event == "local_command"
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.IDLE


def test_assistant_text_without_a_turn_marker_is_still_working() -> None:
    """stop_reason is null on real lines: only a marker (or hook, or pane) ends a turn."""
    state = _read("entire__8c-fa910f8ef9-2__small.jsonl")
    signal = state.signal()
    assert signal is not None
    assert signal.state is ActivityState.WORKING
    assert state.last_assistant_text.startswith("Here's the updated commit message")


def test_catalog_counts_unknown_record_types() -> None:
    state = _read("catalog-edited__agent-sessions__claude_small.jsonl")
    assert state.unknown_types["pr-link"] == 1
    assert state.unknown_types["worktree-state"] == 2
    assert "attachment" not in state.unknown_types
    assert state.unknown_count == sum(state.unknown_types.values()) > 0


# -- synthetic sequences: one line per state, in the shapes the real files use ---------------


def _ts(second: int) -> str:
    return f"2026-03-01T10:00:{second:02d}.000Z"


def _user(second: int, content: Any, **extra: Any) -> str:
    entry = {"type": "user", "isSidechain": False, "timestamp": _ts(second)}
    entry["message"] = {"role": "user", "content": content}
    return json.dumps({**entry, **extra})


def _assistant(second: int, *blocks: dict[str, Any], **extra: Any) -> str:
    message: dict[str, Any] = {"model": "claude-opus-4-6", "id": "msg_1", "role": "assistant"}
    message.update({"content": list(blocks), "stop_reason": None})
    message.update(extra.pop("message", {}))
    entry = {
        "type": "assistant",
        "isSidechain": False,
        "timestamp": _ts(second),
        "message": message,
    }
    return json.dumps({**entry, **extra})


def _system(second: int, subtype: str, **extra: Any) -> str:
    return json.dumps({"type": "system", "subtype": subtype, "timestamp": _ts(second), **extra})


BASH = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "rm -rf build"}}


def test_pending_tool_use_is_working_with_the_command() -> None:
    state = read_transcript([_user(1, "clean up"), _assistant(2, BASH)])
    assert list(state.pending_tools) == ["toolu_1"]
    signal = state.signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.WORKING, "Bash: rm -rf build")
    assert signal.at == parse_timestamp(_ts(2))


def test_tool_result_answers_the_pending_tool() -> None:
    result = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]
    state = read_transcript([_user(1, "go"), _assistant(2, BASH), _user(3, result)])
    assert not state.pending_tools
    assert state.last_event == "tool_result"
    assert state.prompts[-1].text == "go"  # a tool result is not a prompt


def test_api_error_while_retrying_then_final() -> None:
    """Older releases log each retry as system/api_error (2.1.197 writes none)."""
    retry = _system(
        3,
        "api_error",
        error={"message": "Overloaded", "status": 529},
        retryAttempt=2,
        maxRetries=10,
    )
    state = read_transcript([_user(1, "go"), retry])
    signal = state.signal()
    # Still retrying: not an error yet (only the final failure is), but not progress either.
    assert signal is not None and signal.state is ActivityState.RETRYING
    assert signal.detail == "retrying after API error 2/10 (Overloaded)"
    final = _assistant(
        9,
        {"type": "text", "text": "API Error: 529 Overloaded"},
        isApiErrorMessage=True,
        message={"model": "<synthetic>"},
    )
    state.fold(final)
    assert state.api_error is not None and state.api_error.final
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.ERROR
    assert "529 Overloaded" in signal.detail
    state.fold(_user(20, "try again"))
    assert state.api_error is None


def test_synthetic_placeholder_is_not_an_error() -> None:
    placeholder = _assistant(
        5, {"type": "text", "text": "No response requested."}, message={"model": "<synthetic>"}
    )
    state = read_transcript([_user(1, "hi"), placeholder])
    assert state.api_error is None
    assert state.last_event == "prompt"


def test_turn_duration_ends_the_turn() -> None:
    text = {"type": "text", "text": "All done, tests pass."}
    state = read_transcript(
        [_user(1, "go"), _assistant(2, text), _system(3, "turn_duration", durationMs=2000)]
    )
    signal = state.signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.IDLE, "All done, tests pass.")
    assert state.turn_ended_at == parse_timestamp(_ts(3))


def test_usage_repeated_on_every_block_of_a_message_counts_once() -> None:
    usage = {"input_tokens": 10, "output_tokens": 7}
    thinking = {"type": "thinking", "thinking": "hmm"}
    text = {"type": "text", "text": "hi"}
    state = read_transcript(
        [
            _assistant(1, thinking, message={"usage": usage}),
            _assistant(2, text, message={"usage": usage}),
            _assistant(3, text, message={"id": "msg_2", "usage": usage}),
        ]
    )
    assert (state.input_tokens, state.output_tokens) == (20, 14)


def test_bad_lines_are_counted_never_raised() -> None:
    state = read_transcript(
        [
            "{not json",
            "[1, 2]",
            json.dumps({"type": "brand-new-record"}),
            json.dumps({"no": "type"}),
            json.dumps({"type": "user", "message": "not a dict"}),
            json.dumps({"type": "assistant", "message": {"content": [42, None]}}),
            "",
        ]
    )
    assert state.malformed == 2
    assert state.unknown_types == {"brand-new-record": 1, "<none>": 1}
    assert state.signal() is None


def test_sidechain_lines_are_ignored_for_the_main_state() -> None:
    side = json.loads(_assistant(5, BASH))
    side["isSidechain"] = True
    state = read_transcript([_user(1, "go"), json.dumps(side)])
    assert state.sidechain == 1
    assert not state.pending_tools
    assert state.last_event == "prompt"


# -- transcripts written by the real Claude Code 2.1.197 (see tests/fixtures/SOURCES.md) ----

REAL = FIXTURES / "real-2.1.197"


def _real(session: str) -> TranscriptState:
    return read_transcript(_lines(REAL / f"session-{session}-transcript.jsonl"))


def test_real_final_api_error_then_turn_marker_is_an_error() -> None:
    state = _real("a")
    assert state.malformed == 0 and state.unknown_types == {}
    assert state.api_error is not None and state.api_error.final
    signal = state.signal()
    assert signal is not None
    assert signal.state is ActivityState.ERROR
    assert signal.detail.startswith("API Error: 500 Internal server error")
    assert [p.text for p in state.prompts] == [
        "RUN_BASH touch probe-file.txt",
        "SLOW 12",
        "queued hello",
        "FAIL500 3",
        "RUN_BASH rm -f probe-file.txt",
    ]
    assert [q.text for q in state.queued] == ["queued hello"]


def test_real_permission_prompt_leaves_the_tool_use_pending() -> None:
    """While the prompt waited, the transcript ended on the tool_use (nothing more written)."""
    lines = _lines(REAL / "session-a-transcript.jsonl")
    upto = next(i for i, line in enumerate(lines) if '"tool_use"' in line)
    state = read_transcript(lines[: upto + 1])
    assert [c.describe() for c in state.pending_tools.values()] == ["Bash: touch probe-file.txt"]
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.WORKING


def test_real_recovered_retries_end_idle() -> None:
    signal = _real("b").signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.IDLE, "recovered after 3 failures")


def test_real_escape_at_a_permission_prompt_is_an_interrupt() -> None:
    state = _real("c")
    assert state.last_event == "interrupt"
    assert not state.pending_tools
    # The partial reply of the interrupted stream is a <synthetic> line, not an API error.
    assert state.api_error is None


def test_a_turn_is_dated_from_its_first_line() -> None:
    """Issue 9 item 6: a working turn read for the first time began with its prompt line."""
    result = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]
    state = read_transcript([_user(1, "go"), _assistant(2, BASH), _user(3, result)])
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.WORKING
    assert (signal.at, signal.began) == (parse_timestamp(_ts(3)), parse_timestamp(_ts(1)))
