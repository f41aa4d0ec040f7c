"""What the operator does to reactions, from the CLI or the cockpit: list what is configured,
read a session's history, pause and resume, and send (or drop) a suggested message.

Each writes its own ``reaction`` event, so ``events --json`` and the Events tab show who
switched what off and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import EngineError
from core.models import DeliveryResult
from core.reactions.ledger import ALL, Episode, Ledger, Send
from core.reactions.rules import Rule, effective_rules, switched_off

if TYPE_CHECKING:
    from core.engine import Engine


@dataclass(frozen=True)
class History:
    """One session's reactions: every episode, every send, newest last."""

    session_id: str
    episodes: list[Episode]
    sends: list[Send]
    paused: bool

    def to_json(self) -> dict[str, Any]:
        """``reactions history --json``."""
        return {
            "session": self.session_id,
            "paused": self.paused,
            "episodes": [episode.to_json() for episode in self.episodes],
            "sends": [send.to_json() for send in self.sends],
        }


def configured(engine: Engine, project_id: str) -> dict[str, Rule]:
    """The effective reactions of a project (``ao-tui reactions``)."""
    if project_id not in engine.config.projects:
        known = ", ".join(sorted(engine.config.projects))
        raise EngineError(f"no project {project_id!r} (projects: {known})")
    return effective_rules(engine.config, project_id)


def state(engine: Engine) -> str:
    """Whether reactions run, in a few words: ``on``, ``paused`` or ``off (why)``."""
    off = switched_off(engine.config)
    if off is not None:
        return f"off ({off})"
    return "paused" if ALL in Ledger(engine.store).paused() else "on"


def history(engine: Engine, session_id: str) -> History:
    """Every episode and send of one session."""
    engine.get(session_id)  # an unknown id is refused, naming it
    ledger = Ledger(engine.store, clock=engine.clock)
    paused = ledger.paused()
    return History(
        session_id,
        ledger.episodes(session_id),
        ledger.sends(session_id),
        session_id in paused or ALL in paused,
    )


def pause(engine: Engine, session_id: str | None = None) -> bool:
    """Switch reactions off for one session (None: all); False if they already were."""
    return _switch(engine, session_id, on=False)


def resume(engine: Engine, session_id: str | None = None) -> bool:
    """Switch them back on for one session (None: all); False if they were not off."""
    return _switch(engine, session_id, on=True)


def _switch(engine: Engine, session_id: str | None, *, on: bool) -> bool:
    if session_id is not None:
        engine.get(session_id)
    ledger = Ledger(engine.store, clock=engine.clock)
    scope = ALL if session_id is None else session_id
    changed = ledger.resume(scope) if on else ledger.pause(scope)
    if changed:
        engine.store.append_event(
            session_id or "",
            "reaction",
            {"key": "*", "outcome": "resumed" if on else "paused", "scope": scope},
        )
        engine.feed.wake()
    return changed


def send_suggestion(
    engine: Engine, session_id: str, text: str | None = None
) -> tuple[DeliveryResult, str]:
    """Send the message suggest mode prepared (``text``: the operator's edit of it)."""
    engine.get(session_id)  # an unknown id is refused as such, not as "no message"
    ledger = Ledger(engine.store, clock=engine.clock)
    suggestion = ledger.suggestion(session_id)
    if suggestion is None:
        raise EngineError(f"{session_id} has no suggested message to send")
    body = suggestion.text if text is None else text
    ledger.set_send(suggestion.id, "typing")
    result, detail = engine.send(session_id, body)
    failed = result is DeliveryResult.FAILED
    edited = " (edited)" if text is not None and text != suggestion.text else ""
    ledger.set_send(suggestion.id, "failed" if failed else "sent", detail + edited)
    engine.store.append_event(
        session_id,
        "reaction",
        {
            "key": ledger.key_of(suggestion.episode_id),
            "outcome": result.value,
            "attempt": suggestion.attempt,
            "by": "operator",
            "reason": detail + edited,
            "text": body,
        },
    )
    _refresh_mark(engine, session_id)
    engine.feed.wake()
    return result, detail


def drop_suggestion(engine: Engine, session_id: str) -> None:
    """Discard the message suggest mode prepared; the operator deals with it.

    The episode stays with the operator (tier 3) until its condition clears: nothing more
    is suggested for it, and the session stays in Needs you, saying so.
    """
    engine.get(session_id)
    ledger = Ledger(engine.store, clock=engine.clock)
    suggestion = ledger.suggestion(session_id)
    if suggestion is None:
        raise EngineError(f"{session_id} has no suggested message to drop")
    ledger.set_send(suggestion.id, "dropped", "dropped by the operator")
    key = ledger.key_of(suggestion.episode_id)
    episode = ledger.episode(session_id, key)
    if episode is not None:
        ledger.escalate(episode, tier=3, reason=f"you dropped the suggested {key} message")
    engine.store.append_event(
        session_id,
        "reaction",
        {"key": ledger.key_of(suggestion.episode_id), "outcome": "dropped", "by": "operator"},
    )
    _refresh_mark(engine, session_id)
    engine.feed.wake()


def _refresh_mark(engine: Engine, session_id: str) -> None:
    """Write the session's mark as the reactor would now: the CLI may run with no daemon,
    and ``status`` must not keep saying a message waits once it was sent or dropped."""
    from core.reactions.loop import build_reactor

    session = engine.store.get_session(session_id)
    if session is None:
        return
    mark = build_reactor(engine).mark(session)
    if mark != session.reaction:
        engine.store.update_session(session_id, reaction=mark)
