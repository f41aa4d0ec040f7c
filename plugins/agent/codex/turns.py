"""A Codex rollout as the turns of a conversation, for the cockpit's transcript tab.

Turns come from the rollout's ``event_msg`` records: ``item_completed`` items
(``UserMessage``, ``AgentMessage``, ``CommandExecution``) in 0.17x, ``user_message`` and
``agent_message`` events in older versions. Codex's own context messages (environment,
instructions) are ``response_item`` records and are not shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.activity.jsonl import MAX_NOTED
from core.activity.tailer import tail_lines
from core.bounded_json import loads_line, why_not
from core.models import Turn

TAIL_BYTES = 2_000_000
"""How much of the end of a rollout is read."""
MAX_TURNS = 200
"""How many of the latest turns are shown."""


def _text(content: Any) -> str:
    """The text parts of an item's ``content`` list, joined."""
    parts = content if isinstance(content, list) else []
    return "\n".join(
        p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    ).strip()


def _turn(kind: str, text: str) -> Turn | None:
    """A user or assistant turn titled by its first line; None for empty text."""
    text = text.strip()
    return Turn(kind, text.splitlines()[0], text) if text else None


def _item_turn(item: dict[str, Any]) -> Turn | None:
    """The turn a completed item stands for, if it is one shown."""
    kind = item.get("type")
    if kind == "UserMessage":
        return _turn("user", _text(item.get("content")))
    if kind == "AgentMessage":
        return _turn("assistant", _text(item.get("content")))
    if kind == "CommandExecution":
        command = item.get("command")
        argv = [str(a) for a in command] if isinstance(command, list) else [str(command or "")]
        shown = argv[-1] if len(argv) == 3 and argv[1] in ("-lc", "-c") else " ".join(argv)
        output = item.get("aggregated_output")
        exit_code = item.get("exit_code")
        turn = Turn("tool", f"shell: {shown}", shown, tool_id=str(item.get("id") or ""))
        result = output if isinstance(output, str) else ""
        if isinstance(exit_code, int) and exit_code != 0:
            result = f"exit {exit_code}\n{result}"
        turn.result.append(result)
        return turn
    return None


def parse_turns(lines: list[str], problems: list[str] | None = None) -> list[Turn]:
    """The turns of rollout ``lines``; a line that does not parse is skipped and, when
    ``problems`` is given, noted there (``line 3: …``)."""
    turns: list[Turn] = []
    for number, raw in enumerate(lines, start=1):
        try:
            entry = loads_line(raw)
        except ValueError as exc:
            if problems is not None and raw.strip() and len(problems) < MAX_NOTED:
                problems.append(f"line {number}: {why_not(exc)}")
            continue
        if not isinstance(entry, dict) or entry.get("type") != "event_msg":
            continue
        payload = entry.get("payload")
        if not isinstance(payload, dict):
            continue
        event = payload.get("type")
        turn: Turn | None = None
        if event == "item_completed" and isinstance(payload.get("item"), dict):
            turn = _item_turn(payload["item"])
        elif event in ("user_message", "agent_message"):
            message = payload.get("message")
            kind = "user" if event == "user_message" else "assistant"
            turn = _turn(kind, message) if isinstance(message, str) else None
        if turn is not None:
            turns.append(turn)
    return turns[-MAX_TURNS:]


def read_turns(path: Path, problems: list[str] | None = None) -> list[Turn]:
    """Parse the tail of the rollout at ``path`` (blocking: call from a thread)."""
    lines = tail_lines(path, TAIL_BYTES)
    return parse_turns(lines, problems)
