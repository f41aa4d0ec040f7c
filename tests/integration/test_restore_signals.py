"""Kill and restore record no state the agent is not in: no "exited" from the dead process.

Real tmux (the test socket), real git, and the demo agent: a real program that writes the
hook log, transcript and status file the way Claude Code does, including the
``SessionEnd`` (reason ``other``) it fires when ``tmux kill-session`` stops it. Applied
after the restore, that line used to put every restored session in Needs you ("session
ended (other)") with a toast and a bell. The same test with the real Claude Code CLI is in
tests/e2e/test_engine_claude.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ao_tui.demo import write_sample_project
from core.engine import Engine
from core.manifest import operation_mark
from core.models import ActivityState, Event, Lifecycle
from plugins.agent.claude_code.hooks import parse_hook_log
from tests.support.engine import make_engine, wait_for, write_config

SPEED = "5"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    repo = tmp_path / "shop"
    write_sample_project(repo)
    env = f"    env:\n      AO_TUI_DEMO_SPEED: '{SPEED}'\n"
    return make_engine(write_config(tmp_path, repo, agent="demo", extra_project_yaml=env))


def exits(events: list[Event]) -> list[Event]:
    """Events that say the agent exited or that the session came to need the operator."""
    return [
        e
        for e in events
        if e.data.get("state") == "exited"
        or e.data.get("lifecycle") == "exited"
        or "session ended" in str(e.data.get("detail", ""))
    ]


def test_restore_applies_no_signal_of_the_killed_process(engine: Engine) -> None:
    session = engine.spawn("app", "polish the cart\n\ndemo-scenario: long-work")
    wait_for(lambda: engine.reconcile_one(session.id).activity.source.value == "hook", 20)
    engine.kill(session.id)
    log = engine.locations.session_dir(session.id) / "hooks.jsonl"
    ended = [r for r in parse_hook_log(log.read_text().splitlines()) if r.event == "SessionEnd"]
    assert ended and ended[-1].payload.get("reason") == "other"  # what the bug applied

    restored = engine.restore(session.id)
    mark = engine.store.last_event_seq()
    resumed = wait_for(
        lambda: engine.reconcile_one(session.id).activity.detail == "session resume", 20
    )
    assert resumed
    for _ in range(10):  # a few more ticks: nothing stale turns up later either
        engine.reconcile()
    after = engine.store.events_after(mark)
    assert exits(after) == [], [e.to_json() for e in after]
    now = engine.get(session.id)
    assert now.lifecycle is Lifecycle.RUNNING and now.attempt == restored.attempt
    assert now.activity.state is ActivityState.IDLE


def test_a_tick_during_a_kill_does_not_record_the_stopped_agent_as_exited(
    engine: Engine,
) -> None:
    session = engine.spawn("app", "polish the cart\n\ndemo-scenario: long-work")
    wait_for(lambda: engine.reconcile_one(session.id).activity.source.value == "hook", 20)
    mark = engine.store.last_event_seq()
    state_dir = engine.locations.session_dir(session.id)
    # What a kill does first, as a tick of another process (the cockpit's) sees it.
    with operation_mark(state_dir, engine.get(session.id), "kill"):
        engine.runtime.kill(session.tmux)
        assert engine.reconcile() == []
    assert exits(engine.store.events_after(mark)) == []
    # Once no operation claims it, a vanished agent is an exit, as ever.
    events = engine.reconcile()
    assert [e.data["lifecycle"] for e in events if e.kind == "lifecycle"] == ["exited"]
