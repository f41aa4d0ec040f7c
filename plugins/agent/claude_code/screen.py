"""Activity from a capture of Claude Code's screen: the fallback and reconciler signal.

Panes change with every agent release, so these patterns are deliberately few, anchored on
short phrases, and checked against golden captures of real panes in the tests. Precedence
on a Claude screen, strongest first:

1. a permission prompt (``Do you want to …?`` with a ``1. Yes`` menu or ``Esc to cancel``)
   → waiting_input, with the tool and command shown above it when they can be read;
2. the busy footer (``esc to interrupt``) or spinner line (``… (4s · ↓ 7 tokens)``)
   → working (``Press up to edit queued messages`` adds "message queued"), or retrying
   when it says ``API error · Retrying in 2s · attempt 1/3`` (busy, but no progress);
3. in the last turn's output (below the last echoed prompt), whichever is lower:
   ``Interrupted · What should Claude do instead?`` → idle (interrupted), or an
   ``API Error``/``Request timed out`` line → error;
4. the idle footer (``? for shortcuts``) or an empty prompt box → idle; an input box holding
   unsent text (no footer then) → idle too.

Anything else says nothing (None): a guess would be worse than no signal.
"""

from __future__ import annotations

import re

from core.activity.pane import screen_lines
from core.activity.retries import retrying_detail
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor

BOTTOM_LINES = 25
"""Without an input box to anchor on, only this many last non-empty lines count for
interrupt/error text, which lingers on screen."""

PROMPT_CHAR = "\u276f"
"""The heavy angle Claude draws in front of the input line and of echoed prompts."""
_QUESTION = re.compile(r"Do you want to (?:proceed|make this edit|create|overwrite|write|allow)")
_YES_OPTION = re.compile("(?:\u276f|\u203a|>)?\\s*1\\.\\s*Yes\\b")
_ESC_TO_CANCEL = re.compile(r"Esc to cancel", re.IGNORECASE)
_BUSY_FOOTER = re.compile(r"\besc to interrupt\b", re.IGNORECASE)
_SPINNER = re.compile(
    r"…\s*\((?:\d+h\s*)?(?:\d+m\s*)?\d+s\b[^)]*\)|\(\s*\d+s\s*·[^)]*tokens?[^)]*\)"
)
_RETRYING = re.compile(
    r"([^\n·]{0,200}?)\s*·\s*Retrying in \d{1,6}s\s*·\s*attempt (\d{1,4})/(\d{1,4})\b"
)
"""``✻ API error · Retrying in 5s · attempt 4/10``; ``429 Rate limited by … · Retrying …``."""
SPINNER_GLYPHS = "·✢✳✶✻✽*"
"""The glyphs Claude's spinner line starts with (it animates through them)."""
_QUEUED = re.compile(r"Press up to edit queued messages")
_INTERRUPTED = re.compile(r"Interrupted\s*·\s*What should Claude do instead\?")
_API_ERROR = re.compile(r"(?:API Error\b|Request timed out\b)[^\n]*")
_IDLE_FOOTER = re.compile(r"\?\s*for shortcuts")
_PROMPT_LINE = re.compile("^[>\u276f]\\s*$")
_RULE = re.compile(r"^[─━═\-]{10,}$")

_TITLE_TOOLS = {
    "Bash command": "Bash",
    "Bash command (unsandboxed)": "Bash",
    "Edit file": "Edit",
    "Create file": "Write",
    "Overwrite file": "Write",
    "Write file": "Write",
    "Read file": "Read",
    "Edit notebook": "NotebookEdit",
    "Fetch": "WebFetch",
    "Web Search": "WebSearch",
}
"""Permission dialog titles and the tool each stands for."""

_FILE_QUESTION = re.compile(
    r"Do you want to (?:make this edit to|create|overwrite|write to)\s+(.+?)\s*\?\s*$"
)


def permission_prompt(screen: str) -> WaitingFor | None:
    """The permission asked for, if a permission prompt is on screen."""
    lines = screen_lines(screen)
    question_at = None
    for index in range(len(lines) - 1, -1, -1):
        if _QUESTION.search(lines[index]):
            question_at = index
            break
    if question_at is None:
        return None
    below = lines[question_at + 1 : question_at + 8]
    if not any(_YES_OPTION.search(line) or _ESC_TO_CANCEL.search(line) for line in below):
        return None
    tool, command = "", ""
    for index in range(question_at - 1, max(-1, question_at - 40), -1):
        title = lines[index]
        if title in _TITLE_TOOLS or title.endswith("(MCP)"):
            tool = _TITLE_TOOLS.get(title, title)
            command = next(
                (line for line in lines[index + 1 : question_at] if line and not _RULE.match(line)),
                "",
            )
            break
    file_match = _FILE_QUESTION.search(lines[question_at])
    if file_match and not command:
        command = file_match.group(1)
    return WaitingFor("permission", tool, command)


def claude_pane_signal(screen: str, at: float) -> ActivitySignal | None:
    """What a capture of a Claude Code pane shows, or None when it shows nothing known."""
    source = SignalSource.PANE
    waiting = permission_prompt(screen)
    if waiting is not None:
        what = f"{waiting.tool}: {waiting.command}".strip(": ") or "permission prompt"
        return ActivitySignal(
            ActivityState.WAITING_INPUT, source, at, f"permission: {what}", waiting
        )
    lines = screen_lines(screen)
    text = "\n".join(lines)
    if _BUSY_FOOTER.search(text) or _SPINNER.search(text):
        retry = _RETRYING.search(text)
        if retry:
            # Busy-looking, but no progress: every call fails and Claude retries it.
            cause = retry.group(1).strip().lstrip(SPINNER_GLYPHS).strip()
            detail = retrying_detail(retry.group(2), retry.group(3), cause)
            return ActivitySignal(ActivityState.RETRYING, source, at, detail)
        detail = "message queued" if _QUEUED.search(text) else "busy"
        return ActivitySignal(ActivityState.WORKING, source, at, detail)
    bottom = _last_turn(lines)
    interrupted = _last_index(bottom, _INTERRUPTED)
    api_error = _last_index(bottom, _API_ERROR)
    if interrupted is not None and (api_error is None or interrupted > api_error):
        return ActivitySignal(ActivityState.IDLE, source, at, "interrupted by user")
    if api_error is not None:
        match = _API_ERROR.search(bottom[api_error])
        detail = match.group(0) if match else "API Error"
        return ActivitySignal(ActivityState.ERROR, source, at, detail[:200])
    if _IDLE_FOOTER.search(text) or _empty_prompt_box(lines):
        return ActivitySignal(ActivityState.IDLE, source, at, "waiting for a prompt")
    if _input_box_top(lines) is not None:
        # Text typed or pasted but not sent (or a prompt given back by an early Escape).
        return ActivitySignal(ActivityState.IDLE, source, at, "unsent text in the input box")
    return None


def shows_queued_message(screen: str) -> bool:
    """Whether the screen says a message waits for the current turn to end."""
    return "queued messages" in screen


def _input_box_top(lines: list[str]) -> int | None:
    """Index of the rule above Claude's input line (a rule, then a line starting ``>``/U+276F)."""
    for index in range(len(lines) - 2, -1, -1):
        if _RULE.match(lines[index]) and lines[index + 1][:1] in (">", PROMPT_CHAR):
            return index
    return None


def _last_turn(lines: list[str]) -> list[str]:
    """The output of the last submitted prompt: between its echo and the input box.

    Interrupt and error messages stay on screen after later turns, so only the last turn's
    lines may say "interrupted" or "API Error". Without a recognisable input box, the
    last :data:`BOTTOM_LINES` non-empty lines stand in.
    """
    box_top = _input_box_top(lines)
    if box_top is None:
        return [line for line in lines if line][-BOTTOM_LINES:]
    start = 0
    for index in range(box_top - 1, -1, -1):
        if lines[index][:1] in (">", PROMPT_CHAR) and lines[index][1:].strip():
            start = index + 1
            break
    return [line for line in lines[start:box_top] if line]


def _last_index(lines: list[str], pattern: re.Pattern[str]) -> int | None:
    """Index of the last line matching ``pattern``."""
    for index in range(len(lines) - 1, -1, -1):
        if pattern.search(lines[index]):
            return index
    return None


def _empty_prompt_box(lines: list[str]) -> bool:
    """An empty input line (``>`` or U+276F alone) framed by rules, near the bottom."""
    tail = lines[-8:]
    for index, line in enumerate(tail):
        if _PROMPT_LINE.match(line):
            before = tail[index - 1] if index > 0 else ""
            after = tail[index + 1] if index + 1 < len(tail) else ""
            if _RULE.match(before) or _RULE.match(after) or before.startswith("╭"):
                return True
    return False
