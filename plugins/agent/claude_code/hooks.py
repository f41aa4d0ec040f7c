"""The Claude Code hook log: the events we log and what they tell.

The command, the line format and the parser are shared by every hook-driven agent
(:mod:`core.activity.hook_log`, re-exported here). Claude 2.1.x ends the JSON it writes to
stdin with a newline, which the command drops, so each record is one line; logs written
before that span two lines and still parse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.activity.hook_log import (
    MAX_RECORD_CHARS,
    HookFold,
    HookLogParser,
    HookRecord,
    hook_command,
    parse_hook_line,
    parse_hook_log,
)
from core.activity.received import UserPrompt
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor
from plugins.agent.claude_code.transcript import tool_argument

__all__ = [
    "HOOK_EVENTS",
    "MAX_RECORD_CHARS",
    "HookLogParser",
    "HookRecord",
    "HookState",
    "hook_command",
    "hooks_settings",
    "parse_hook_line",
    "parse_hook_log",
    "read_hook_log",
]

HOOK_EVENTS: tuple[str, ...] = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "Notification",
    "Stop",
    "StopFailure",
    "SessionEnd",
)
"""The events we log, in lifecycle order."""

MATCHER_EVENTS = frozenset(
    {
        "SessionStart",
        "PreToolUse",
        "PostToolUse",
        "PermissionRequest",
        "Notification",
        "StopFailure",
        "SessionEnd",
    }
)
"""Events whose settings entry takes a ``matcher`` (tool name, source, type or reason);
``*`` matches everything. UserPromptSubmit and Stop take none."""

MAX_PROMPTS = 20


def hooks_settings(log_path: Path) -> dict[str, list[dict[str, Any]]]:
    """The ``hooks`` block of ``.claude/settings.local.json`` that logs every event."""
    command = hook_command(log_path)
    block: dict[str, list[dict[str, Any]]] = {}
    for event in HOOK_EVENTS:
        entry: dict[str, Any] = {"hooks": [{"type": "command", "command": command}]}
        if event in MATCHER_EVENTS:
            entry = {"matcher": "*", **entry}
        block[event] = [entry]
    return block


@dataclass
class HookState(HookFold):
    """What Claude Code's hook log says so far, folded record by record."""

    pending_permission: WaitingFor | None = None
    """What the prompt on screen asks, while one waits."""
    current_tool: dict[str, str] | None = None
    notification_type: str = ""
    prompts: list[UserPrompt] = field(default_factory=list)
    session_end_reason: str = ""
    stop_error: str = ""
    start_source: str = ""
    """``source`` of the last SessionStart: startup, resume, clear or compact."""
    start_at: float | None = None
    """When the last SessionStart (not a compaction) fired: the current process's start."""

    def _tool(self, payload: dict[str, Any]) -> dict[str, str]:
        """``{"tool": name, "command": argument}`` from a tool event's payload."""
        name = payload.get("tool_name")
        name = name if isinstance(name, str) and name else "tool"
        return {"tool": name, "command": tool_argument(name, payload.get("tool_input"))}

    def _on_SessionStart(self, record: HookRecord) -> None:
        """A (re)started session waits for input; after compaction it carries on as before."""
        if record.payload.get("source") == "compact":
            return
        self.pending_permission = None
        self.session_end_reason = ""
        source = record.payload.get("source")
        self.start_source = source if isinstance(source, str) else ""
        self.start_at = record.at
        self._decide(record, f"session {self.start_source or 'started'}")

    def _on_UserPromptSubmit(self, record: HookRecord) -> None:
        """A prompt was accepted: the turn starts."""
        prompt = record.payload.get("prompt")
        if isinstance(prompt, str):
            self.prompts.append(UserPrompt(text=prompt, at=record.at))
            del self.prompts[:-MAX_PROMPTS]
        self.pending_permission = None
        self.stop_error = ""
        self._decide(record, "prompt submitted")

    def _on_PreToolUse(self, record: HookRecord) -> None:
        """A tool is about to run (or to ask for permission)."""
        self.current_tool = self._tool(record.payload)
        self.pending_permission = None
        tool = self.current_tool
        self._decide(
            record, f"{tool['tool']}: {tool['command']}" if tool["command"] else tool["tool"]
        )

    def _on_PermissionRequest(self, record: HookRecord) -> None:
        """A permission prompt is on screen."""
        tool = self._tool(record.payload)
        self.pending_permission = WaitingFor("permission", tool["tool"], tool["command"])
        what = f"{tool['tool']}: {tool['command']}" if tool["command"] else tool["tool"]
        self._decide(record, f"permission: {what}")

    def _on_PostToolUse(self, record: HookRecord) -> None:
        """The tool finished; the turn goes on."""
        self.pending_permission = None
        self.current_tool = None
        self._decide(record, f"{self._tool(record.payload)['tool']} done")

    _on_PostToolUseFailure = _on_PostToolUse

    def _on_Notification(self, record: HookRecord) -> None:
        """Permission prompts, the 60 s idle reminder and elicitation dialogs."""
        kind = record.payload.get("notification_type")
        kind = kind if isinstance(kind, str) else ""
        self.notification_type = kind
        message = record.payload.get("message")
        message = message if isinstance(message, str) else ""
        if kind == "permission_prompt":
            if self.pending_permission is None:
                tool = self.current_tool or {"tool": "", "command": ""}
                self.pending_permission = WaitingFor("permission", tool["tool"], tool["command"])
            self._decide(record, message or "permission prompt")
        elif kind == "idle_prompt":
            self.pending_permission = None
            if not self.stop_error:
                # After a turn that ended on an API error the error stays what it says: the
                # reminder a minute later must not turn it into a plain "waiting".
                self._decide(record, message or "waiting for input")
        elif kind == "elicitation_dialog":
            self.pending_permission = WaitingFor("elicitation", "", message)
            self._decide(record, message or "question from an MCP server")

    def _on_Stop(self, record: HookRecord) -> None:
        """The turn ended normally."""
        self.pending_permission = None
        self.current_tool = None
        message = record.payload.get("last_assistant_message")
        text = " ".join(message.split()) if isinstance(message, str) else ""
        self._decide(record, text[:160] or "turn finished")

    def _on_StopFailure(self, record: HookRecord) -> None:
        """The turn ended on an API error."""
        self.pending_permission = None
        self.current_tool = None
        error = record.payload.get("error") or record.payload.get("error_type")
        self.stop_error = error if isinstance(error, str) else "API error"
        # The message Claude showed ("API Error: 500 Internal server error. …") says more
        # than the error type ("server_error").
        shown = record.payload.get("last_assistant_message")
        shown = " ".join(shown.split())[:200] if isinstance(shown, str) else ""
        self._decide(record, shown or f"API error: {self.stop_error}")

    def _on_SessionEnd(self, record: HookRecord) -> None:
        """Claude is exiting (``/clear`` also ends a session, then starts a new one)."""
        reason = record.payload.get("reason")
        self.session_end_reason = reason if isinstance(reason, str) else "other"
        self.pending_permission = None
        self._decide(record, f"session ended ({self.session_end_reason})")

    def _signal(self) -> ActivitySignal | None:
        event, at = self.state_event, self.state_at
        if not event or at is None:
            return None
        source = SignalSource.HOOK
        if event == "SessionEnd":
            if self.session_end_reason == "clear":
                return ActivitySignal(ActivityState.IDLE, source, at, self.detail)
            return ActivitySignal(ActivityState.EXITED, source, at, self.detail)
        if event == "StopFailure":
            return ActivitySignal(ActivityState.ERROR, source, at, self.detail)
        if self.pending_permission is not None and event in ("PermissionRequest", "Notification"):
            waiting = self.pending_permission
            return ActivitySignal(ActivityState.WAITING_INPUT, source, at, self.detail, waiting)
        if event == "SessionStart" and self.start_source == "startup":
            # ao-tui launches Claude with the task as its first prompt, which Claude submits
            # right after this hook: a fresh start is the beginning of work, not idleness
            # (reporting idle here would flash the session into "Needs you").
            return ActivitySignal(ActivityState.WORKING, source, at, "starting on the task")
        if event in ("Stop", "SessionStart", "Notification"):
            return ActivitySignal(ActivityState.IDLE, source, at, self.detail)
        return ActivitySignal(ActivityState.WORKING, source, at, self.detail)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect``."""
        return {
            **super().summary(),
            "pending_permission": (
                None if self.pending_permission is None else self.pending_permission.to_json()
            ),
            "notification_type": self.notification_type,
            "prompts": [{"text": p.text, "at": p.at} for p in self.prompts[-3:]],
            "session_end_reason": self.session_end_reason,
        }


def read_hook_log(lines: Iterable[str]) -> HookState:
    """Fold a whole hook log into a fresh state."""
    state = HookState()
    state.fold_lines(lines)
    return state
