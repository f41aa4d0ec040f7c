"""What every transcript reader records: the prompts an agent received, and when.

A prompt seen in the agent's own record is the proof that a message arrived; the readers
of every agent's files collect them the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from an ISO-8601 string (``2026-02-10T22:57:54.684Z``) or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None  # JSON's NaN/Infinity (or 1e999): no time, and no valid JSON out
        # Some records carry epoch milliseconds.
        return float(value) / 1000.0 if value > 1e11 else float(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


@dataclass(frozen=True)
class UserPrompt:
    """A prompt the agent received (typed, pasted or given at launch)."""

    text: str
    at: float | None


def _normalize(text: str) -> str:
    """Whitespace-insensitive form of a message: stripped, runs of blanks collapsed."""
    return " ".join(text.split())


def prompt_matches(sent: str, seen: str) -> bool:
    """Whether ``seen`` (a prompt the agent recorded) is the message ``sent``.

    Long texts are compared by their first and last 100 characters, so a terminal that
    rewrapped or trimmed the middle still counts; short texts may be embedded.
    """
    a, b = _normalize(sent), _normalize(seen)
    if not a or not b:
        return False
    if a == b:
        return True
    if len(a) > 200:
        return b.startswith(a[:100]) and b.endswith(a[-100:])
    return a in b
