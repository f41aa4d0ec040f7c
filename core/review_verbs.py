"""The review verbs: ``ao-tui review comment|request-changes|approve ID``.

``ID`` is the author's session. Who reviews is the process's actor (``AO_TUI_ACTOR``, the
reviewer session ao-tui spawned, :mod:`core.provenance`), or the operator. A reviewer's
comments go to its own review (:class:`core.agent_reviews.AgentReview`) at the head it
was asked to review; the operator's to the review of the current head, opened then.
``request-changes`` or ``approve`` submits the review: on a host with reviews
(:class:`core.slots.HostReviews`, GitHub) the comments and the verdict become one PR
review; with the local SCM they stay in the store, where its status reads them. Then the
reviewer session, which has nothing to keep, is ended.

Every argument is someone else's text: a path must stay inside the repository, a line is
a positive number, a text holding control characters is refused (as ``send`` refuses
them), and each is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

from core.agent_reviews import OPERATOR, AgentReview, ReviewBook, ReviewComment
from core.errors import AoError, EngineError
from core.inert import refusal
from core.models import ENDED_LIFECYCLES, Role, Session
from core.slots import HostReviews, SlotError

if TYPE_CHECKING:
    from core.engine import Engine

MAX_TEXT_BYTES = 8192
"""The longest comment or summary: a finding is a paragraph, not a file."""
MAX_COMMENTS = 100
"""The most comments one review holds."""
MAX_PATH = 1024
MAX_LINE = 10_000_000

Verdict = Literal["changes_requested", "approved"]
_EVENTS = {"changes_requested": "REQUEST_CHANGES", "approved": "APPROVE"}


def checked_path(path: str) -> str:
    """``path`` as a file of the repository (``src/app.py``), or an error saying why not."""
    problem = refusal(path, "--file")
    if problem:
        raise EngineError(problem)
    text = path.strip()
    if not text:
        raise EngineError("--file is empty; name a file of the repository, e.g. src/app.py")
    if len(text) > MAX_PATH:
        raise EngineError(f"--file is {len(text)} characters long (max {MAX_PATH})")
    if text.startswith(("/", "\\")) or (len(text) > 1 and text[1] == ":"):
        raise EngineError(
            f"--file {text!r} is an absolute path; name it from the repository's root, "
            "e.g. src/app.py"
        )
    parts = [part for part in PurePosixPath(text.replace("\\", "/")).parts if part != "."]
    if ".." in parts:
        raise EngineError(
            f"--file {text!r} leaves the repository ('..'); name it from the repository's "
            "root, e.g. src/app.py"
        )
    if not parts:
        raise EngineError(f"--file {text!r} names no file; e.g. src/app.py")
    return "/".join(parts)


def checked_line(line: int) -> int:
    """``line`` when it is a line number (1 or more)."""
    if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= MAX_LINE:
        raise EngineError(f"--line {line!r} is not a line number; lines count from 1")
    return line


def checked_line_text(text: str) -> int:
    """The line number ``--line`` was given as text (``12``), or an error saying why not."""
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise EngineError(f"--line {shown!r} is not a line number; lines count from 1")
    return checked_line(int(digits))


def checked_text(text: str, what: str, *, required: bool) -> str:
    """``text`` stripped, refused when it holds control characters, is empty (when
    ``required``) or longer than :data:`MAX_TEXT_BYTES`."""
    problem = refusal(text, what)
    if problem:
        raise EngineError(problem)
    text = text.strip()
    if required and not text:
        raise EngineError(f"{what} is empty; say what is wrong and how to fix it")
    size = len(text.encode())
    if size > MAX_TEXT_BYTES:
        raise EngineError(f"{what} is {size} bytes (max {MAX_TEXT_BYTES}); say it shorter")
    return text


def comment(
    engine: Engine, session_id: str, path: str, line: int, text: str
) -> tuple[AgentReview, ReviewComment]:
    """The work of :meth:`core.engine.Engine.review_comment` (which documents it)."""
    path, line = checked_path(path), checked_line(line)
    body = checked_text(text, "the comment", required=True)
    session = engine.get(session_id)
    actor = engine.store.actor or OPERATOR
    book = ReviewBook(engine.store, clock=engine.clock)
    review = _open_review(engine, session, actor, book)
    if len(book.comments(review.id)) >= MAX_COMMENTS:
        raise EngineError(
            f"review of {session_id} at {review.head_sha[:10]} has {MAX_COMMENTS} comments "
            "(the most); submit it with request-changes or approve"
        )
    added = book.add_comment(review, author=actor, path=path, line=line, body=body)
    if added is None:
        raise EngineError(_closed(book.at(session_id, review.head_sha) or review))
    engine.store.append_event(
        session_id,
        "review-comment",
        {"head_sha": review.head_sha, "path": path, "line": line, "reviewer": actor},
    )
    engine.feed.wake()
    return review, added


def submit(
    engine: Engine,
    session_id: str,
    verdict: Verdict,
    summary: str,
    *,
    refresh_pr: Callable[[str], Session],
) -> tuple[AgentReview, list[ReviewComment], list[str]]:
    """The work of :meth:`core.engine.Engine.review_submit` (which documents it)."""
    summary = checked_text(summary, "the summary", required=False)
    session = engine.get(session_id)
    actor = engine.store.actor or OPERATOR
    book = ReviewBook(engine.store, clock=engine.clock)
    review = _open_review(engine, session, actor, book)
    comments = book.comments(review.id)
    scm = engine.scm(session.project)
    if isinstance(scm, HostReviews):
        target = engine.scm_target(session)
        # A person's approval is one; an agent's counts only where the project says so.
        counts = actor == OPERATOR or target.agent_approval_counts
        event = _EVENTS[verdict] if verdict != "approved" or counts else "COMMENT"
        found = [{"path": c.path, "line": c.line, "body": c.body} for c in comments]
        try:
            scm.post_review(target, review.head_sha, event, summary, found)
        except SlotError as exc:
            raise EngineError(
                f"review of {session_id} was not submitted (its comments are kept; try "
                f"again): {exc}"
            ) from exc
    done = book.submit(review, verdict, summary)
    if done is None:
        raise EngineError(_closed(book.at(session_id, review.head_sha) or review))
    engine.store.append_event(
        session_id,
        "review",
        {
            "verdict": verdict,
            "head_sha": done.head_sha,
            "reviewer": done.reviewer or actor,
            "comments": len(comments),
            "summary": summary[:500],
        },
    )
    engine.feed.wake()
    notes: list[str] = []
    if session.lifecycle not in ENDED_LIFECYCLES:
        refresh_pr(session_id)
    notes += end_reviewer(engine, done, actor=actor)
    return done, comments, notes


def end_reviewer(engine: Engine, review: AgentReview, *, actor: str) -> list[str]:
    """End the reviewer session of a submitted review (it has nothing to keep); what
    happened, in words. A reviewer that runs this verb itself is left to the lease holder:
    ending its own tmux session would cut the verb short."""
    reviewer = review.reviewer
    if not reviewer or reviewer == OPERATOR:
        return []
    if reviewer == actor:
        return [f"{reviewer} ends once ao-tui's watching process sees the review submitted"]
    found = engine.store.get_session(reviewer)
    if found is None or found.role is not Role.REVIEWER or found.lifecycle in ENDED_LIFECYCLES:
        return []
    try:
        engine.kill(reviewer, discard=True)
    except AoError as exc:
        return [f"{reviewer} could not be ended: {exc}"]
    return [f"{reviewer} ended: it has reviewed"]


def _open_review(engine: Engine, session: Session, actor: str, book: ReviewBook) -> AgentReview:
    """The review ``actor``'s comments and verdict go to, opened at the current head when
    it has none; refused when that review is already submitted."""
    if session.role is not Role.WORKER:
        raise EngineError(
            f"{session.id} is the {session.role.value}, not a worker; review the session "
            "whose branch holds the work"
        )
    if session.lifecycle in ENDED_LIFECYCLES:
        raise EngineError(f"{session.id} is {session.lifecycle.value}; nothing to review")
    if actor != OPERATOR:
        mine = book.by_reviewer(session.id, actor)
        if mine is not None:
            if not mine.open:
                raise EngineError(_closed(mine))
            return mine
    head = _pr_head(engine, session)
    review = book.at(session.id, head) or book.begin(
        session.id, head, reviewer=actor, state="reviewing"
    )
    review = review or book.at(session.id, head)
    if review is None or not review.open:
        raise EngineError(_closed(review) if review else f"review of {session.id} vanished")
    return review


def _pr_head(engine: Engine, session: Session) -> str:
    """The head of the session's PR, or an error when it has none."""
    scm = engine.scm(session.project)
    target = engine.scm_target(session)
    try:
        heads = scm.heads(target.repo, [target.branch, target.base])
        head, base_head = heads.get(target.branch), heads.get(target.base)
        if head is None or base_head is None:
            raise EngineError(f"{session.id} has no branch {target.branch!r}; nothing to review")
        scm.prefetch([target], engine.store, wait=True)
        pr = scm.status(target, engine.store, head, base_head)
    except SlotError as exc:
        raise EngineError(f"review of {session.id}: {exc}") from exc
    if pr is None:
        raise EngineError(
            f"{session.id} has no commits ahead of {target.base} (no PR); nothing to review"
        )
    return pr.head_sha


def _closed(review: AgentReview) -> str:
    where = f"review of {review.session_id} at {review.head_sha[:10]}"
    if review.state == "failed":
        return f"{where} ended without a verdict: {review.detail}"
    return f"{where} is already submitted"
