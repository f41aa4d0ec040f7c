"""Small stand-ins shared by the agent-plugin unit tests (no tmux needed for the logic)."""

from __future__ import annotations


class Clock:
    """A settable clock, so tests can age signals without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Screen:
    """Stands in for the runtime's capture of a pane, and counts the captures."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.text
