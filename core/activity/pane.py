"""Activity from a capture of an agent's visible screen: the agent-agnostic reading.

Agent plugins that know their program's screen read it themselves (each in its own
package); what is left here holds for any command line: a ``(Y)es/(N)o`` question on the
last line waits for an answer, a shell-like prompt there is idle. Anything else says
nothing (None): a guess would be worse than no signal.
"""

from __future__ import annotations

import re

from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor

_BOX_EDGES = "│┃|╭╮╰╯"
_YES_NO = re.compile(r"\(Y\)es/\(N\)o")
_SHELL_PROMPT = re.compile("(?:[$#%]|(?:^|\\s)(?:[\\w-]*>{1,3}|[\u276f\u00bb]))\\s*$")
"""``user@host:~$``, ``#``, ``%``, or a standalone ``>``/``architect>``/U+276F (not ``</div>``)."""


def _clean(line: str) -> str:
    """A screen line without box edges and surrounding blanks."""
    return line.strip().strip(_BOX_EDGES).strip()


def screen_lines(screen: str) -> list[str]:
    """The capture's lines, cleaned, trailing empty lines dropped."""
    lines = [_clean(line) for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def generic_pane_signal(screen: str, at: float) -> ActivitySignal | None:
    """Agent-agnostic reading (shell commands, agents without a reader of their own): a
    yes/no question or a prompt line."""
    lines = [line for line in screen_lines(screen) if line]
    if not lines:
        return None
    source = SignalSource.PANE
    # Only the last line counts: an answered question stays on screen above the output
    # that followed it, and must not keep the session "waiting".
    line = lines[-1]
    if _YES_NO.search(line):
        return ActivitySignal(
            ActivityState.WAITING_INPUT,
            source,
            at,
            line[:200],
            WaitingFor("confirm", "", line[:200]),
        )
    if _SHELL_PROMPT.search(lines[-1]):
        return ActivitySignal(ActivityState.IDLE, source, at, "at a prompt")
    return None


def untold_start_reading(
    reading: ActivitySignal | None,
    at: float,
    *,
    records_say: bool,
    starting: bool,
    input_shown: bool,
) -> ActivitySignal | None:
    """An agent's own reading of its screen, completed for a start its records say nothing
    of yet: its input box is "starting" in a launch's first moments (the task is on its
    way) and "waiting for a prompt" otherwise (a resumed conversation starts on no task)."""
    if reading is not None or records_say:
        return reading
    if starting:
        return ActivitySignal(ActivityState.WORKING, SignalSource.PANE, at, "starting")
    if input_shown:
        return ActivitySignal(ActivityState.IDLE, SignalSource.PANE, at, "waiting for a prompt")
    return None
