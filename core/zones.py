"""Which attention zone a session belongs in, derived from its facets (priority order below).

The zone is never stored: it is recomputed from lifecycle, activity and PR state, so it can
never disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.attention import someone_is_fixing
from core.models import ZONE_ORDER, ActivityState, Lifecycle, Session, Zone

_DONE_LIFECYCLES = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})
_NEEDS_YOU_ACTIVITY = frozenset(
    {
        ActivityState.WAITING_INPUT,
        ActivityState.ERROR,
        ActivityState.EXITED,
        ActivityState.IDLE,
        ActivityState.RETRYING,  # busy-looking, but nothing moves until the API answers
    }
)
_FIXING_PR = frozenset({"ci_failed", "changes_requested", "conflicts"})
_READY_PR = frozenset({"approved", "mergeable"})
_REVIEW_PR = frozenset({"draft", "open", "ci_running", "review_pending"})


def zone_of(session: Session) -> Zone:
    """The zone a session shows in, highest priority first.

    An idle agent counts as needing you: it has finished its turn and will do nothing more
    until someone answers, which is exactly what the operator must not miss. A PR that is
    in review or ready outranks the agent being idle, since then CI or a reviewer is the
    one the session waits on; but a PR open while the agent still works is Working. A PR
    that needs fixing is Fixing only while someone fixes it (core.attention); with its
    agent idle, it waits for the operator.
    """
    if session.lifecycle in _DONE_LIFECYCLES:
        return Zone.DONE
    pr_state: str = "none" if session.pr is None else session.pr.state
    if pr_state == "unknown":  # the host could not be asked: judge by the agent alone
        pr_state = "none"
    if pr_state in ("merged", "closed"):
        return Zone.DONE
    mark = session.reaction
    if session.lifecycle is Lifecycle.EXITED or (
        mark is not None and mark.status in ("escalated", "suggested")
    ):
        return Zone.NEEDS_YOU
    state = session.activity.state
    if state in _NEEDS_YOU_ACTIVITY and not (state is ActivityState.IDLE and pr_state != "none"):
        return Zone.NEEDS_YOU
    if pr_state in _READY_PR:
        return Zone.READY_TO_MERGE
    if pr_state in _FIXING_PR:
        return Zone.FIXING if someone_is_fixing(session) else Zone.NEEDS_YOU
    if pr_state in _REVIEW_PR and state is not ActivityState.WORKING:
        return Zone.IN_REVIEW
    # An agent still at work on its branch is Working even with a PR open: the review it
    # waits for starts when it stops pushing.
    return Zone.WORKING


# Within Needs you, what the operator must answer comes first: an agent blocked on a
# prompt or question waits for nobody else, an error usually needs a decision, an exited
# agent a restore; an idle agent has finished its turn and loses nothing by waiting.
_RANK_PROMPT, _RANK_ERROR, _RANK_EXITED, _RANK_IDLE = range(4)


def needs_you_rank(session: Session) -> int:
    """The rank of a Needs-you session, lowest first: prompts, errors (retrying ones too),
    exited, idle."""
    state = session.activity.state
    if session.lifecycle is Lifecycle.EXITED or state is ActivityState.EXITED:
        return _RANK_EXITED  # a stale prompt of an agent that exited can no longer be answered
    if state is ActivityState.WAITING_INPUT:
        return _RANK_PROMPT
    if state in (ActivityState.ERROR, ActivityState.RETRYING):
        return _RANK_ERROR  # retrying after API errors is an error that has not ended yet
    return _RANK_IDLE


def by_zone(sessions: Iterable[Session]) -> list[tuple[Zone, list[Session]]]:
    """Sessions grouped by zone, in board order; every zone is listed, even when empty.

    Needs you puts prompts first, then errors, exited and idle agents (see
    :func:`needs_you_rank`), each longest-waiting first; the other zones keep the order
    given (the store lists sessions oldest first).
    """
    groups: dict[Zone, list[Session]] = {zone: [] for zone in ZONE_ORDER}
    for session in sessions:
        groups[zone_of(session)].append(session)
    groups[Zone.NEEDS_YOU].sort(
        key=lambda s: (needs_you_rank(s), s.activity.since, s.created_at, s.id)
    )
    return [(zone, groups[zone]) for zone in ZONE_ORDER]
