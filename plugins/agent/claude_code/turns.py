"""Claude Code's transcript as the turns of a conversation, for the cockpit's transcript tab.

Only the main chain is shown (no sidechains, no meta lines); each tool result is joined to the
call it answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.activity.jsonl import MAX_NOTED
from core.activity.tailer import tail_lines
from core.bounded_json import loads_line, why_not
from core.models import Turn
from plugins.agent.claude_code.transcript import prompt_text, tool_argument

TAIL_BYTES = 2_000_000
"""How much of the end of a transcript is read."""
MAX_TURNS = 200
"""How many of the latest turns are shown."""


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    text = "\n".join(_texts(content)) if not isinstance(content, str) else content
    return ("error: " if block.get("is_error") else "") + text


def parse_turns(lines: list[str], problems: list[str] | None = None) -> list[Turn]:
    """The main-chain turns of transcript ``lines``, tool results joined to their calls.

    A line that does not parse is skipped; ``problems``, when given, gets the first few of
    them as ``line 3: nested deeper than 100 levels`` (numbered within ``lines``).
    """
    turns: list[Turn] = []
    calls: dict[str, Turn] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            entry = loads_line(raw)
        except ValueError as exc:
            if problems is not None and raw.strip() and len(problems) < MAX_NOTED:
                problems.append(f"line {number}: {why_not(exc)}")
            continue
        if not isinstance(entry, dict) or entry.get("isSidechain") or entry.get("isMeta"):
            continue
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if entry.get("type") == "user":
            results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
            for block in results:
                call = calls.get(str(block.get("tool_use_id")))
                if call is not None:
                    call.result.append(_result_text(block))
            text = "\n".join(_texts(content))
            prompt = prompt_text(text) if text and not results else None
            if prompt:
                turns.append(Turn("user", prompt.splitlines()[0], prompt))
        elif entry.get("type") == "assistant":
            for block in blocks if blocks else [{"type": "text", "text": content}]:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and str(block.get("text") or "").strip():
                    text = str(block["text"]).strip()
                    turns.append(Turn("assistant", text.splitlines()[0], text))
                elif block.get("type") == "tool_use":
                    name = str(block.get("name") or "tool")
                    argument = tool_argument(name, block.get("input"))
                    call = Turn(
                        "tool",
                        f"{name}: {argument}" if argument else name,
                        json.dumps(block.get("input"), indent=2, ensure_ascii=False),
                        tool_id=str(block.get("id") or ""),
                    )
                    calls[call.tool_id] = call
                    turns.append(call)
    return turns[-MAX_TURNS:]


def read_turns(path: Path, problems: list[str] | None = None) -> list[Turn]:
    """Parse the tail of the transcript at ``path`` (blocking: call from a thread).

    Lines that could not be read are noted in ``problems`` (see :func:`parse_turns`),
    numbered within the part read.
    """
    lines = tail_lines(path, TAIL_BYTES)
    return parse_turns(lines, problems)
