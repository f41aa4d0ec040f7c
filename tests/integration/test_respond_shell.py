"""`respond` answers a pending yes/no question on real tmux, and refuses when none waits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.models import ActivityState, DeliveryResult, Zone
from core.zones import zone_of
from tests.support.engine import make_engine, wait_for, write_config

ASKER = Path(__file__).resolve().parents[1] / "support" / "asking_agent.py"


class Asking(NamedTuple):
    """An engine whose session is waiting on the asking agent's question."""

    engine: Engine
    session_id: str
    answers: Path


@pytest.fixture
def asking(tmp_path: Path, git_repo: Path) -> Asking:
    answers = tmp_path / "answers.txt"
    cfg = write_config(tmp_path, git_repo, command=f"{sys.executable} {ASKER} {answers}")
    engine = make_engine(cfg)
    session = engine.spawn("app", "ask me something")

    def waiting() -> bool:
        engine.reconcile()
        return engine.get(session.id).activity.state is ActivityState.WAITING_INPUT

    wait_for(waiting, timeout=10)
    return Asking(engine, session.id, answers)


def test_respond_yes_answers_the_question_and_then_refuses(asking: Asking) -> None:
    engine, session_id, answers = asking
    current = engine.get(session_id)
    assert zone_of(current) is Zone.NEEDS_YOU
    assert "rm -rf build" in current.activity.detail

    after = engine.respond(session_id, yes=True)
    assert after.activity.state is not ActivityState.WAITING_INPUT
    assert wait_for(lambda: answers.exists() and answers.read_text()) == "y\n"
    with pytest.raises(EngineError, match="not waiting on a prompt"):
        engine.respond(session_id, yes=False)
    kinds = [e.kind for e in engine.store.events_after(0)]
    assert "responded" in kinds


def test_send_is_refused_while_a_prompt_waits(asking: Asking) -> None:
    engine, session_id, answers = asking
    result, detail = engine.send(session_id, "1 yes please")
    assert result is DeliveryResult.FAILED
    assert "respond" in detail
    assert not answers.exists()  # nothing was typed into the question
