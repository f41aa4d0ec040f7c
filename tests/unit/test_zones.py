"""Zone derivation follows the attention priority: Needs you first, Done last."""

from __future__ import annotations

import pytest

from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    PRState,
    Session,
    SessionPR,
    SignalSource,
    Zone,
)
from core.zones import by_zone, needs_you_rank, zone_of
from tests.unit.test_store import make_session


def act(state: ActivityState) -> Activity:
    return Activity(state, SignalSource.HOOK, 1.0)


@pytest.mark.parametrize(
    ("lifecycle", "state", "pr", "zone"),
    [
        (Lifecycle.RUNNING, ActivityState.WAITING_INPUT, None, Zone.NEEDS_YOU),
        (Lifecycle.RUNNING, ActivityState.ERROR, None, Zone.NEEDS_YOU),
        (Lifecycle.EXITED, ActivityState.EXITED, None, Zone.NEEDS_YOU),
        (Lifecycle.RUNNING, ActivityState.IDLE, None, Zone.NEEDS_YOU),
        (Lifecycle.RUNNING, ActivityState.WORKING, None, Zone.WORKING),
        (Lifecycle.RUNNING, ActivityState.UNKNOWN, None, Zone.WORKING),
        (Lifecycle.RUNNING, ActivityState.IDLE, "mergeable", Zone.READY_TO_MERGE),
        (Lifecycle.RUNNING, ActivityState.WORKING, "ci_failed", Zone.FIXING),
        (Lifecycle.RUNNING, ActivityState.IDLE, "open", Zone.IN_REVIEW),
        (Lifecycle.RUNNING, ActivityState.WORKING, "open", Zone.WORKING),
        (Lifecycle.RUNNING, ActivityState.WORKING, "ci_running", Zone.WORKING),
        (Lifecycle.EXITED, ActivityState.EXITED, "open", Zone.NEEDS_YOU),
        (Lifecycle.RUNNING, ActivityState.WAITING_INPUT, "mergeable", Zone.NEEDS_YOU),
        (Lifecycle.KILLED, ActivityState.EXITED, None, Zone.DONE),
        (Lifecycle.RUNNING, ActivityState.IDLE, "merged", Zone.DONE),
    ],
)
def test_zone_priority(
    lifecycle: Lifecycle, state: ActivityState, pr: PRState | None, zone: Zone
) -> None:
    stored = None if pr is None else SessionPR(pr)
    assert (
        zone_of(make_session("app-1", lifecycle=lifecycle, activity=act(state), pr=stored)) is zone
    )


def test_zone_labels_are_exact() -> None:
    assert [z.value for z in Zone] == [
        "Needs you",
        "Ready to merge",
        "Fixing",
        "In review",
        "Working",
        "Done",
    ]


def test_needs_you_puts_prompts_then_errors_then_exited_then_idle() -> None:
    """Pressing 1 lands on the oldest prompt, never on an agent that merely finished."""

    def waiting(sid: str, state: ActivityState, since: float, **kw: object) -> Session:
        return make_session(sid, activity=Activity(state, SignalSource.HOOK, since), **kw)

    sessions = [
        waiting("app-1", ActivityState.IDLE, 10.0),  # idle the longest
        waiting("app-2", ActivityState.ERROR, 30.0),
        waiting("app-3", ActivityState.WAITING_INPUT, 50.0),
        waiting("app-4", ActivityState.EXITED, 5.0, lifecycle=Lifecycle.EXITED),
        waiting("app-5", ActivityState.WAITING_INPUT, 40.0),
        # An agent that exited with a prompt on screen can no longer answer it.
        waiting("app-6", ActivityState.WAITING_INPUT, 1.0, lifecycle=Lifecycle.EXITED),
        waiting("app-7", ActivityState.WORKING, 1.0),
    ]
    groups = dict(by_zone(sessions))
    assert [s.id for s in groups[Zone.NEEDS_YOU]] == [
        "app-5",
        "app-3",
        "app-2",
        "app-6",
        "app-4",
        "app-1",
    ]
    assert [s.id for s in groups[Zone.WORKING]] == ["app-7"]
    assert [zone for zone, _ in by_zone([])] == list(Zone)
    assert [needs_you_rank(s) for s in groups[Zone.NEEDS_YOU]] == [0, 0, 1, 2, 2, 3]
