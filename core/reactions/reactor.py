"""The reactor: for one session at a time, each reaction key's condition, and what to do.

Tier 1 is the agent: it gets the facts (:mod:`core.reactions.messages`) and retries within
the key's budget. Tier 2 is the project's orchestrator session, when one runs: it is handed
the episode and has ``orchestratorTimeout`` to act (:mod:`core.reactions.handoff`). Tier 3
is the operator: the session goes to Needs you with the reason in words, and its card says
so.

Rules that keep an unattended fleet trustworthy:

- Every decision is an event (``reaction``) with the key, attempt, budget, tier and what
  was sent, or why nothing was.
- A send is recorded before it is typed and settled after (:mod:`core.reactions.ledger`).
- What could not be delivered goes to the operator at once, saying why: never silence.
- A failure that is not the agent's (the CI command could not start, the agent's own API
  fails) goes to the operator and spends none of the agent's budget.
- A condition that persists is acted on again: an agent that goes idle with CI still red
  at the same head has used an attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from core.config import Config
from core.config_reactions import REACTION_KEYS
from core.errors import AoError
from core.faults import fault_point
from core.humanize import age
from core.models import (
    ENDED_LIFECYCLES,
    ActivityState,
    DeliveryResult,
    Lifecycle,
    ReactionMark,
    Session,
)
from core.reactions import agent_review
from core.reactions.agent_review import KEY as REVIEW_KEY
from core.reactions.agent_review import ReviewDeps
from core.reactions.events import EVENT_KEYS
from core.reactions.facts import CLEAR, HOLD, Fact, Sources, observe
from core.reactions.handoff import Handoff
from core.reactions.ledger import ALL, Episode, Ledger
from core.reactions.messages import compose
from core.reactions.rules import Rule, effective_rules
from core.scm import CheckRun
from core.store import Store

PERSIST_GRACE = 10.0
"""Seconds an agent must have been idle, after the last attempt, before a condition that
persists counts as another attempt: long enough for its push to show as a new head."""
HOST_KEY = "scm-unreachable"
"""The ledger key of a session whose SCM host does not answer (not a configurable key)."""
HOST_PATIENCE = 300.0
"""Seconds a host may fail to answer before the operator is told."""
INFRA = "not the agent's to fix: "
"""How the reason of an escalation that spent no budget begins."""

_ROW_KEYS = tuple(key for key in REACTION_KEYS if key not in EVENT_KEYS and key != REVIEW_KEY)
"""The keys read from a session's row (the others are read from events; agent-review is
:mod:`core.reactions.agent_review`'s)."""
_PERSISTS = frozenset({"ci-failed", "merge-conflicts"})
"""Keys whose condition, still there after the agent's turn, is another attempt. Review
threads are not: an agent cannot resolve them, so only new ones are news."""
_SHOWN_WHEN_TOLD = frozenset({"agent-stuck", "ci-failed", "merge-conflicts"})
"""Notify-only keys whose session would not be in Needs you otherwise (a stuck agent looks
busy); the others are already where the operator looks (Needs you, Ready to merge)."""
_WORDS = {
    "ci-failed": "CI still failing",
    "changes-requested": "review comments still unresolved",
    "bugbot-comments": "bot review comments still unresolved",
    "merge-conflicts": "still conflicting with the base",
    "agent-exited": "the agent exited again",
    "agent-stuck": "the agent is stuck",
}
_TRIES = {"ci-failed": "fix", "agent-exited": "restore"}


@dataclass(frozen=True)
class ReactorDeps:
    """The engine verbs and reads a reactor acts through."""

    store: Store
    clock: Callable[[], float]
    config: Callable[[], Config]
    send: Callable[[str, str], tuple[DeliveryResult, str]]
    restore: Callable[[str], Session]
    merge: Callable[[str, str], object]
    """Merge a session at an expected head (refused if it moved or anything blocks it)."""
    failing_checks: Callable[[Session], list[CheckRun]]
    last_signal: Callable[[Session], float | None]
    received: Callable[[Session, str, float], bool | None]
    """Whether the agent's records show ``text`` arrived after a time; None: cannot tell."""
    wake: Callable[[], None]
    reviews: ReviewDeps | None = None
    """How ``agent-review`` spawns and ends reviewers (None: it does nothing)."""


class Reactor:
    """Decides and acts for the sessions it is handed; keeps nothing a crash would need."""

    def __init__(self, deps: ReactorDeps) -> None:
        """React through ``deps``."""
        self.deps = deps
        self.ledger = Ledger(deps.store, clock=deps.clock)
        self.handoff = Handoff(deps, self.ledger, self._event, self._show)
        self._held: dict[str, str] = {}
        """Session id → why its auto-merge is held, as last told (once per reason)."""

    # settling a crash ----------------------------------------------------------------

    def settle(self) -> None:
        """Finish the sends a crash interrupted: never lose one, never type one twice."""
        for send in self.ledger.unsettled():
            session = self.deps.store.get_session(send.session_id)
            if send.handoff:
                arrived = None
                if send.state == "typing" and session is not None:
                    arrived = self.deps.received(session, send.text, send.created_at)
                self.handoff.settle(send, arrived)
                continue
            if session is None or session.lifecycle in ENDED_LIFECYCLES:
                self.ledger.set_send(send.id, "dropped", "the session ended")
                continue
            key = self.ledger.key_of(send.episode_id)
            rule = effective_rules(self.deps.config(), session.project).get(key)
            if send.state == "typing":
                arrived = self.deps.received(session, send.text, send.created_at)
                if arrived:
                    why = "found in the agent's records after a restart"
                    self.ledger.set_send(send.id, "sent", why)
                    self._event(session, key, "sent", attempt=send.attempt, rule=rule, reason=why)
                    continue
                if arrived is None:
                    self.ledger.set_send(send.id, "dropped", "interrupted while typing")
                    self._event(
                        session,
                        key,
                        "failed",
                        attempt=send.attempt,
                        rule=rule,
                        reason="ao-tui stopped while typing a message and this agent keeps "
                        "no record to check it arrived: look at the session",
                    )
                    continue
            self.ledger.set_send(send.id, "typing")
            try:
                result, detail = self.deps.send(session.id, send.text)
            except AoError as exc:
                result, detail = DeliveryResult.FAILED, str(exc)
            ok = result is not DeliveryResult.FAILED
            self.ledger.set_send(send.id, "sent" if ok else "failed", f"resent: {detail}")
            # Logged like any send: the event log is where the operator reads what was typed.
            self._event(
                session,
                key,
                result.value,
                attempt=send.attempt,
                rule=rule,
                text=send.text,
                reason=f"sent after a restart: {detail}",
            )

    # one session ---------------------------------------------------------------------

    def react(self, session: Session) -> None:
        """Look at every key's condition on ``session`` and act on what needs it."""
        if session.lifecycle in ENDED_LIFECYCLES:
            self._end_all(session)
            return
        now = self.deps.clock()
        rules = effective_rules(self.deps.config(), session.project)
        paused = self.ledger.paused()
        off = ALL in paused or session.id in paused
        sources = Sources(now, self.deps.failing_checks, self.deps.last_signal)
        if not off and rules["ci-failed"].enabled:
            self._host_notice(session, now)
        for key in _ROW_KEYS:
            rule = rules[key]
            episode = self.ledger.episode(session.id, key)
            last = None if episode is None else episode.last_attempt_at
            seen = observe(key, session, rule, sources, last_attempt=last)
            if seen == CLEAR:
                if episode is not None:
                    self._clear(session, episode)
                continue
            if not rule.enabled or off:
                continue  # nothing is opened, sent or escalated while switched off
            if episode is not None and episode.tier == 2:
                self._follow(session, rule, episode, seen if isinstance(seen, Fact) else None)
                continue
            if seen == HOLD:
                if episode is not None:
                    self._maybe_time_out(session, rule, episode, None, now)
                continue
            assert isinstance(seen, Fact)
            if episode is None:
                episode = self.ledger.open_episode(session.id, key)
            self._act(session, rule, episode, seen, now)
            session = self.deps.store.get_session(session.id) or session
        agent_review.step(self, session, rules[REVIEW_KEY], off=off)
        self._show(session)

    def tell(self, session: Session, key: str, token: str, reason: str, *, scope: str = "") -> None:
        """Notify the operator of ``key`` once per ``token`` (an event, routed by its
        priority): for the keys read from events. ``scope`` keys the record (a project's
        ``all-complete`` is one for the project, not one per session)."""
        rule = effective_rules(self.deps.config(), session.project)[key]
        paused = self.ledger.paused()
        if not rule.enabled or ALL in paused or session.id in paused:
            return
        episode = self.ledger.open_episode(scope or session.id, key)
        if episode.fact == token:
            return
        self.ledger.note(episode, fact=token)
        self._event(session, key, "notified", rule=rule, reason=reason)

    def _act(self, session: Session, rule: Rule, episode: Episode, fact: Fact, now: float) -> None:
        new = fact.token != episode.fact
        if episode.tier >= 3:
            rearm = new and not fact.infra and episode.reason.startswith(INFRA)
            if not rearm:
                return  # with the operator until the condition clears
            self.ledger.escalate(episode, tier=1, reason="")
            episode = replace(episode, tier=1, reason="")
        if fact.infra:
            self._escalate(session, rule, episode, INFRA + fact.infra, fact)
            return
        if not rule.auto or rule.action == "notify":
            if new:
                self._notify(session, rule, episode, fact)
            return
        if rule.action == "send-to-agent":
            self._send(session, rule, episode, fact, new, now)
        elif rule.action == "restore":
            if new and fact.clean:
                self._notify(session, rule, episode, fact)
            elif new:
                self._restore(session, rule, episode, fact)
        elif rule.action == "auto-merge" and new:
            review = effective_rules(self.deps.config(), session.project)[REVIEW_KEY]
            held = agent_review.holds_merge(self, session, review, fact.token)
            if held:
                # Not noted: the same head is looked at again once its review is in.
                self._show_held(session, rule, held)
                return
            self._merge(session, rule, episode, fact)

    # actions -------------------------------------------------------------------------

    def _send(
        self, session: Session, rule: Rule, episode: Episode, fact: Fact, new: bool, now: float
    ) -> None:
        again = not new and rule.key in _PERSISTS and self._turn_ended(session, episode, now)
        if not (new or again):
            self._maybe_time_out(session, rule, episode, fact, now)
            return
        if self._maybe_time_out(session, rule, episode, fact, now):
            return
        budget = rule.budget
        if budget is not None and episode.attempts >= budget:
            self._escalate(session, rule, episode, self._spent(rule, episode, fact), fact)
            return
        if session.lifecycle is not Lifecycle.RUNNING:
            return  # agent-exited brings it back first; then this is acted on
        state = session.activity.state
        if state in (ActivityState.ERROR, ActivityState.RETRYING):
            cause = session.activity.detail or state.value
            self._escalate(session, rule, episode, INFRA + f"the agent itself fails: {cause}", fact)
            return
        if state is ActivityState.WAITING_INPUT:
            return  # it cannot read a message now; agent-needs-input tells the operator
        if fact.threads:
            fresh = tuple(t for t in fact.threads if t.fingerprint not in episode.seen)
            if not fresh:
                self.ledger.note(episode, fact=fact.token)
                return
            fact = replace(fact, threads=fresh)
        text = compose(rule.key, session, rule, fact, attempt=episode.attempts + 1)
        seen = tuple(dict.fromkeys((*episode.seen, *fact.seen)))
        if rule.mode == "suggest":
            made = self.ledger.begin_attempt(
                episode, fact=fact.token, text=text, seen=seen, state="suggested"
            )
            if made is not None:
                self._event(
                    session, rule.key, "suggested", attempt=made.attempt, rule=rule, text=text
                )
            return
        made = self.ledger.begin_attempt(episode, fact=fact.token, text=text, seen=seen)
        if made is None:
            return  # another process acted on this episode first
        fault_point("reaction.recorded")  # the intent is stored, nothing typed yet
        # The card shows the reaction at work before the (slow) send: an idle agent on red
        # CI must not sit in Needs you meanwhile, and be announced, while it is being told.
        self._show(session)
        self.ledger.set_send(made.id, "typing")
        try:
            result, detail = self.deps.send(session.id, text)
        except AoError as exc:
            result, detail = DeliveryResult.FAILED, str(exc)
        fault_point("reaction.typed")  # typed, the outcome not yet stored
        ok = result is not DeliveryResult.FAILED
        self.ledger.set_send(made.id, "sent" if ok else "failed", detail)
        self._event(
            session,
            rule.key,
            result.value,
            attempt=made.attempt,
            rule=rule,
            text=text,
            reason=detail,
        )
        if not ok:
            episode = self.ledger.episode(session.id, rule.key) or episode
            why = f"could not send the {_what(rule.key)} to the agent: {detail}"
            self._escalate(session, rule, episode, why, fact)

    def _restore(self, session: Session, rule: Rule, episode: Episode, fact: Fact) -> None:
        budget = rule.budget
        if budget is not None and episode.attempts >= budget:
            self._escalate(session, rule, episode, self._spent(rule, episode, fact), fact)
            return
        counted = self.ledger.count_attempt(episode, fact=fact.token)
        if counted is None:
            return
        try:
            self.deps.restore(session.id)
        except AoError as exc:
            self._event(
                session, rule.key, "failed", attempt=counted.attempts, rule=rule, reason=str(exc)
            )
            self._escalate(session, rule, counted, f"restoring it failed: {exc}", fact)
            return
        self._event(
            session, rule.key, "restored", attempt=counted.attempts, rule=rule, reason=fact.summary
        )

    def _merge(self, session: Session, rule: Rule, episode: Episode, fact: Fact) -> None:
        counted = self.ledger.count_attempt(episode, fact=fact.token)
        if counted is None:
            return
        try:
            self.deps.merge(session.id, fact.token)
        except AoError as exc:
            self._event(
                session, rule.key, "failed", attempt=counted.attempts, rule=rule, reason=str(exc)
            )
            self._escalate(session, rule, counted, f"auto-merge refused: {exc}", fact)
            return
        self._event(
            session,
            rule.key,
            "merged",
            attempt=counted.attempts,
            rule=rule,
            reason=f"merged: {fact.summary}",
        )

    def _notify(self, session: Session, rule: Rule, episode: Episode, fact: Fact) -> None:
        self.ledger.note(episode, fact=fact.token)
        if rule.key in _SHOWN_WHEN_TOLD:
            self._escalate(session, rule, episode, f"{_label(rule.key)}: {fact.summary}", fact)
            return
        self._event(session, rule.key, "notified", rule=rule, reason=fact.summary)

    def _host_notice(self, session: Session, now: float) -> None:
        """Tell the operator, once, that the SCM host has not answered for a while.

        The PR reactions hold meanwhile (nothing is lost or repeated; they act when it
        answers), and it is not the agent's to fix, so nothing is sent to it. A glitch
        shorter than :data:`HOST_PATIENCE` wakes nobody.
        """
        problem = "" if session.pr is None else session.pr.problem
        episode = self.ledger.episode(session.id, HOST_KEY)
        if not problem:
            if episode is not None:
                self.ledger.close(episode)
            return
        if episode is None:
            episode = self.ledger.open_episode(session.id, HOST_KEY)
        token = re.sub(r"\d+", "#", problem)[:200]
        if now - episode.opened_at < HOST_PATIENCE or episode.fact == token:
            return
        self.ledger.note(episode, fact=token)
        lasted = age(now - episode.opened_at)
        reason = f"{INFRA}the host has not answered for {lasted}: {problem}; reactions wait"
        self._event(session, HOST_KEY, "notified", reason=reason, tier=3)

    # escalation ----------------------------------------------------------------------

    def _escalate(
        self, session: Session, rule: Rule, episode: Episode, reason: str, fact: Fact | None
    ) -> None:
        """Tier 2, the orchestrator, when one runs and the failure is the agent's; else (or
        if it cannot be told) tier 3: the operator decides."""
        if episode.tier >= 3 and episode.reason == reason:
            return
        if episode.tier < 2 and not reason.startswith(INFRA):
            why = self.handoff.offer(session, rule, episode, reason, fact)
            if why is None:
                return
            reason = f"{reason}; {why}" if why else reason
        self.ledger.escalate(episode, tier=3, reason=reason)
        if fact is not None:
            self.ledger.note(episode, fact=fact.token)
        self._event(
            session,
            rule.key,
            "escalated",
            attempt=episode.attempts,
            rule=rule,
            reason=reason,
            tier=3,
        )

    def _follow(self, session: Session, rule: Rule, episode: Episode, fact: Fact | None) -> None:
        """An episode the orchestrator holds: to the operator once it failed to act, or its
        action did not clear the condition (:meth:`Handoff.follow`)."""
        if fact is not None and fact.infra:
            self._escalate(session, rule, episode, INFRA + fact.infra, fact)
            return
        why = self.handoff.follow(session, episode, fact)
        if why is not None:
            self._escalate(session, rule, episode, f"{episode.reason}; {why}", fact)

    def _maybe_time_out(
        self, session: Session, rule: Rule, episode: Episode, fact: Fact | None, now: float
    ) -> bool:
        """Escalate an episode older than its ``escalateAfter`` duration; whether it did."""
        limit = rule.escalate_seconds
        if limit is None or episode.tier >= 3 or now - episode.opened_at < limit:
            return False
        lasted = age(now - episode.opened_at)
        summary = f": {fact.summary}" if fact is not None else ""
        words = _WORDS.get(rule.key, _label(rule.key))
        self._escalate(session, rule, episode, f"{words} after {lasted}{summary}", fact)
        return True

    def _spent(self, rule: Rule, episode: Episode, fact: Fact) -> str:
        tries = _TRIES.get(rule.key, "attempt")
        n = episode.attempts
        plural = "es" if tries.endswith("x") else "s"
        words = _WORDS.get(rule.key, _label(rule.key))
        return f"{words} after {n} {tries}{plural if n != 1 else ''}: {fact.summary}"

    def _turn_ended(self, session: Session, episode: Episode, now: float) -> bool:
        """Whether the agent finished a turn since the last attempt and has stayed idle."""
        last = episode.last_attempt_at
        activity = session.activity
        return (
            last is not None
            and session.lifecycle is Lifecycle.RUNNING
            and activity.state is ActivityState.IDLE
            and activity.since > last
            and now - activity.since >= PERSIST_GRACE
        )

    # the session's mark and the log -----------------------------------------------------

    def _clear(self, session: Session, episode: Episode) -> None:
        self.ledger.close(episode)
        if episode.attempts or episode.tier > 1:
            self._event(session, episode.key, "cleared", attempt=episode.attempts)

    def _end_all(self, session: Session) -> None:
        for episode in self.ledger.open_episodes(session.id):
            self.ledger.close(episode)
        if session.reaction is not None:
            self.deps.store.update_session(session.id, reaction=None)
            self.deps.wake()

    def _show(self, session: Session) -> None:
        """Write the session's mark (its card's ``↻ ci 1/2``) when it changed."""
        mark = self.mark(session)
        current = self.deps.store.get_session(session.id)
        if current is None:
            return
        if _same(current.reaction, mark):
            return
        self.deps.store.update_session(session.id, reaction=mark)
        self.deps.wake()

    def _show_held(self, session: Session, rule: Rule, why: str) -> None:
        """Say once (per session and reason) that auto-merge waits, and for what."""
        if self._held.get(session.id) == why:
            return
        self._held[session.id] = why
        self._event(session, rule.key, "held", rule=rule, reason=why)

    def mark(self, session: Session) -> ReactionMark | None:
        """The one reaction a session's card shows: an escalation first, then a suggested
        message, then the reaction at work."""
        rules = effective_rules(self.deps.config(), session.project)
        best: tuple[int, ReactionMark] | None = None
        suggested = self.ledger.suggestion(session.id) is not None
        for episode in self.ledger.open_episodes(session.id):
            rule = rules.get(episode.key)
            budget = None if rule is None else rule.budget
            if episode.tier >= 3:
                rank, status = 0, "escalated"
            elif suggested:
                rank, status = 1, "suggested"
            elif episode.attempts or episode.tier == 2:
                rank, status = 2, "acting"
            else:
                continue
            mark = ReactionMark(
                key=episode.key,
                status=status,  # type: ignore[arg-type]
                attempts=episode.attempts,
                budget=budget,
                tier=episode.tier,
                reason=episode.reason,
                since=episode.opened_at,
            )
            if best is None or rank < best[0]:
                best = (rank, mark)
        return None if best is None else best[1]

    def _event(
        self,
        session: Session,
        key: str,
        outcome: str,
        *,
        attempt: int = 0,
        rule: Rule | None = None,
        text: str = "",
        reason: str = "",
        tier: int = 1,
        **more: Any,
    ) -> None:
        data: dict[str, Any] = {
            "key": key,
            "outcome": outcome,
            "attempt": attempt,
            "tier": tier,
        }
        if rule is not None:
            data |= {
                "action": rule.action,
                "budget": rule.budget,
                "priority": rule.priority,
                "mode": rule.mode,
            }
        if text:
            data["text"] = text
        if reason:
            data["reason"] = reason
        data |= more
        self.deps.store.append_event(session.id, "reaction", data)
        self.deps.wake()


def _same(a: ReactionMark | None, b: ReactionMark | None) -> bool:
    if a is None or b is None:
        return a is b
    return replace(a, since=0.0) == replace(b, since=0.0)


def _label(key: str) -> str:
    return key.replace("-", " ")


def _what(key: str) -> str:
    return {
        "ci-failed": "CI failure",
        "merge-conflicts": "conflict",
        "agent-stuck": "nudge",
    }.get(key, "review comments")
