"""The ao-tui demo agent: a scripted stand-in for Claude Code, used by ``ao-tui demo``.

It is not an AI. It draws a Claude-like screen, edits and commits a small sample project in
its worktree, asks permission before a "dangerous" command, goes idle and answers messages,
all from a script. It writes the same signals Claude Code writes — the hooks configured in
``.claude/settings.local.json``, a transcript under ``$CLAUDE_CONFIG_DIR/projects`` and the
status file ``$CLAUDE_CONFIG_DIR/sessions/<pid>.json`` — so the cockpit detects it exactly
as it detects the real agent. Run in its worktree as::

    python -m plugins.agent.demo_program --session-id UUID [--resume UUID]
        [--scenario NAME] [--speed X] PROMPT

Scenarios (``--scenario``, else a ``demo-scenario: NAME`` line in the prompt, else derived
from the session id): ``permission``, ``commit-and-idle``, ``long-work``, ``failing-test``,
``error`` and ``exit``. Every pause is divided by ``--speed``. Standard library only, plus
ao-tui's own path helpers: it must run on a fresh machine with no network.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import difflib
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import textwrap
import time
import tty
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from core import bounded_json
from core.git import run_git
from core.slots import SlotError
from plugins.agent.claude_code.paths import claude_config_dir, status_dir, transcript_path
from plugins.agent.claude_code.plugin import SETTINGS_FILE
from plugins.agent.claude_code.screen import PROMPT_CHAR
from plugins.agent.claude_code.status import process_start

BANNER_TITLE = "ao-tui DEMO agent — scripted, not an AI"
VERSION = "demo"
"""What the status file and transcript give as the agent's version."""
MODEL = "ao-tui-demo-script"
SPEED_ENV = "AO_TUI_DEMO_SPEED"
"""Environment variable giving the default ``--speed`` (the sandbox sets it per project)."""

SCENARIOS: tuple[str, ...] = (
    "permission",
    "commit-and-idle",
    "long-work",
    "failing-test",
    "error",
    "exit",
)
DERIVED_SCENARIOS = SCENARIOS[:-1]
"""Scenarios picked when none is asked for: a demo agent never quits unless told to."""
_SCENARIO_TAG = re.compile(r"^[ \t]*demo-scenario:[ \t]*([a-z-]+)[ \t]*$", re.MULTILINE)

MAX_WIDTH = 80
MIN_WIDTH = 40
FRAME = 0.25
"""Seconds between two screen refreshes while working (the spinner counts seconds)."""
ESCAPE_WAIT = 0.05
"""How long a lone ESC byte waits for the rest of an escape sequence."""
IDLE_NOTIFY = 60.0
"""Seconds idle before the ``idle_prompt`` notification, as Claude Code sends it."""
PERMISSION_NOTIFY = 6.0
"""Seconds a permission prompt waits before the ``permission_prompt`` notification."""
HOOK_TIMEOUT = 10.0

STEP_SECONDS = {"think": 2.0, "read": 0.6, "edit": 0.9, "test": 1.2, "commit": 0.7, "bash": 0.8}
"""How long each kind of step pretends to take at speed 1."""

API_ERROR_TEXT = (
    "API Error: 500 Internal server error. This is a server-side issue, usually temporary "
    "— try again in a moment. (Scripted by the ao-tui demo: no API was called.)"
)
REJECTED_TEXT = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected. "
    "STOP what you are doing and wait for the user to tell you how to proceed."
)
INTERRUPTED_SHOWN = "Interrupted · What should Claude do instead?"
GIT_IDENTITY = (
    "-c",
    "user.name=ao-tui demo agent",
    "-c",
    "user.email=demo-agent@ao-tui.invalid",
    "-c",
    "commit.gpgsign=false",
)
"""So commits work on a machine where git has no identity configured."""


# -- scenario choice -------------------------------------------------------------------------


def scenario_from_prompt(prompt: str) -> str | None:
    """The scenario a ``demo-scenario: NAME`` line of the prompt asks for, if it is known."""
    match = _SCENARIO_TAG.search(prompt)
    if match and match.group(1) in SCENARIOS:
        return match.group(1)
    return None


def derive_scenario(session_id: str, prompt: str) -> str:
    """The prompt's scenario tag, else one picked deterministically from the session id."""
    tagged = scenario_from_prompt(prompt)
    if tagged is not None:
        return tagged
    digest = hashlib.sha1(session_id.encode()).digest()
    return DERIVED_SCENARIOS[digest[0] % len(DERIVED_SCENARIOS)]


# -- keyboard ----------------------------------------------------------------------------------

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
_CONTROL_KEYS = {
    "\r": "enter",
    "\n": "enter",
    "\x03": "interrupt",
    "\x7f": "backspace",
    "\x08": "backspace",
}


@dataclass(frozen=True)
class Key:
    """One thing the operator did: ``text``, ``paste``, ``enter``, ``escape``,
    ``backspace`` or ``interrupt`` (Ctrl-C)."""

    kind: str
    text: str = ""


class KeyDecoder:
    """Turns terminal input into keys; a bracketed paste arrives as one key, however split."""

    def __init__(self) -> None:
        """Start with nothing pending."""
        self._pending = ""
        self._paste: list[str] | None = None

    def feed(self, data: str) -> list[Key]:
        """The keys completed by ``data``; an unfinished sequence waits for the next call."""
        self._pending += data
        keys: list[Key] = []
        while self._pending:
            if self._paste is not None:
                if not self._take_paste(keys):
                    break
            elif self._pending[0] == "\x1b":
                if not self._take_escape(keys):
                    break
            else:
                char, self._pending = self._pending[0], self._pending[1:]
                if char in _CONTROL_KEYS:
                    keys.append(Key(_CONTROL_KEYS[char]))
                elif char.isprintable():
                    _add_text(keys, char)
        return keys

    def holds_escape(self) -> bool:
        """Whether input ended on a lone ESC: the Escape key, or the start of a sequence."""
        return self._paste is None and self._pending == "\x1b"

    def flush(self) -> list[Key]:
        """Input went quiet: a lone ESC was the Escape key; a broken sequence is dropped."""
        if self._paste is not None:
            return []
        pending, self._pending = self._pending, ""
        return [Key("escape")] if pending == "\x1b" else []

    def _take_paste(self, keys: list[Key]) -> bool:
        """Collect pasted text up to the end marker; False while the marker is missing."""
        assert self._paste is not None
        end = self._pending.find(PASTE_END)
        if end < 0:
            # Keep a tail that may be the start of a marker split across reads.
            keep = len(PASTE_END) - 1
            self._paste.append(self._pending[:-keep])
            self._pending = self._pending[-keep:]
            return False
        self._paste.append(self._pending[:end])
        keys.append(Key("paste", "".join(self._paste)))
        self._paste = None
        self._pending = self._pending[end + len(PASTE_END) :]
        return True

    def _take_escape(self, keys: list[Key]) -> bool:
        """Decode an escape sequence; False when more input is needed to decide."""
        if len(self._pending) < 2:
            return False
        if self._pending[1] not in "[O":
            keys.append(Key("escape"))
            self._pending = self._pending[1:]
            return True
        for index in range(2, len(self._pending)):
            if "\x40" <= self._pending[index] <= "\x7e":
                sequence = self._pending[: index + 1]
                self._pending = self._pending[index + 1 :]
                if sequence == PASTE_START:
                    self._paste = []
                return True  # arrows, focus events and the like do nothing here
        if len(self._pending) > 32:
            self._pending = self._pending[1:]  # not a sequence after all: drop the ESC
            return True
        return False


def _add_text(keys: list[Key], text: str) -> None:
    """Append typed text, merged with the text key before it."""
    if keys and keys[-1].kind == "text":
        keys[-1] = Key("text", keys[-1].text + text)
    else:
        keys.append(Key("text", text))


# -- screen ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One block of the conversation, wrapped under its first-line marker."""

    text: str
    first: str = "● "
    rest: str = "  "


def prompt_entry(text: str) -> Entry:
    """An echoed user prompt (the prompt mark, then the text)."""
    return Entry(text, f"{PROMPT_CHAR} ", "  ")


def result_entry(text: str) -> Entry:
    """What a tool call produced, under its ``⎿``."""
    return Entry(text, "  ⎿  ", "     ")


@dataclass(frozen=True)
class PermissionAsk:
    """A permission dialog: the tool's title, the command and what it is for."""

    title: str
    command: str
    description: str
    family: str
    """What "don't ask again" would cover, e.g. ``rm``."""


@dataclass
class Screen:
    """Everything the demo agent shows; :func:`render` lays it out."""

    about: list[str]
    """Lines under the banner's title."""
    history: list[Entry] = field(default_factory=list)
    mode: str = "idle"
    """``working``, ``permission`` or ``idle``."""
    spinner: str = ""
    draft: str = ""
    """Text typed or pasted but not sent yet."""
    queued: list[str] = field(default_factory=list)
    permission: PermissionAsk | None = None


def fit(line: str, width: int) -> str:
    """``line`` cut to ``width`` columns with an ellipsis."""
    return line if len(line) <= width else line[: width - 1] + "…"


def wrap_entry(entry: Entry, width: int) -> list[str]:
    """The screen lines of one conversation block."""
    lines: list[str] = []
    for index, paragraph in enumerate(entry.text.split("\n")):
        indent = entry.first if index == 0 else entry.rest
        wrapped = textwrap.wrap(
            paragraph, width=width, initial_indent=indent, subsequent_indent=entry.rest
        )
        lines.extend(wrapped or [indent.rstrip()])
    return lines


def banner(about: Sequence[str], width: int) -> list[str]:
    """The box at the top that says what this program is."""
    title = f"╭─── {BANNER_TITLE} "
    top = fit(title, width - 1) + "─" * max(0, width - len(title) - 1) + "╮"
    inner = width - 4
    rows = [f"│ {fit(text, inner).ljust(inner)} │" for text in about]
    return [top, *rows, "╰" + "─" * (width - 2) + "╯"]


def draft_view(draft: str) -> str:
    """What the input line shows of a draft: its end, or a note for a multi-line paste."""
    lines = draft.split("\n")
    if len(lines) > 1:
        return f"[Pasted text +{len(lines)} lines]"
    return draft


def permission_lines(ask: PermissionAsk, width: int) -> list[str]:
    """The permission dialog, shaped like Claude Code's."""
    command = textwrap.wrap(ask.command, width=width, initial_indent="   ", subsequent_indent="   ")
    return [
        f" {ask.title}",
        *command,
        f"   {ask.description}",
        "",
        " Do you want to proceed?",
        f" {PROMPT_CHAR} 1. Yes",
        f"   2. Yes, and don't ask again for {ask.family} commands in this project",
        "   3. No",
        "",
        " Esc to cancel · Tab to amend",
    ]


def bottom_lines(screen: Screen, width: int) -> list[str]:
    """The part under the conversation: spinner and input box, or the permission dialog."""
    rule = "─" * width
    if screen.mode == "permission" and screen.permission is not None:
        return [rule, *permission_lines(screen.permission, width)]
    lines: list[str] = []
    if screen.mode == "working":
        lines.append(screen.spinner)
        lines.extend(f"  {PROMPT_CHAR} {draft_view(text)}" for text in screen.queued)
    if screen.queued and not screen.draft:
        box = f"{PROMPT_CHAR} Press up to edit queued messages"
    else:
        box = f"{PROMPT_CHAR} {draft_view(screen.draft)}"
    if screen.mode == "working":
        footer = "  esc to interrupt"
    else:
        footer = "" if screen.draft else "  ? for shortcuts"
    return [*lines, rule, box, rule, footer]


def render(screen: Screen, width: int, height: int) -> list[str]:
    """The screen as at most ``height`` lines of at most 80 columns: banner, the newest part
    of the conversation, then the input box or the dialog."""
    width = max(MIN_WIDTH, min(width, MAX_WIDTH))
    top = banner(screen.about, width)
    bottom = bottom_lines(screen, width)
    room = max(0, height - len(top) - len(bottom))
    body: list[str] = []
    for entry in reversed(screen.history):
        if len(body) >= room:
            break
        body[:0] = wrap_entry(entry, width)
    body = body[max(0, len(body) - room) :] if room else []
    lines = [*top, *body, *bottom]
    return [fit(line, width) for line in lines[-max(1, height) :]]


_DIM, _GREEN, _RED, _YELLOW, _CYAN, _RESET = (
    "\x1b[2m",
    "\x1b[32m",
    "\x1b[31m",
    "\x1b[1;33m",
    "\x1b[36m",
    "\x1b[0m",
)


def style(line: str) -> str:
    """A rendered line with a few colours; the text itself is unchanged."""
    if line.startswith("╭───"):
        return _YELLOW + line + _RESET
    if line.startswith("● API Error"):
        return _RED + line + _RESET
    if line.startswith("●"):
        return _GREEN + "●" + _RESET + line[1:]
    if line.startswith(("  ⎿", "  esc to", "  ? for", "✻ Worked")):
        return _DIM + line + _RESET
    if line.startswith(f" {PROMPT_CHAR} 1."):
        return _CYAN + line + _RESET
    return line


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


# -- the scripted work on the sample project ---------------------------------------------------

Rewrite = Callable[[str | None], str | None]
"""A file's new text from its current text (None: missing); None when it does not fit."""


@dataclass(frozen=True)
class FileEdit:
    """One file a change writes."""

    path: str
    rewrite: Rewrite


@dataclass(frozen=True)
class PlannedEdit:
    """A file edit worked out against the worktree: the text before (None: new) and after."""

    path: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Change:
    """One scripted improvement of the sample project, committed on its own."""

    intent: str
    """What the agent says before starting it."""
    message: str
    """The commit message."""
    edits: tuple[FileEdit, ...]
    run_tests: bool = True
    test_after_commit: bool = False

    def plan(self, root: Path) -> list[PlannedEdit] | None:
        """Every edit against the files in ``root``, or None when the change does not fit."""
        planned: list[PlannedEdit] = []
        for edit in self.edits:
            target = root / edit.path
            try:
                old = target.read_text(encoding="utf-8") if target.exists() else None
            except (OSError, UnicodeDecodeError):
                return None
            new = edit.rewrite(old)
            if new is None:
                return None
            planned.append(PlannedEdit(edit.path, old, new))
        return planned


def append_once(marker: str, addition: str) -> Rewrite:
    """Append ``addition`` to an existing file that does not contain ``marker`` yet."""

    def rewrite(text: str | None) -> str | None:
        if text is None or marker in text:
            return None
        return text.rstrip("\n") + "\n" + addition

    return rewrite


def create_file(content: str) -> Rewrite:
    """Create a file that does not exist yet."""
    return lambda text: content if text is None else None


def replace_once(old: str, new: str) -> Rewrite:
    """Replace the first ``old`` of an existing file."""
    return lambda text: text.replace(old, new, 1) if text is not None and old in text else None


def changelog_entry(line: str) -> Rewrite:
    """Add ``- line`` under the changelog's first heading (creating the file if needed)."""

    def rewrite(text: str | None) -> str:
        if not text:
            return f"# Changelog\n\n## Unreleased\n\n- {line}\n"
        head, sep, tail = text.partition("## Unreleased\n")
        if not sep:
            return text.rstrip("\n") + f"\n\n## Unreleased\n\n- {line}\n"
        return f"{head}{sep}\n- {line}" + ("\n" if not tail.startswith("\n") else "") + tail

    return rewrite


GOOD_TOTAL = "        return sum(line.unit_cents * line.quantity for line in self.lines)\n"
FAST_TOTAL = (
    "        # Faster: skip the multiplication (quantities are almost always 1).\n"
    "        return sum(line.unit_cents for line in self.lines)\n"
)
DISCOUNT_LINE = "    return cents - cents * percent // 100\n"

FORMAT_PRICE = Change(
    intent="I'll add a format_price() helper to shop/pricing.py, with a test.",
    message="Add format_price() for showing prices",
    edits=(
        FileEdit(
            "shop/pricing.py",
            append_once(
                "def format_price",
                "\n\ndef format_price(cents: int) -> str:\n"
                '    """``1234`` as ``"$12.34"``."""\n'
                '    return f"${cents // 100}.{cents % 100:02d}"\n',
            ),
        ),
        FileEdit(
            "tests/test_format_price.py",
            create_file(
                '"""format_price() shows cents as dollars."""\n\n'
                "import unittest\n\n"
                "from shop.pricing import format_price\n\n\n"
                "class FormatPriceTest(unittest.TestCase):\n"
                "    def test_dollars_and_cents(self) -> None:\n"
                '        self.assertEqual(format_price(1234), "$12.34")\n\n'
                "    def test_pads_cents(self) -> None:\n"
                '        self.assertEqual(format_price(905), "$9.05")\n'
            ),
        ),
        FileEdit("CHANGELOG.md", changelog_entry("Add `format_price()`.")),
    ),
)
CLAMP_DISCOUNT = Change(
    intent="apply_discount() goes negative above 100 %; I'll clamp it and test the bounds.",
    message="Clamp discounts to 0-100 %",
    edits=(
        FileEdit(
            "shop/pricing.py",
            replace_once(
                DISCOUNT_LINE,
                "    percent = max(0, min(percent, 100))\n" + DISCOUNT_LINE,
            ),
        ),
        FileEdit(
            "tests/test_discount_bounds.py",
            create_file(
                '"""Discounts stay between nothing off and everything off."""\n\n'
                "import unittest\n\n"
                "from shop.pricing import apply_discount\n\n\n"
                "class DiscountBoundsTest(unittest.TestCase):\n"
                "    def test_more_than_everything_off_is_free(self) -> None:\n"
                "        self.assertEqual(apply_discount(1000, 150), 0)\n\n"
                "    def test_negative_discount_changes_nothing(self) -> None:\n"
                "        self.assertEqual(apply_discount(1000, -5), 1000)\n"
            ),
        ),
        FileEdit("CHANGELOG.md", changelog_entry("Discounts are clamped to 0-100 %.")),
    ),
)
ITEM_COUNT = Change(
    intent="I'll add item_count() so the header can show how many items are in the cart.",
    message="Add item_count() for the cart badge",
    edits=(
        FileEdit(
            "shop/cart.py",
            append_once(
                "def item_count",
                "\n\ndef item_count(cart: Cart) -> int:\n"
                '    """How many items the cart holds, quantities included."""\n'
                "    return sum(line.quantity for line in cart.lines)\n",
            ),
        ),
        FileEdit(
            "tests/test_item_count.py",
            create_file(
                '"""item_count() counts quantities, not lines."""\n\n'
                "import unittest\n\n"
                "from shop.cart import Cart, item_count\n\n\n"
                "class ItemCountTest(unittest.TestCase):\n"
                "    def test_counts_quantities(self) -> None:\n"
                "        cart = Cart()\n"
                '        cart.add("apple", 50, quantity=3)\n'
                '        cart.add("pear", 80)\n'
                "        self.assertEqual(item_count(cart), 4)\n"
            ),
        ),
        FileEdit("CHANGELOG.md", changelog_entry("Add `item_count()`.")),
    ),
)
README_USAGE = Change(
    intent="I'll document how to use the package in the README.",
    message="Document usage in the README",
    edits=(
        FileEdit(
            "README.md",
            append_once(
                "## Usage",
                "\n## Usage\n\n"
                "```python\n"
                "from shop.cart import Cart\n\n"
                "cart = Cart()\n"
                'cart.add("apple", 50, quantity=3)\n'
                "print(cart.total_cents())  # 150\n"
                "```\n",
            ),
        ),
    ),
    run_tests=False,
)
BREAK_TOTAL = Change(
    intent="Cart.total_cents() multiplies on every line; I'll make it faster.",
    message="Speed up Cart.total_cents()",
    edits=(FileEdit("shop/cart.py", replace_once(GOOD_TOTAL, FAST_TOTAL)),),
    test_after_commit=True,
)
FIX_TOTAL = Change(
    intent="You're right: the 'optimisation' ignored quantities. Reverting it.",
    message="Count quantities in Cart.total_cents() again",
    edits=(FileEdit("shop/cart.py", replace_once(FAST_TOTAL, GOOD_TOTAL)),),
)
GENERAL_CHANGES: tuple[Change, ...] = (ITEM_COUNT, FORMAT_PRICE, CLAMP_DISCOUNT, README_USAGE)
"""What any turn may pick up next, in order, once the ones it prefers are done."""


def review_note(number: int) -> Change:
    """The change used when nothing else fits: a changelog line, which always does."""
    return Change(
        intent="Everything on my list is done; I'll record this review pass in the changelog.",
        message=f"Record review pass {number} in the changelog",
        edits=(
            FileEdit("CHANGELOG.md", changelog_entry(f"Reviewed the code (demo pass {number}).")),
        ),
        run_tests=False,
    )


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call produced: what the screen shows and what the transcript records."""

    shown: str
    content: str
    is_error: bool = False
    response: dict[str, Any] = field(default_factory=dict)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``root`` with the demo agent's identity; the caller reads the exit status."""
    return run_git(args, cwd=root, check=False, config=GIT_IDENTITY)


def commit(root: Path, paths: Sequence[str], message: str) -> ToolOutcome:
    """Stage ``paths`` and commit them; the ``[branch sha] message`` line git would print."""
    try:
        for args in (("add", "--", *paths), ("commit", "--quiet", "--no-verify", "-m", message)):
            done = _git(root, *args)
            if done.returncode != 0:
                error = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
                return ToolOutcome(f"Error: {error}", error, is_error=True)
        sha = _git(root, "log", "-1", "--format=%h").stdout.strip()
        branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    except SlotError as exc:  # git missing or hung
        return ToolOutcome(f"Error: {exc}", str(exc), is_error=True)
    line = f"[{branch} {sha}] {message}"
    return ToolOutcome(line, line, response={"stdout": line, "stderr": "", "interrupted": False})


_TEST_SUMMARY = ("FAIL:", "ERROR:", "Ran ", "OK", "FAILED", "NO TESTS")


def run_tests(root: Path) -> ToolOutcome:
    """Run ``python -m unittest -q`` for real; the summary lines, an error if it failed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep __pycache__ out of the worktree
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "unittest", "-q"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolOutcome(f"Error: {exc}", str(exc), is_error=True)
    output = (proc.stdout + proc.stderr).strip()
    summary = [line for line in output.splitlines() if line.startswith(_TEST_SUMMARY)]
    shown = "\n".join(summary[-4:]) or (output.splitlines() or ["(No output)"])[-1]
    response = {"stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:], "interrupted": False}
    return ToolOutcome(shown, output[-4000:], is_error=proc.returncode != 0, response=response)


def diff_counts(old: str, new: str) -> tuple[list[str], list[str]]:
    """The lines added and removed between two texts."""
    added: list[str] = []
    removed: list[str] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
        elif line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
    return added, removed


def _plural(count: int, word: str) -> str:
    """``1 addition`` / ``2 additions``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


# -- the terminal ------------------------------------------------------------------------------


class Terminal:
    """The pane: raw keyboard input with bracketed paste, and whole-screen redraws."""

    def __init__(self, fd_in: int = 0, fd_out: int = 1) -> None:
        """Use file descriptors ``fd_in`` and ``fd_out`` (a tty, or anything for tests)."""
        self._in = fd_in
        self._out = fd_out
        self._saved: list[Any] | None = None
        self._decoder = KeyDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self.input_closed = False
        self.output_gone = False

    def __enter__(self) -> Terminal:
        """Raw mode, bracketed paste on (``ESC[?2004h``), cursor hidden, screen cleared."""
        if os.isatty(self._in):
            with contextlib.suppress(termios.error):
                self._saved = termios.tcgetattr(self._in)
                tty.setraw(self._in)
        self.write("\x1b[?2004h\x1b[?25l\x1b[2J")
        return self

    def __exit__(self, *exc: object) -> None:
        """Give the terminal back as it was."""
        self.write("\x1b[?2004l\x1b[?25h\r\n")
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._in, termios.TCSADRAIN, self._saved)

    def size(self) -> tuple[int, int]:
        """Columns and lines; 80x24 when not a terminal."""
        try:
            size = os.get_terminal_size(self._out)
        except OSError:
            return 80, 24
        return size.columns, size.lines

    def draw(self, lines: Sequence[str]) -> None:
        """Repaint the whole screen from the top."""
        rows = "\r\n".join(style(line) + "\x1b[K" for line in lines)
        self.write("\x1b[H" + rows + "\x1b[J")

    def write(self, text: str) -> None:
        """Write to the pane; once the pane is gone (killed), writes are dropped."""
        if self.output_gone:
            return
        data = text.encode("utf-8", errors="replace")
        try:
            while data:
                data = data[os.write(self._out, data) :]
        except OSError:
            self.output_gone = True

    def read_keys(self, timeout: float) -> list[Key]:
        """The keys pressed within ``timeout`` seconds (returns early when some arrive)."""
        if self.input_closed:
            time.sleep(timeout)
            return []
        try:
            ready, _, _ = select.select([self._in], [], [], max(0.0, timeout))
            if not ready:
                return self._decoder.flush()
            data = os.read(self._in, 4096)
        except (OSError, ValueError):
            data = b""
        if not data:
            self.input_closed = True
            return self._decoder.flush()
        keys = self._decoder.feed(self._utf8.decode(data))
        if self._decoder.holds_escape():
            ready, _, _ = select.select([self._in], [], [], ESCAPE_WAIT)
            if not ready:
                keys += self._decoder.flush()
        return keys


# -- the agent ---------------------------------------------------------------------------------


class Quit(Exception):
    """The program must end; ``reason`` is what the SessionEnd hook reports."""

    def __init__(self, reason: str) -> None:
        """End for ``reason`` (``prompt_input_exit``, ``other``)."""
        super().__init__(reason)
        self.reason = reason


class TurnInterrupted(Exception):
    """The operator stopped the turn: Escape while working, or a rejected permission prompt."""


@dataclass(frozen=True)
class Options:
    """The command line."""

    session_id: str
    resume: bool
    scenario: str
    speed: float
    prompt: str


_SPINNER_GLYPHS = "·✢✳✶✻✽"


class ScriptedAgent:
    """Plays one scenario in the worktree: turns of thinking, tool calls and commits."""

    def __init__(self, options: Options, terminal: Terminal, writer: SignalWriter) -> None:
        """Play ``options.scenario`` on ``terminal``, recording through ``writer``."""
        self.options = options
        self.terminal = terminal
        self.writer = writer
        self.root = writer.cwd
        self.screen = Screen(
            about=[
                "No model and no network: a script edits and commits in this worktree,",
                "so you can try ao-tui. Keys: Enter sends, Esc interrupts, Ctrl-C quits.",
                f"session {options.session_id[:8]} · scenario {options.scenario} · "
                f"speed {options.speed:g}x",
                _left_fit(str(self.root), MAX_WIDTH - 4),
            ]
        )
        self.stop_reason: str | None = None
        self.pace = 1.0
        """Multiplies every step's duration (the quick scenario halves it and more)."""
        self.queue: list[str] = []
        self.notes = 0
        self._turn_started = time.monotonic()
        self._turn_commits: list[str] = []
        self._tokens = 0
        self._pending_tool: str | None = None
        self._last_turn_failed = False

    # -- the main loop ---------------------------------------------------------------------

    def run(self) -> int:
        """Start (or resume), play the first turn, then answer messages until told to stop."""
        source = "resume" if self.options.resume else "startup"
        try:
            self.writer.hook("SessionStart", source=source, model=MODEL)
            self.writer.status("idle")
            if self.options.resume:
                self.screen.history += earlier_conversation(self.writer.transcript)
                self.screen.history.append(result_entry("Resumed this conversation."))
            elif self.options.prompt.strip():
                self.turn(self.options.prompt, source="typed", first=True)
            while True:
                if self.queue:
                    message = self.queue.pop(0)
                    self.screen.queued = list(self.queue)
                    self.writer.queue("dequeue")
                    self.turn(message, source="queued", first=False)
                else:
                    self.turn(self.wait_for_message(), source="typed", first=False)
        except Quit as stop:
            self.writer.hook("SessionEnd", reason=stop.reason)
            self.writer.remove_status()
        return 0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler (SIGTERM, SIGHUP): end at the next check, with SessionEnd."""
        self.stop_reason = "other"

    def check_stop(self) -> None:
        """Raise :class:`Quit` once a stop was requested."""
        if self.stop_reason is not None:
            raise Quit(self.stop_reason)

    def redraw(self) -> None:
        """Paint the screen at the terminal's size."""
        columns, lines = self.terminal.size()
        self.terminal.draw(render(self.screen, columns, lines))

    # -- turns -----------------------------------------------------------------------------

    def turn(self, prompt: str, *, source: str, first: bool) -> None:
        """Accept ``prompt`` and play the scenario's turn for it."""
        self._turn_started = time.monotonic()
        self._turn_commits = []
        self._tokens = 0
        self.screen.history.append(prompt_entry(prompt))
        self.writer.user_prompt(prompt, source)
        self.writer.hook("UserPromptSubmit", prompt=prompt)
        self.writer.status("busy")
        play: dict[str, Callable[[str, bool], None]] = {
            "permission": self.play_permission,
            "commit-and-idle": self.play_commits,
            "long-work": self.play_long_work,
            "failing-test": self.play_failing_test,
            "error": self.play_error,
            "exit": self.play_exit,
        }
        try:
            play[self.options.scenario](prompt, first)
        except TurnInterrupted:
            self.interrupted()

    def play_permission(self, prompt: str, first: bool) -> None:
        """Work, then wait on a permission prompt for a "dangerous" command."""
        self.open_turn(prompt, first, "I'll fix the discount bounds, then tidy the build output.")
        self.cycle(*self.pick(CLAMP_DISCOUNT))
        target = "build" if first else "dist"
        self.say(f"Stale artifacts in {target}/ can shadow the package; removing them.")
        self.bash(
            f"rm -rf {target}",
            f"Remove stale {target} output",
            lambda: self._remove_dir(target),
            ask=PermissionAsk(
                "Bash command", f"rm -rf {target}", f"Remove stale {target} output", "rm"
            ),
        )
        self.cycle(*self.pick(ITEM_COUNT))
        self.finish(f"{self.commits_summary()} {target}/ is gone.")

    def play_commits(self, prompt: str, first: bool) -> None:
        """Edit and commit, then go idle."""
        self.open_turn(prompt, first, "I'll add the helper first, then document it.")
        self.cycle(*self.pick(FORMAT_PRICE))
        if first:
            self.cycle(*self.pick(README_USAGE))
        self.finish(f"{self.commits_summary()} Tests pass.")

    def play_long_work(self, prompt: str, first: bool) -> None:
        """Keep working in cycles, committing now and then, reading queued messages between."""
        self.open_turn(prompt, first, "This is a long one; I'll work through it piece by piece.")
        while True:
            self.cycle(*self.pick())
            self.take_queued()
            self.think(STEP_SECONDS["think"] * 1.5, "Planning the next step")

    def play_failing_test(self, prompt: str, first: bool) -> None:
        """First turn: commit a change that breaks the tests. Later: fix it."""
        if first:
            self.open_turn(prompt, first, "I'll speed up the cart total.")
            self.cycle(*self.pick(BREAK_TOTAL))
            self.finish(
                "Committed the faster Cart.total_cents(), but `python -m unittest` now fails "
                "(test_total_counts_quantities). Tell me how to proceed."
            )
            return
        self.open_turn(prompt, first, "On it.")
        self.cycle(*self.pick(FIX_TOTAL))
        self.finish(f"{self.commits_summary()} Tests pass again.")

    def play_error(self, prompt: str, first: bool) -> None:
        """First turn: the API fails and the turn ends in an error. Later: work normally."""
        if not first:
            self.play_commits(prompt, first)
            return
        self.think(STEP_SECONDS["think"], "Thinking")
        self.read("shop/__init__.py")
        # Backing off as Claude does, long enough for the cockpit to tell "retrying" from
        # work: only the screen says so, while the status file goes on saying "busy".
        delays = (1, 2, 4, 8, 8)
        for attempt, delay in enumerate(delays, start=1):
            verb = f"API error · Retrying in {delay}s · attempt {attempt}/{len(delays)}"
            self.work(float(delay), verb)
        self.fail_with_api_error()

    def play_exit(self, prompt: str, first: bool) -> None:
        """Do one quick change, finish the turn, then exit on its own (status 0)."""
        self.pace = 0.4
        self.think(0.5, "Thinking", "Quick one: the README needs a usage section.")
        self.cycle(*self.pick(README_USAGE))
        self.finish(f"{self.commits_summary()} Nothing else to do, so I'm exiting.")
        self.pause(1.0)
        raise Quit("other")

    # -- turn building blocks --------------------------------------------------------------

    def open_turn(self, prompt: str, first: bool, plan: str) -> None:
        """Think, then say what comes next (a scripted reply to a message)."""
        if first:
            self.think(STEP_SECONDS["think"], "Thinking", plan)
        else:
            self.think(STEP_SECONDS["think"], "Thinking", scripted_reply(prompt))

    def pick(self, *preferred: Change) -> tuple[Change, list[PlannedEdit]]:
        """The first change (``preferred`` ones first) that still fits the worktree."""
        for change in (*preferred, *GENERAL_CHANGES):
            planned = change.plan(self.root)
            if planned is not None:
                return change, planned
        self.notes += 1
        note = review_note(self.notes)
        return note, note.plan(self.root) or []

    def cycle(self, change: Change, planned: list[PlannedEdit]) -> None:
        """Say it, read, edit, test and commit one change — each step a tool call."""
        self.think(STEP_SECONDS["think"] / 2, "Thinking", change.intent)
        if planned and planned[0].old is not None:
            self.read(planned[0].path)
        for edit in planned:
            self.edit(edit)
        if change.run_tests and not change.test_after_commit:
            self.run_tests_tool()
        paths = [edit.path for edit in planned]
        command = f"git add {' '.join(paths)} && git commit -m {json.dumps(change.message)}"
        outcome = self.bash(
            command,
            "Commit the change",
            lambda: commit(self.root, paths, change.message),
            step="commit",
        )
        if not outcome.is_error:
            self._turn_commits.append(change.message)
        if change.run_tests and change.test_after_commit:
            self.run_tests_tool()

    def run_tests_tool(self) -> ToolOutcome:
        """The Bash tool running the project's tests."""
        return self.bash(
            "python -m unittest -q", "Run the tests", lambda: run_tests(self.root), step="test"
        )

    def take_queued(self) -> None:
        """Read the messages queued while working, and answer each."""
        while self.queue:
            message = self.queue.pop(0)
            self.screen.queued = list(self.queue)
            self.writer.queue("dequeue")
            self.screen.history.append(prompt_entry(message))
            self.writer.user_prompt(message, "queued")
            self.writer.hook("UserPromptSubmit", prompt=message)
            self.say(scripted_reply(message))

    def finish(self, text: str) -> None:
        """End the turn normally: last words, Stop hook, idle."""
        self.say(text, final=True)
        self.writer.hook(
            "Stop", stop_hook_active=False, last_assistant_message=text, background_tasks=[]
        )
        self.writer.status("idle")
        self.writer.turn_end(self._turn_ms(), after_stop_hook=True)
        self.screen.history.append(Entry(f"Worked for {self._turn_ms() // 1000}s", "✻ "))
        self._last_turn_failed = False

    def fail_with_api_error(self) -> None:
        """End the turn on a (scripted) API error, as Claude does when it gives up."""
        self.screen.history.append(Entry(API_ERROR_TEXT))
        self.writer.api_error(API_ERROR_TEXT)
        self.writer.hook("StopFailure", error="server_error", last_assistant_message=API_ERROR_TEXT)
        self.writer.status("idle")
        self.writer.turn_end(self._turn_ms(), after_stop_hook=False)
        self.screen.history.append(Entry(f"Worked for {self._turn_ms() // 1000}s", "✻ "))
        self._last_turn_failed = True

    def interrupted(self) -> None:
        """The turn was stopped: Claude writes the interrupt, fires no Stop hook, goes idle."""
        if self._pending_tool is not None:
            self.writer.tool_result(
                self._pending_tool, REJECTED_TEXT, is_error=True, result=("User rejected tool use")
            )
        self.writer.interrupt(for_tool=self._pending_tool is not None)
        self._pending_tool = None
        self.screen.history.append(result_entry(INTERRUPTED_SHOWN))
        self.screen.permission = None
        self.writer.status("idle")

    def commits_summary(self) -> str:
        """One sentence about this turn's commits."""
        if not self._turn_commits:
            return "No commit this time."
        branch = _git(self.root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        return f"Committed on {branch or 'this branch'}: " + "; ".join(self._turn_commits) + "."

    def _turn_ms(self) -> int:
        """Milliseconds since the turn started."""
        return int((time.monotonic() - self._turn_started) * 1000)

    def _remove_dir(self, name: str) -> ToolOutcome:
        """``rm -rf NAME`` inside the worktree, done in Python."""
        shutil.rmtree(self.root / name, ignore_errors=True)
        return ToolOutcome("(No output)", "(Bash completed with no output)")

    # -- tools -----------------------------------------------------------------------------

    def say(self, text: str, *, final: bool = False) -> None:
        """Show and record something the agent says."""
        self.screen.history.append(Entry(text))
        self.writer.assistant_text(text, final=final)

    def think(self, seconds: float, verb: str, text: str = "") -> None:
        """Spin for a while, then say ``text`` if given."""
        self.work(seconds, verb)
        if text:
            self.say(text)

    def read(self, path: str) -> ToolOutcome:
        """The Read tool on a worktree file."""
        target = self.root / path

        def run() -> ToolOutcome:
            try:
                text = target.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                return ToolOutcome(f"Error: {exc.strerror}", str(exc), is_error=True)
            count = len(text.splitlines())
            return ToolOutcome(
                f"Read {_plural(count, 'line')}",
                text[:4000],
                response={"type": "text", "file": {"filePath": str(target), "numLines": count}},
            )

        return self.call_tool(
            "Read", f"Read({path})", {"file_path": str(target)}, "read", "Reading", run
        )

    def edit(self, edit: PlannedEdit) -> ToolOutcome:
        """The Edit (or, for a new file, Write) tool: writes the planned text for real."""
        target = self.root / edit.path
        added, removed = diff_counts(edit.old or "", edit.new)

        def run() -> ToolOutcome:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(edit.new, encoding="utf-8")
            except OSError as exc:
                return ToolOutcome(f"Error: {exc.strerror}", str(exc), is_error=True)
            if edit.old is None:
                shown = f"Wrote {_plural(len(added), 'line')} to {edit.path}"
            else:
                shown = (
                    f"Updated {edit.path} with {_plural(len(added), 'addition')} and "
                    f"{_plural(len(removed), 'removal')}"
                )
            return ToolOutcome(shown, shown, response={"filePath": str(target)})

        if edit.old is None:
            name, label = "Write", f"Write({edit.path})"
            tool_input: dict[str, Any] = {"file_path": str(target), "content": edit.new}
        else:
            name, label = "Edit", f"Update({edit.path})"
            tool_input = {
                "file_path": str(target),
                "old_string": "\n".join(removed),
                "new_string": "\n".join(added),
            }
        return self.call_tool(name, label, tool_input, "edit", "Editing", run)

    def bash(
        self,
        command: str,
        description: str,
        run: Callable[[], ToolOutcome],
        *,
        step: str = "bash",
        ask: PermissionAsk | None = None,
    ) -> ToolOutcome:
        """The Bash tool: ``command`` is what the screen and hooks show, ``run`` does the work
        in Python or with argv lists (never a shell); ``step`` sets how long it seems to take."""
        tool_input = {"command": command, "description": description}
        return self.call_tool("Bash", f"Bash({command})", tool_input, step, "Running", run, ask)

    def call_tool(
        self,
        name: str,
        label: str,
        tool_input: dict[str, Any],
        step: str,
        verb: str,
        run: Callable[[], ToolOutcome],
        ask: PermissionAsk | None = None,
    ) -> ToolOutcome:
        """One tool call as Claude makes it: transcript, hooks, permission, screen."""
        self.check_stop()
        tool_id = self.writer.tool_use(name, tool_input)
        self._pending_tool = tool_id
        self.screen.history.append(Entry(label))
        self.writer.hook("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=tool_id)
        if ask is not None and not self.ask_permission(ask, name, tool_input):
            raise TurnInterrupted
        self.work(STEP_SECONDS[step], verb)
        outcome = run()
        self.screen.history.append(result_entry(outcome.shown))
        self.writer.tool_result(
            tool_id, outcome.content, is_error=outcome.is_error, result=outcome.response
        )
        self._pending_tool = None
        self.writer.hook(
            "PostToolUse",
            tool_name=name,
            tool_input=tool_input,
            tool_response=outcome.response,
            tool_use_id=tool_id,
        )
        return outcome

    # -- waiting on the operator -----------------------------------------------------------

    def work(self, seconds: float, verb: str) -> None:
        """Show the spinner for ``seconds`` (divided by the speed), taking keys meanwhile."""
        self.screen.mode = "working"
        deadline = time.monotonic() + seconds * self.pace / self.options.speed
        while True:
            self.check_stop()
            self.screen.spinner = self.spinner(verb)
            self.redraw()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            for key in self.terminal.read_keys(min(remaining, FRAME)):
                self.on_working_key(key)

    def pause(self, seconds: float) -> None:
        """Sit idle for ``seconds`` (divided by the speed) without taking input."""
        self.screen.mode = "idle"
        self.redraw()
        deadline = time.monotonic() + seconds / self.options.speed
        while time.monotonic() < deadline:
            self.check_stop()
            time.sleep(min(FRAME, max(0.0, deadline - time.monotonic())))

    def spinner(self, verb: str) -> str:
        """The spinner line: ``✻ Thinking… (3s · ↓ 42 tokens)``."""
        elapsed = int(time.monotonic() - self._turn_started)
        self._tokens += 7
        glyph = _SPINNER_GLYPHS[int(time.monotonic() * 4) % len(_SPINNER_GLYPHS)]
        if verb.startswith("API error"):
            return f"{glyph} {verb}"
        return f"{glyph} {verb}… ({elapsed}s · ↓ {self._tokens} tokens)"

    def on_working_key(self, key: Key) -> None:
        """Keys while working: type or paste a message (Enter queues it), Esc interrupts."""
        if key.kind == "interrupt":
            raise Quit("prompt_input_exit")
        if key.kind == "escape":
            raise TurnInterrupted
        if key.kind == "enter" and self.screen.draft.strip():
            self.queue.append(self.screen.draft)
            self.screen.queued = list(self.queue)
            self.writer.queue("enqueue", self.screen.draft)
            self.screen.draft = ""
        else:
            self.edit_draft(key)

    def edit_draft(self, key: Key) -> None:
        """Typing, pasting and backspace in the input box."""
        if key.kind in ("text", "paste"):
            self.screen.draft += key.text
        elif key.kind == "backspace":
            self.screen.draft = self.screen.draft[:-1]

    def ask_permission(self, ask: PermissionAsk, name: str, tool_input: dict[str, Any]) -> bool:
        """Show the permission dialog and wait: ``1``/``2``/Enter allow, ``3``/Esc refuse."""
        self.screen.history.append(result_entry("Waiting…"))
        self.writer.hook(
            "PermissionRequest", tool_name=name, tool_input=tool_input, permission_suggestions=[]
        )
        self.writer.status("waiting", "permission prompt")
        self.screen.mode = "permission"
        self.screen.permission = ask
        self.redraw()
        asked_at = time.monotonic()
        notified = False
        answer: bool | None = None
        while answer is None:
            self.check_stop()
            if (
                not notified
                and time.monotonic() - asked_at >= PERMISSION_NOTIFY / self.options.speed
            ):
                self.writer.hook(
                    "Notification",
                    message=f"Claude needs your permission to use {name}",
                    notification_type="permission_prompt",
                )
                notified = True
            for key in self.terminal.read_keys(FRAME):
                answer = permission_answer(key)
                if answer is not None:
                    break
        self.screen.history.pop()  # the "Waiting…" line
        self.screen.permission = None
        self.screen.mode = "working"
        if answer:
            self.writer.status("busy")
        return answer

    def wait_for_message(self) -> str:
        """Idle with an empty input box until a message is typed or pasted and sent."""
        self.screen.mode = "idle"
        self.screen.spinner = ""
        self.redraw()
        idle_since = time.monotonic()
        notified = self._last_turn_failed  # after an API error the error must stay on show
        while True:
            self.check_stop()
            if not notified and time.monotonic() - idle_since >= IDLE_NOTIFY / self.options.speed:
                self.writer.hook(
                    "Notification",
                    message="Claude is waiting for your input",
                    notification_type="idle_prompt",
                )
                notified = True
            keys = self.terminal.read_keys(FRAME)
            for key in keys:
                if key.kind == "interrupt":
                    raise Quit("prompt_input_exit")
                if key.kind == "enter" and self.screen.draft.strip():
                    message, self.screen.draft = self.screen.draft, ""
                    return message
                if key.kind == "escape":
                    self.screen.draft = ""
                self.edit_draft(key)
            if keys:
                self.redraw()


def permission_answer(key: Key) -> bool | None:
    """What a key means at the permission dialog: True allow, False refuse, None nothing."""
    if key.kind == "interrupt":
        raise Quit("prompt_input_exit")
    if key.kind == "enter":
        return True
    if key.kind == "escape":
        return False
    if key.kind == "text" and key.text[:1] in ("1", "2"):
        return True
    if key.kind == "text" and key.text[:1] == "3":
        return False
    return None


def scripted_reply(message: str) -> str:
    """The demo's answer to any message: it is a script, and says so."""
    first = " ".join(message.split())
    quoted = first if len(first) <= 60 else first[:59] + "…"
    return f'(scripted reply) Noted: "{quoted}". I only follow my script, so I\'ll carry on.'


def _left_fit(text: str, width: int) -> str:
    """``text`` cut from the left (paths keep their informative end)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


# -- command line ------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line (``claude``-like flags plus ``--scenario`` and ``--speed``)."""
    parser = argparse.ArgumentParser(
        prog="python -m plugins.agent.demo_program",
        description=f"{BANNER_TITLE}: plays a scripted coding session in the current directory.",
    )
    parser.add_argument("--session-id", help="the conversation's uuid (a new one if absent)")
    parser.add_argument("--resume", metavar="UUID", help="continue this conversation")
    parser.add_argument("--scenario", choices=SCENARIOS, help="what to play")
    parser.add_argument("--speed", type=float, help=f"time factor (default ${SPEED_ENV} or 1)")
    parser.add_argument("prompt", nargs="?", default="", help="the task")
    args = parser.parse_args(argv)
    session_id = args.resume or args.session_id or str(uuid.uuid4())
    speed = args.speed
    if speed is None:
        try:
            speed = float(os.environ.get(SPEED_ENV, "1") or "1")
        except ValueError:
            speed = 1.0
    return Options(
        session_id=session_id,
        resume=bool(args.resume),
        scenario=args.scenario or derive_scenario(session_id, args.prompt),
        speed=max(0.05, speed),
        prompt=args.prompt,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Play the demo session in the current directory; 0 when it ends, whatever the reason."""
    options = parse_options(argv)
    cwd = Path.cwd()
    writer = SignalWriter(options.session_id, cwd, claude_config_dir(), resume=options.resume)
    with Terminal() as terminal:
        agent = ScriptedAgent(options, terminal, writer)
        # tmux kill-session hangs up the pane; a hang-up or TERM ends the session cleanly.
        signal.signal(signal.SIGHUP, agent.request_stop)
        signal.signal(signal.SIGTERM, agent.request_stop)
        try:
            return agent.run()
        except KeyboardInterrupt:  # only when stdin is not a terminal (no raw mode)
            writer.hook("SessionEnd", reason="prompt_input_exit")
            writer.remove_status()
            return 0
        except Exception:
            # A bug in the script must still end the session the way Claude would.
            writer.hook("SessionEnd", reason="other")
            writer.remove_status()
            raise


if __name__ == "__main__":
    raise SystemExit(main())
