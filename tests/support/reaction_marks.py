"""Reaction state seeded into a sample store, as the reactor leaves it, for cockpit tests
and screenshots: a session's mark on its row, and the message suggest mode prepared.

The rows go through the real store and ledger (no reactor runs: the tests of what the
cockpit shows must not depend on when the reactor decides).
"""

from __future__ import annotations

from core.engine import Engine
from core.models import ReactionMark
from core.reactions.ledger import Ledger
from tests.support.canned import NOW

SUGGESTED_TEXT = "CI failed on your branch: test_login_timeout. Fix it and push."
"""The message seeded as suggest mode's."""


def seed_mark(engine: Engine, session_id: str, mark: ReactionMark) -> None:
    """Put ``mark`` on the session's row, as the reactor does."""
    engine.store.update_session(session_id, reaction=mark)


def acting(key: str = "ci-failed", attempts: int = 1, budget: int | None = 2) -> ReactionMark:
    """A reaction that sent the agent the facts and waits for its fix."""
    return ReactionMark(
        key, "acting", attempts, budget, 1, "CI failed: test_login_timeout", NOW - 120
    )


def escalated(key: str = "ci-failed") -> ReactionMark:
    """A reaction that gave up and handed the session to the operator."""
    reason = "CI still failing after 2 fixes: test_login_timeout"
    return ReactionMark(key, "escalated", 2, 2, 3, reason, NOW - 300)


def seed_suggestion(
    engine: Engine, session_id: str, text: str = SUGGESTED_TEXT, key: str = "ci-failed"
) -> None:
    """A message suggest mode prepared for the session, and the mark saying so."""
    ledger = Ledger(engine.store, clock=engine.clock)
    episode = ledger.open_episode(session_id, key)
    send = ledger.begin_attempt(episode, fact="ci:abc", text=text, state="suggested")
    assert send is not None
    reason = f"a {key} message is ready"
    seed_mark(engine, session_id, ReactionMark(key, "suggested", 1, 2, 3, reason, NOW - 60))
