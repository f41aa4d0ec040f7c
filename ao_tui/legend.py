"""What the board's marks and zones mean, in words: for the help screen and the first-run board.

The glyphs and badges themselves live in :mod:`ao_tui.widgets.card`; the meanings here are
keyed by the same states, and a test checks that every mark drawn on a card is explained.
"""

from __future__ import annotations

from core.models import ActivityState, Lifecycle, Zone

ACTIVITY_MEANINGS: dict[ActivityState, str] = {
    ActivityState.WORKING: "working: the agent is busy",
    ActivityState.WAITING_INPUT: "waiting for you: a permission prompt or a question",
    ActivityState.IDLE: "idle: its turn is over, it waits for a message",
    ActivityState.RETRYING: "retrying: its API calls fail and it retries on its own",
    ActivityState.ERROR: "error: the agent hit an error, or cannot be read",
    ActivityState.EXITED: "exited: the agent stopped (r restores it)",
    ActivityState.UNKNOWN: "not known yet",
}
"""Each activity state's glyph, explained."""

LIFECYCLE_MEANINGS: dict[Lifecycle, str] = {
    Lifecycle.KILLED: "killed: stopped by the operator",
    Lifecycle.MERGED: "merged into its base branch",
    Lifecycle.DONE: "done",
    Lifecycle.SPAWNING: "starting",
}
"""Glyphs that stand for the lifecycle rather than the activity, explained."""

PR_MEANINGS: dict[str, str] = {
    "draft": "a draft PR",
    "open": "PR open, nothing known about CI or review yet",
    "ci_running": "CI is running on the branch head",
    "review_pending": "CI passed (or none), waiting for a review",
    "ci_failed": "CI failed on the branch head",
    "changes_requested": "a reviewer asked for changes",
    "conflicts": "the branch conflicts with its base",
    "approved": "approved at the current head",
    "mergeable": "CI passed and nothing blocks a merge",
    "merged": "merged",
    "closed": "closed without merging",
    "unknown": "the host could not tell",
}
"""Each PR state's badge, explained."""

PR_PREFIX_MEANINGS: tuple[tuple[str, str], ...] = (
    ("#12", "a pull request on the host (its number)"),
    ("PR", "the local branch, proposed into its base"),
    ("!", "after the badge: the host could not be asked, it may be out of date"),
)
"""What stands around a badge."""

REACTION_MEANINGS: dict[str, str] = {
    "acting": "a reaction sent the agent the facts; attempt 1 of 2",
    "escalated": "a reaction gave up: it is yours (the preview says why)",
    "suggested": "a message is ready for the agent: S sends it, e edits it",
}
"""Each reaction mark's status, explained (the examples are for CI)."""

ZONE_MEANINGS: dict[Zone, str] = {
    Zone.NEEDS_YOU: "a prompt, a question, an error or an idle agent waits on you",
    Zone.READY_TO_MERGE: "CI passed and nothing blocks a merge: m merges",
    Zone.FIXING: "the agent works on failing CI, requested changes or a conflict",
    Zone.IN_REVIEW: "a PR waits for CI or a reviewer",
    Zone.WORKING: "the agent is busy",
    Zone.DONE: "merged, closed or killed (z folds and unfolds it)",
}
"""What each zone of the board holds, one line each."""

PINNED_MEANING = (
    "the orchestrator, pinned above the zones (in none): its state and last action; "
    "0 selects it, o messages it"
)
"""What the line above the zones is."""
