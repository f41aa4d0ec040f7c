"""Tolerant reader of Codex CLI rollouts (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``).

Lines are ``{"timestamp", "type", "payload"}`` with types ``session_meta``, ``turn_context``,
``response_item``, ``event_msg`` and more. The turn structure comes from ``event_msg``
payloads: ``task_started`` opens a turn, ``task_complete`` closes it (with an ``error`` when
it failed), ``turn_aborted`` closes it early (interrupt), ``error`` reports a failure and
``token_count`` carries usage. Approval requests are not written: they are found on the pane.

Prompts and answers: older versions write ``user_message`` / ``agent_message`` events; from
0.17x on they are ``item_completed`` events whose ``item`` is a ``UserMessage`` or an
``AgentMessage`` (a message typed mid-turn joins the running turn as one more UserMessage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.activity.jsonl import ConversationFold
from core.activity.received import UserPrompt, parse_timestamp
from core.models import ActivitySignal, ActivityState, SignalSource

CODEX_LINE_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg"})
"""Top-level types that mark a file as a Codex rollout."""

KNOWN_TYPES = CODEX_LINE_TYPES | {"compacted", "world_state", "token_usage_record"}


@dataclass
class CodexState(ConversationFold):
    """What a rollout says so far.

    ``last_event`` names the newest turn-level event: task_started, task_complete,
    turn_aborted, error, user_message, agent_message.
    """

    last_entry_at: float | None = None
    turn_open: bool = False
    error: str = ""
    abort_reason: str = ""
    last_agent_message: str = ""
    prompts: list[UserPrompt] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one rollout record by its ``type``."""
        if not isinstance(entry.get("type"), str):
            self.note_malformed("no 'type'")
            return
        kind = entry["type"]
        if kind not in KNOWN_TYPES:
            self.count_unknown(kind)
            return
        at = parse_timestamp(entry.get("timestamp"))
        if at is not None:
            self.last_entry_at = at
        payload = entry.get("payload")
        if not isinstance(payload, dict):
            return
        if kind == "session_meta":
            self.note_identity(
                payload, session_id_key="id", cwd_key="cwd", version_key="cli_version"
            )
        elif kind == "event_msg":
            self._event_msg(payload, at)

    def _event_msg(self, payload: dict[str, Any], at: float | None) -> None:
        """Turn structure, errors, prompts and usage."""
        event = payload.get("type")
        if event == "task_started":
            self.turn_open = True
            self.error = ""
            self.abort_reason = ""
            self.note_event("task_started", at)
        elif event == "task_complete":
            self.turn_open = False
            message = payload.get("last_agent_message")
            if isinstance(message, str):
                self.last_agent_message = message
            error = payload.get("error")
            if isinstance(error, dict) and error:
                self.error = str(error.get("message") or "turn failed")
                self.note_event("error", at)
            else:
                self.note_event("task_complete", at)
        elif event == "turn_aborted":
            self.turn_open = False
            reason = payload.get("reason")
            self.abort_reason = reason if isinstance(reason, str) else "aborted"
            self.note_event("turn_aborted", at)
        elif event in ("error", "stream_error"):
            message = payload.get("message")
            self.error = message if isinstance(message, str) else "error"
            self.note_event("error", at)
        elif event == "user_message":
            message = payload.get("message")
            if isinstance(message, str):
                self.prompts.append(UserPrompt(text=message, at=at))
                del self.prompts[:-20]
            self.note_event("user_message", at)
        elif event == "agent_message":
            message = payload.get("message")
            if isinstance(message, str):
                self.last_agent_message = message
            if self.turn_open:
                self.note_event("agent_message", at)
        elif event == "token_count":
            self._tokens(payload.get("info"))
        elif event == "item_completed":
            self._item(payload.get("item"), at)

    def _item(self, item: Any, at: float | None) -> None:
        """A completed ``UserMessage`` (a prompt received) or ``AgentMessage`` (an answer)."""
        if not isinstance(item, dict):
            return
        kind = item.get("type")
        if kind not in ("UserMessage", "AgentMessage"):
            return
        content = item.get("content")
        parts = content if isinstance(content, list) else []
        text = "\n".join(
            part["text"]
            for part in parts
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
        if kind == "UserMessage":
            self.prompts.append(UserPrompt(text=text, at=at))
            del self.prompts[:-20]
            self.note_event("user_message", at)
        else:
            self.last_agent_message = text
            if self.turn_open:
                self.note_event("agent_message", at)

    def _tokens(self, info: Any) -> None:
        """Totals from ``info.total_token_usage`` (cumulative, so replaced, not added)."""
        if not isinstance(info, dict):
            return
        total = info.get("total_token_usage")
        if isinstance(total, dict):
            for attr, key in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")):
                value = total.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    setattr(self, attr, value)

    def signal(self) -> ActivitySignal | None:
        """The activity the rollout suggests, or None before any turn event."""
        at = self.last_event_at if self.last_event_at is not None else self.last_entry_at
        if not self.last_event or at is None:
            return None
        source = SignalSource.TRANSCRIPT
        if self.last_event == "error":
            return ActivitySignal(ActivityState.ERROR, source, at, f"error: {self.error}"[:200])
        if self.last_event == "turn_aborted":
            return ActivitySignal(
                ActivityState.IDLE, source, at, f"turn aborted ({self.abort_reason})"
            )
        if self.turn_open or self.last_event == "user_message":
            return ActivitySignal(ActivityState.WORKING, source, at, "turn running")
        detail = " ".join(self.last_agent_message.split())[:160] or "turn finished"
        return ActivitySignal(ActivityState.IDLE, source, at, detail)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect``."""
        last = self.prompts[-1] if self.prompts else None
        return {
            "format": "codex",
            "session_id": self.session_id,
            "cwd": self.cwd,
            "version": self.version,
            **self.line_counts(),
            "last_entry_at": self.last_entry_at,
            "last_event": self.last_event,
            "turn_open": self.turn_open,
            "error": self.error,
            "last_agent_message": self.last_agent_message,
            "last_prompt": {"text": last.text, "at": last.at} if last else None,
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
        }


def read_rollout(lines: Iterable[str]) -> CodexState:
    """Fold a whole rollout into a fresh state."""
    state = CodexState()
    state.fold_lines(lines)
    return state
