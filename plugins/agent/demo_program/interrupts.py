"""How a turn, or the whole program, is cut short: the exceptions, and the keys at the
permission dialog."""

from __future__ import annotations

from plugins.agent.demo_program.keys import Key


class Quit(Exception):
    """The program must end; ``reason`` is what the SessionEnd hook reports."""

    def __init__(self, reason: str) -> None:
        """End for ``reason`` (``prompt_input_exit``, ``other``)."""
        super().__init__(reason)
        self.reason = reason


class TurnInterrupted(Exception):
    """The operator stopped the turn: Escape while working, or a rejected permission prompt."""


def permission_answer(key: Key) -> bool | None:
    """What a key means at the permission dialog: True allow, False refuse, None nothing."""
    if key.kind == "interrupt":
        raise Quit("prompt_input_exit")
    if key.kind == "enter":
        return True
    if key.kind == "escape":
        return False
    if key.kind == "text" and key.text[:1] in ("1", "2"):
        return True
    if key.kind == "text" and key.text[:1] == "3":
        return False
    return None
