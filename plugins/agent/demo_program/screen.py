"""The Claude-like screen: the conversation, the prompt box and the permission dialog as lines."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from plugins.agent.claude_code.screen import PROMPT_CHAR
from plugins.agent.demo_program.scenario import BANNER_TITLE, MAX_WIDTH, MIN_WIDTH

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


def _left_fit(text: str, width: int) -> str:
    """``text`` cut from the left (paths keep their informative end)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]
