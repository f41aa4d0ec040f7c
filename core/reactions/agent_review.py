"""The ``agent-review`` reaction: a worker's green head gets one reviewer agent.

When a worker's PR is green at a head no review has looked at
(:func:`core.reactions.facts.green_head`), the review is recorded first
(:class:`core.agent_reviews.ReviewBook`, unique per session and head: a crash never spawns
two, a restart never spawns another for the same head), then a reviewer session is
spawned (role reviewer, started from the author's branch) with a task naming the author,
the branch, the head, the base, where the diff is and the verbs to answer with. A new head
gets a new review; a review of a head the branch moved on from is ended.

The reviewer ends when it has reviewed: once its review is submitted, the process holding
the lease kills it (it has nothing to keep). One that ends without a verdict, or that could
not start, is told to the operator, never left silent.

On by default with the local SCM; on a host (GitHub) a project turns it on with
``reactions: {agent-review: {auto: true}}``. Only where the project's agent can run a
reviewer (its plugin enforces the role's rules, :class:`core.slots.RoleSupport`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.agent_reviews import OPERATOR, AgentReview, ReviewBook
from core.errors import AoError
from core.faults import fault_point
from core.models import ENDED_LIFECYCLES, Role, Session
from core.reactions.facts import green_head
from core.reactions.rules import DEFAULT, Rule

if TYPE_CHECKING:
    from core.reactions.reactor import Reactor

KEY = "agent-review"
ACTION = "spawn-reviewer"


@dataclass(frozen=True)
class ReviewDeps:
    """The engine verbs an agent review acts through."""

    spawn: Callable[[Session, str, str], Session]
    """Spawn a reviewer of an author session: (author, task, title) → the reviewer."""
    end: Callable[[str], object]
    """End a reviewer session (killed, its worktree removed: it has nothing to keep)."""
    scm_name: Callable[[str], str]
    """The SCM plugin of a project (``local``, ``github``)."""
    can_review: Callable[[str], bool] = lambda _project: True
    """Whether a project's agent can run a reviewer (:func:`core.role_launch.supports`):
    one that cannot is never asked to, rather than refused at every green head."""


def review_task(author: Session, head: str) -> str:
    """What the reviewer is asked: whose work, where it is, how to answer."""
    sid, short = author.id, head[:10]
    base = author.base_branch or "its base"
    return "\n".join(
        [
            f"Review the changes of session {sid} (branch {author.branch}) at commit {short} "
            f"against {base}. You review; you do not change code.",
            "",
            f"The diff: `ao-tui diff {sid}` (or `git diff {base}...{head}`). Your worktree "
            f"starts from {author.branch}; read any file there, `git log` and `git show`.",
            "",
            "For each problem you find (a bug, a missing test, a wrong edge case), record it "
            "on the line it is about:",
            f'  ao-tui review comment {sid} --file PATH --line N "what is wrong and how to fix it"',
            "Then end the review with exactly one of:",
            f'  ao-tui review request-changes {sid} "summary"   (if you recorded problems)',
            f'  ao-tui review approve {sid} "summary"           (if the change is good)',
            "Do not edit files, commit or push. Your session ends once the review is submitted.",
        ]
    )


def step(reactor: Reactor, session: Session, rule: Rule, *, off: bool) -> None:
    """Look at ``session`` for agent review: start a review of its green head, end a
    reviewer that reviewed, tell the operator of one that could not."""
    deps = reactor.deps.reviews
    if deps is None:
        return  # no engine to spawn through (a reactor built for a test of other keys)
    book = ReviewBook(reactor.deps.store, clock=reactor.deps.clock)
    if session.role is Role.REVIEWER:
        review = book.of_reviewer(session.id)
        if review is not None and review.state == "submitted":
            _end(deps, session.id)
        return
    if session.role is not Role.WORKER:
        return
    for review in book.reviews(session.id)[-5:]:
        if review.state == "submitted":
            _end_live(reactor, deps, review.reviewer)
        elif review.open and _gone(reactor, review):
            _lost(
                reactor, session, rule, book, review, f"{review.reviewer} ended without a verdict"
            )
    head = green_head(session)
    episode = reactor.ledger.episode(session.id, KEY)
    if head is None:
        if episode is not None:
            reactor.ledger.close(episode)  # nothing green to review (what failed is moot)
        return
    review = book.at(session.id, head)
    if review is not None and review.state == "starting":
        # This process records and spawns within one look at the session: a review still
        # starting when a look begins was cut short by a crash (never spawned again).
        _lost(reactor, session, rule, book, review, "ao-tui stopped while starting the reviewer")
        return
    if review is not None:
        if review.state == "submitted" and episode is not None:
            reactor.ledger.close(episode)
        return
    if off or not rule.enabled or not _wanted(rule, deps, session):
        return
    _start(reactor, deps, session, rule, book, head)


def holds_merge(reactor: Reactor, session: Session, rule: Rule, head: str) -> str:
    """Why auto-merge must not merge ``session`` at ``head`` yet ("" when it may): the
    project has its green heads reviewed by an agent, and no approval of ``head`` is in.

    Without this a project with ``merge.requireApproval: false`` merged a green head the
    moment it was green, before its reviewer had read it. A review that requested changes,
    or ended without a verdict (told to the operator), holds it until a new head is
    approved or the operator merges by hand.
    """
    deps = reactor.deps.reviews
    if deps is None or session.role is not Role.WORKER:
        return ""
    if not rule.enabled or not _wanted(rule, deps, session):
        return ""
    review = ReviewBook(reactor.deps.store, clock=reactor.deps.clock).at(session.id, head)
    if review is not None and review.verdict == "approved":
        return ""
    if review is None or review.open:
        return f"waits for the agent review of {head[:10]}"
    if review.verdict == "changes_requested":
        return f"the agent review of {head[:10]} requested changes"
    return f"the agent review of {head[:10]} ended without a verdict"


def _wanted(rule: Rule, deps: ReviewDeps, session: Session) -> bool:
    """Whether the rule spawns reviewers for ``session``'s project: on by default with the
    local SCM only; a host's project sets ``auto: true`` itself."""
    if not rule.auto or rule.action != ACTION or not deps.can_review(session.project):
        return False
    return rule.sources.get("auto") != DEFAULT or deps.scm_name(session.project) == "local"


def _start(
    reactor: Reactor, deps: ReviewDeps, session: Session, rule: Rule, book: ReviewBook, head: str
) -> None:
    review = book.begin(session.id, head, reviewer="", state="starting")
    if review is None:
        return  # another process recorded it first
    for older in book.reviews(session.id):
        if older.open and older.head_sha != head:
            # The branch moved on: a verdict on the old head would judge code that is gone.
            book.fail(older, f"the branch moved on to {head[:10]}")
            _end_live(reactor, deps, older.reviewer)
    ledger = reactor.ledger
    episode = ledger.open_episode(session.id, KEY)
    if episode.tier >= 3:
        ledger.escalate(episode, tier=1, reason="")
    episode = ledger.count_attempt(ledger.episode(session.id, KEY) or episode, fact=head) or episode
    fault_point("review.recorded")  # recorded, no reviewer yet
    title = f"review {session.id} at {head[:10]}"
    try:
        reviewer = deps.spawn(session, review_task(session, head), title)
    except AoError as exc:
        book.fail(review, f"the reviewer did not start: {exc}")
        why = f"agent review of {head[:10]} could not start: {exc}"
        reactor._escalate(session, rule, episode, why, None)
        return
    book.started(review, reviewer.id)
    reason = f"agent review started: {reviewer.id} reviews {session.id} at {head[:10]}"
    reactor._event(session, KEY, "reviewing", attempt=episode.attempts, rule=rule, reason=reason)


def _lost(
    reactor: Reactor,
    session: Session,
    rule: Rule,
    book: ReviewBook,
    review: AgentReview,
    why: str,
) -> None:
    """A review that will get no verdict: the operator is told (nothing spawns again for
    that head; a new head gets a new review)."""
    if not book.fail(review, why):
        return
    episode = reactor.ledger.open_episode(session.id, KEY)
    reason = f"agent review of {review.head_sha[:10]} got no verdict: {why}"
    reactor._escalate(session, rule, episode, reason, None)


def _gone(reactor: Reactor, review: AgentReview) -> bool:
    """Whether an open review's reviewer session has ended (killed, merged, removed)."""
    if review.state != "reviewing" or review.reviewer in ("", OPERATOR):
        return False
    found = reactor.deps.store.get_session(review.reviewer)
    return found is None or found.lifecycle in ENDED_LIFECYCLES


def _end_live(reactor: Reactor, deps: ReviewDeps, reviewer: str) -> None:
    if not reviewer or reviewer == OPERATOR:
        return
    found = reactor.deps.store.get_session(reviewer)
    live = found is not None and found.lifecycle not in ENDED_LIFECYCLES
    if live and found is not None and found.role is Role.REVIEWER:
        _end(deps, reviewer)


def _end(deps: ReviewDeps, reviewer: str) -> None:
    try:
        deps.end(reviewer)
    except AoError:
        pass  # the next look tries again; a kill that cannot finish says why in its event
