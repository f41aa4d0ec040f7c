"""An acting session's last action, from the event log (core.actor_log), and its words."""

from __future__ import annotations

from pathlib import Path

from core.actor_log import action_text, is_action, last_action
from core.models import Event
from core.store import Store

ORCH = "app-orchestrator"


def event(kind: str, data: dict[str, object], session_id: str = "app-4") -> Event:
    return Event(1, 0.0, session_id, kind, data)


def test_actions_read_as_a_few_words_naming_the_session_acted_on() -> None:
    assert action_text(event("spawned", {"branch": "b"})) == "spawned app-4"
    assert action_text(event("message", {"result": "delivered"})) == "sent app-4 a message"
    assert action_text(event("message", {"result": "failed"})) == "could not send app-4 a message"
    assert action_text(event("killed", {})) == "killed app-4"
    assert action_text(event("reaction", {"outcome": "escalated"})) == "escalated app-4"
    assert action_text(event("escalated", {"reason": "why"})) == "escalated app-4"
    # A kind this version does not know still says what and to whom.
    assert action_text(event("handed-over", {})) == "handed-over app-4"


def test_only_its_own_decisions_count_as_its_actions() -> None:
    assert is_action(event("spawned", {"by": ORCH}), ORCH)
    assert not is_action(event("spawned", {"by": "app-5"}), ORCH)
    assert not is_action(event("spawned", {}), ORCH)
    # What the engine saw while the agent's verb looked is not the agent's doing.
    assert not is_action(event("activity", {"by": ORCH}), ORCH)
    assert not is_action(event("spawned", {"by": ""}), "")


def test_the_newest_action_is_read_past_what_was_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    assert last_action(store, ORCH) is None
    store.actor = ORCH
    store.append_event("app-2", "message", {"result": "delivered"})
    spawned = store.append_event("app-3", "spawned", {"branch": "ao/app-3-x"})
    store.append_event("app-3", "activity", {"state": "working"})
    store.actor = "app-5"
    store.append_event("app-4", "spawned", {})
    store.actor = ""
    store.append_event("app-4", "killed", {})
    found = last_action(store, ORCH)
    assert found is not None
    assert (found.seq, found.session_id, found.kind) == (spawned.seq, "app-3", "spawned")
    assert found.data["by"] == ORCH
    assert last_action(store, ORCH, after=spawned.seq) is None
    store.close()
