"""The question a session waits on, as the operator sees it, and answers bound to it.

An answer must go to the prompt that was on screen when the operator decided: between
display and key press the agent may have moved on to another command (someone answered
from another cockpit or the CLI, or the agent asked again). :class:`Prompt` is what was
shown — tool and command, or the detail when the prompt names no command — and
:meth:`Prompt.matches` is the check :meth:`core.engine.Engine.respond` applies to the
``expect`` it is given before any key reaches the agent.

Texts are compared as they are displayed (made inert, runs of whitespace as one space),
so what the cockpit shows (already inert) and what a script passes (raw) compare alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import EngineError
from core.inert import inert
from core.models import NOTHING_ASKED, ActivityState, Lifecycle, Session

QUOTE_MAX = 200
"""Longest prompt text quoted in a refusal (a command can be kilobytes long)."""


def _normal(text: str) -> str:
    """``text`` as shown, with every run of whitespace as one space."""
    return " ".join(inert(text).split())


def _quoted(text: str) -> str:
    """``text`` as shown and quoted, cut with "…" past :data:`QUOTE_MAX` characters."""
    shown = _normal(text)
    return repr(shown if len(shown) <= QUOTE_MAX else shown[: QUOTE_MAX - 1] + "…")


@dataclass(frozen=True)
class Prompt:
    """A pending prompt: its kind (permission, confirm, …), tool and the text approved."""

    kind: str
    tool: str
    text: str
    """The command (or file, or question) being approved; the detail if none is named."""

    @classmethod
    def of(cls, session: Session) -> Prompt | None:
        """The prompt ``session``'s activity says it waits on, None when it waits on none."""
        activity = session.activity
        if activity.state is not ActivityState.WAITING_INPUT:
            return None
        waiting = activity.waiting_for or NOTHING_ASKED
        return cls(
            kind=waiting.kind or "input",
            tool=waiting.tool,
            text=waiting.command or activity.detail,
        )

    @property
    def shown(self) -> str:
        """One line naming what is approved: ``Bash: rm -rf build`` (tool known) or the text."""
        text = _normal(self.text)
        return f"{_normal(self.tool)}: {text}" if self.tool else text

    def matches(self, expected: str) -> bool:
        """Whether ``expected`` names this prompt: its text, or ``TOOL: text`` to pin the tool.

        Exact, never a substring: ``rm -rf build`` must not approve
        ``rm -rf build && rm -rf ~``.
        """
        wanted = _normal(expected)
        return bool(wanted) and wanted in (_normal(self.text), self.shown)


class PromptChangedError(EngineError):
    """The session's pending prompt is not the one the answer was meant for; nothing sent."""

    def __init__(self, session_id: str, expected: str, now: Prompt | None, doing: str) -> None:
        """Say what was expected and what the session asks (or does) now."""
        self.session_id = session_id
        self.expected = expected
        self.now = now
        if now is None:
            what = f"it is no longer waiting on a prompt ({doing})"
        else:
            what = f"it now asks {_quoted(now.shown)}"
        super().__init__(
            f"{session_id}: nothing answered: the prompt changed since {_quoted(expected)} "
            f"was shown; {what}; look again, then answer"
        )


def not_waiting(session: Session) -> str:
    """Why ``session`` has no prompt to answer, for the refusal of y/n and ``respond``."""
    return f"{session.id} is not waiting on a prompt (it is {doing(session)})"


def doing(session: Session) -> str:
    """What the session is doing instead of waiting: its lifecycle when stopped, else activity."""
    if session.lifecycle is not Lifecycle.RUNNING:
        reason = session.lifecycle_reason
        if reason and reason != session.lifecycle.value:
            return f"{session.lifecycle.value}: {reason}"
        return session.lifecycle.value
    activity = session.activity
    return f"{activity.state.value}: {activity.detail}" if activity.detail else activity.state.value
