"""Why a session failed, in one word, from the evidence ao-tui already holds.

The evidence is text someone else wrote (the agent's API error, the reason a reaction
escalated, the reason a lifecycle ended) and the key of the reaction that escalated. Text
wins over the key: an agent stuck because every API call answers 401 failed for ``auth``,
not for being stuck. The order of :data:`_TEXT_CAUSES` is the order of precedence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TEXT_CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "auth",
        re.compile(
            r"\b(401|403)\b|authenticat|unauthori[sz]ed|invalid[ _-]?api[ _-]?key|"
            r"oauth|credential|not logged in|/login\b|permission_error",
            re.IGNORECASE,
        ),
    ),
    ("API", re.compile(r"\b429\b|rate.?limit|overloaded|\b5\d\d\b.*api|api error", re.I)),
    (
        "tmux gone",
        re.compile(r"tmux|pane (is )?(gone|missing|dead)|no live pane|runtime gone", re.I),
    ),
)
"""Causes read from the text, by precedence."""

KEY_CAUSES: dict[str, str] = {
    "ci-failed": "CI",
    "merge-conflicts": "conflict",
    "changes-requested": "review",
    "bugbot-comments": "review",
    "agent-stuck": "stuck",
    "agent-needs-input": "input",
    "agent-exited": "exited",
    "pr-closed": "PR closed",
}
"""The cause a reaction's key stands for when the text names none."""

_EXIT_STATUS = re.compile(r"(?:exit(?:ed)?(?: with)?(?: status| code)?)\s*(-?\d+)", re.I)


def classify(texts: Iterable[str], reaction_key: str = "") -> tuple[str, str]:
    """The cause of a failure and the text that shows it (the first text when the cause came
    from the key alone; "" when there is none).

    The cause is ``auth``, ``API``, ``tmux gone``, a reaction's cause (``CI``, ``conflict``,
    ``review``, ``stuck``, ``input``, ``exited``, ``PR closed``), ``exit N``, or ``unknown``
    when the evidence says nothing.
    """
    evidence = [text for text in texts if text]
    first = evidence[0] if evidence else ""
    for cause, pattern in _TEXT_CAUSES:
        for text in evidence:
            if pattern.search(text):
                return cause, text
    if reaction_key in KEY_CAUSES:
        return KEY_CAUSES[reaction_key], first
    for text in evidence:
        match = _EXIT_STATUS.search(text)
        if match:
            return f"exit {match.group(1)}", text
    return "unknown", first
