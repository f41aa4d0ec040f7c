"""Activity from a capture of Gemini CLI's screen: what its hooks and transcript never say.

Gemini fires no hook and writes no message for an interrupted turn or an API error, and
its retries show only on screen. Patterns are few, anchored on short phrases and checked
against golden captures of the real 0.61.0 TUI (tests/fixtures/gemini-0.61.0). The screen
is read above the input box (the ``────`` rule), from the last prompt echoed there
(``> …``). Precedence, strongest first:

1. an approval box (``Allow execution of [Shell]?``, ``Apply this change?`` …) with its
   ``1. Allow once`` menu → waiting_input, with the tool and command from the box's title
   line (``? Shell  touch made.txt``);
2. the folder-trust dialog (``Do you trust the files in this folder?``), or the dialog a
   failing model ends its retries on (``We are currently experiencing high demand.`` with
   ``1. Keep trying`` / ``2. Stop``) → waiting_input;
3. the busy line (``⠼ Thinking... (esc to cancel, 1s)``) → working, or retrying when a
   retry notice is on screen (0.61.0 shows none: it retries a 429 or 5xx with back-off
   behind the same busy line, so those waits read as working);
4. ``Request cancelled.`` as the last turn's outcome → idle (interrupted);
5. ``✕ [API Error: …]`` as the last turn's outcome → error.

Anything else says nothing (None): the input box stays drawn while a turn runs.
"""

from __future__ import annotations

import re

from core.activity.pane import screen_lines
from core.activity.retries import retrying_detail
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor

_MENU = re.compile(r"(?:^|\s)1\.\s*Allow once\b")
_QUESTION = re.compile(r"\?\s*$")
_TITLE = re.compile(r"^\?\s+(?P<tool>\S+)\s*(?P<what>.*)$")
_TRUST = re.compile(r"Do you trust the files in this folder\?")
_HIGH_DEMAND = re.compile(r"experiencing high demand")
_KEEP_TRYING = re.compile(r"(?:^|\s)1\.\s*Keep trying\b")
_BUSY = re.compile(r"\(esc to cancel\b", re.IGNORECASE)
_RETRY = re.compile(r"\bAttempt (\d{1,4})/(\d{1,4})|\bretrying\b.*?(\d{1,4})/(\d{1,4})", re.I)
_CANCELLED = re.compile(r"Request cancelled\.")
_API_ERROR = re.compile(r"^\u2715\s*\[?(API Error:.*)")
_RULE = re.compile(r"^\u2500{10,}$")
_PLACEHOLDER = re.compile(r"Type your message or @path")

KEEP_TRYING = "Keep trying?"
"""What the dialog a failing model ends its retries on asks (``1. Keep trying`` / ``2. Stop``)."""

_TOOLS = {"Shell": "run_shell_command", "WriteFile": "write_file", "Edit": "replace"}
"""The names the approval box shows, as the tools are called in hooks and transcripts."""


def _history(lines: list[str]) -> list[str]:
    """The lines above the input box (the whole screen if it is not drawn)."""
    for index in range(len(lines) - 1, -1, -1):
        if _RULE.match(lines[index]):
            return lines[:index]
    return lines


def approval_prompt(lines: list[str]) -> WaitingFor | None:
    """The approval asked for, if an approval box is on screen (its menu in the last lines
    above the input box, or at the bottom while the box replaces it)."""
    tail = lines[-14:]
    menu = [i for i, line in enumerate(tail) if _MENU.search(line)]
    if not menu:
        return None
    above = tail[: menu[-1]]
    if not any(_QUESTION.search(line) for line in above[-4:]):
        return None
    for line in reversed(above):
        title = _TITLE.match(line)
        if title:
            tool = title.group("tool")
            what = title.group("what").removeprefix("Writing to ").strip()
            return WaitingFor("permission", _TOOLS.get(tool, tool), what[:200])
    return WaitingFor("permission", "", "")


def _last_turn(lines: list[str]) -> list[str]:
    """The lines after the last prompt echoed above the input box."""
    prompts = [i for i, line in enumerate(lines) if line.startswith("> ")]
    return lines[prompts[-1] + 1 :] if prompts else lines[-12:]


def gemini_pane_signal(screen: str, at: float) -> ActivitySignal | None:
    """What a capture of a Gemini pane shows, or None when it shows nothing known."""
    source = SignalSource.PANE
    lines = [line for line in screen_lines(screen) if line]
    history = _history(lines)
    waiting = approval_prompt(history) or approval_prompt(lines)
    if waiting is not None:
        what = waiting.command or waiting.tool or "a tool"
        return ActivitySignal(ActivityState.WAITING_INPUT, source, at, f"approval: {what}", waiting)
    if any(_TRUST.search(line) for line in lines):
        return ActivitySignal(
            ActivityState.WAITING_INPUT,
            source,
            at,
            "asks whether to trust this folder",
            WaitingFor("confirm", "", "Do you trust the files in this folder?"),
        )
    if any(_HIGH_DEMAND.search(line) for line in lines) and any(
        _KEEP_TRYING.search(line) for line in lines
    ):
        return ActivitySignal(
            ActivityState.WAITING_INPUT,
            source,
            at,
            "the model keeps failing: keep trying or stop?",
            WaitingFor("confirm", "", KEEP_TRYING),
        )
    last = _last_turn(history)
    if any(_BUSY.search(line) for line in last[-3:]):
        for line in last:
            retry = _RETRY.search(line)
            if retry:
                attempt = retry.group(1) or retry.group(3)
                of = retry.group(2) or retry.group(4)
                return ActivitySignal(
                    ActivityState.RETRYING, source, at, retrying_detail(attempt, of)
                )
        return ActivitySignal(ActivityState.WORKING, source, at, "busy")
    for line in reversed(last):
        if _CANCELLED.search(line):
            return ActivitySignal(ActivityState.IDLE, source, at, "interrupted by user")
        error = _API_ERROR.match(line)
        if error:
            return ActivitySignal(ActivityState.ERROR, source, at, error.group(1).rstrip("]")[:200])
    return None


def shows_prompt(screen: str) -> bool:
    """Whether the input box is drawn (the TUI is up and takes keys). It stays drawn while
    a turn runs, so alone it does not mean idle."""
    lines = [line for line in screen_lines(screen) if line]
    bottom = lines[-6:]
    return any(_RULE.match(line) for line in bottom) and any(
        line.startswith(">") for line in bottom
    )


def shows_placeholder(screen: str) -> bool:
    """Whether the input box is empty (its placeholder shows)."""
    return any(_PLACEHOLDER.search(line) for line in screen_lines(screen)[-6:])
