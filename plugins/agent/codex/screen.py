"""Activity from a capture of Codex's screen: what its rollout never says.

Codex writes no record while it asks the operator something, so the screen is the only
source for its approval prompts. Patterns are few, anchored on short phrases and checked
against golden captures of the real 0.171.0 TUI (tests/fixtures/codex-0.171.0). Precedence,
strongest first:

1. an approval prompt (``Would you like to run the following command?`` / ``… make the
   following edits?`` / ``… to allow …``) with its ``1. Yes, proceed`` menu or ``Press enter
   to confirm or esc to cancel`` → waiting_input, with the command shown (``$ touch x``);
2. the folder-trust question (``Trust this folder?``) → waiting_input;
3. the busy line (``Working (3s • esc to interrupt)``) → working, or retrying when it says
   ``Reconnecting... 2/5 (7s • esc to interrupt)`` (HTTP errors are retried with back-off
   and written nowhere else), with the error shown under it;
4. ``Conversation interrupted`` as the last turn's outcome → idle (interrupted).

Anything else says nothing (None). In particular the idle footer (``? for shortcuts``)
stays on screen while an answer streams in, so it proves nothing: the rollout says when a
turn ends.
"""

from __future__ import annotations

import re

from core.activity.pane import screen_lines
from core.activity.retries import retrying_detail
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor

PROMPT_CHAR = "\u203a"
"""The single angle Codex draws before the input line and echoed prompts (U+203A)."""

_QUESTION = re.compile(
    r"Would you like to (run the following command|make the following edits|allow|grant)"
)
_MENU = re.compile(r"(?:^|\s)1\.\s*Yes\b|Press enter to confirm or esc to cancel", re.IGNORECASE)
_TRUST = re.compile(r"Trust this folder\?")
_BUSY = re.compile(r"\besc to interrupt\b", re.IGNORECASE)
_RECONNECTING = re.compile(r"Re-?connecting\W{0,3}\s*(\d{1,4})/(\d{1,4})", re.IGNORECASE)
_INTERRUPTED = re.compile(r"Conversation interrupted")


def approval_prompt(screen: str) -> WaitingFor | None:
    """The approval asked for, if an approval prompt is on screen."""
    lines = screen_lines(screen)
    for index in range(len(lines) - 1, -1, -1):
        question = _QUESTION.search(lines[index])
        if question is None:
            continue
        below = lines[index + 1 : index + 16]
        if not any(_MENU.search(line) for line in below):
            return None
        edits = question.group(1).startswith("make")
        command = ""
        for line in below:
            if line.startswith("$ "):
                command = line[2:].strip()
                break
        tool = "apply_patch" if edits else "shell"
        return WaitingFor("permission", tool, command[:200])
    return None


def codex_pane_signal(screen: str, at: float) -> ActivitySignal | None:
    """What a capture of a Codex pane shows, or None when it shows nothing known."""
    source = SignalSource.PANE
    waiting = approval_prompt(screen)
    if waiting is not None:
        what = waiting.command or ("edits" if waiting.tool == "apply_patch" else "a command")
        return ActivitySignal(ActivityState.WAITING_INPUT, source, at, f"approval: {what}", waiting)
    lines = [line for line in screen_lines(screen) if line]
    text = "\n".join(lines)
    if _TRUST.search(text):
        return ActivitySignal(
            ActivityState.WAITING_INPUT,
            source,
            at,
            "asks whether to trust this folder",
            WaitingFor("confirm", "", "Trust this folder?"),
        )
    if _BUSY.search(text):
        retry = _RECONNECTING.search(text)
        if retry:
            detail = retrying_detail(retry.group(1), retry.group(2), _retry_cause(text, retry))
            return ActivitySignal(ActivityState.RETRYING, source, at, detail)
        return ActivitySignal(ActivityState.WORKING, source, at, "busy")
    last = _last_turn(lines)
    if any(_INTERRUPTED.search(line) for line in last):
        return ActivitySignal(ActivityState.IDLE, source, at, "interrupted by user")
    return None


def _retry_cause(text: str, retry: re.Match[str]) -> str:
    """The error Codex shows under its ``Reconnecting… 2/5`` line (``└ …``), if any."""
    below = text[retry.end() :].split("\n")[1:2]
    cause = below[0].strip() if below else ""
    return cause.removeprefix("\u2514").strip() if cause.startswith("\u2514") else ""


def _last_turn(lines: list[str]) -> list[str]:
    """The lines after the last echoed prompt that has output below it (the input line
    itself, at the bottom, is skipped)."""
    prompts = [i for i, line in enumerate(lines) if line.startswith(PROMPT_CHAR)]
    if len(prompts) >= 2:
        return lines[prompts[-2] + 1 : prompts[-1]]
    return lines[-12:]


_FOOTER = re.compile(r"\?\s*for shortcuts")


def shows_composer(screen: str) -> bool:
    """Whether the input box and its footer are drawn (the TUI is up and takes keys). It
    stays drawn while a turn runs, so alone it does not mean idle."""
    lines = [line for line in screen_lines(screen) if line]
    return any(_FOOTER.search(line) for line in lines[-4:]) and any(
        line.startswith(PROMPT_CHAR) for line in lines[-6:]
    )
