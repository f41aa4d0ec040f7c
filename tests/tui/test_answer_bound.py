"""y answers the prompt that was on screen, or nothing: the cockpit on a real agent in tmux.

A real shell agent (tests/support/asking_agent.py) asks two questions back to back on the
isolated test socket. The cockpit shows the first; before y is pressed, the question is
answered in the agent's own pane (as from an attached terminal), so the agent asks the
second. The y meant for the first must answer nothing, and the cockpit must then show
the second question. The cockpit does not reconcile here (the reconciler would show the
new question before the key press; the race is what is under test).
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest

from ao_tui.app import CockpitApp
from core.engine import Engine
from core.prompts import Prompt
from tests.support.engine import make_engine, wait_for, write_config
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.test_actions import record_notifications

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]

ASKER = Path(__file__).resolve().parents[1] / "support" / "asking_agent.py"
FIRST, SECOND = "rm -rf build", "git push --force origin main"


def question(command: str) -> str:
    """The asking agent's question line (what the shell agent's prompt text is)."""
    return f"Run `{command}`? (Y)es/(N)o [Yes]:"


def asks(engine: Engine, session_id: str) -> str | None:
    """What the session asks now, after a fresh look at its pane."""
    prompt = Prompt.of(engine.reconcile_one(session_id))
    return None if prompt is None else prompt.text


@pytest.fixture
def asking(tmp_path: Path, git_repo: Path) -> tuple[Engine, str, Path]:
    """An engine whose one session waits on FIRST (SECOND comes right after it)."""
    answers = tmp_path / "answers.txt"
    argv = [sys.executable, str(ASKER), str(answers), FIRST, SECOND]
    engine = make_engine(write_config(tmp_path, git_repo, command=shlex.join(argv)))
    session = engine.spawn("app", "ask me")
    wait_for(lambda: asks(engine, session.id) == question(FIRST), timeout=15)
    return engine, session.id, answers


def cockpit(engine: Engine) -> CockpitApp:
    return CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False)


def waiting_text(app: CockpitApp) -> str:
    return str(app.preview.waiting.render())


async def test_y_for_a_question_that_changed_answers_nothing_and_shows_the_new_one(
    asking: tuple[Engine, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, session_id, answers = asking
    app = cockpit(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.board.selected_id == session_id
        assert question(FIRST) in waiting_text(app)  # what the operator sees
        toasts = record_notifications(app, monkeypatch)

        # Answered in the agent's pane meanwhile: the agent asks SECOND at once.
        pane = engine.get(session_id).pane_id
        engine.runtime.send_keys(pane, "y", "Enter")
        wait_for(lambda: answers.exists() and answers.read_text() == "y\n")
        assert question(FIRST) in waiting_text(app)  # the screen has not caught up

        await pilot.press("y")
        await wait_until(pilot, lambda: any("nothing answered" in t for t in toasts))
        assert any(question(SECOND) in t for t in toasts)
        time.sleep(0.5)  # a key sent would be recorded by now
        assert answers.read_text() == "y\n"
        assert asks(engine, session_id) == question(SECOND)
        await wait_until(pilot, lambda: question(SECOND) in waiting_text(app))
        assert app.board.selected_id == session_id

        # Now that it is on screen, y answers it.
        await pilot.press("y")
        await wait_until(pilot, lambda: answers.read_text() == "y\ny\n")
        await wait_until(pilot, lambda: any("answered yes" in t for t in toasts))


async def test_y_and_n_with_no_prompt_say_so_and_send_nothing(
    asking: tuple[Engine, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, session_id, answers = asking
    engine.respond(session_id, yes=True, expect=question(FIRST))
    engine.respond(session_id, yes=True, expect=question(SECOND))
    wait_for(lambda: asks(engine, session_id) is None, timeout=10)  # at its "> " prompt
    sent = answers.read_text()
    app = cockpit(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        assert not app.screen.active_bindings["y"].binding.show  # the footer offers none
        for key in ("y", "n"):
            toasts.clear()
            await pilot.press(key)
            await wait_until(pilot, lambda: bool(toasts))
            assert [t.removeprefix(": ") for t in toasts] == [
                f"{session_id} is not waiting on a prompt (it is idle: at a prompt); "
                "nothing answered"
            ]
        time.sleep(0.5)
        assert answers.read_text() == sent
