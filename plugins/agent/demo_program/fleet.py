"""The demo agent's side of ao-tui's own CLI: running ``ao-tui`` and reading what it says.

The orchestrator and the reviewer scenarios drive the fleet through the ``ao-tui`` found on
their PATH (ao-tui puts itself there for the sessions it starts with a role), always as an
argv list, never through a shell. Everything they read back — the JSON of ``status`` and
``issues``, a diff, a tier-2 hand-off, a reviewer's task — is parsed here, in one place and
tolerantly: those texts belong to other parts of ao-tui and may change their wording, so a
field that is missing or shaped differently makes the script do less, never crash.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

AO_TUI = "ao-tui"
CLI_TIMEOUT = 180.0
"""Seconds one ``ao-tui`` call may take (a spawn waits for its agent to start)."""
EXIT_REFUSED = 4
"""``ao-tui spawn``'s exit status for a duplicate task or a full cap."""
TODO_MARKER = "TODO(demo)"
"""What the scripted reviewer flags in an added line (the night workers leave one)."""
ENDED = frozenset({"killed", "merged", "done"})
"""Lifecycles of a session whose task is over (its issue is free again)."""
REACTION_KEYS = (
    "ci-failed",
    "changes-requested",
    "bugbot-comments",
    "merge-conflicts",
    "agent-stuck",
    "agent-needs-input",
    "agent-exited",
    "approved-and-green",
)
"""Reaction keys a hand-off may name (the one found becomes the reason)."""
_HANDOFF_WORDS = (
    "escalat",
    "budget",
    "tier 2",
    "tier-2",
    "attempts",
    "gave up",
    "spent",
    "hands you",
    "could not clear",
)
_REACTION_FIELD = re.compile(
    r"\b(?:reaction|key)\s*[:=]?\s*[`'\"]?([a-z]+(?:-[a-z]+)+)", re.IGNORECASE
)
_SESSION_FIELD = re.compile(
    r"\bsession(?:\s+id)?\s*[:=]?\s*[`'\"]?([A-Za-z0-9][\w.-]*-\d+)\b", re.IGNORECASE
)
_AUTHOR_FIELD = re.compile(r"\bauthor\b[^\n]*?[`'\"(]?([A-Za-z0-9][\w.-]*-\d+)\b", re.IGNORECASE)
_SESSION_ID = re.compile(r"(?<![\w./-])([a-z0-9][a-z0-9-]{0,19}-\d+)(?![\w/-])")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class CliRun:
    """One ``ao-tui`` call: what was run, its exit status and output."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def shown(self) -> str:
        """The command as the Bash tool shows it (display only: it never runs as a line)."""
        return shlex.join([AO_TUI, *self.args])

    def json(self) -> Any:
        """The JSON it printed, or None when it printed none."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


def ao_tui_argv() -> list[str]:
    """How to run ao-tui: the ``ao-tui`` on PATH, else this interpreter's ``-m ao_tui``
    (a source checkout run without the console script)."""
    found = shutil.which(AO_TUI)
    return [found] if found else [sys.executable, "-m", "ao_tui"]


def run_ao(args: Sequence[str], *, timeout: float = CLI_TIMEOUT) -> CliRun:
    """Run ``ao-tui ARGS`` (an argv list, no shell) with this process's environment."""
    argv = [*ao_tui_argv(), *args]
    try:
        proc = subprocess.run(
            argv,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return CliRun(tuple(args), 127, "", f"cannot run {argv[0]}: {exc}")
    return CliRun(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def command_line(args: Sequence[str]) -> str:
    """``ao-tui ARGS`` as the screen and transcript show it."""
    return shlex.join([AO_TUI, *args])


# -- the orchestrator ------------------------------------------------------------------------


def _objects(data: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array (or of its ``sessions``/``issues`` member)."""
    if isinstance(data, dict):
        data = data.get("sessions", data.get("issues", []))
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def unworked_issues(status: Any, issues: Any) -> list[str]:
    """The keys of the open issues no live session works on, in the tracker's order."""
    taken = {
        str(session.get("issue"))
        for session in _objects(status)
        if session.get("issue") and str(session.get("lifecycle", "")) not in ENDED
    }
    keys: list[str] = []
    for issue in _objects(issues):
        key = issue.get("key", issue.get("number", issue.get("id")))
        if key is None or str(issue.get("state", "open")) != "open":
            continue
        if issue.get("session") or str(key) in taken or str(key) in keys:
            continue
        keys.append(str(key))
    return keys


def is_cap_refusal(run: CliRun) -> bool:
    """Whether a refused spawn hit the project's cap (not a duplicate of one issue)."""
    text = (run.stderr + run.stdout).lower()
    return run.code == EXIT_REFUSED and ("cap" in text or "maxconcurrentsessions" in text)


def spawned_id(run: CliRun) -> str:
    """The new session's id from ``spawn --json`` (or its first word without ``--json``)."""
    data = run.json()
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return str(data["id"])
    words = run.stdout.split()
    return words[0] if words else "?"


@dataclass(frozen=True)
class Handoff:
    """A tier-2 hand-off: the session a reaction gave up on, and the reaction's key."""

    session_id: str
    key: str

    def why(self) -> str:
        """The short reason the scripted orchestrator gives the human."""
        what = f"{self.key} budget spent" if self.key else "a reaction gave up"
        return (
            f"{what} on {self.session_id}; the scripted demo orchestrator has no judgment, "
            "so it hands this to you"
        )


def handoff(message: str, own_id: str = "") -> Handoff | None:
    """The hand-off a message is, or None for any other message.

    A hand-off names a session (``session: app-3``, or any ``<prefix>-<n>`` id) and speaks of
    an escalation, a budget or attempts; its reason is the first reaction key it names.
    """
    lowered = message.lower()
    if not any(word in lowered for word in _HANDOFF_WORDS):
        return None
    candidates = [m.group(1) for m in _SESSION_FIELD.finditer(message)]
    candidates += [m.group(1) for m in _SESSION_ID.finditer(message)]
    session_id = next((c for c in candidates if c != own_id and c not in REACTION_KEYS), "")
    if not session_id:
        return None
    named = [m.group(1).lower() for m in _REACTION_FIELD.finditer(message)]
    key = next((key for key in named if key in REACTION_KEYS), "")
    key = key or next((key for key in REACTION_KEYS if key in lowered), "")
    return Handoff(session_id, key)


# -- the reviewer ----------------------------------------------------------------------------


def review_author(task: str, own_id: str = "") -> str:
    """The session whose work a reviewer's task names: an ``author`` field, else a
    ``session ID`` phrase, else the first session id in it that is not the reviewer's own;
    "" when it names none."""
    for pattern in (_AUTHOR_FIELD, _SESSION_FIELD, _SESSION_ID):
        for match in pattern.finditer(task):
            if match.group(1) != own_id:
                return match.group(1)
    return ""


@dataclass(frozen=True)
class AddedLine:
    """One line a diff adds: the file, its line number in the new file, its text."""

    path: str
    line: int
    text: str


def added_lines(diff: str) -> list[AddedLine]:
    """Every line a unified diff adds, with its file and new line number."""
    found: list[AddedLine] = []
    path = ""
    number = 0
    previous = ""
    for raw in diff.splitlines():
        header, previous = previous.startswith("--- ") and raw.startswith("+++ "), raw
        if header:
            target = raw[4:].strip()
            path = "" if target == "/dev/null" else target.removeprefix("b/")
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            number = int(hunk.group(1))
            continue
        if not path or raw.startswith(("--- ", "diff ", "index ")):
            continue
        if raw.startswith("+"):
            found.append(AddedLine(path, number, raw[1:]))
            number += 1
        elif raw.startswith(" "):
            number += 1
    return found
