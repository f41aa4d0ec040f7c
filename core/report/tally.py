"""What the event log says of each session: CI cycles, reactions fired, human interventions,
when it merged, and the reasons reactions gave when they escalated.

Only the kinds this needs are read (one query for the whole log), never the activity
stream that makes up most of it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from core.store import Store

KINDS = (
    "reaction",
    "message",
    "responded",
    "approved",
    "restored",
    "merged",
    "ci-failed",
    "error",
)
"""The event kinds the report reads."""

_REACTOR_SENDS = frozenset({"sent", "delivered", "queued", "failed"})
"""Reaction outcomes that typed a message into the agent (each also logs a ``message``)."""
_FIRED = frozenset(
    {"sent", "delivered", "queued", "suggested", "escalated", "notified", "restored", "merged"}
)
"""Reaction outcomes that are the reactions acting (not ``cleared`` or a failure)."""


@dataclass
class Tally:
    """One session's counts from the event log."""

    failed_heads: set[str] = field(default_factory=set)
    reactions: int = 0
    messages: int = 0
    reactor_sends: int = 0
    operator_acts: int = 0
    """Answers, approvals, restores and suggestion drops: each a person's key."""
    reaction_restores: int = 0
    merged_at: float | None = None
    escalation_key: str = ""
    handed_key: str = ""
    """The key of the last reaction that handed the session to the orchestrator (tier 2)."""
    escalation_reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def interventions(self) -> int:
        """The times a person stepped in: messages the reactions did not type, answers,
        approvals, restores the reactions did not make, and suggestion decisions."""
        return max(0, self.messages - self.reactor_sends) + max(
            0, self.operator_acts - self.reaction_restores
        )

    def add(self, ts: float, kind: str, data: dict[str, Any]) -> None:
        """Count one event."""
        if kind == "ci-failed":
            self.failed_heads.add(str(data.get("head_sha") or f"event@{ts}"))
        elif kind == "message":
            self.messages += 1
        elif kind in ("responded", "approved", "restored"):
            self.operator_acts += 1
        elif kind == "merged" and self.merged_at is None:
            self.merged_at = ts
        elif kind == "error":
            self.errors.append(json.dumps(data, sort_keys=True))
        elif kind == "reaction":
            self._reaction(data)

    def _reaction(self, data: dict[str, Any]) -> None:
        outcome = str(data.get("outcome") or "")
        by_operator = data.get("by") == "operator"
        if by_operator:
            # The operator's own send already counts through its ``message`` event.
            self.operator_acts += outcome == "dropped"
            return
        if outcome in _REACTOR_SENDS:
            self.reactor_sends += 1
        if outcome == "restored":
            self.reaction_restores += 1
        if outcome in _FIRED:
            self.reactions += 1
        if outcome == "orchestrator":
            self.handed_key = str(data.get("key") or "")
        if outcome == "escalated":
            self.escalation_key = str(data.get("key") or "")
            if data.get("reason"):
                self.escalation_reasons.append(str(data["reason"]))


def tally_events(store: Store) -> dict[str, Tally]:
    """Each session's :class:`Tally`, from the whole event log and the CI runs table."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    marks = ",".join("?" * len(KINDS))
    rows = store.read(
        f"SELECT session_id, ts, kind, data FROM events WHERE kind IN ({marks}) ORDER BY seq",
        KINDS,
    )
    for session_id, ts, kind, raw in rows:
        try:
            data = json.loads(raw)
        except ValueError:
            continue  # a garbled row says nothing countable; the rest still does
        data = data if isinstance(data, dict) else {}
        tallies[str(session_id)].add(float(ts), str(kind), data)
        handed_to = data.get("to") if data.get("outcome") == "orchestrator" else None
        if kind == "reaction" and isinstance(handed_to, str):
            # A handoff (tier 2) is typed into the orchestrator by the reactions, not a person.
            tallies[handed_to].reactor_sends += 1
    for session_id, head in store.read(
        "SELECT session_id, head_sha FROM ci_runs WHERE state='failing'"
    ):
        tallies[str(session_id)].failed_heads.add(str(head))
    return dict(tallies)
