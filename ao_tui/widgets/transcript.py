"""An agent's conversation as turns: prompts, answers and tool calls with their results.

The agent plugin reads its own file into :class:`core.models.Turn` (see
:class:`core.slots.ConversationTurns`); this only shows them, each a collapsed
``Collapsible``, every text made inert.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Collapsible, Static

from core.inert import inert
from core.models import Turn


class TranscriptView(VerticalScroll):
    """The turns, newest last, each collapsed to its first line."""

    def __init__(self, turns: list[Turn], *, speaker: str = "agent", id: str | None = None) -> None:
        """Show ``turns``; the agent's own are labelled ``speaker``."""
        super().__init__(id=id)
        self.turns = turns
        self.labels = {"user": "you", "assistant": speaker, "tool": "tool"}

    def compose(self) -> ComposeResult:
        """One collapsible per turn."""
        if not self.turns:
            yield Static("The transcript has no turns yet.")
        for turn in self.turns:
            # Prompts, answers and tool output quote files, logs and web pages: inert. The
            # title is escaped too: it is markup, and "[/b]" in a prompt would raise.
            title = inert(f"{self.labels.get(turn.kind, turn.kind)}: {turn.title}", one_line=True)
            body = turn.body
            if turn.kind == "tool":
                result = "\n".join(turn.result) if turn.result else "(no result yet)"
                body = f"input:\n{turn.body}\n\nresult:\n{result}"
            with Collapsible(
                title=escape(title[:200]), collapsed=True, classes=f"turn -{turn.kind}"
            ):
                yield Static(inert(body), markup=False, classes="turn-body")
