"""The signals Claude Code writes, written the same way: hooks, transcript and status file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import bounded_json
from plugins.agent.claude_code.paths import status_dir, transcript_path
from plugins.agent.claude_code.settings import SETTINGS_FILE
from plugins.agent.claude_code.status import process_start
from plugins.agent.demo_program.scenario import HOOK_TIMEOUT, MODEL, VERSION
from plugins.agent.demo_program.screen import Entry, prompt_entry

# -- the signals Claude Code writes ------------------------------------------------------------


def _now_iso() -> str:
    """The current time as Claude writes it in transcripts (``2026-02-10T22:57:54.684Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now_ms() -> int:
    """The current time in epoch milliseconds (status file fields)."""
    return int(time.time() * 1000)


def _matches(matcher: Any, value: str) -> bool:
    """Whether a settings ``matcher`` selects ``value`` (absent, empty or ``*``: all)."""
    if not isinstance(matcher, str) or matcher in ("", "*"):
        return True
    try:
        return re.fullmatch(matcher, value) is not None
    except re.error:
        return matcher == value


def hook_commands(settings: Any, event: str, match_value: str) -> list[str]:
    """The command hooks ``settings`` (a settings.json object) runs for ``event``."""
    hooks = settings.get("hooks") if isinstance(settings, dict) else None
    entries = hooks.get(event) if isinstance(hooks, dict) else None
    commands: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not _matches(entry.get("matcher"), match_value):
            continue
        for hook in entry.get("hooks") or []:
            if (
                isinstance(hook, dict)
                and hook.get("type") == "command"
                and isinstance(hook.get("command"), str)
            ):
                commands.append(hook["command"])
    return commands


_MATCH_FIELDS = {
    "PreToolUse": "tool_name",
    "PostToolUse": "tool_name",
    "PermissionRequest": "tool_name",
    "SessionStart": "source",
    "SessionEnd": "reason",
    "Notification": "notification_type",
    "StopFailure": "error",
}
"""The payload field each event's matcher is checked against."""


class SignalWriter:
    """Writes what Claude Code writes: hook calls, transcript lines and the status file."""

    def __init__(self, session_id: str, cwd: Path, config_dir: Path, *, resume: bool) -> None:
        """Signals of ``session_id`` started in ``cwd``; ``resume`` continues its transcript."""
        self.session_id = session_id
        self.cwd = cwd
        self.transcript = transcript_path(config_dir, cwd, session_id)
        self.status_path = status_dir(config_dir) / f"{os.getpid()}.json"
        self._started_ms = _now_ms()
        self._proc_start = process_start(os.getpid()) or ""
        self._parent = last_uuid(self.transcript) if resume else None
        self._prompt_id = ""
        self._context_tokens = 9000

    # hooks

    def hook(self, event: str, **fields: Any) -> None:
        """Run the hooks configured for ``event`` with Claude's payload for it."""
        payload: dict[str, Any] = {
            "session_id": self.session_id,
            "transcript_path": str(self.transcript),
            "cwd": str(self.cwd),
        }
        if self._prompt_id and event not in ("SessionStart", "SessionEnd"):
            payload["prompt_id"] = self._prompt_id
        payload.update(permission_mode="default", hook_event_name=event, **fields)
        try:
            settings = bounded_json.loads((self.cwd / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        match_value = str(fields.get(_MATCH_FIELDS.get(event, ""), ""))
        data = (json.dumps(payload, ensure_ascii=False) + "\n").encode()
        env = {**os.environ, "CLAUDE_PROJECT_DIR": str(self.cwd)}
        for command in hook_commands(settings, event, match_value):
            # This emulates Claude Code's documented hook execution: each "command" hook of
            # the event runs through the shell, in the session's cwd, with the event's JSON
            # (ending in a newline, as Claude writes it) on stdin. The command is the user's
            # (or ao-tui's) own setting, run exactly as Claude would run it.
            try:
                subprocess.run(
                    ["/bin/sh", "-c", command],
                    input=data,
                    cwd=self.cwd,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=HOOK_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError):
                pass  # a broken hook must not stop the agent, in Claude either

    # status file

    def status(self, state: str, waiting_for: str = "") -> None:
        """Rewrite the status file: ``busy``, ``idle`` or ``waiting`` (for ``waiting_for``)."""
        now = _now_ms()
        data: dict[str, Any] = {
            "pid": os.getpid(),
            "sessionId": self.session_id,
            "cwd": str(self.cwd),
            "startedAt": self._started_ms,
            "procStart": self._proc_start,
            "version": VERSION,
            "kind": "interactive",
            "entrypoint": "cli",
            "status": state,
            "updatedAt": now,
            "statusUpdatedAt": now,
        }
        if waiting_for:
            data["waitingFor"] = waiting_for
        _write_atomically(self.status_path, json.dumps(data))

    def remove_status(self) -> None:
        """Delete the status file, as Claude does on exit."""
        with contextlib.suppress(OSError):
            self.status_path.unlink()

    # transcript

    def _append(self, entry: dict[str, Any]) -> str:
        """Append one chained transcript line; its uuid."""
        line_uuid = str(uuid.uuid4())
        record = {
            "parentUuid": self._parent,
            "isSidechain": False,
            **entry,
            "uuid": line_uuid,
            "timestamp": _now_iso(),
            "userType": "external",
            "entrypoint": "cli",
            "cwd": str(self.cwd),
            "sessionId": self.session_id,
            "version": VERSION,
        }
        self._write_line(record)
        self._parent = line_uuid
        return line_uuid

    def _write_line(self, record: dict[str, Any]) -> None:
        """Append one JSON line to the transcript."""
        with contextlib.suppress(OSError):
            self.transcript.parent.mkdir(parents=True, exist_ok=True)
            with self.transcript.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def user_prompt(self, text: str, source: str = "typed") -> None:
        """A prompt the agent accepted (typed, pasted, given at launch or queued)."""
        self._prompt_id = str(uuid.uuid4())
        self._append(
            {
                "promptId": self._prompt_id,
                "type": "user",
                "message": {"role": "user", "content": text},
                "permissionMode": "default",
                "origin": {"kind": "human"},
                "promptSource": source,
            }
        )

    def _assistant(self, content: list[dict[str, Any]], stop_reason: str | None) -> None:
        """One assistant line with its usage."""
        text = json.dumps(content)
        output_tokens = max(1, len(text) // 4)
        self._context_tokens += output_tokens + 120
        self._append(
            {
                "type": "assistant",
                "message": {
                    "id": f"msg_demo_{uuid.uuid4().hex[:24]}",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": content,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 120,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": self._context_tokens,
                        "output_tokens": output_tokens,
                    },
                },
                "requestId": f"req_demo_{uuid.uuid4().hex[:24]}",
            }
        )

    def assistant_text(self, text: str, *, final: bool) -> None:
        """What the agent says; ``final`` marks the last words of a turn."""
        self._assistant([{"type": "text", "text": text}], "end_turn" if final else None)

    def tool_use(self, name: str, tool_input: dict[str, Any]) -> str:
        """A tool call; its id."""
        tool_id = f"toolu_demo_{uuid.uuid4().hex[:24]}"
        block = {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}
        self._assistant([block], "tool_use")
        return tool_id

    def tool_result(self, tool_id: str, content: str, *, is_error: bool, result: Any) -> None:
        """The answer to tool call ``tool_id``."""
        block = {
            "tool_use_id": tool_id,
            "type": "tool_result",
            "content": content,
            "is_error": is_error,
        }
        self._append(
            {
                "promptId": self._prompt_id,
                "type": "user",
                "message": {"role": "user", "content": [block]},
                "toolUseResult": result,
            }
        )

    def interrupt(self, *, for_tool: bool) -> None:
        """The operator stopped the turn (Escape, or a rejected permission prompt)."""
        text = "[Request interrupted by user" + (" for tool use]" if for_tool else "]")
        self._append(
            {
                "promptId": self._prompt_id,
                "type": "user",
                "message": {"role": "user", "content": [{"type": "text", "text": text}]},
            }
        )

    def api_error(self, text: str) -> None:
        """The synthetic message Claude writes when it gives up on a failing API."""
        self._append(
            {
                "type": "assistant",
                "message": {
                    "id": str(uuid.uuid4()),
                    "model": "<synthetic>",
                    "role": "assistant",
                    "stop_reason": "stop_sequence",
                    "stop_sequence": "",
                    "type": "message",
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                    "content": [{"type": "text", "text": text}],
                },
                "error": "server_error",
                "isApiErrorMessage": True,
                "apiErrorStatus": 500,
            }
        )

    def turn_end(self, duration_ms: int, *, after_stop_hook: bool) -> None:
        """The markers closing a turn: the Stop hook summary (if it ran) and the duration."""
        if after_stop_hook:
            self._append(
                {
                    "type": "system",
                    "subtype": "stop_hook_summary",
                    "hookCount": 1,
                    "hookErrors": [],
                    "preventedContinuation": False,
                    "stopReason": "",
                    "hasOutput": False,
                    "level": "suggestion",
                }
            )
        self._append(
            {
                "type": "system",
                "subtype": "turn_duration",
                "durationMs": duration_ms,
                "isMeta": False,
            }
        )

    def queue(self, operation: str, text: str = "") -> None:
        """A message typed while busy (``enqueue``) or taken up later (``dequeue``)."""
        record: dict[str, Any] = {
            "type": "queue-operation",
            "operation": operation,
            "timestamp": _now_iso(),
            "sessionId": self.session_id,
        }
        if text:
            record["content"] = text
        self._write_line(record)


def earlier_conversation(path: Path, limit: int = 30) -> list[Entry]:
    """The last ``limit`` blocks of a transcript, shown again when a session is resumed."""
    entries: list[Entry] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return entries
    for line in lines:
        try:
            record = bounded_json.loads_line(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        message = record.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if record.get("type") == "user" and isinstance(content, str):
            entries.append(prompt_entry(content))
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and record.get("type") == "assistant":
                entries.append(Entry(str(block.get("text", ""))))
            elif block.get("type") == "tool_use":
                entries.append(Entry(f"{block.get('name')}(…)"))
    return entries[-limit:]


def last_uuid(path: Path) -> str | None:
    """The uuid of the last chained line of a transcript (where ``--resume`` continues)."""
    found: str | None = None
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            entry = bounded_json.loads_line(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("uuid"), str):
            found = entry["uuid"]
    return found


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a reader never sees half a file."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
