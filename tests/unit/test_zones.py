"""Zone derivation follows the attention priority: Needs you first, Done last."""

from __future__ import annotations

import pytest

from core.models import Activity, ActivityState, Lifecycle, SignalSource, Zone
from core.zones import zone_of
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
        (Lifecycle.RUNNING, ActivityState.IDLE, {"state": "approved"}, Zone.READY_TO_MERGE),
        (Lifecycle.RUNNING, ActivityState.WORKING, {"state": "ci_failed"}, Zone.FIXING),
        (Lifecycle.RUNNING, ActivityState.IDLE, {"state": "open"}, Zone.IN_REVIEW),
        (Lifecycle.RUNNING, ActivityState.WORKING, {"state": "open"}, Zone.WORKING),
        (Lifecycle.RUNNING, ActivityState.WORKING, {"state": "ci_running"}, Zone.WORKING),
        (Lifecycle.EXITED, ActivityState.EXITED, {"state": "open"}, Zone.NEEDS_YOU),
        (Lifecycle.RUNNING, ActivityState.WAITING_INPUT, {"state": "approved"}, Zone.NEEDS_YOU),
        (Lifecycle.KILLED, ActivityState.EXITED, None, Zone.DONE),
        (Lifecycle.RUNNING, ActivityState.IDLE, {"state": "merged"}, Zone.DONE),
    ],
)
def test_zone_priority(
    lifecycle: Lifecycle, state: ActivityState, pr: dict[str, str] | None, zone: Zone
) -> None:
    assert zone_of(make_session("app-1", lifecycle=lifecycle, activity=act(state), pr=pr)) is zone


def test_zone_labels_are_exact() -> None:
    assert [z.value for z in Zone] == [
        "Needs you",
        "Ready to merge",
        "Fixing",
        "In review",
        "Working",
        "Done",
    ]
