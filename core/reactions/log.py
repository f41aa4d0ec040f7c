"""The ``reaction`` events one session's history shows: its own, and the switches that
paused or resumed every session (logged under no session).

Read straight from the event log's ``(session_id, seq)`` index, so a long log is not paged
through to find one session's few reactions.
"""

from __future__ import annotations

import json

from core.models import Event
from core.store import Store

KIND = "reaction"
"""The event kind every reaction decision is logged as."""


def reaction_events(store: Store, session_id: str) -> list[Event]:
    """The ``reaction`` events of ``session_id`` and the global pause/resume ones, oldest
    first. A row whose data does not decode is skipped (it cannot be explained anyway)."""
    rows = store.read(
        "SELECT seq, ts, session_id, kind, data FROM events "
        "WHERE session_id IN (?, '') AND kind=? ORDER BY seq",
        (session_id, KIND),
    )
    found: list[Event] = []
    for seq, ts, owner, kind, data in rows:
        try:
            decoded = json.loads(data)
        except (TypeError, ValueError):
            continue
        if isinstance(decoded, dict):
            found.append(Event(int(seq), float(ts), str(owner), str(kind), decoded))
    return found
