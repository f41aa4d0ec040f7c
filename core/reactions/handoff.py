"""Tier 2 of escalation: an episode its agent could not clear goes to the project's
orchestrator session before it goes to the operator.

When a reaction would tell the operator (its budget spent, its time up, a send that failed,
an agent stuck), and the session's project has an orchestrator session that runs, and
``orchestratorTimeout`` is not ``off``, the episode is **handed over** instead: the
orchestrator is typed a structured message (:func:`core.reactions.messages.handoff_message`:
the session, the key, why, what was tried, the facts made inert, and what it may do by
when), recorded in the ledger before it is typed, at most once per episode.

Then the orchestrator owns the episode:

- It **acts** when any event on the session is logged by it (``by`` is its id,
  :mod:`core.provenance`) after the handoff's ``orchestrator`` event: it sent the agent
  guidance, killed, restored or respawned it, escalated it, paused its reactions.
- Not acted within the timeout, or stopped (exited, killed) before acting, or the message
  could not reach it: tier 3, the operator, with the reason saying so.
- Acted: the episode stays at tier 2 until its condition clears. The orchestrator gets one
  turn per episode: if the condition comes back as a new occurrence after its action (a
  new failing head, new review threads, the agent exited again), the operator is told, as
  the budget logic would after a spent budget. Waiting on the same occurrence is left to
  the orchestrator, which was told to escalate when it needs a person.

Never handed over: the orchestrator's own episodes, and failures that are not the agent's
to fix (no session can fix an API key or a runner): those go to the operator at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import AoError
from core.faults import fault_point
from core.humanize import age
from core.models import DeliveryResult, Lifecycle, Role, Session
from core.reactions.facts import Fact
from core.reactions.ledger import Episode, Ledger, Send
from core.reactions.messages import handoff_message
from core.reactions.rules import Rule, effective_rules, orchestrator_timeout
from core.store import Store

if TYPE_CHECKING:
    from core.reactions.reactor import ReactorDeps

OUTCOME = "orchestrator"
"""The outcome of the ``reaction`` event that hands an episode to the orchestrator."""
HAND_KEY = "orchestrator"
"""The key of an escalation made by hand (``ao-tui escalate``): no condition clears it;
the operator does (``ao-tui reactions resume ID``), or the session's end."""

Log = Callable[..., None]
"""The reactor's event writer: ``log(session, key, outcome, attempt=, rule=, text=,
reason=, tier=, **more)``."""


class Handoff:
    """Hands episodes to the orchestrator and follows what it does with them."""

    def __init__(
        self, deps: ReactorDeps, ledger: Ledger, log: Log, show: Callable[[Session], None]
    ) -> None:
        """Act through the reactor's ``deps`` and ``ledger``; log through ``log``; write a
        session's mark through ``show``."""
        self.deps = deps
        self.ledger = ledger
        self.log = log
        self.show = show

    def offer(
        self, session: Session, rule: Rule, episode: Episode, reason: str, fact: Fact | None
    ) -> str | None:
        """Hand the episode over; None when it is now the orchestrator's (or another process
        handed it first). Otherwise it goes to the operator: "" when there is no one to hand
        it to (as if tier 2 did not exist), else why the handoff failed."""
        if session.role is Role.ORCHESTRATOR:
            return ""
        within, _ = orchestrator_timeout(self.deps.config(), session.project)
        chief = running_orchestrator(self.deps.store.list_sessions(), session)
        if within is None or chief is None:
            return ""
        now = self.deps.clock()
        text = handoff_message(
            session,
            rule.key,
            fact,
            reason=reason,
            tried=self._tried(episode, rule),
            within=age(within),
            deadline=time.strftime("%H:%M UTC", time.gmtime(now + within)),
        )
        token = episode.fact if fact is None else fact.token
        made = self.ledger.hand_over(episode, to=chief.id, text=text, reason=reason, fact=token)
        if made is None:
            return None
        fault_point("reaction.handoff-recorded")  # the intent is stored, nothing typed yet
        self._logged(session, rule, episode, made, reason)
        self.show(session)  # the card says who is on it before the (slow) send
        return self._type(made)

    def settle(self, send: Send, arrived: bool | None) -> None:
        """Finish a handoff a crash interrupted (``arrived``: whether the orchestrator's
        records show it, for one cut short while typing; None: they cannot tell). One never
        typed, or shown not to have arrived, is typed now; one that cannot be checked is
        not typed twice but dropped, and :meth:`follow` then tells the operator."""
        owner = self.deps.store.get_session(self.ledger.owner_of(send.episode_id))
        chief = self.deps.store.get_session(send.session_id)
        if owner is None or chief is None or chief.lifecycle is not Lifecycle.RUNNING:
            self.ledger.set_send(send.id, "dropped", f"{send.session_id} is not running")
            return
        if send.state == "typing" and arrived:
            self.ledger.set_send(send.id, "sent", "found in its records after a restart")
            return
        if send.state == "typing" and arrived is None:
            self.ledger.set_send(send.id, "dropped", "interrupted while typing")
            return
        key = self.ledger.key_of(send.episode_id)
        episode = self.ledger.episode(owner.id, key)
        if episode is None:
            self.ledger.set_send(send.id, "dropped", "the episode ended")
            return
        rule = effective_rules(self.deps.config(), owner.project).get(key)
        self.log(
            owner,
            key,
            OUTCOME,
            attempt=episode.attempts,
            rule=rule,
            text=send.text,
            reason=episode.reason,
            tier=2,
            to=send.session_id,
        )
        self._type(send)

    def follow(self, session: Session, episode: Episode, fact: Fact | None) -> str | None:
        """What becomes of an episode the orchestrator holds: None while it stays there,
        else why it goes to the operator now."""
        handed = self.ledger.handoff(episode.id)
        if handed is None:
            return "it was handed to the orchestrator, but no record of it is left"
        chief = handed.session_id
        if handed.state == "failed":
            return f"the message to the orchestrator {chief} did not arrive: {handed.detail}"
        if handed.state == "dropped":
            return f"the message to the orchestrator {chief} may not have arrived: {handed.detail}"
        if handed.state in ("pending", "typing"):
            return None  # being typed, or a restart settles it first
        since = _handoff_seq(self.deps.store, session.id, episode.key)
        if _acted(self.deps.store, session.id, chief, since):
            if fact is not None and fact.token != episode.fact:
                return f"still so after {chief} stepped in: {fact.summary}"
            return None
        current = self.deps.store.get_session(chief)
        if current is None or current.lifecycle is not Lifecycle.RUNNING:
            return f"the orchestrator {chief} stopped before acting"
        within, _ = orchestrator_timeout(self.deps.config(), session.project)
        waited = self.deps.clock() - handed.created_at
        if within is None or waited >= within:
            return f"the orchestrator {chief} did not act in {age(within or waited)}"
        return None

    # the steps -----------------------------------------------------------------------

    def _logged(
        self, session: Session, rule: Rule, episode: Episode, made: Send, reason: str
    ) -> None:
        """The ``orchestrator`` event, written before typing: what the orchestrator does
        counts from here (an answer faster than the send's confirmation still counts)."""
        self.log(
            session,
            rule.key,
            OUTCOME,
            attempt=episode.attempts,
            rule=rule,
            text=made.text,
            reason=reason,
            tier=2,
            to=made.session_id,
        )

    def _type(self, made: Send) -> str | None:
        """Type the handoff into the orchestrator; None if it went, else why not."""
        self.ledger.set_send(made.id, "typing")
        try:
            result, detail = self.deps.send(made.session_id, made.text)
        except AoError as exc:
            result, detail = DeliveryResult.FAILED, str(exc)
        fault_point("reaction.handoff-typed")  # typed, the outcome not yet stored
        ok = result is not DeliveryResult.FAILED
        self.ledger.set_send(made.id, "sent" if ok else "failed", detail)
        self.deps.wake()
        return None if ok else f"the orchestrator {made.session_id} could not be told: {detail}"

    def _tried(self, episode: Episode, rule: Rule) -> str:
        """What the agent was given, in words: ``2 attempts of 2 (delivered, delivered)``."""
        sends = [
            s
            for s in self.ledger.sends(episode.session_id)
            if s.episode_id == episode.id and not s.handoff
        ]
        n = episode.attempts
        of = f" of {rule.budget}" if rule.budget else ""
        said = f"{n} attempt{'' if n == 1 else 's'}{of} by its agent" if n else "nothing yet"
        states = ", ".join(s.state for s in sends)
        return said + (f" ({states})" if states else "")


def running_orchestrator(sessions: list[Session], session: Session) -> Session | None:
    """The orchestrator of ``session``'s project, if one runs and it is not ``session``."""
    for other in sessions:
        if (
            other.role is Role.ORCHESTRATOR
            and other.project == session.project
            and other.id != session.id
            and other.lifecycle is Lifecycle.RUNNING
        ):
            return other
    return None


def _handoff_seq(store: Store, session_id: str, key: str) -> int:
    """Where the latest handoff of ``key`` on the session is in the event log (0: none)."""
    rows = store.read(
        "SELECT MAX(seq) FROM events WHERE session_id=? AND kind='reaction' "
        "AND json_extract(data, '$.outcome')=? AND json_extract(data, '$.key')=?",
        (session_id, OUTCOME, key),
    )
    return int(rows[0][0] or 0) if rows else 0


def _acted(store: Store, session_id: str, chief: str, since: int) -> bool:
    """Whether the orchestrator ``chief`` logged anything on the session after ``since``."""
    rows = store.read(
        "SELECT 1 FROM events WHERE session_id=? AND seq>? "
        "AND json_extract(data, '$.by')=? LIMIT 1",
        (session_id, since, chief),
    )
    return bool(rows)
