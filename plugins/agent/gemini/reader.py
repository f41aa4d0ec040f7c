"""Tolerant reader of Gemini CLI session transcripts
(``~/.gemini/tmp/<project>/chats/session-*.jsonl``).

The first line is the session's header (``sessionId``, ``projectHash``, ``startTime``,
``kind``). Then each message is a line of its own, ``{id, timestamp, type, content, …}``:
``user`` (a prompt; the first one, ``<session_context>…``, is Gemini's own context),
``gemini`` (an answer, with ``toolCalls``, ``tokens`` and ``model``), and ``info``,
``warning`` and ``error`` notices (an API error is an ``error``; an interrupted turn leaves
the ``info`` "Request cancelled."). ``{"$set": {…}}`` lines update the header; one holding
``messages`` rewrites the whole list (written at the start, and on resume or compression),
so messages are told apart by their ``id``.

A ``gemini`` message is written when its answer is complete. One that calls tools leaves the
turn running; one that does not ends it. A tool's result comes back as a ``user`` message
holding a ``functionResponse`` (no text): not a prompt.

After a declined tool call Gemini writes the whole history again, each message under a new
id, starting with its context message, then a ``$set`` of ``messages``: a context message
outside a ``$set`` opens such a replay, which the next ``$set`` of ``messages`` closes
(:func:`replay_starts`); nothing in it is new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.activity.jsonl import ConversationFold
from core.activity.received import UserPrompt, parse_timestamp
from core.models import ActivitySignal, ActivityState, SignalSource

CONTEXT_PREFIX = "<session_context>"
CANCELLED = "Request cancelled."
"""The ``info`` notice Gemini records when the operator interrupts a turn (Escape)."""
INTERRUPTED = "interrupted by user"
MAX_PROMPTS = 20
MAX_SEEN = 5000
"""How many message ids are remembered to tell a rewritten message from a new one."""
_NOTICES = frozenset({"info", "warning", "error"})


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list of ``{text}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def is_context(message: dict[str, Any]) -> bool:
    """Whether ``message`` is Gemini's own context message (``<session_context>…``)."""
    text = message_text(message.get("content"))
    return message.get("type") == "user" and text.lstrip().startswith(CONTEXT_PREFIX)


def replay_starts(entry: dict[str, Any]) -> bool:
    """Whether a transcript line (not a ``$set``) opens a replay of the history."""
    return is_context(entry)


def replay_ends(entry: dict[str, Any]) -> bool:
    """Whether a transcript line closes a replay (a ``$set`` of the whole message list)."""
    updates = entry.get("$set")
    return isinstance(updates, dict) and isinstance(updates.get("messages"), list)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass
class GeminiState(ConversationFold):
    """What a transcript says so far.

    ``last_event`` names the newest message that matters: ``user_message``, ``tool_call``,
    ``answer``, ``cancelled`` or ``error``.
    """

    project_hash: str = ""
    kind: str = ""
    """``main`` for a session, ``subagent`` for one a session started."""
    last_entry_at: float | None = None
    last_answer: str = ""
    error: str = ""
    tool: str = ""
    prompts: list[UserPrompt] = field(default_factory=list)
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)
    _replaying: bool = field(default=False, repr=False, compare=False)

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one transcript line: the header, an update, or a message."""
        if "sessionId" in entry and "projectHash" in entry:
            self.note_identity(
                entry, session_id_key="sessionId", cwd_key="cwd", version_key="version"
            )
            project, kind = entry.get("projectHash"), entry.get("kind")
            self.project_hash = project if isinstance(project, str) else self.project_hash
            self.kind = kind if isinstance(kind, str) else self.kind
            return
        if replay_ends(entry):
            # The whole list: at the start, on resume, or closing a replay (whose messages
            # were marked seen as they came).
            self._replaying = False
            for message in entry["$set"]["messages"]:
                if isinstance(message, dict):
                    self._message(message, listed=True)
            return
        if isinstance(entry.get("$set"), dict):
            return  # other header fields
        if replay_starts(entry):
            self._replaying = True
        if self._replaying:
            ident = entry.get("id")
            if isinstance(ident, str) and ident and len(self._seen) < MAX_SEEN:
                self._seen.add(ident)
            return
        if isinstance(entry.get("type"), str):
            self._message(entry, listed=False)
        else:
            self.note_malformed("no 'type'")

    def _message(self, message: dict[str, Any], *, listed: bool) -> None:
        """Fold one message. A known id in a rewritten list repeats it and is skipped; one on
        a line of its own updates it (a tool call's result and status): its prompt and
        tokens were counted the first time."""
        ident = message.get("id")
        update = False
        if isinstance(ident, str) and ident:
            if ident in self._seen:
                if listed or message.get("type") != "gemini":
                    return
                update = True
            elif len(self._seen) < MAX_SEEN:
                self._seen.add(ident)
        kind = message.get("type")
        at = parse_timestamp(message.get("timestamp"))
        if at is not None:
            self.last_entry_at = at
        text = message_text(message.get("content"))
        if kind == "user":
            if is_context(message):
                return
            if not text.strip():
                self.note_event("tool_result", at)  # a functionResponse: the turn goes on
                return
            self.prompts.append(UserPrompt(text=text, at=at))
            del self.prompts[:-MAX_PROMPTS]
            self.error = ""
            self.note_event("user_message", at)
        elif kind == "gemini":
            if not update:
                self._usage(message)
            calls = message.get("toolCalls")
            if isinstance(calls, list) and calls:
                first = calls[0] if isinstance(calls[0], dict) else {}
                name = first.get("name")
                self.tool = name if isinstance(name, str) else "tool"
                self.note_event("tool_call", at)
            elif text.strip():
                self.last_answer = text
                self.note_event("answer", at)
        elif kind == "error":
            self.error = " ".join(text.split())[:200] or "error"
            self.note_event("error", at)
        elif kind == "info" and text.strip() == CANCELLED:
            self.note_event("cancelled", at)
        elif kind not in _NOTICES:
            self.count_unknown(str(kind))

    def _usage(self, message: dict[str, Any]) -> None:
        """Add a message's tokens; keep its model."""
        model = message.get("model")
        if isinstance(model, str) and model:
            self.model = model
        tokens = message.get("tokens")
        if isinstance(tokens, dict):
            self.input_tokens += _count(tokens.get("input"))
            self.output_tokens += _count(tokens.get("output"))
            self.cached_tokens += _count(tokens.get("cached"))

    def usage_facts(self) -> dict[str, Any]:
        """Tokens (input net of the cached part) and the model, for the morning report."""
        if not (self.input_tokens or self.output_tokens):
            return {}
        cached = min(self.cached_tokens, self.input_tokens)
        tokens = {
            "input": self.input_tokens - cached,
            "output": self.output_tokens,
            "cache_read": cached,
        }
        return {"tokens": tokens, "model": self.model} if self.model else {"tokens": tokens}

    def signal(self) -> ActivitySignal | None:
        """The activity the transcript suggests, or None before any prompt."""
        at = self.last_event_at if self.last_event_at is not None else self.last_entry_at
        if not self.last_event or at is None:
            return None
        source = SignalSource.TRANSCRIPT
        if self.last_event == "error":
            # Gemini's own words already say what failed: "[API Error: …]".
            shown = self.error.strip("[] ")
            detail = shown if "error" in shown.lower() else f"error: {shown}"
            return ActivitySignal(ActivityState.ERROR, source, at, detail[:200])
        if self.last_event == "answer":
            detail = " ".join(self.last_answer.split())[:160] or "turn finished"
            return ActivitySignal(ActivityState.IDLE, source, at, detail)
        if self.last_event == "cancelled":
            return ActivitySignal(ActivityState.IDLE, source, at, INTERRUPTED)
        if self.last_event == "tool_call":
            return ActivitySignal(ActivityState.WORKING, source, at, f"calls {self.tool}")
        if self.last_event == "tool_result":
            return ActivitySignal(ActivityState.WORKING, source, at, f"{self.tool} done")
        return ActivitySignal(ActivityState.WORKING, source, at, "turn running")

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect``."""
        last = self.prompts[-1] if self.prompts else None
        return {
            "format": "gemini",
            "session_id": self.session_id,
            "project_hash": self.project_hash,
            "kind": self.kind,
            **self.line_counts(),
            "last_entry_at": self.last_entry_at,
            "last_event": self.last_event,
            "error": self.error,
            "last_answer": self.last_answer,
            "last_prompt": {"text": last.text, "at": last.at} if last else None,
            "model": self.model,
            "tokens": {
                "input": self.input_tokens,
                "output": self.output_tokens,
                "cached": self.cached_tokens,
            },
        }


def read_transcript(lines: Iterable[str]) -> GeminiState:
    """Fold a whole transcript into a fresh state."""
    state = GeminiState()
    state.fold_lines(lines)
    return state
