"""What the board and ``status`` call a session that is not a worker: its role, in words.

A worker needs no tag. The orchestrator reads ``orchestrator``. A reviewer reads ``review of
app-3``: the session it reviews is the one whose branch it started from (a reviewer is
spawned on the author's branch, ``ao/<id>-<slug>``), or the id its spawner recorded as
``extra["reviews"]``. Plain strings, no Rich: ``status`` stays light.
"""

from __future__ import annotations

import re

from core.inert import inert
from core.models import Role, Session

_AUTHOR_BRANCH = re.compile(r"ao/(?P<id>[A-Za-z0-9._-]+?-[0-9]{1,9})(?:-|$)")
"""A session's branch as :func:`core.naming.branch_name` makes it; the id is its head."""


def reviewed_id(session: Session) -> str:
    """The id of the session a reviewer reviews; "" when it cannot be told."""
    recorded = session.extra.get("reviews")
    if isinstance(recorded, str) and recorded:
        return inert(recorded, one_line=True)  # whatever wrote it, it reaches a screen
    found = _AUTHOR_BRANCH.match(session.base_branch)
    return found.group("id") if found else ""


def role_tag(session: Session) -> str:
    """``orchestrator``, ``review of app-3`` (``review`` when the author is unknown), or ""
    for a worker."""
    if session.role is Role.ORCHESTRATOR:
        return "orchestrator"
    if session.role is Role.REVIEWER:
        author = reviewed_id(session)
        return f"review of {author}" if author else "review"
    return ""
