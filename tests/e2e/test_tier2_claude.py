"""Tier 2 of escalation with the REAL Claude Code CLI as the orchestrator (and as the
worker), against the scripted API stand-in.

The worker's scripted model breaks a test and commits; the local CI fails; ``ci-failed``
is set to tell rather than send (``auto: false``), so the reactor (run as the daemon runs
it) escalates at once, and with the project's orchestrator session running, tier 2 hands
the episode to it: the structured message must arrive in the orchestrator's transcript as a
user turn. Only the model is scripted; tmux (test socket), git, the Claude binary, its
hooks and transcript, the CI runner and the store are real.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from core.models import Role
from core.naming import orchestrator_id
from core.reactions.handoff import OUTCOME
from core.reactions.ledger import Ledger
from tests.e2e.anthropic_standin import AnthropicStandin
from tests.e2e.test_reactions_claude import (
    TASK,
    Daemon,
    _edit_steps,
    _engine,
    _user_turns,
    repo,
)
from tests.support.engine import make_engine, wait_for

pytestmark = [pytest.mark.claude, pytest.mark.reactions]

__all__ = ["repo"]  # the fixture, shared with test_reactions_claude
CHIEF = orchestrator_id("app")


def test_a_tier2_escalation_arrives_in_the_orchestrators_transcript(
    tmp_path: Path, repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> None:
    config = _engine(tmp_path, repo, anthropic_standin, claude_bin)
    settings = json.loads(config.read_text())
    settings["projects"]["app"]["reactions"] = {"ci-failed": {"auto": False}}
    config.write_text(json.dumps(settings))
    where: dict[str, Path] = {}
    known = threading.Event()
    steps = _edit_steps(where, "return a + b", "return a - b", "rewrite-add")

    def first_step() -> tuple[str, dict[str, Any]]:
        assert known.wait(30), "spawn did not return"
        return steps[0]()

    anthropic_standin.script(TASK, [first_step, *steps[1:]])
    daemon_engine = make_engine(config)
    daemon = Daemon(daemon_engine)
    daemon.start()
    store = daemon_engine.store
    try:
        operator = make_engine(config)
        chief = operator.spawn("app", "Watch the fleet.", role=Role.ORCHESTRATOR, session_id=CHIEF)
        # The title is the task's words without the script's trigger: the handoff names
        # the task, and the orchestrator's model must not take it for the worker's script.
        worker = operator.spawn("app", TASK, title="rewrite add")
        where["path"] = Path(worker.worktree)
        known.set()

        def handed() -> list[dict[str, Any]]:
            return [
                e.data
                for e in store.events_after(0, limit=10_000)
                if e.session_id == worker.id and e.data.get("outcome") == OUTCOME
            ]

        def turns() -> list[str]:
            current = store.get_session(CHIEF)
            path = None if current is None else current.extra.get("transcript_path")
            if not path or not Path(str(path)).exists():
                return []
            return [text for text, _ in _user_turns(Path(str(path))) if "hands you" in text]

        wait_for(lambda: handed() and turns(), timeout=150, interval=0.2)
    finally:
        daemon.stop()
    assert daemon.errors == []
    [event] = handed()
    assert (event["key"], event["tier"], event["to"]) == ("ci-failed", 2, CHIEF)
    [turn] = turns()
    assert turn.strip() == str(event["text"]).strip()
    assert f"ao-tui hands you session {worker.id} (project app)" in turn
    assert "FAIL: test_add" in turn and "AssertionError" in turn
    assert f'ao-tui escalate {worker.id} "why"' in turn
    [send] = [s for s in Ledger(store).sends(worker.id) if s.handoff]
    assert (send.session_id, send.state) == (CHIEF, "sent")
    reactions = [
        e.data
        for e in store.events_after(0, limit=10_000)
        if e.session_id == worker.id and e.kind == "reaction"
    ]
    assert "escalated" not in [r["outcome"] for r in reactions]  # the orchestrator has it
    assert chief.id == CHIEF
