"""What a session that acts on others (the orchestrator) last did, read from the event log.

An agent ao-tui starts with a role runs ``ao-tui`` with its id in the environment, and
every event those calls log carries ``by: <its id>`` (:mod:`core.provenance`). The newest
such event that records a decision (a spawn, a message, a kill, an escalation) is the
agent's *last action*: the cockpit's pinned orchestrator line says it as "spawned app-4".
What the engine observed along the way (activity, PR and lifecycle changes a verb's own
look at a session logs) is not an action of the agent's and is skipped.
"""

from __future__ import annotations

import json
from typing import Any

from core.models import Event
from core.store import Store

OBSERVED_KINDS = frozenset({"activity", "pr", "lifecycle", "ci-failed"})
"""Kinds the engine logs about what it saw, whoever's verb made it look."""

_VERBS: dict[str, str] = {
    "spawned": "spawned {id}",
    "spawn-failed": "could not spawn {id}",
    "killed": "killed {id}",
    "leftovers-removed": "cleaned up {id}",
    "kill-failed": "could not kill {id}",
    "restored": "restored {id}",
    "responded": "answered {id}'s prompt",
    "approved": "approved {id}",
    "merged": "merged {id}",
    "ci-rerun": "reran CI of {id}",
    "escalated": "escalated {id}",
}
"""Per event kind, the action in a few words (``{id}``: the session acted on)."""

_SENT = frozenset({"delivered", "queued", "sent"})


def is_action(event: Event, actor: str) -> bool:
    """Whether ``event`` records something ``actor`` did (not something the engine saw)."""
    return bool(actor) and event.data.get("by") == actor and event.kind not in OBSERVED_KINDS


def action_text(event: Event) -> str:
    """``spawned app-4``, ``sent app-2 a message``, ``escalated app-7``: the action in a few
    words, naming the session it was done to. Unknown kinds read ``<kind> <id>``."""
    target, data = event.session_id, event.data
    if event.kind == "message":
        sent = data.get("result") in _SENT
        return f"sent {target} a message" if sent else f"could not send {target} a message"
    if event.kind == "reaction":
        outcome = str(data.get("outcome") or "")
        if outcome == "escalated":
            return f"escalated {target}"
        return f"{outcome or 'reacted'} on {target}"
    template = _VERBS.get(event.kind)
    if template is not None:
        return template.format(id=target)
    return f"{event.kind} {target}"


def last_action(store: Store, actor: str, *, after: int = 0) -> Event | None:
    """The newest event after sequence number ``after`` recording an action of ``actor``.

    Read newest first, so the scan stops at the first hit; ``after`` (the newest sequence
    number a previous read covered) bounds the scan to what is new.
    """
    kinds = sorted(OBSERVED_KINDS)
    marks = ",".join("?" * len(kinds))
    rows = store.read(
        "SELECT seq, ts, session_id, kind, data FROM events "
        f"WHERE seq > ? AND kind NOT IN ({marks}) AND json_extract(data, '$.by') = ? "
        "ORDER BY seq DESC LIMIT 1",
        (after, *kinds, actor),
    )
    if not rows:
        return None
    seq, ts, session_id, kind, data = rows[0]
    try:
        decoded: Any = json.loads(data)
    except ValueError:
        decoded = {}
    if not isinstance(decoded, dict):
        decoded = {}
    return Event(int(seq), float(ts), str(session_id), str(kind), decoded)
