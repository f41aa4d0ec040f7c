"""Codex rollouts and Aider chat histories: every fixture parses, states make sense."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.models import ActivityState
from plugins.agent.aider.reader import read_history
from plugins.agent.codex.reader import read_rollout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROLLOUTS = sorted((FIXTURES / "codex").glob("*.jsonl"))


@pytest.mark.parametrize("path", ROLLOUTS, ids=lambda p: p.name)
def test_every_rollout_parses(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    state = read_rollout(lines)
    assert state.lines == sum(1 for line in lines if line.strip())
    assert state.malformed == 0
    assert state.signal() is not None
    json.dumps(state.summary())


def test_real_codex_exec_session_ends_idle_with_its_answer() -> None:
    state = read_rollout(
        (FIXTURES / "codex" / "kvsankar__real_sessions_codex_session-01.jsonl")
        .read_text()
        .splitlines()
    )
    assert state.version == "0.135.0"
    assert state.last_event == "task_complete"
    assert not state.turn_open
    assert (state.input_tokens, state.output_tokens) == (22539, 10)
    assert state.prompts[-1].text == "[REDACTED_PROMPT]"
    signal = state.signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.IDLE, "[REDACTED_ASSISTANT_TEXT]")


def test_catalog_rollout_counts_unknown_types() -> None:
    state = read_rollout(
        (FIXTURES / "codex" / "catalog-edited__agent-sessions__codex_small.jsonl")
        .read_text()
        .splitlines()
    )
    assert state.unknown_types == {"inter_agent_communication_metadata": 1}


def _event(second: int, kind: str, **payload: Any) -> str:
    return json.dumps(
        {
            "timestamp": f"2026-06-05T04:58:{second:02d}.000Z",
            "type": "event_msg",
            "payload": {"type": kind, **payload},
        }
    )


STARTED = _event(1, "task_started")


@pytest.mark.parametrize(
    ("events", "state"),
    [
        ([STARTED], ActivityState.WORKING),
        ([STARTED, _event(2, "agent_message", message="hm")], ActivityState.WORKING),
        ([STARTED, _event(5, "task_complete", last_agent_message="ok")], ActivityState.IDLE),
        ([STARTED, _event(2, "turn_aborted", reason="interrupted")], ActivityState.IDLE),
        ([STARTED, _event(2, "error", message="stream disconnected")], ActivityState.ERROR),
        ([STARTED, _event(2, "task_complete", error={"message": "quota"})], ActivityState.ERROR),
    ],
)
def test_codex_turn_states(events: list[str], state: ActivityState) -> None:
    signal = read_rollout(events).signal()
    assert signal is not None and signal.state is state


def test_codex_bad_lines_never_raise() -> None:
    state = read_rollout(["{", "[]", json.dumps({"type": "event_msg", "payload": 3}), ""])
    assert state.malformed == 2
    assert state.signal() is None


# -- Aider --------------------------------------------------------------------------------


def test_real_aider_history() -> None:
    lines = (FIXTURES / "aider" / "zen-mcp-server__.aider.chat.history.md").read_text().splitlines()
    state = read_history(lines)
    assert state.sessions == 4
    assert state.prompts[0].text == "/add **"
    assert state.prompts[1].text.startswith(
        "/add /home/dragonfsky/git/github/zen-mcp-server/utils/file_utils.py\n"
    )
    assert state.last_kind == "output"
    signal = state.signal(1234.0)
    assert signal is not None
    assert (signal.state, signal.at) == (ActivityState.IDLE, 1234.0)
    json.dumps(state.summary())


@pytest.mark.parametrize(
    ("text", "state"),
    [
        (
            "# aider chat started at 2025-10-20 21:49:17\n\n#### fix the bug\n",
            ActivityState.WORKING,
        ),
        ("#### fix the bug\n\nI changed foo.py.\n", ActivityState.IDLE),
        ("#### fix it\n\n> litellm.APIConnectionError: connection refused\n", ActivityState.ERROR),
        ("#### fix it\n\n> ^C again to exit\n", ActivityState.IDLE),
        ("#### fix it\n\n> ^C KeyboardInterrupt\n", ActivityState.EXITED),
        ("#### /add a.py\n> Added a.py to the chat\n", ActivityState.IDLE),
    ],
)
def test_aider_states(text: str, state: ActivityState) -> None:
    signal = read_history(text.splitlines()).signal(10.0)
    assert signal is not None and signal.state is state


def test_aider_empty_history_says_nothing() -> None:
    assert read_history([]).signal(10.0) is None
    assert read_history(["# aider chat started at 2025-10-20 21:49:17"]).signal(None) is None
