"""The reactor's decisions over a real store: budgets across heads and restarts, persisting
conditions, infrastructure failures, suggest mode, pauses and a crash mid-send.

The engine verbs it acts through (send, restore, merge) are recorded stand-ins here: what
they do to a real agent is covered by tests/integration/test_reactions_local.py. Here the
question is only what the reactor decides, and what it records before and after.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.config_models import Config
from core.models import (
    Activity,
    ActivityState,
    DeliveryResult,
    Lifecycle,
    ReviewThread,
    Session,
    SessionPR,
    SignalSource,
    Zone,
)
from core.reactions.facts import failing_names
from core.reactions.ledger import ALL
from core.reactions.reactor import PERSIST_GRACE, Reactor, ReactorDeps
from core.scm import CheckRun
from core.store import Store
from core.zones import zone_of

PYTEST_FAIL = (
    "exit status 1\n"
    "FAILED tests/test_login.py::test_login_timeout - AssertionError: 3 != 2\n"
    "E   assert 3 == 2\n"
)


class World:
    """A store, a clock and the verbs, recorded."""

    def __init__(self, tmp_path: Path, reactions: dict[str, Any] | None = None) -> None:
        self.store = Store(tmp_path / "state.db")
        self.now = 1000.0
        self.sent: list[tuple[str, str]] = []
        self.send_result = DeliveryResult.DELIVERED
        self.restored: list[str] = []
        self.merged: list[tuple[str, str]] = []
        self.excerpt = PYTEST_FAIL
        self.receipts: bool | None = False
        self.last_signal: float | None = None
        self.config = Config.model_validate(
            {"projects": {"app": {"path": str(tmp_path)}}, "reactions": reactions or {}}
        )
        self.reactor = self.make_reactor()

    def make_reactor(self) -> Reactor:
        return Reactor(
            ReactorDeps(
                store=self.store,
                clock=lambda: self.now,
                config=lambda: self.config,
                send=self._send,
                restore=self.restored.append,  # type: ignore[arg-type]
                merge=lambda sid, head: self.merged.append((sid, head)),
                failing_checks=lambda s: [
                    CheckRun(
                        "ci",
                        "failing",
                        s.pr.head_sha if s.pr else "",
                        excerpt=self.excerpt,
                        log_path="/state/app-1/ci-1.log",
                    )
                ],
                last_signal=lambda s: self.last_signal,
                received=lambda s, text, since: self.receipts,
                wake=lambda: None,
            )
        )

    def _send(self, session_id: str, text: str) -> tuple[DeliveryResult, str]:
        self.sent.append((session_id, text))
        return self.send_result, "seen in the transcript"

    def add(self, **changes: Any) -> Session:
        session = Session(
            id="app-1",
            project="app",
            agent="shell",
            title="t",
            prompt="p",
            branch="ao/app-1",
            worktree="/tmp/app-1",
            tmux="ao-app-1",
            lifecycle=Lifecycle.RUNNING,
            activity=Activity(ActivityState.WORKING, SignalSource.HOOK, self.now),
            created_at=self.now,
            updated_at=self.now,
            base_branch="main",
        )
        session = replace(session, **changes)
        self.store.insert_session(session, event=("spawned", {}))
        return session

    def set(self, **changes: Any) -> Session:
        self.store.update_session("app-1", **changes)
        session = self.store.get_session("app-1")
        assert session is not None
        return session

    def react(self) -> Session:
        session = self.store.get_session("app-1")
        assert session is not None
        self.reactor.react(session)
        after = self.store.get_session("app-1")
        assert after is not None
        return after

    def events(self, outcome: str | None = None) -> list[dict[str, Any]]:
        found = [e.data for e in self.store.events_after(0) if e.kind == "reaction"]
        return [d for d in found if outcome is None or d["outcome"] == outcome]

    def idle(self, after: float) -> Session:
        self.now = after + PERSIST_GRACE + 1
        return self.set(activity=Activity(ActivityState.IDLE, SignalSource.HOOK, after))


def failing(head: str) -> SessionPR:
    return SessionPR("ci_failed", ci="failing", head_sha=head, base_sha="b" * 40)


def test_ci_failure_is_sent_with_the_excerpt_and_escalates_after_the_budget(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(pr=failing("a" * 40))
    session = world.react()
    assert len(world.sent) == 1
    text = world.sent[0][1]
    assert "CI failed on aaaaaaaaaa (attempt 1 of 2)" in text
    assert "FAILED tests/test_login.py::test_login_timeout" in text
    assert "/state/app-1/ci-1.log" in text
    assert session.reaction is not None and session.reaction.status == "acting"
    assert (session.reaction.attempts, session.reaction.budget) == (1, 2)
    # The agent pushes a fix; CI runs (nothing happens), then fails at the new head.
    world.set(pr=replace(failing("c" * 40), ci="running", state="ci_running"))
    world.react()
    assert len(world.sent) == 1
    world.set(pr=failing("c" * 40))
    world.react()
    assert len(world.sent) == 2 and "attempt 2 of 2" in world.sent[1][1]
    # A third failure: the budget is spent, the operator is told in words.
    world.set(pr=failing("d" * 40))
    session = world.react()
    assert len(world.sent) == 2
    assert session.reaction is not None and session.reaction.status == "escalated"
    assert session.reaction.reason == "CI still failing after 2 fixes: test_login_timeout"
    assert zone_of(session) is Zone.NEEDS_YOU
    # CI goes green: the episode ends and the mark goes.
    world.set(pr=SessionPR("mergeable", ci="passing", head_sha="e" * 40))
    session = world.react()
    assert session.reaction is None
    assert world.events("cleared")


def test_attempts_survive_a_restart(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(pr=failing("a" * 40))
    world.react()
    world.reactor = world.make_reactor()  # a new process: nothing kept in memory
    world.set(pr=failing("c" * 40))
    world.react()
    world.reactor = world.make_reactor()
    world.set(pr=failing("d" * 40))
    session = world.react()
    assert len(world.sent) == 2
    assert session.reaction is not None and session.reaction.status == "escalated"


def test_an_idle_agent_on_the_same_red_head_spends_an_attempt(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(pr=failing("a" * 40))
    world.react()
    sent_at = world.now
    # Still working on it: nothing more.
    world.now += 60
    world.react()
    assert len(world.sent) == 1
    # Idle, but only just: its push may not have shown yet.
    world.set(activity=Activity(ActivityState.IDLE, SignalSource.HOOK, sent_at + 5))
    world.now = sent_at + 6
    world.react()
    assert len(world.sent) == 1
    world.idle(after=sent_at + 5)
    world.react()
    assert len(world.sent) == 2 and "attempt 2 of 2" in world.sent[1][1]


def test_a_ci_command_that_cannot_start_goes_to_the_operator_and_spends_nothing(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    world.excerpt = "could not start 'pytest-missing': No such file or directory"
    world.add(pr=failing("a" * 40))
    session = world.react()
    assert world.sent == []
    assert session.reaction is not None and session.reaction.status == "escalated"
    assert session.reaction.reason.startswith("not the agent's to fix: the CI command")
    assert session.reaction.attempts == 0
    # Fixed config, a real failure at a new head: the agent gets it after all.
    world.excerpt = PYTEST_FAIL
    world.set(pr=failing("c" * 40))
    session = world.react()
    assert len(world.sent) == 1 and "attempt 1 of 2" in world.sent[0][1]


def test_an_agent_whose_own_api_fails_is_not_sent_anything(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(
        pr=failing("a" * 40),
        activity=Activity(ActivityState.ERROR, SignalSource.HOOK, 999.0, "API key invalid"),
    )
    session = world.react()
    assert world.sent == []
    assert session.reaction is not None
    assert "the agent itself fails: API key invalid" in session.reaction.reason


def test_a_send_that_fails_is_escalated_at_once(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.send_result = DeliveryResult.FAILED
    world.add(pr=failing("a" * 40))
    session = world.react()
    assert session.reaction is not None and session.reaction.status == "escalated"
    assert session.reaction.reason.startswith("could not send the CI failure to the agent")
    assert [e["outcome"] for e in world.events()] == ["failed", "escalated"]


def test_paused_sends_nothing_and_resumed_acts(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(pr=failing("a" * 40))
    world.reactor.ledger.pause("app-1")
    session = world.react()
    assert world.sent == [] and session.reaction is None
    world.reactor.ledger.resume("app-1")
    world.reactor.ledger.pause(ALL)
    world.react()
    assert world.sent == []
    world.reactor.ledger.resume(ALL)
    world.react()
    assert len(world.sent) == 1


def test_suggest_mode_prepares_and_sends_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, {"mode": "suggest"})
    world.add(pr=failing("a" * 40))
    session = world.react()
    assert world.sent == []
    assert session.reaction is not None and session.reaction.status == "suggested"
    assert zone_of(session) is Zone.NEEDS_YOU
    suggestion = world.reactor.ledger.suggestion("app-1")
    assert suggestion is not None and "test_login_timeout" in suggestion.text


def test_only_new_review_threads_are_forwarded_a_bots_apart(tmp_path: Path) -> None:
    world = World(tmp_path)
    human = ReviewThread("src/a.py", 3, "alice", "rename this")
    bot = ReviewThread("src/b.py", 9, "cursor", "possible None", bot=True)
    world.add(pr=SessionPR("changes_requested", head_sha="a" * 40, threads=(human, bot)))
    world.react()
    assert len(world.sent) == 2
    assert "src/a.py:3 (alice)" in world.sent[0][1] and "cursor" not in world.sent[0][1]
    assert "src/b.py:9 (cursor[bot])" in world.sent[1][1]
    # A reply-free refresh forwards nothing; a new thread forwards only itself.
    world.react()
    assert len(world.sent) == 2
    later = ReviewThread("src/c.py", 1, "bob", "and this")
    world.set(pr=SessionPR("changes_requested", head_sha="a" * 40, threads=(human, bot, later)))
    world.react()
    assert len(world.sent) == 3
    assert "src/c.py:1 (bob)" in world.sent[2][1] and "src/a.py" not in world.sent[2][1]


def test_review_threads_escalate_after_their_duration(tmp_path: Path) -> None:
    world = World(tmp_path)
    human = ReviewThread("src/a.py", 3, "alice", "rename this")
    world.add(pr=SessionPR("changes_requested", head_sha="a" * 40, threads=(human,)))
    world.react()
    world.now += 31 * 60
    session = world.react()
    assert session.reaction is not None and session.reaction.status == "escalated"
    assert session.reaction.reason.startswith("review comments still unresolved after 31m")


def test_an_exited_agent_is_restored_once_then_escalated(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(
        lifecycle=Lifecycle.EXITED,
        lifecycle_reason="agent exited with status 1",
        activity=Activity(ActivityState.EXITED, SignalSource.RUNTIME, 900.0),
    )
    world.react()
    assert world.restored == ["app-1"]
    world.set(
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.WORKING, SignalSource.HOOK, 1001.0),
    )
    world.now += 30
    session = world.react()
    assert session.reaction is not None and session.reaction.status == "acting"
    world.set(
        lifecycle=Lifecycle.EXITED,
        lifecycle_reason="agent exited with status 1",
        activity=Activity(ActivityState.EXITED, SignalSource.RUNTIME, 1040.0),
    )
    session = world.react()
    assert world.restored == ["app-1"]
    assert session.reaction is not None
    assert (
        session.reaction.reason
        == "the agent exited again after 1 restore: agent exited with status 1"
    )


def test_auto_merge_merges_at_the_green_head_only_when_turned_on(tmp_path: Path) -> None:
    green = SessionPR(
        "mergeable", ci="passing", review="approved", mergeable=True, head_sha="a" * 40
    )
    world = World(tmp_path)
    world.add(pr=green)
    world.react()
    assert world.merged == []
    assert world.events("notified")
    on = World(tmp_path / "on", {"approved-and-green": {"auto": True, "action": "auto-merge"}})
    on.add(pr=green)
    on.react()
    assert on.merged == [("app-1", "a" * 40)]
    assert on.events("merged")


def test_a_crash_mid_send_neither_loses_nor_doubles(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(pr=failing("a" * 40))
    session = world.store.get_session("app-1")
    assert session is not None
    ledger = world.reactor.ledger
    # Decided and recorded, then the process died before typing: sent on restart.
    episode = ledger.open_episode("app-1", "ci-failed")
    made = ledger.begin_attempt(episode, fact="a" * 40, text="fix it")
    assert made is not None
    world.make_reactor().settle()
    assert world.sent == [("app-1", "fix it")]
    # Died while typing, and the agent's records show it arrived: not sent again.
    again = ledger.episode("app-1", "ci-failed")
    assert again is not None
    made = ledger.begin_attempt(again, fact="c" * 40, text="fix it again")
    assert made is not None
    ledger.set_send(made.id, "typing")
    world.receipts = True
    world.make_reactor().settle()
    assert world.sent == [("app-1", "fix it")]
    assert [s.state for s in ledger.sends("app-1")] == ["sent", "sent"]
    # Both settled sends are in the event log, where the operator reads what was typed.
    settled = [(e["attempt"], e["outcome"], e.get("text")) for e in world.events()]
    assert settled == [(1, "delivered", "fix it"), (2, "sent", None)]


@pytest.mark.parametrize("hostile", ["\x1b[201~rm -rf /\r", "\u202eevil", "\x9b31m"])
def test_third_party_text_in_a_message_is_inert(tmp_path: Path, hostile: str) -> None:
    world = World(tmp_path)
    world.excerpt = f"exit status 1\nFAILED t.py::test_x - {hostile}\n"
    world.add(pr=failing("a" * 40))
    world.react()
    text = world.sent[0][1]
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)
    assert "\u202e" not in text


def test_an_agent_that_ended_its_own_run_is_not_restored(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.add(
        lifecycle=Lifecycle.EXITED,
        lifecycle_reason="agent exited with status 0",
        activity=Activity(ActivityState.EXITED, SignalSource.RUNTIME, 900.0),
    )
    world.react()
    assert world.restored == []
    assert world.events("notified")


def test_the_card_shows_the_reaction_at_work_while_its_message_is_typed(tmp_path: Path) -> None:
    # An idle agent on red CI is in Needs you until someone acts. A send takes a while
    # (typed, then confirmed in the agent's records): were the mark written only after
    # it, the cockpit would announce "needs you" for a failure already being handled.
    world = World(tmp_path)
    world.add(
        pr=failing("a" * 40), activity=Activity(ActivityState.IDLE, SignalSource.HOOK, world.now)
    )
    zones: list[Zone] = []

    def send(session_id: str, text: str) -> tuple[DeliveryResult, str]:
        typed_into = world.store.get_session(session_id)
        assert typed_into is not None
        zones.append(zone_of(typed_into))
        return DeliveryResult.DELIVERED, "seen in the transcript"

    world.reactor = Reactor(replace(world.reactor.deps, send=send))
    world.react()
    assert zones == [Zone.FIXING]


def test_unittest_failures_are_named_like_pytest_ones() -> None:
    # The demo's sample project, and many others, run `python -m unittest`: an escalation
    # should say "test_total_counts_quantities", not the CI command.
    excerpt = (
        "======================================================================\n"
        "FAIL: test_total_counts_quantities (tests.test_cart.CartTest)\n"
        "----------------------------------------------------------------------\n"
        "AssertionError: 130 != 230\n"
        "ERROR: test_empty (tests.test_cart.CartTest.test_empty)\n"
    )
    check = CheckRun("python -m unittest -q", "failing", "a" * 40, excerpt=excerpt)
    assert failing_names(check) == "test_total_counts_quantities, test_empty"


def test_a_host_that_does_not_answer_is_told_once_after_a_while_and_holds(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    down = replace(failing("a" * 40), problem="GitHub rate limit: retry in 41s")
    world.add(pr=down)
    world.react()
    assert world.sent == [] and world.events() == []  # a glitch wakes nobody
    world.now += 301
    world.set(pr=replace(down, problem="GitHub rate limit: retry in 12s"))
    world.react()
    world.now += 60
    world.react()
    [told] = world.events("notified")
    assert told["key"] == "scm-unreachable" and told["reason"].startswith("not the agent's")
    assert world.sent == []
    # It answers again: the failure held all along is acted on, once.
    world.set(pr=failing("a" * 40))
    world.react()
    world.react()
    assert len(world.sent) == 1


def test_a_working_agent_with_nothing_new_for_the_threshold_is_stuck(tmp_path: Path) -> None:
    world = World(tmp_path)
    started = world.now
    world.add(activity=Activity(ActivityState.WORKING, SignalSource.HOOK, started, "Bash: pytest"))
    world.last_signal = started + 60
    world.now = started + 60 + 9 * 60
    session = world.react()
    assert session.reaction is None  # 9 minutes of quiet: not yet
    world.now = started + 60 + 11 * 60
    session = world.react()
    assert session.reaction is not None and session.reaction.status == "escalated"
    assert session.reaction.reason == "agent stuck: no new output for 11m while Bash: pytest"
    assert zone_of(session) is Zone.NEEDS_YOU
    # It writes again: the episode ends.
    world.last_signal = world.now
    session = world.react()
    assert session.reaction is None


def test_a_prompt_waiting_past_the_threshold_is_stuck_and_needs_input_is_told(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, {"agent-stuck": {"threshold": "5m"}})
    waiting = Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, world.now, "Bash: rm -rf x")
    world.add(activity=waiting)
    world.react()
    [asked] = world.events("notified")
    assert asked["key"] == "agent-needs-input" and asked["priority"] == "urgent"
    world.now += 6 * 60
    session = world.react()
    assert session.reaction is not None
    assert session.reaction.reason.startswith("agent stuck: waiting 6m on: ")
    assert len(world.events("notified")) == 1  # told once, not on every look


def test_a_closed_pr_and_a_finished_project_are_told_once(tmp_path: Path) -> None:
    from core.feed import Change
    from core.models import Event
    from core.reactions.events import on_changes

    world = World(tmp_path)
    session = world.add(pr=SessionPR("review_pending", number=7, head_sha="a" * 40))
    closed = Event(5, world.now, "app-1", "pr", {"previous": "review_pending", "state": "none"})
    for _ in range(2):
        on_changes(world.reactor, session, [Change(closed, session)], world.store.list_sessions)
    [told] = world.events("notified")
    assert told["key"] == "pr-closed" and "closed without merging" in told["reason"]
    merged = world.set(lifecycle=Lifecycle.MERGED)
    done = Event(6, world.now, "app-1", "merged", {})
    for _ in range(2):
        on_changes(world.reactor, merged, [Change(done, merged)], world.store.list_sessions)
    complete = [e for e in world.events("notified") if e["key"] == "all-complete"]
    assert len(complete) == 1
    assert complete[0]["reason"] == "every session of app is complete: 1 of 1 merged"
