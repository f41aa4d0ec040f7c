"""How a reaction reads where a person looks: the event line, and the mark on a status row."""

from __future__ import annotations

import pytest

from ao_tui.status_table import reaction_badge
from core.event_summary import summary
from core.models import ReactionMark

BASE = {"key": "ci-failed", "attempt": 1, "budget": 2, "tier": 1, "action": "send-to-agent"}


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({**BASE, "outcome": "sent"}, "ci-failed: sent the failure (attempt 1/2)"),
        (
            {
                **BASE,
                "outcome": "escalated",
                "attempt": 2,
                "tier": 3,
                "reason": "CI still failing after 2 fixes: test_x",
            },
            "ci-failed: escalated — CI still failing after 2 fixes: test_x",
        ),
        (
            {**BASE, "outcome": "failed", "reason": "the pane is gone"},
            "ci-failed: could not send the failure (attempt 1/2): the pane is gone",
        ),
        (
            {**BASE, "outcome": "suggested"},
            "ci-failed: suggests sending the failure; waiting for the operator (attempt 1/2)",
        ),
        (
            {"key": "changes-requested", "outcome": "delivered", "attempt": 1, "budget": None},
            "changes-requested: delivered the review comments (attempt 1)",
        ),
        (
            {"key": "ci-failed", "outcome": "dropped", "by": "operator"},
            "ci-failed: the suggested message was dropped by the operator",
        ),
        (
            {"key": "ci-failed", "outcome": "cleared", "attempt": 2},
            "ci-failed: cleared after 2 attempts",
        ),
        (
            {"key": "pr-closed", "outcome": "notified", "reason": "the PR was closed"},
            "pr-closed: told the operator — the PR was closed",
        ),
        (
            {
                **BASE,
                "outcome": "orchestrator",
                "attempt": 2,
                "tier": 2,
                "to": "app-orchestrator",
                "reason": "CI still failing after 2 fixes: test_x",
            },
            "ci-failed: handed to app-orchestrator (attempt 2/2): "
            "CI still failing after 2 fixes: test_x",
        ),
        (
            {
                "key": "orchestrator",
                "outcome": "escalated",
                "attempt": 0,
                "tier": 3,
                "by": "app-orchestrator",
                "reason": "two agents fix one bug (escalated by app-orchestrator)",
            },
            "orchestrator: escalated — two agents fix one bug (escalated by app-orchestrator)",
        ),
        (
            {
                "key": "orchestrator",
                "outcome": "cleared",
                "by": "operator",
                "reason": "the escalation was taken back",
            },
            "orchestrator: cleared by the operator: the escalation was taken back",
        ),
        ({"key": "*", "outcome": "paused", "scope": "*"}, "reactions paused for every session"),
        ({"key": "*", "outcome": "resumed", "scope": "app-3"}, "reactions resumed"),
        ({"unexpected": 1}, "unexpected: 1"),
    ],
)
def test_reaction_events_read_as_sentences(data: dict[str, object], line: str) -> None:
    assert summary("reaction", data) == line


def test_the_mark_on_a_status_row() -> None:
    assert reaction_badge(None) == ""
    assert reaction_badge(ReactionMark("ci-failed", "acting", attempts=1, budget=2)) == "↻ ci 1/2"
    assert reaction_badge(ReactionMark("changes-requested", "acting", attempts=1)) == "↻ review 1"
    assert reaction_badge(ReactionMark("merge-conflicts", "escalated", tier=3)) == "⚠ conflict"
    assert reaction_badge(ReactionMark("ci-failed", "suggested", attempts=1)) == "✎ ci"
    assert reaction_badge(ReactionMark("orchestrator", "escalated", tier=3)) == "⚠ by hand"
