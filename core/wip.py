"""ao-tui's WIP commits: how the work a kill saves is named, and how it is recognised.

A kill commits a worktree's uncommitted work before it removes the worktree, so nothing is
lost; restore takes that commit back off the branch so the work is uncommitted again, as
it was. Until then the branch tip is a commit nobody meant to publish, so a merge refuses
it. The subject names the session and the verb; the body may carry the tree of what was
staged (:data:`INDEX_TRAILER`), so a restore can stage exactly that again.
"""

from __future__ import annotations

import re

INDEX_TRAILER = "ao-tui-index"
"""Trailer naming the tree of the index at the kill, when something was staged."""

_SUBJECT = re.compile(r"^WIP: [a-z0-9][a-z0-9-]* saved by ao-tui (?:kill|merge|doctor --fix)$")
_TRAILER = re.compile(rf"^{INDEX_TRAILER}: ([0-9a-f]{{40}}|[0-9a-f]{{64}})$", re.MULTILINE)

WIP_BLOCKER = (
    "the branch tip is the WIP commit ao-tui saved at a kill: restore the session to make "
    "that work uncommitted again (or commit on top of it)"
)
"""Why a merge refuses a branch whose tip is a WIP commit."""


def wip_message(session_id: str, verb: str) -> str:
    """The subject of the commit in which ``verb`` (kill, merge, doctor --fix) saves work."""
    return f"WIP: {session_id} saved by ao-tui {verb}"


def is_wip_subject(subject: str) -> bool:
    """Whether a commit subject is one ao-tui gives the work it saves."""
    return bool(_SUBJECT.match(subject.strip()))


def staged_tree(message: str) -> str | None:
    """The staged tree a WIP commit message names in its trailer, if any."""
    found = _TRAILER.search(message)
    return found.group(1) if found else None
