"""A Gemini CLI transcript as the turns of a conversation, for the cockpit's transcript tab.

Prompts are ``user`` messages (Gemini's own ``<session_context>`` message is not shown),
answers ``gemini`` messages, and each of their ``toolCalls`` a tool turn with its result.
A message list rewritten by a ``$set`` line repeats known messages, and a replay of the
history after a declined tool call repeats them under new ids (:mod:`.reader`): each is
shown once. A message rewritten on a line of its own (a tool call with its result) replaces
its earlier turns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.activity.jsonl import MAX_NOTED
from core.activity.tailer import tail_lines
from core.bounded_json import loads_line, why_not
from core.models import Turn
from plugins.agent.gemini.hooks import tool_argument
from plugins.agent.gemini.reader import (
    CONTEXT_PREFIX,
    message_text,
    replay_ends,
    replay_starts,
)

TAIL_BYTES = 2_000_000
"""How much of the end of a transcript is read."""
MAX_TURNS = 200
"""How many of the latest turns are shown."""


def _turn(kind: str, text: str) -> Turn | None:
    """A user or assistant turn titled by its first line; None for empty text."""
    text = text.strip()
    return Turn(kind, text.splitlines()[0], text) if text else None


def _tool_turn(call: dict[str, Any]) -> Turn:
    """One tool call and what it returned."""
    name = call.get("name")
    name = name if isinstance(name, str) and name else "tool"
    argument = tool_argument(call.get("args"))
    turn = Turn("tool", f"{name}: {argument}" if argument else name, argument)
    turn.tool_id = str(call.get("id") or "")
    status = call.get("status")
    display = call.get("resultDisplay")
    shown = display if isinstance(display, str) else ""
    if isinstance(status, str) and status not in ("success", ""):
        shown = f"{status}\n{shown}".strip()
    turn.result.append(shown)
    return turn


def _message_turns(message: dict[str, Any]) -> list[Turn]:
    """The turns one message stands for."""
    kind = message.get("type")
    text = message_text(message.get("content"))
    if kind == "user":
        if text.lstrip().startswith(CONTEXT_PREFIX):
            return []
        turn = _turn("user", text)
        return [turn] if turn else []
    if kind == "gemini":
        turns = [t for t in (_turn("assistant", text),) if t]
        calls = message.get("toolCalls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                turns.append(_tool_turn(call))
        return turns
    if kind == "error":
        turn = _turn("assistant", f"error: {text}")
        return [turn] if turn else []
    return []


def parse_turns(lines: list[str], problems: list[str] | None = None) -> list[Turn]:
    """The turns of transcript ``lines``; a line that does not parse is skipped and, when
    ``problems`` is given, noted there (``line 3: …``)."""
    by_id: dict[str, list[Turn]] = {}
    replayed: set[str] = set()
    replaying = False
    for number, raw in enumerate(lines, start=1):
        try:
            entry = loads_line(raw)
        except ValueError as exc:
            if problems is not None and raw.strip() and len(problems) < MAX_NOTED:
                problems.append(f"line {number}: {why_not(exc)}")
            continue
        if not isinstance(entry, dict):
            continue
        if replay_ends(entry):
            replaying = False
            for message in entry["$set"]["messages"]:
                key = _key(message, by_id)
                if key not in by_id and key not in replayed:
                    by_id[key] = _message_turns(message)
            continue
        replaying = replaying or replay_starts(entry)
        if replaying:
            replayed.add(_key(entry, by_id))
        elif "type" in entry:
            by_id[_key(entry, by_id)] = _message_turns(entry)  # new, or an update
    turns = [turn for shown in by_id.values() for turn in shown]
    return turns[-MAX_TURNS:]


def _key(message: Any, by_id: dict[str, list[Turn]]) -> str:
    """A message's id (a fresh key for one without)."""
    ident = message.get("id") if isinstance(message, dict) else None
    return ident if isinstance(ident, str) and ident else f"#{len(by_id)}"


def read_turns(path: Path, problems: list[str] | None = None) -> list[Turn]:
    """Parse the tail of the transcript at ``path`` (blocking: call from a thread)."""
    return parse_turns(tail_lines(path, TAIL_BYTES), problems)
