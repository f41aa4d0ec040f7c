"""Each state means what it says: Fixing only while someone fixes, retries are not work.

Issue 9 items 7 and 8. "Fixing" showed idle agents nobody was fixing; an agent stuck on
API retries showed as working for minutes. The reasons are checked where the operator
reads them: zone, card, preview, toast and ``status --json``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ao_tui.cli import session_json
from ao_tui.news import needs_you_reason as toast_reason
from ao_tui.widgets.card import CardPalette, card, glyph, line, state_word
from ao_tui.widgets.preview import waiting_text
from core.attention import needs_you_reason, restored_and_waiting, someone_is_fixing
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
from core.zones import zone_of
from tests.unit.test_store import make_session

PALETTE = CardPalette()
NOW = 1_800_000_000.0


def session(
    state: ActivityState,
    pr: PRState | None = None,
    *,
    detail: str = "",
    lifecycle: Lifecycle = Lifecycle.RUNNING,
    **kw: Any,
) -> Session:
    return make_session(
        "app-3",
        lifecycle=lifecycle,
        activity=Activity(state, SignalSource.HOOK, NOW - 90, detail),
        pr=None if pr is None else SessionPR(pr, number=41),
        base_branch="main",
        **kw,
    )


# -- item 7: Fixing means someone is on it ----------------------------------------------


@pytest.mark.parametrize("pr", ["ci_failed", "changes_requested", "conflicts"])
@pytest.mark.parametrize(
    ("state", "zone"),
    [
        (ActivityState.IDLE, Zone.NEEDS_YOU),  # nobody fixes it: it waits for the operator
        (ActivityState.WORKING, Zone.FIXING),  # the agent is on it
        (ActivityState.UNKNOWN, Zone.FIXING),  # just started or restored: benefit of doubt
        (ActivityState.WAITING_INPUT, Zone.NEEDS_YOU),
        (ActivityState.RETRYING, Zone.NEEDS_YOU),
    ],
)
def test_a_pr_to_fix_is_fixing_only_while_the_agent_works(
    pr: PRState, state: ActivityState, zone: Zone
) -> None:
    assert zone_of(session(state, pr)) is zone


def test_an_exited_agent_with_failing_ci_needs_you_too() -> None:
    exited = session(ActivityState.EXITED, "ci_failed", lifecycle=Lifecycle.EXITED)
    assert not someone_is_fixing(exited)
    assert zone_of(exited) is Zone.NEEDS_YOU
    assert needs_you_reason(replace(exited, lifecycle_reason="agent exited")) == "agent exited"


def test_other_pr_states_keep_their_zones_for_an_idle_agent() -> None:
    assert zone_of(session(ActivityState.IDLE, "open")) is Zone.IN_REVIEW
    assert zone_of(session(ActivityState.IDLE, "mergeable")) is Zone.READY_TO_MERGE
    assert zone_of(session(ActivityState.IDLE, "ci_running")) is Zone.IN_REVIEW


@pytest.mark.parametrize(
    ("pr", "reason"),
    [
        ("ci_failed", "CI failed; the agent is idle — send it the failure (c, then s)"),
        ("changes_requested", "changes requested; the agent is idle — forward them (i, Review, f)"),
        ("conflicts", "conflicts with main; the agent is idle — ask it to merge main (s)"),
    ],
)
def test_the_reason_says_what_is_wrong_and_what_to_do_everywhere(pr: PRState, reason: str) -> None:
    idle = session(ActivityState.IDLE, pr, detail="Done: the parser handles tabs now")
    assert needs_you_reason(idle) == reason
    assert toast_reason(idle) == reason  # one line, short enough for a toast at 80x24
    assert session_json(idle)["needs_you"] == reason.rsplit(" (", 1)[0]  # no cockpit keys
    shown = waiting_text(idle, PALETTE, "")
    assert shown is not None and shown.plain == f"Needs you: {reason}"
    working = session(ActivityState.WORKING, pr, detail="Bash: pytest")
    assert session_json(working)["needs_you"] is None
    assert waiting_text(working, PALETTE, "") is None


# -- item 8: retrying after API errors is its own condition ---------------------------------


def test_retrying_is_visible_on_card_line_preview_toast_and_status() -> None:
    retrying = session(ActivityState.RETRYING, detail="retrying after API error 7/10")
    assert zone_of(retrying) is Zone.NEEDS_YOU  # not progress
    assert zone_of(replace(retrying, pr=SessionPR("open"))) is Zone.NEEDS_YOU
    assert glyph(retrying, PALETTE).plain == "↻"
    assert state_word(retrying) == "retrying 7/10"
    assert "↻ app-3 retrying 7/10 1m" in card(retrying, NOW, 60, PALETTE).plain
    layout_line = line(retrying, NOW, _layout(), PALETTE).plain
    assert layout_line.startswith("↻ app-3")
    shown = waiting_text(retrying, PALETTE, "")
    assert shown is not None
    assert shown.plain.splitlines()[0] == "Retrying after API error 7/10"
    assert toast_reason(retrying) == "retrying after API error 7/10"
    data = session_json(retrying)
    assert data["activity"]["state"] == "retrying"
    assert data["needs_you"] == "retrying after API error 7/10"


def test_restored_and_waiting_is_quiet_only_right_after_the_restore() -> None:
    back = replace(
        session(ActivityState.IDLE, detail="session resume"),
        lifecycle_reason="restored",
        extra={"started_at": NOW - 92},
    )
    assert restored_and_waiting(back)
    assert needs_you_reason(back) == "restored: waiting for your next message"
    shown = waiting_text(back, PALETTE, "")
    assert shown is not None and shown.plain == "Idle: restored: waiting for your next message"
    # Idle again after a turn of work later on: news like any other.
    later = replace(back, activity=replace(back.activity, since=NOW + 600))
    assert not restored_and_waiting(later)


def _layout() -> Any:
    from ao_tui.widgets.card import LineLayout

    return LineLayout.fit(80, 6)
