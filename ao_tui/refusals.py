"""Why a session key does nothing: what the cockpit says when a key it hides is pressed.

The footer hides keys that do not apply to the selected session. A key pressed anyway is
answered with the reason when there is one worth telling (a merged or done session offers
no kill and no restore); otherwise it stays silent as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ao_tui.keymap import Command, keys_for
from core.closed import is_closed, is_merged
from core.models import Session


def why_not(action: str, session: Session | None) -> str | None:
    """Why ``action`` (an app action name) does not apply to ``session``, if worth saying.

    Short enough for one toast at 80x24; the CLI's refusal (core.closed) says it in full.
    """
    if action == "send_orchestrator":
        return "no orchestrator is running"
    if session is None or not is_closed(session):
        return None
    word = "merged" if is_merged(session) else session.lifecycle.value
    if action == "kill":
        return f"{session.id} is {word}: nothing left to kill"
    if action == "restore":
        return f"{session.id} is {word}: its work has landed; N starts a new session"
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
