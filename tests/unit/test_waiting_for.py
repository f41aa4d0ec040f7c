"""The question a waiting agent asks (``WaitingFor``): its JSON, and stored rows that hold
something else than what this release writes (an older release, a hand-edited database)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.event_summary import summary
from core.models import Activity, ActivityState, SignalSource, WaitingFor
from core.store import Store
from tests.unit.test_store import make_session

BASH = WaitingFor("permission", "Bash", "rm -rf build")


def test_json_keeps_the_shape_and_key_order_scripts_read() -> None:
    assert json.dumps(BASH.to_json()) == (
        '{"kind": "permission", "tool": "Bash", "command": "rm -rf build"}'
    )
    assert WaitingFor.from_json(BASH.to_json()) == BASH
    activity = Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, 1.0, "Bash", BASH)
    assert list(activity.to_json()) == ["state", "source", "since", "detail", "waiting_for"]
    assert Activity.from_json(json.loads(json.dumps(activity.to_json()))) == activity
    idle = Activity(ActivityState.IDLE, SignalSource.HOOK, 1.0)
    assert idle.to_json()["waiting_for"] is None
    assert Activity.from_json(idle.to_json()) == idle


HOSTILE: list[tuple[Any, WaitingFor | None]] = [
    (None, None),
    ("permission", None),
    (["permission", "Bash", "ls"], None),
    (42, None),
    (True, None),
    ({}, WaitingFor("")),
    ({"kind": 5, "tool": None, "command": {"nested": ["x"]}}, WaitingFor("")),
    ({"tool": "Bash"}, WaitingFor("", "Bash")),
    (
        {"kind": "permission", "tool": "Bash", "command": "ls", "extra": [1]},
        WaitingFor("permission", "Bash", "ls"),
    ),
    (
        {"kind": "confirm", "command": "\x1b]0;owned\x07 sure?"},
        WaitingFor("confirm", "", "\x1b]0;owned\x07 sure?"),
    ),
]


@pytest.mark.parametrize(("stored", "loaded"), HOSTILE)
def test_a_stored_row_loads_whatever_its_waiting_for_holds(
    tmp_path: Path, stored: Any, loaded: WaitingFor | None
) -> None:
    """A garbled ``waiting_for`` loads as None or as the string fields it has, never raises."""
    path = tmp_path / "s.db"
    store = Store(path)
    store.insert_session(make_session("app-1"), event=("spawned", {}))
    store.close()
    activity = {"state": "waiting_input", "source": "hook", "since": 1.0, "detail": "d"}
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE sessions SET activity = ? WHERE id = 'app-1'",
            (json.dumps({**activity, "waiting_for": stored}),),
        )
    db.close()
    reopened = Store(path)
    try:
        session = reopened.get_session("app-1")
        assert session is not None and session.activity.waiting_for == loaded
    finally:
        reopened.close()


@pytest.mark.parametrize(("stored", "loaded"), HOSTILE)
def test_an_event_says_what_was_asked_whatever_its_waiting_for_holds(
    stored: Any, loaded: WaitingFor | None
) -> None:
    line = summary("activity", {"state": "waiting_input", "waiting_for": stored})
    answer = summary("responded", {"answer": "yes", "waiting_for": stored})
    if loaded is None or loaded == WaitingFor(""):
        assert (line, answer) == ("waiting_input", "answered yes")
    else:
        assert line.startswith(f"waiting_input ({loaded.kind or 'input'}")
        assert answer.startswith(f"answered yes to {loaded.kind or 'input'}")


def test_event_lines_name_the_question() -> None:
    data = {"state": "waiting_input", "previous": "working", "waiting_for": BASH.to_json()}
    assert summary("activity", data) == "working → waiting_input (permission: Bash rm -rf build)"
    assert summary("responded", {"answer": "no", "waiting_for": BASH.to_json()}) == (
        "answered no to permission: Bash rm -rf build"
    )
    # An answer to a prompt that named nothing is logged with an empty object.
    assert summary("responded", {"answer": "yes", "waiting_for": {}}) == "answered yes"
