"""The pending prompt as shown, and the exact match an answer is bound by."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.models import Activity, ActivityState, Lifecycle, SignalSource, WaitingFor
from core.prompts import Prompt, PromptChangedError, doing, not_waiting
from tests.unit.test_store import make_session


def waiting(waiting_for: WaitingFor | None, detail: str = "", **kw: Any) -> Any:
    activity = Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, 1.0, detail, waiting_for)
    return make_session("app-1", activity=activity, **kw)


BASH = WaitingFor("permission", "Bash", "rm -rf build")


def test_prompt_names_tool_and_command_or_the_detail() -> None:
    prompt = Prompt.of(waiting(BASH))
    assert prompt == Prompt("permission", "Bash", "rm -rf build")
    assert prompt.shown == "Bash: rm -rf build"
    # A status file only says a permission prompt waits: the detail is what was shown.
    bare = Prompt.of(waiting(WaitingFor("permission", "", ""), "permission prompt"))
    assert bare == Prompt("permission", "", "permission prompt") and bare.shown == bare.text
    assert Prompt.of(waiting(None, "input needed")) == Prompt("input", "", "input needed")
    assert Prompt.of(make_session("app-2")) is None  # working


@pytest.mark.parametrize(
    ("expected", "match"),
    [
        ("rm -rf build", True),
        ("Bash: rm -rf build", True),
        ("  rm   -rf\nbuild ", True),  # whitespace runs count as one space
        ("Edit: rm -rf build", False),  # another tool
        ("rm -rf", False),  # never a prefix …
        ("rm -rf build && rm -rf ~", False),  # … nor a longer command
        ("", False),
        ("   ", False),
    ],
)
def test_matches_is_exact(expected: str, match: bool) -> None:
    prompt = Prompt.of(waiting(BASH))
    assert prompt is not None and prompt.matches(expected) is match


def test_matches_compares_as_displayed() -> None:
    """The cockpit holds inert text: an ESC shown as ^[ is the command it stands for."""
    raw = Prompt.of(waiting(replace(BASH, command="echo \x1b[2J hi")))
    assert raw is not None
    assert raw.matches("echo ^[[2J hi") and raw.matches("echo \x1b[2J hi")
    assert raw.shown == "Bash: echo ^[[2J hi"
    assert not raw.matches("echo hi")


def test_refusals_say_what_the_session_does_instead() -> None:
    idle = make_session(
        "app-3", activity=Activity(ActivityState.IDLE, SignalSource.HOOK, 1.0, "turn done")
    )
    assert not_waiting(idle) == "app-3 is not waiting on a prompt (it is idle: turn done)"
    gone = make_session("app-4", lifecycle=Lifecycle.KILLED, lifecycle_reason="killed by operator")
    assert doing(gone) == "killed: killed by operator"
    changed = PromptChangedError("app-1", "rm -rf build", Prompt("permission", "Bash", "ls"), "")
    assert str(changed) == (
        "app-1: nothing answered: the prompt changed since 'rm -rf build' was shown; "
        "it now asks 'Bash: ls'; look again, then answer"
    )
    assert "no longer waiting on a prompt (idle: turn done)" in str(
        PromptChangedError("app-1", "rm -rf build", None, doing(idle))
    )


def test_a_refusal_stays_one_bounded_line_whatever_the_commands() -> None:
    huge = "x" * 10_000
    hostile = "rm -rf /\n\x1b]52;c;aGk=\x07 \u202e"
    error = PromptChangedError("app-1", huge, Prompt("permission", "Bash", hostile), "")
    text = str(error)
    assert "\n" not in text and len(text) < 600
    assert "\x1b" not in text and "\u202e" not in text and "^[]52" in text
