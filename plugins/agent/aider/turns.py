"""Aider's chat history as the turns of a conversation, for the cockpit's transcript tab.

``####`` lines are the operator's inputs, ``>`` lines Aider's own output (shown as one
``aider`` entry per run of them), everything else the model's reply. Run headers and empty
inputs are left out.
"""

from __future__ import annotations

from pathlib import Path

from core.activity.tailer import tail_lines
from core.models import Turn
from plugins.agent.aider.reader import BLANK_INPUT, SESSION_HEADER

TAIL_BYTES = 2_000_000
"""How much of the end of a history is read."""
MAX_TURNS = 200
"""How many of the latest turns are shown."""


def parse_turns(lines: list[str]) -> list[Turn]:
    """The turns of history ``lines``; Markdown needs no parsing, so nothing is a problem."""
    turns: list[Turn] = []
    kind = ""
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if kind and text and not (kind == "user" and text == BLANK_INPUT):
            title = text.splitlines()[0]
            turns.append(Turn("tool", "aider", text) if kind == "tool" else Turn(kind, title, text))
        body.clear()

    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if line.startswith(SESSION_HEADER.strip()):
            flush()
            kind = ""
            continue
        if line.startswith("####"):
            this, text = "user", line[4:].strip()
        elif line.startswith(">"):
            this, text = "tool", line[1:].strip()
        elif not line:
            if kind in ("user", "tool"):
                continue  # a blank line between input or output lines ends nothing
            this, text = kind, ""
        else:
            this, text = "assistant", line
        if this != kind:
            flush()
            kind = this
        body.append(text)
    flush()
    return turns[-MAX_TURNS:]


def read_turns(path: Path, problems: list[str] | None = None) -> list[Turn]:
    """Parse the tail of the history at ``path`` (blocking: call from a thread)."""
    lines = tail_lines(path, TAIL_BYTES)
    return parse_turns(lines)
