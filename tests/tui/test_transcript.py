"""The detail view's transcript: turns parsed from a real Claude Code transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugins.agent.claude_code import turns as transcript
from plugins.agent.claude_code.turns import parse_turns, read_turns

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "claude-2.1.197"
    / "02-permission"
    / "transcript.jsonl"
)


def test_a_real_transcript_becomes_prompt_tool_call_with_result_and_answer() -> None:
    turns = read_turns(FIXTURE)
    assert [t.kind for t in turns] == ["user", "tool", "assistant"]
    prompt, tool, answer = turns
    assert prompt.title.startswith("RUN_BASH sleep 3 && touch ")
    assert tool.title.startswith("Bash: sleep 3 && touch ")
    assert json.loads(tool.body)["command"].startswith("sleep 3 && touch ")
    assert tool.result == ["(Bash completed with no output)"]
    assert answer.body.strip()


def test_bad_lines_sidechains_and_meta_are_skipped() -> None:
    lines = [
        "not json",
        json.dumps({"type": "user", "isSidechain": True, "message": {"content": "sub"}}),
        json.dumps({"type": "user", "isMeta": True, "message": {"content": "meta"}}),
        json.dumps({"type": "user", "message": {"content": "<local-command-stdout>x"}}),
        json.dumps({"type": "user", "message": {"content": "real prompt\nsecond line"}}),
        json.dumps(
            {
                "type": "assistant",
                "message": {
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "t1",
                            "name": "Read",
                            "input": {"file_path": "a.py"},
                        }
                    ]
                },
            }
        ),
        json.dumps(
            {
                "type": "user",
                "message": {
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "is_error": True,
                            "content": "nope",
                        }
                    ]
                },
            }
        ),
    ]
    turns = parse_turns(lines)
    assert [(t.kind, t.title) for t in turns] == [("user", "real prompt"), ("tool", "Read: a.py")]
    assert turns[1].result == ["error: nope"]


def test_only_the_tail_of_a_long_transcript_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.jsonl"
    line = json.dumps({"type": "user", "message": {"content": "prompt number {}"}})
    path.write_text("".join(line.replace("{}", str(i)) + "\n" for i in range(100)))
    monkeypatch.setattr(transcript, "TAIL_BYTES", len(line) * 10)
    turns = read_turns(path)
    assert 5 <= len(turns) <= 10
    assert turns[-1].title == "prompt number 99"
    assert all(t.title.startswith("prompt number ") for t in turns)  # no half line
