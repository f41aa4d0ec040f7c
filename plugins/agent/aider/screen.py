"""Activity from a capture of Aider's screen: what its chat history never shows.

The history is written when something is finished (an input, a reply, an answered
question), so three states are only on the screen. Read from the bottom, strongest first:

1. a confirmation on the last line (``Create new file? (Y)es/(N)o [Yes]:``,
   ``Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]:``,
   ``Run shell command? (Y)es/(N)o …``) → waiting_input, naming what it asks about;
2. the spinner ``Waiting for <model>`` on the last line → working (generating: the model
   has not sent its first token yet), or retrying when a ``Retrying in 4.0 seconds...``
   line is just above it;
3. the input prompt (``>``, ``ask>``, ``architect>``, ``multi>``, with or without text
   typed after it) on the last line → idle;
4. anything else on the last line while a ``Tokens: …`` footer or prompt is not there:
   the reply streaming in → working.

Patterns are few and anchored on Aider's own phrases; the golden captures in
tests/fixtures/aider-0.86.2 keep them honest.
"""

from __future__ import annotations

import re

from core.activity.pane import screen_lines
from core.activity.retries import retrying_detail
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor

_QUESTION = re.compile(r"^(?P<question>.*?\?)\s*\(Y\)es/\(N\)o(?P<rest>.*)$")
_SPINNER = re.compile(r"Waiting for (\S+)\s*$")
_RETRY = re.compile(r"^Retrying in (\d+(?:\.\d+)?) seconds")
_PROMPT = re.compile(r"^(?:[\w-]+)?>(?:\s.*)?$")
_ERROR = re.compile(r"\blitellm\.\w+Error\b.*|\b\w+Error: .*")


def _waiting_for(question: str, above: str) -> WaitingFor:
    """The kind of confirmation and what it is about (the file or command shown above)."""
    lowered = question.lower()
    if "shell command" in lowered:
        return WaitingFor("confirm", "shell", above[:200])
    if "add" in lowered and "chat" in lowered:
        subject = question.split("Add ", 1)[-1].rsplit(" to the chat", 1)[0]
        return WaitingFor("confirm", "add-file", subject[:200])
    if "create new file" in lowered:
        return WaitingFor("confirm", "create-file", above[:200])
    return WaitingFor("confirm", "", question[:200])


def aider_pane_signal(screen: str, at: float) -> ActivitySignal | None:
    """What Aider's screen says (see the module doc); None when it says nothing."""
    lines = [line for line in screen_lines(screen) if line]
    if not lines:
        return None
    source = SignalSource.PANE
    last = lines[-1]
    asked = _QUESTION.match(last)
    if asked:
        above = lines[-2] if len(lines) > 1 else ""
        question = asked.group("question").strip()
        return ActivitySignal(
            ActivityState.WAITING_INPUT,
            source,
            at,
            last[:200],
            _waiting_for(question, above),
        )
    spinner = _SPINNER.search(last)
    if spinner:
        retry = _retry_above(lines)
        if retry is not None:
            return ActivitySignal(ActivityState.RETRYING, source, at, retry)
        return ActivitySignal(
            ActivityState.WORKING, source, at, f"generating (waiting for {spinner.group(1)})"
        )
    if _PROMPT.match(last):
        return ActivitySignal(ActivityState.IDLE, source, at, "at the prompt")
    if _RETRY.match(last):
        retry = _retry_above(lines)
        return ActivitySignal(ActivityState.RETRYING, source, at, retry or last)
    return ActivitySignal(ActivityState.WORKING, source, at, "replying")


def _retry_above(lines: list[str]) -> str | None:
    """The retry detail when the lines just above the bottom say Aider is retrying."""
    tail = lines[-4:]
    retries = [line for line in tail if _RETRY.match(line)]
    if not retries:
        return None
    attempts = sum(1 for line in lines if _RETRY.match(line))
    errors = [m.group(0) for line in tail if (m := _ERROR.search(line))]
    return retrying_detail(attempts, None, errors[-1] if errors else "")


def shows_prompt(screen: str) -> bool:
    """Whether Aider's input prompt is on the last line (it takes typed text now)."""
    lines = [line for line in screen_lines(screen) if line]
    return bool(lines) and _PROMPT.match(lines[-1]) is not None
