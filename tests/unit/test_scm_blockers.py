"""PR state and merge blockers from the facts, and the CI log excerpt (pure functions)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.ci_runner import excerpt
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
from core.scm import PRInfo, merge_blockers, pr_state
from core.wip import WIP_BLOCKER
from core.zones import zone_of

GREEN = PRInfo(head_sha="h2", base_sha="b1", ahead=2, behind=0, ci="passing", ci_required=True)


@pytest.mark.parametrize(
    ("changes", "state", "blockers"),
    [
        ({}, "open", ["not approved"]),
        ({"review": "approved"}, "mergeable", []),
        ({"review": "approved", "ci": "none", "ci_required": False}, "mergeable", []),
        (
            {"review": "approved", "ci": "none"},
            "open",
            ["CI has not run on this head"],
        ),
        ({"review": "stale"}, "review_pending", ["approval is for an older head"]),
        ({"ci": "running", "review": "approved"}, "ci_running", ["CI running"]),
        ({"ci": "failing", "review": "approved"}, "ci_failed", ["CI failing"]),
        (
            {"conflicts": ("a.py", "b.py"), "ci": "failing"},
            "conflicts",
            ["CI failing", "conflicts in: a.py, b.py", "not approved"],
        ),
        ({"review": "changes_requested"}, "changes_requested", ["changes requested"]),
        ({"draft": True}, "draft", ["draft", "not approved"]),
        ({"merged": True}, "merged", ["already merged"]),
        ({"behind": 4, "review": "approved"}, "mergeable", []),
    ],
)
def test_state_and_blockers(changes: dict[str, object], state: str, blockers: list[str]) -> None:
    pr = replace(GREEN, **changes)  # type: ignore[arg-type]
    assert pr_state(pr) == state
    assert merge_blockers(pr) == blockers
    stored = pr.to_session_pr()
    assert stored.mergeable is (not blockers)
    assert (stored.state, list(stored.blockers)) == (state, blockers)
    assert (stored.number, stored.url) == (None, None)


@pytest.mark.parametrize(
    ("changes", "state", "blockers"),
    [
        # merge.requireApproval: false — green is enough, with no review at all
        ({}, "mergeable", []),
        ({"ci": "none", "ci_required": False}, "mergeable", []),
        ({"ci": "none"}, "open", ["CI has not run on this head"]),
        ({"ci": "running"}, "ci_running", ["CI running"]),
        ({"ci": "failing"}, "ci_failed", ["CI failing"]),
        ({"conflicts": ("a.py",)}, "conflicts", ["conflicts in: a.py"]),
        ({"draft": True}, "draft", ["draft"]),
        ({"wip_head": True}, "mergeable", [WIP_BLOCKER]),
        # a review that was given still counts: a stale one or requested changes block
        ({"review": "stale"}, "review_pending", ["approval is for an older head"]),
        ({"review": "changes_requested"}, "changes_requested", ["changes requested"]),
        ({"review": "approved"}, "mergeable", []),
    ],
)
def test_no_approval_required_makes_green_enough(
    changes: dict[str, object], state: str, blockers: list[str]
) -> None:
    pr = replace(GREEN, review_required=False, **changes)  # type: ignore[arg-type]
    assert pr_state(pr) == state
    assert merge_blockers(pr) == blockers
    stored = pr.to_session_pr()
    assert stored.mergeable is (not blockers)
    assert (stored.state, list(stored.blockers)) == (state, blockers)


def test_behind_base_is_a_note_not_a_blocker() -> None:
    pr = replace(GREEN, behind=1, review="approved")
    assert pr.notes == ["behind base by 1 commit"]
    assert replace(pr, behind=3).notes == ["behind base by 3 commits"]
    assert pr.blockers == []


@pytest.mark.parametrize(
    ("state", "zone"),
    [
        ("ci_running", Zone.IN_REVIEW),
        ("review_pending", Zone.IN_REVIEW),
        # The agent is idle: nobody fixes it, so it waits for the operator (core.attention).
        ("ci_failed", Zone.NEEDS_YOU),
        ("conflicts", Zone.NEEDS_YOU),
        ("mergeable", Zone.READY_TO_MERGE),
        ("merged", Zone.DONE),
    ],
)
def test_every_state_lands_in_its_zone(state: PRState, zone: Zone) -> None:
    session = Session(
        id="app-1",
        project="app",
        agent="shell",
        title="t",
        prompt="p",
        branch="ao/app-1-t",
        worktree="/nowhere",
        tmux="ao-app-1",
        lifecycle=Lifecycle.RUNNING,
        # idle: a working agent keeps an open PR in Working (tests/unit/test_zones.py)
        activity=Activity(ActivityState.IDLE, SignalSource.PANE, 0.0),
        created_at=0.0,
        updated_at=0.0,
        pr=SessionPR(state),
    )
    assert zone_of(session) is zone


def test_excerpt_of_a_pytest_log_is_the_failures_section() -> None:
    log = "\n".join(
        [
            "# ao-tui CI header",
            "============ test session starts ============",
            *[f"tests/test_{i}.py ." for i in range(200)],
            "================= FAILURES ==================",
            "_________________ test_login ________________",
            "    def test_login():",
            ">       assert status == 200",
            "E       AssertionError: assert 500 == 200",
            "========= short test summary info ===========",
            "FAILED tests/test_auth.py::test_login - AssertionError",
            "========= 1 failed, 200 passed in 3.2s ======",
        ]
    )
    found = excerpt(log)
    assert found.splitlines()[0].endswith("FAILURES ==================")
    assert "E       AssertionError: assert 500 == 200" in found
    assert "FAILED tests/test_auth.py::test_login - AssertionError" in found
    assert "tests/test_5.py ." not in found
    assert "# ao-tui CI header" not in found


def test_excerpt_keeps_the_summary_of_a_long_failures_section() -> None:
    lines = ["=== FAILURES ===", *[f"detail line {i}" for i in range(500)]]
    lines += ["=== short test summary info ===", "FAILED tests/test_x.py::test_y"]
    found = excerpt("\n".join(lines)).splitlines()
    assert len(found) <= 60
    assert found[-1] == "FAILED tests/test_x.py::test_y"


def test_excerpt_of_a_unittest_log_shows_errors_with_context() -> None:
    log = "\n".join(
        [
            *[f"noise {i}" for i in range(100)],
            "FAIL: test_login (tests.test_auth.LoginTest)",
            "Traceback (most recent call last):",
            '  File "tests/test_auth.py", line 12, in test_login',
            "AssertionError: 500 != 200",
            *[f"trailing chatter {i}" for i in range(100)],
        ]
    )
    found = excerpt(log)
    assert "FAIL: test_login" in found and "AssertionError: 500 != 200" in found
    assert "noise 97" in found  # context before
    assert "noise 0\n" not in found and "trailing chatter 50" not in found
    assert len(found.splitlines()) <= 60


def test_excerpt_without_error_lines_is_the_tail() -> None:
    log = "\n".join(f"line {i}" for i in range(100))
    found = excerpt(log).splitlines()
    assert found == [f"line {i}" for i in range(60, 100)]
    assert excerpt("") == ""
