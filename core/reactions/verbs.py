"""What the operator does to reactions, from the CLI or the cockpit: list what is configured,
read a session's history, pause and resume, and send (or drop) a suggested message; and
what the orchestrator (or a script) does: escalate a session to the operator by hand.

Each writes its own ``reaction`` event, so ``events --json`` and the Events tab show who
switched what off and when.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.errors import EngineError
from core.inert import inert, refusal
from core.models import DeliveryResult, ReactionMark
from core.reactions.handoff import HAND_KEY
from core.reactions.ledger import ALL, Episode, Ledger, Send
from core.reactions.rules import DEFAULT, Rule, effective_rules, switched_off

if TYPE_CHECKING:
    from core.engine import Engine

WHY_LIMIT = 300
"""Longest reason an escalation by hand keeps: it is a card's line and a notification's
title, not a report."""


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
    rules = effective_rules(engine.config, project_id)
    review = rules["agent-review"]
    if review.sources.get("auto") == DEFAULT and engine.scm(project_id).name != "local":
        # Its default is on with the local SCM only (core.reactions.agent_review): say so.
        scm = engine.scm(project_id).name
        sources = {**review.sources, "auto": f"default (off with scm {scm})"}
        rules["agent-review"] = replace(review, auto=False, sources=sources)
    return rules


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
    """Switch them back on for one session (None: all), and take back an escalation made
    by hand on it (:func:`escalate`); False if there was neither."""
    taken = session_id is not None and take_back(engine, session_id)
    return _switch(engine, session_id, on=True) or taken


def escalate(engine: Engine, session_id: str, why: str) -> ReactionMark:
    """Hand a session to the operator (``ao-tui escalate ID "why"``): it goes to Needs you
    with ``why`` as its reason, and an ``escalated`` event notifies a person.

    Run by the orchestrator, the event says so (``by``, :mod:`core.provenance`) and so
    does the reason. ``why`` with a control character is refused, as a message is; it is
    kept on one line, inert and bounded. The escalation stays until the operator takes it
    back (:func:`resume`) or the session ends.
    """
    engine.get(session_id)  # an unknown id is refused, naming it
    problem = refusal(why, "the reason")
    if problem is not None:
        raise EngineError(problem)
    said = " ".join(inert(why, one_line=True).split())
    if not said:
        raise EngineError('say why the session needs a person: ao-tui escalate ID "why"')
    if len(said) > WHY_LIMIT:
        said = said[: WHY_LIMIT - 1] + "…"
    by = engine.store.actor
    reason = f"{said} (escalated by {by})" if by else said
    ledger = Ledger(engine.store, clock=engine.clock)
    episode = ledger.open_episode(session_id, HAND_KEY)
    ledger.escalate(episode, tier=3, reason=reason)
    engine.store.append_event(
        session_id,
        "reaction",
        {"key": HAND_KEY, "outcome": "escalated", "attempt": 0, "tier": 3, "reason": reason},
    )
    _refresh_mark(engine, session_id)
    engine.feed.wake()
    mark = engine.get(session_id).reaction
    assert mark is not None  # the episode just escalated is the mark
    return mark


def take_back(engine: Engine, session_id: str) -> bool:
    """Close an escalation made by hand on the session (:func:`escalate`): the operator
    has dealt with it. Whether there was one."""
    engine.get(session_id)
    ledger = Ledger(engine.store, clock=engine.clock)
    episode = ledger.episode(session_id, HAND_KEY)
    if episode is None:
        return False
    ledger.close(episode)
    engine.store.append_event(
        session_id,
        "reaction",
        {
            "key": HAND_KEY,
            "outcome": "cleared",
            "by": engine.store.actor or "operator",
            "reason": "the escalation was taken back",
        },
    )
    _refresh_mark(engine, session_id)
    engine.feed.wake()
    return True


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
