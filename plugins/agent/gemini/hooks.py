"""Gemini CLI's hooks: the settings that log them, and what the log says.

Gemini CLI runs the hooks of the project's ``.gemini/settings.json`` (trusted for the
session by ``GEMINI_CLI_TRUST_WORKSPACE``) with the event's JSON on stdin. A system settings
file would keep the worktree clean, but Gemini takes one only when it and every folder above
it belong to root, which a user's ao-tui cannot arrange. So ao-tui writes the worktree's
``.gemini/settings.json`` (git-excluded) with one hook per event, the shared append of
:mod:`core.activity.hook_log`, and leaves alone a settings file the project has of its own:
such a session is read from its transcript and pane only.

The events, and what each means for the activity:

- ``SessionStart`` (``startup``, ``resume``, ``clear``) — the process is up;
- ``BeforeAgent`` — a prompt was accepted, the turn runs (its ``prompt`` proves a send);
- ``BeforeTool`` / ``AfterTool`` — a tool runs / ran;
- ``Notification`` with ``notification_type: ToolPermission`` — an approval waits;
- ``AfterAgent`` — the turn ended (its ``prompt_response`` is the answer);
- ``SessionEnd`` — the process is exiting.

Gemini fires no hook for an interrupted turn or an API error: the transcript and the pane
say those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.activity.hook_log import HookFold, HookRecord, hook_command
from core.activity.received import UserPrompt
from core.bounded_json import loads_line
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor
from core.private_files import write_private

HOOK_EVENTS: tuple[str, ...] = (
    "SessionStart",
    "BeforeAgent",
    "BeforeTool",
    "AfterTool",
    "Notification",
    "AfterAgent",
    "SessionEnd",
)
"""The events logged, in lifecycle order."""
HOOK_NAME = "ao-tui"
"""The name the hooks carry (Gemini lists it in its warning about project hooks)."""
MAX_PROMPTS = 20


def hooks_settings(log_path: Path) -> dict[str, Any]:
    """The project settings that log every event of :data:`HOOK_EVENTS` to ``log_path``.

    Gemini's notices of running hooks are turned off where it lets them be (0.61.0 still
    shows ``Executing Hooks: ao-tui, …`` on its busy line, which the pane reader reads as
    busy, as it is).
    """
    command = hook_command(log_path)
    hook = {"type": "command", "command": command, "name": HOOK_NAME, "timeout": 5000}
    return {
        "hooks": {event: [{"hooks": [dict(hook)]}] for event in HOOK_EVENTS},
        "hooksConfig": {"notifications": False},
    }


SETTINGS_FILE = ".gemini/settings.json"
"""The project settings Gemini reads in the folder it runs in (relative to the worktree)."""
_MAX_SETTINGS = 1_000_000


def _is_ours(settings: Any) -> bool:
    """Whether a settings object holds only what :func:`hooks_settings` writes."""
    if not isinstance(settings, dict) or not set(settings) <= {"hooks", "hooksConfig"}:
        return False
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return False
    for groups in hooks.values():
        for group in groups if isinstance(groups, list) else [None]:
            inner = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(inner, list) or not all(
                isinstance(h, dict) and h.get("name") == HOOK_NAME for h in inner
            ):
                return False
    return True


def install_hooks(worktree: Path, log_path: Path) -> bool:
    """Write the worktree's project settings with our hooks; whether they are in place.

    A settings file of the project's own (tracked, or written by someone else) is left as
    it is and False returned: it may be committed, and the agent's commits must not carry
    ao-tui's hooks. Ours, from an earlier start, is rewritten.
    """
    path = worktree / SETTINGS_FILE
    if path.is_symlink():
        return False
    if path.exists():
        try:
            current = loads_line(path.read_text(encoding="utf-8", errors="replace")[:_MAX_SETTINGS])
        except (OSError, ValueError):
            return False
        if not _is_ours(current):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, (json.dumps(hooks_settings(log_path), indent=2) + "\n").encode())
    return True


def _text(value: Any) -> str:
    """``value`` when it is a string, else ""."""
    return value if isinstance(value, str) else ""


def tool_argument(tool_input: Any) -> str:
    """What a tool call acts on, for the board: the command, else the file, else ""."""
    if not isinstance(tool_input, dict):
        return ""
    for key in ("command", "file_path", "path", "absolute_path", "dir_path", "pattern", "url"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return " ".join(value.split())[:200]
    return ""


@dataclass
class GeminiHookState(HookFold):
    """What Gemini CLI's hook log says so far, folded record by record."""

    start_source: str = ""
    start_at: float | None = None
    """When the last ``SessionStart`` fired (the current process's start)."""
    current_tool: tuple[str, str] | None = None
    """The tool running now and what it acts on, between BeforeTool and AfterTool."""
    pending_permission: WaitingFor | None = None
    prompts: list[UserPrompt] = field(default_factory=list)
    end_reason: str = ""

    def _on_SessionStart(self, record: HookRecord) -> None:
        """The process is up (a fresh start goes on with its task at once)."""
        self.start_source = _text(record.payload.get("source"))
        self.start_at = record.at
        self.pending_permission = None
        self.current_tool = None
        self.end_reason = ""
        self._decide(record, f"session {self.start_source or 'started'}")

    def _on_BeforeAgent(self, record: HookRecord) -> None:
        """A prompt was accepted: the turn starts."""
        prompt = record.payload.get("prompt")
        if isinstance(prompt, str):
            self.prompts.append(UserPrompt(text=prompt, at=record.at))
            del self.prompts[:-MAX_PROMPTS]
        self.pending_permission = None
        self._decide(record, "prompt submitted")

    def _on_BeforeTool(self, record: HookRecord) -> None:
        """A tool is about to run (or to ask for approval)."""
        name = _text(record.payload.get("tool_name")) or "tool"
        argument = tool_argument(record.payload.get("tool_input"))
        self.current_tool = (name, argument)
        self.pending_permission = None
        self._decide(record, f"{name}: {argument}" if argument else name)

    def _on_Notification(self, record: HookRecord) -> None:
        """An approval prompt is on screen (the only notification Gemini sends)."""
        if record.payload.get("notification_type") != "ToolPermission":
            return
        details = record.payload.get("details")
        details = details if isinstance(details, dict) else {}
        tool, argument = self.current_tool or ("", "")
        shown = _text(details.get("command")) or _text(details.get("rootCommand"))
        shown = shown or _text(details.get("fileName")) or _text(details.get("filePath"))
        argument = " ".join(shown.split())[:200] or argument
        self.pending_permission = WaitingFor("permission", tool, argument)
        what = f"{tool}: {argument}" if argument else tool or "a tool"
        self._decide(record, f"approval: {what}")

    def _on_AfterTool(self, record: HookRecord) -> None:
        """The tool finished (or was declined); the turn goes on."""
        name = _text(record.payload.get("tool_name")) or "tool"
        self.pending_permission = None
        self.current_tool = None
        self._decide(record, f"{name} done")

    def _on_AfterAgent(self, record: HookRecord) -> None:
        """The turn ended."""
        self.pending_permission = None
        self.current_tool = None
        answer = " ".join(_text(record.payload.get("prompt_response")).split())
        self._decide(record, answer[:160] or "turn finished")

    def _on_SessionEnd(self, record: HookRecord) -> None:
        """The process is exiting (``/clear`` ends a session and starts a new one)."""
        self.end_reason = _text(record.payload.get("reason")) or "other"
        self.pending_permission = None
        self._decide(record, f"session ended ({self.end_reason})")

    def _signal(self) -> ActivitySignal | None:
        event, at = self.state_event, self.state_at
        if not event or at is None:
            return None
        source = SignalSource.HOOK
        if event == "SessionEnd":
            state = ActivityState.IDLE if self.end_reason == "clear" else ActivityState.EXITED
            return ActivitySignal(state, source, at, self.detail)
        if event == "Notification" and self.pending_permission is not None:
            return ActivitySignal(
                ActivityState.WAITING_INPUT, source, at, self.detail, self.pending_permission
            )
        if event == "SessionStart":
            if self.start_source == "startup":
                # ao-tui starts Gemini on its task (``--prompt-interactive``), accepted right
                # after this hook.
                return ActivitySignal(ActivityState.WORKING, source, at, "starting on the task")
            return ActivitySignal(ActivityState.IDLE, source, at, self.detail)
        if event == "AfterAgent":
            return ActivitySignal(ActivityState.IDLE, source, at, self.detail)
        return ActivitySignal(ActivityState.WORKING, source, at, self.detail)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect``."""
        return {
            **super().summary(),
            "pending_permission": (
                None if self.pending_permission is None else self.pending_permission.to_json()
            ),
            "prompts": [{"text": p.text, "at": p.at} for p in self.prompts[-3:]],
            "session_end_reason": self.end_reason,
        }
