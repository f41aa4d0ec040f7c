"""Why a session key does nothing: what the cockpit says when a key it hides is pressed.

The footer hides keys that do not apply to the selected session. A key pressed anyway is
answered with the reason when there is one worth telling (a merged session offers no kill
and no restore); otherwise it stays silent as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ao_tui.keymap import Command, keys_for
from core.closed import is_closed, kill_refusal, restore_refusal
from core.models import Session


def why_not(action: str, session: Session | None) -> str | None:
    """Why ``action`` (an app action name) does not apply to ``session``, if worth saying."""
    if session is None:
        return None
    if action == "kill" and is_closed(session):
        return kill_refusal(session)
    if action == "restore":
        return restore_refusal(session)
    return None


def pressed_action(
    key: str,
    commands: Iterable[Command],
    keymap: Mapping[str, str],
    applies: Callable[[str], bool],
) -> str | None:
    """The action ``key`` is bound to under ``keymap`` when that action does not apply now.

    None when the key is not a command's, or when its action applies (the binding ran).
    """
    for command in commands:
        if key in keys_for(command, keymap).split(","):
            action = command.action.split("(", 1)[0]
            return None if applies(action) else action
    return None
