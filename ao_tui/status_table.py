"""The plain ``status``/``ls`` table: one row per session, what a waiting one asks, 80 columns.

Each row says the session's zone, what its agent does and for how long, its PR (review and
merge side) and its CI, then the title, which is what gets cut when the row would pass 80
columns. Zones and activities use the cockpit's short words (``Ready``, ``waiting``) to
leave the title room; ``--json`` keeps the full values. A session waiting on the operator
gets a second line saying what it asks (``asks: Bash: rm -rf build``), as wide as the line
allows: that is what the operator must see before answering. A reaction at work shows before
the title (``↻ ci 1/2``); one handed to the operator gets a line of its own with the reason
(``⚠ escalated: CI still failing after 2 fixes``), as does a message waiting to be sent.
The orchestrator (its id says so: ``app-orchestrator``) comes first, in no zone (``-``, or
``Needs you`` while it waits on a prompt or has exited); a reviewer's title is tagged
``[review of app-3]`` (:mod:`ao_tui.role_tags`).
Every text from elsewhere (titles, commands the agent wants to run) is inert
(:mod:`core.inert`). No Rich: ``status`` must stay light.
"""

from __future__ import annotations

from collections.abc import Sequence

from ao_tui.role_tags import role_tag
from core.humanize import age
from core.inert import inert
from core.models import (
    NOTHING_ASKED,
    ActivityState,
    Lifecycle,
    ReactionMark,
    Role,
    Session,
    SessionPR,
    Zone,
)
from core.zones import zone_of

WIDTH = 80
"""The width every line fits in (a terminal over SSH, a chat bot's code block)."""
TITLE_MIN = 10
"""The least of the title shown, however wide the other columns are."""
ASKS_INDENT = 4

_HEADER = ("ID", "ZONE", "ACTIVITY", "FOR", "PR", "CI", "TITLE")

_CI_WORDS = {"passing": "passing", "failing": "failing", "running": "running"}

ZONE_WORDS: dict[Zone, str] = {
    Zone.NEEDS_YOU: "Needs you",
    Zone.READY_TO_MERGE: "Ready",
    Zone.FIXING: "Fixing",
    Zone.IN_REVIEW: "Review",
    Zone.WORKING: "Working",
    Zone.DONE: "Done",
}
"""The zone labels of the cockpit's header line (ao_tui.widgets.zone_counts)."""

ACTIVITY_WORDS = {ActivityState.WAITING_INPUT.value: "waiting"}
"""Activity states whose table word is shorter than their value (as on a cockpit card)."""


def pr_column(pr: SessionPR | None) -> str:
    """The PR's review and merge side in one word: ``-`` (no PR), ``open``, ``approved``,
    ``stale`` (approved at an older head), ``changes``, ``conflicts``, ``draft``, ``merged``.

    CI has its own column, so the PR states that only say CI (``ci_failed``) read as the
    review state under them.
    """
    if pr is None:
        return "-"
    state = pr.state
    if state in ("merged", "conflicts", "draft", "unknown"):
        return state
    if state == "changes_requested" or pr.review == "changes_requested":
        return "changes"
    if state == "review_pending" or pr.review == "stale":
        return "stale"
    if pr.review == "approved":
        return "approved"
    return "open"


def ci_column(pr: SessionPR | None) -> str:
    """The PR's CI: ``passing``, ``failing``, ``running``, or ``-`` (no PR, no run yet)."""
    if pr is None:
        return "-"
    return _CI_WORDS.get(pr.ci, "-")


def asks(session: Session) -> str:
    """What a session waiting on the operator asks (``Bash: rm -rf build``), or ""."""
    activity = session.activity
    if session.lifecycle is not Lifecycle.RUNNING:
        return ""
    if activity.state is not ActivityState.WAITING_INPUT:
        return ""
    waiting = activity.waiting_for or NOTHING_ASKED
    tool, command = waiting.tool, waiting.command
    if tool and command:
        text = f"{tool}: {command}"
    elif tool:
        text = tool
    else:
        text = activity.detail or "input"
    return inert(text, one_line=True)


REACTION_WORDS = {
    "ci-failed": "ci",
    "changes-requested": "review",
    "bugbot-comments": "bot review",
    "merge-conflicts": "conflict",
    "approved-and-green": "merge",
    "agent-stuck": "stuck",
    "agent-needs-input": "input",
    "agent-exited": "exited",
    "pr-closed": "pr closed",
    "all-complete": "complete",
    "orchestrator": "by hand",
    "agent-review": "agent review",
}
"""The short word of each reaction key on a row (``↻ ci 1/2``)."""


def reaction_badge(mark: ReactionMark | None) -> str:
    """The mark in a few characters: ``↻ ci 1/2`` (acting), ``✎ ci`` (a message waits for
    the operator), ``⚠ ci`` (escalated); "" without one."""
    if mark is None:
        return ""
    word = REACTION_WORDS.get(mark.key, mark.key)
    if mark.status == "escalated":
        return f"⚠ {word}"
    if mark.status == "suggested":
        return f"✎ {word}"
    count = f"{mark.attempts}/{mark.budget}" if mark.budget else str(mark.attempts)
    return f"↻ {word} {count}"


def reaction_line(session: Session) -> str:
    """The second line of a session whose reaction is with the operator, or ""."""
    mark = session.reaction
    if mark is None or mark.status == "acting":
        return ""
    if mark.status == "escalated":
        return inert(f"⚠ escalated: {mark.reason or mark.key}", one_line=True)
    return f"✎ {mark.key} message ready: ao-tui reactions send|drop {session.id}"


def zone_word(session: Session) -> str:
    """The ZONE cell: the short zone word; for the orchestrator, which is in no zone, ``-``
    or ``Needs you`` while it waits on the operator (a prompt, an error, an exit)."""
    if session.role is Role.ORCHESTRATOR:
        waiting = session.lifecycle is Lifecycle.EXITED or session.activity.state in (
            ActivityState.WAITING_INPUT,
            ActivityState.ERROR,
            ActivityState.EXITED,
        )
        return ZONE_WORDS[Zone.NEEDS_YOU] if waiting and session.lifecycle in _LIVE else "-"
    zone = zone_of(session)
    return ZONE_WORDS.get(zone, zone.value)


_LIVE = frozenset({Lifecycle.RUNNING, Lifecycle.PAUSED, Lifecycle.EXITED})


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(0, room - 1)] + "…"


def render_table(sessions: Sequence[Session], now: float) -> str:
    """The table of ``sessions`` at time ``now``, every line at most :data:`WIDTH` wide
    (unless the id alone is wider)."""
    rows: list[tuple[str, ...]] = [_HEADER]
    questions: list[str] = [""]
    notes: list[str] = [""]
    # The orchestrator first, as the cockpit pins it above the zones.
    for s in sorted(sessions, key=lambda s: s.role is not Role.ORCHESTRATOR):
        state = s.activity.state.value if s.lifecycle is Lifecycle.RUNNING else s.lifecycle.value
        state = ACTIVITY_WORDS.get(state, state)
        # A title may come from an issue, or from a database older than inert titles.
        title = inert(s.title, one_line=True)
        badge = reaction_badge(s.reaction)
        if badge:
            title = f"{badge} {title}"
        tag = role_tag(s) if s.role is Role.REVIEWER else ""
        if tag:
            title = f"[{tag}] {title}"
        rows.append(
            (
                s.id,
                zone_word(s),
                state,
                age(now - s.activity.since),
                pr_column(s.pr),
                ci_column(s.pr),
                title,
            )
        )
        questions.append(asks(s))
        notes.append(reaction_line(s))
    fixed = len(_HEADER) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(fixed)]
    lines = []
    for row, question, note in zip(rows, questions, notes, strict=True):
        head = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:fixed]))
        room = max(TITLE_MIN, WIDTH - len(head) - 2)
        lines.append(f"{head}  {_cut(row[fixed], room)}".rstrip())
        if question:
            lines.append(_cut(" " * ASKS_INDENT + f"asks: {question}", WIDTH))
        if note:
            lines.append(_cut(" " * ASKS_INDENT + note, WIDTH))
    return "\n".join(lines)
