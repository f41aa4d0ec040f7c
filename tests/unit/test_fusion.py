"""Signal fusion: one test per rule of core.activity.fusion."""

from __future__ import annotations

from core.activity.fusion import fuse
from core.models import Activity, ActivitySignal, ActivityState, SignalSource, WaitingFor

S = ActivityState
SRC = SignalSource
NOW = 1000.0
PERMISSION = WaitingFor("permission", "Bash", "rm -rf build")


def sig(
    state: ActivityState,
    source: SignalSource,
    at: float,
    detail: str = "",
    waiting_for: WaitingFor | None = None,
) -> ActivitySignal:
    return ActivitySignal(state, source, at, detail, waiting_for)


def test_runtime_exit_wins_over_newer_evidence() -> None:
    fused = fuse(
        [sig(S.EXITED, SRC.RUNTIME, 900, "agent exited"), sig(S.WORKING, SRC.HOOK, 990)],
        None,
        NOW,
    )
    assert (fused.state, fused.source, fused.detail) == (S.EXITED, SRC.RUNTIME, "agent exited")


def test_newest_of_hook_and_status_file_wins() -> None:
    older_hook = sig(S.WAITING_INPUT, SRC.HOOK, 900, waiting_for=PERMISSION)
    newer_status = sig(S.WORKING, SRC.STATUS_FILE, 950)
    assert fuse([older_hook, newer_status], None, NOW).state is S.WORKING
    newer_hook = sig(S.IDLE, SRC.HOOK, 960)
    assert fuse([newer_hook, newer_status], None, NOW).source is SRC.HOOK


def test_ties_go_to_the_stronger_source() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 950.0)
    status = sig(S.IDLE, SRC.STATUS_FILE, 950.5)  # within the tie window
    fused = fuse([status, hook], None, NOW)
    assert (fused.state, fused.source) == (S.WORKING, SRC.HOOK)


def test_transcript_decides_when_no_hook_or_status() -> None:
    fused = fuse([sig(S.WORKING, SRC.TRANSCRIPT, 900, "Bash: ls")], None, NOW)
    assert (fused.state, fused.source, fused.detail) == (S.WORKING, SRC.TRANSCRIPT, "Bash: ls")


def test_newer_transcript_interrupt_overrides_the_hook() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 900, "Bash: sleep 100")
    interrupt = sig(S.IDLE, SRC.TRANSCRIPT, 905, "interrupted by user")
    fused = fuse([hook, interrupt], None, NOW)
    assert (fused.state, fused.detail) == (S.IDLE, "interrupted by user")


def test_newer_transcript_api_error_overrides_the_hook() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 900)
    error = sig(S.ERROR, SRC.TRANSCRIPT, 930, "API error: overloaded")
    assert fuse([hook, error], None, NOW).state is S.ERROR


def test_transcript_working_never_overrides_a_hook() -> None:
    """The tool_use line can be stamped after the PermissionRequest hook it precedes."""
    hook = sig(S.WAITING_INPUT, SRC.HOOK, 900.0, waiting_for=PERMISSION)
    tool_use = sig(S.WORKING, SRC.TRANSCRIPT, 900.2, "Bash: rm -rf build")
    fused = fuse([hook, tool_use], None, NOW)
    assert fused.state is S.WAITING_INPUT
    assert fused.waiting_for == PERMISSION


def test_older_transcript_idle_does_not_override() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 900)
    old_interrupt = sig(S.IDLE, SRC.TRANSCRIPT, 800)
    assert fuse([hook, old_interrupt], None, NOW).state is S.WORKING


def test_pane_decides_when_nothing_else_does() -> None:
    fused = fuse([sig(S.IDLE, SRC.PANE, NOW, "waiting for a prompt")], None, NOW)
    assert (fused.state, fused.source) == (S.IDLE, SRC.PANE)


def test_pane_permission_prompt_overrides_a_working_hook_and_keeps_details() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 900, "Bash: rm -rf build")
    pane = sig(S.WAITING_INPUT, SRC.PANE, NOW, "permission: Bash", PERMISSION)
    fused = fuse([hook, pane], None, NOW)
    assert (fused.state, fused.source, fused.waiting_for) == (S.WAITING_INPUT, SRC.PANE, PERMISSION)


def test_pane_shows_an_answered_prompt_whose_tool_still_runs() -> None:
    hook = sig(S.WAITING_INPUT, SRC.HOOK, 900, waiting_for=PERMISSION)
    pane = sig(S.WORKING, SRC.PANE, NOW, "busy")
    assert fuse([hook, pane], None, NOW).state is S.WORKING


def test_pane_does_not_override_idle_or_error_with_working() -> None:
    for state in (S.IDLE, S.ERROR):
        fused = fuse([sig(state, SRC.HOOK, 900), sig(S.WORKING, SRC.PANE, NOW)], None, NOW)
        assert fused.state is state


def test_pane_older_than_the_candidate_is_ignored() -> None:
    hook = sig(S.WORKING, SRC.HOOK, 990)
    stale_pane = sig(S.IDLE, SRC.PANE, 980)
    assert fuse([hook, stale_pane], None, NOW).state is S.WORKING


def test_pane_fills_the_tool_of_a_status_file_wait() -> None:
    status = sig(S.WAITING_INPUT, SRC.STATUS_FILE, 990, "permission prompt",
                 WaitingFor("permission", "", ""))  # fmt: skip
    pane = sig(S.WAITING_INPUT, SRC.PANE, NOW, "permission: Bash", PERMISSION)
    fused = fuse([status, pane], None, NOW)
    assert fused.waiting_for == PERMISSION


def test_since_is_kept_while_the_state_does_not_change() -> None:
    previous = Activity(S.WORKING, SRC.HOOK, since=500.0)
    fused = fuse([sig(S.WORKING, SRC.TRANSCRIPT, 990)], previous, NOW)
    assert fused.since == 500.0
    assert fused.source is SRC.TRANSCRIPT


def test_since_is_the_signal_time_on_a_change_and_now_for_a_pane() -> None:
    previous = Activity(S.WORKING, SRC.HOOK, since=500.0)
    assert fuse([sig(S.IDLE, SRC.HOOK, 900)], previous, NOW).since == 900.0
    assert fuse([sig(S.IDLE, SRC.PANE, NOW)], previous, NOW).since == NOW
    # A signal older than the previous state's start cannot predate it.
    assert fuse([sig(S.IDLE, SRC.HOOK, 400)], previous, NOW).since == 500.0
    # Nor be in the future.
    assert fuse([sig(S.IDLE, SRC.HOOK, NOW + 50)], None, NOW).since == NOW


def test_no_evidence_keeps_previous_or_is_unknown() -> None:
    previous = Activity(S.IDLE, SRC.HOOK, since=500.0, detail="done")
    assert fuse([], previous, NOW) is previous
    assert fuse([sig(S.UNKNOWN, SRC.PANE, NOW)], previous, NOW) is previous
    unknown = fuse([], None, NOW)
    assert (unknown.state, unknown.source, unknown.since) == (S.UNKNOWN, SRC.NONE, NOW)


def test_bare_status_detail_takes_the_reason_from_a_simultaneous_transcript_line() -> None:
    status = ActivitySignal(ActivityState.IDLE, SignalSource.STATUS_FILE, 10.013, "idle")
    transcript = ActivitySignal(
        ActivityState.IDLE, SignalSource.TRANSCRIPT, 10.0, "interrupted by user"
    )
    fused = fuse([status, transcript], None, 11.0)
    assert (fused.source, fused.detail) == (SignalSource.STATUS_FILE, "interrupted by user")
    stale = ActivitySignal(ActivityState.IDLE, SignalSource.TRANSCRIPT, 2.0, "interrupted")
    assert fuse([status, stale], None, 11.0).detail == "idle"


def test_since_is_the_evidence_time_when_the_pane_confirms_it() -> None:
    """Issue 9 item 6: a prompt the hook logged 90 s ago, first seen now on the pane too,
    has waited 90 s, not since the capture; a run's start (``began``) beats its last line."""
    previous = Activity(S.WORKING, SRC.HOOK, since=500.0)
    hook = ActivitySignal(S.WAITING_INPUT, SRC.HOOK, NOW - 84, "", PERMISSION, began=NOW - 90)
    pane = sig(S.WAITING_INPUT, SRC.PANE, NOW, "permission: Bash", PERMISSION)
    fused = fuse([hook, pane], previous, NOW)
    assert (fused.state, fused.source, fused.since) == (S.WAITING_INPUT, SRC.PANE, NOW - 90)
    assert fuse([hook], previous, NOW).since == NOW - 90


def test_a_state_only_the_pane_shows_is_dated_from_its_sighting() -> None:
    previous = Activity(S.WORKING, SRC.HOOK, since=500.0)
    working = sig(S.WORKING, SRC.HOOK, 900, "Bash: rm -rf build")
    pane = sig(S.WAITING_INPUT, SRC.PANE, NOW, "permission: Bash", PERMISSION)
    assert fuse([working, pane], previous, NOW).since == NOW
    # The hook logged another question: the one on screen is new.
    other = WaitingFor("permission", "Bash", "git push --force")
    asked = sig(S.WAITING_INPUT, SRC.HOOK, 910, "", other)
    assert fuse([asked, pane], previous, NOW).since == NOW
