"""A conversation file its agent cannot resume, put aside so the session starts afresh.

An agent killed right after its start can leave the file of its conversation holding no
message yet (its header, its own context): it refuses to resume such a conversation, and
refuses its id as taken when asked to start afresh under it. Renamed
``<name>.no-conversation``, the file is kept, and no longer found.
"""

from __future__ import annotations

from pathlib import Path

from core.slots import SlotError

SET_ASIDE_SUFFIX = ".no-conversation"
"""Appended to the name of a conversation file put aside."""


def set_aside(path: Path, session_id: str) -> Path:
    """Rename ``path`` (which holds no conversation) out of its agent's way; the new path.

    Raises :class:`SlotError` saying what to do when the rename fails.
    """
    aside = path.with_name(path.name + SET_ASIDE_SUFFIX)
    try:
        path.replace(aside)
    except OSError as exc:
        raise SlotError(
            f"cannot restart {session_id}: its transcript {path} holds no conversation to "
            f"resume and cannot be set aside ({exc.strerror or exc}); move it away and "
            "restore again"
        ) from None
    return aside
