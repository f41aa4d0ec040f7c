"""`respond` answers a pending yes/no question on real tmux, and refuses when none waits."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.models import ActivityState, DeliveryResult, Zone
from core.prompts import Prompt, PromptChangedError
from core.zones import zone_of
from tests.support.engine import ao, make_engine, wait_for, write_config

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


QUESTION = "Run `{}`? (Y)es/(N)o [Yes]:"
"""How the asking agent words its question (the shell agent's prompt text is the line)."""


def asking_engine(tmp_path: Path, git_repo: Path, *commands: str) -> Asking:
    """A session whose agent asks about ``commands`` back to back, waiting on the first."""
    answers = tmp_path / "answers.txt"
    argv = [sys.executable, str(ASKER), str(answers), *commands]
    cfg = write_config(tmp_path, git_repo, command=shlex.join(argv))
    engine = make_engine(cfg)
    session = engine.spawn("app", "ask me something")
    wait_for(lambda: asks(engine, session.id) == QUESTION.format(commands[0]), timeout=10)
    return Asking(engine, session.id, answers)


def asks(engine: Engine, session_id: str) -> str | None:
    """What the session's prompt asks now, after a fresh look at its pane."""
    prompt = Prompt.of(engine.reconcile_one(session_id))
    return None if prompt is None else prompt.text


def responded(engine: Engine, session_id: str) -> list[dict[str, object]]:
    """The data of every ``responded`` event of the session."""
    return [e.data for e in engine.store.events_after(0) if e.kind == "responded"]


def test_expect_answers_the_prompt_that_was_shown(tmp_path: Path, git_repo: Path) -> None:
    engine, session_id, answers = asking_engine(tmp_path, git_repo, "rm -rf build")
    shown = Prompt.of(engine.get(session_id))
    assert shown is not None and shown.text == QUESTION.format("rm -rf build")
    after = engine.respond(session_id, yes=True, expect=shown.text)
    assert after.activity.state is not ActivityState.WAITING_INPUT
    assert wait_for(lambda: answers.exists() and answers.read_text()) == "y\n"
    assert responded(engine, session_id)[0]["expected"] == shown.text


def test_an_answer_for_a_question_that_changed_answers_nothing(
    tmp_path: Path, git_repo: Path
) -> None:
    """Another tool answers the question on screen; the agent asks the next one at once.

    The answer meant for the first question must not approve the second: nothing is sent,
    the error names the question asked now, and that question is still waiting.
    """
    engine, session_id, answers = asking_engine(
        tmp_path, git_repo, "rm -rf build", "git push --force origin main"
    )
    shown = Prompt.of(engine.get(session_id))  # what the operator looked at
    assert shown is not None
    other = make_engine(tmp_path / "ao.config.yaml")
    other.respond(session_id, yes=True)  # another cockpit, or a script, answered it
    assert wait_for(lambda: answers.exists() and answers.read_text()) == "y\n"
    wait_for(
        lambda: asks(engine, session_id) == QUESTION.format("git push --force origin main"),
        timeout=10,
    )

    with pytest.raises(PromptChangedError, match="git push --force origin main") as refused:
        engine.respond(session_id, yes=True, expect=shown.text)
    assert "nothing answered" in str(refused.value)
    assert refused.value.now is not None and "git push" in refused.value.now.text
    time.sleep(0.5)  # a key sent would have been recorded by now
    assert answers.read_text() == "y\n"
    assert asks(engine, session_id) == QUESTION.format("git push --force origin main")
    assert len(responded(engine, session_id)) == 1  # only the other tool's answer

    # Looked at again, the new question is answered.
    engine.respond(session_id, yes=False, expect=QUESTION.format("git push --force origin main"))
    assert wait_for(lambda: answers.read_text() == "y\nn\n" or None)


def test_expect_refuses_when_no_prompt_waits_any_more(tmp_path: Path, git_repo: Path) -> None:
    engine, session_id, answers = asking_engine(tmp_path, git_repo, "rm -rf build")
    shown = QUESTION.format("rm -rf build")
    engine.respond(session_id, yes=True)
    with pytest.raises(PromptChangedError, match="no longer waiting on a prompt"):
        engine.respond(session_id, yes=True, expect=shown)
    time.sleep(0.5)
    assert answers.read_text() == "y\n"


def test_cli_respond_expect(tmp_path: Path, git_repo: Path) -> None:
    """`ao-tui respond ID yes --expect CMD`: exit 1 and one line when it asks anything else."""
    _, session_id, answers = asking_engine(tmp_path, git_repo, "rm -rf build")
    wrong = ao(tmp_path, "respond", session_id, "yes", "--expect", "rm -rf build && rm -rf ~")
    assert wrong.returncode == 1
    assert wrong.stderr.count("\n") == 1 and "nothing answered" in wrong.stderr
    assert "Run `rm -rf build`?" in wrong.stderr  # what it asks now
    empty = ao(tmp_path, "respond", session_id, "yes", "--expect", " ")
    assert empty.returncode == 2 and "--expect" in empty.stderr
    time.sleep(0.5)
    assert not answers.exists()

    right = ao(tmp_path, "respond", session_id, "yes", "--expect", QUESTION.format("rm -rf build"))
    assert right.returncode == 0, right.stderr
    assert wait_for(lambda: answers.exists() and answers.read_text()) == "y\n"
