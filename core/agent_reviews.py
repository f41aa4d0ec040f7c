"""Agent reviews in the store: one review per session and head, its comments, its verdict.

A **review** is one look at one head of a worker's branch (``app-3`` at ``1a2b3c``). There
is at most one per session and head (a unique key), and the ``agent-review`` reaction
records it (``starting``) before it spawns the reviewer, so a crash never spawns two and a
restart never spawns another for the same head. The reviewer's ``ao-tui review comment``
calls add **comments** at that head; ``request-changes`` or ``approve`` records the
**verdict** and ends the review (``submitted``): nothing is added to it after that.

The local SCM reads its PR's review threads and review state from here
(:func:`local_threads`, :meth:`ReviewBook.verdict_at`): the comments of the newest
submitted review stay unresolved threads until a review of a newer head is submitted (as a
host keeps an outdated thread open after a push); the verdict counts only at its head.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.models import ReviewThread
from core.store import Store

ReviewState = Literal["starting", "reviewing", "submitted", "failed"]
Verdict = Literal["", "changes_requested", "approved"]
OPERATOR = "operator"
"""Who a review verb acts for when no agent runs it (no ``AO_TUI_ACTOR``)."""

_REVIEW_COLUMNS = (
    "id, session_id, head_sha, reviewer, state, verdict, summary, detail, created_at, submitted_at"
)
_COMMENT_COLUMNS = "id, review_id, author, path, line, body, created_at"


@dataclass(frozen=True)
class ReviewComment:
    """One finding of a review: where, who, what."""

    id: int
    review_id: int
    author: str
    path: str
    line: int
    body: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """One entry of a review's ``comments`` in ``--json``."""
        return {
            "id": self.id,
            "author": self.author,
            "path": self.path,
            "line": self.line,
            "body": self.body,
        }


@dataclass(frozen=True)
class AgentReview:
    """One review of one head of a session's branch."""

    id: int
    session_id: str
    """The author's session (whose branch is reviewed)."""
    head_sha: str
    reviewer: str
    """The reviewer's session id, or :data:`OPERATOR`; "" while it is being spawned."""
    state: ReviewState
    verdict: Verdict
    summary: str
    detail: str
    """Why it failed ("" otherwise)."""
    created_at: float
    submitted_at: float | None

    @property
    def open(self) -> bool:
        """Whether comments may still be added (not submitted, not failed)."""
        return self.state in ("starting", "reviewing")

    def to_json(self, comments: list[ReviewComment] | None = None) -> dict[str, Any]:
        """The review as ``ao-tui review … --json`` prints it."""
        data: dict[str, Any] = {
            "session": self.session_id,
            "head_sha": self.head_sha,
            "reviewer": self.reviewer,
            "state": self.state,
            "verdict": self.verdict or None,
            "summary": self.summary,
        }
        if comments is not None:
            data["comments"] = [comment.to_json() for comment in comments]
        return data


class ReviewBook:
    """The agent-review tables of one store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        """Read and write the review tables of ``store``."""
        self.store = store
        self.clock = clock

    def begin(
        self, session_id: str, head: str, *, reviewer: str, state: ReviewState
    ) -> AgentReview | None:
        """Record a new review of ``head``; None when that head already has one."""
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO agent_reviews(session_id, head_sha, reviewer, state, "
                "created_at) VALUES(?,?,?,?,?)",
                (session_id, head, reviewer, state, self.clock()),
            )
        return self.at(session_id, head) if cur.rowcount else None

    def at(self, session_id: str, head: str) -> AgentReview | None:
        """The review of ``head`` of the session, if any."""
        rows = self.store.read(
            f"SELECT {_REVIEW_COLUMNS} FROM agent_reviews WHERE session_id=? AND head_sha=?",
            (session_id, head),
        )
        return _review(rows[0]) if rows else None

    def by_reviewer(self, session_id: str, reviewer: str) -> AgentReview | None:
        """The newest review of the session by ``reviewer``, if any."""
        rows = self.store.read(
            f"SELECT {_REVIEW_COLUMNS} FROM agent_reviews WHERE session_id=? AND reviewer=? "
            "ORDER BY id DESC LIMIT 1",
            (session_id, reviewer),
        )
        return _review(rows[0]) if rows else None

    def of_reviewer(self, reviewer: str) -> AgentReview | None:
        """The newest review ``reviewer`` (a session id) was spawned for, if any."""
        rows = self.store.read(
            f"SELECT {_REVIEW_COLUMNS} FROM agent_reviews WHERE reviewer=? "
            "ORDER BY id DESC LIMIT 1",
            (reviewer,),
        )
        return _review(rows[0]) if rows else None

    def reviews(self, session_id: str) -> list[AgentReview]:
        """Every review of the session, oldest first."""
        rows = self.store.read(
            f"SELECT {_REVIEW_COLUMNS} FROM agent_reviews WHERE session_id=? ORDER BY id",
            (session_id,),
        )
        return [_review(row) for row in rows]

    def started(self, review: AgentReview, reviewer: str) -> None:
        """The reviewer session runs: the review is under way."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE agent_reviews SET reviewer=?, state='reviewing' "
                "WHERE id=? AND state='starting'",
                (reviewer, review.id),
            )

    def fail(self, review: AgentReview, detail: str) -> bool:
        """The review cannot happen (its reviewer did not start, or ended without a
        verdict); False when it was no longer open."""
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE agent_reviews SET state='failed', detail=? "
                "WHERE id=? AND state IN ('starting', 'reviewing')",
                (detail, review.id),
            )
        return bool(cur.rowcount)

    def add_comment(
        self, review: AgentReview, *, author: str, path: str, line: int, body: str
    ) -> ReviewComment | None:
        """Add a comment to an open review; None when it was submitted meanwhile."""
        now = self.clock()
        with self.store.transaction() as db:
            still = db.execute(
                "SELECT 1 FROM agent_reviews WHERE id=? AND state IN ('starting', 'reviewing')",
                (review.id,),
            ).fetchone()
            if still is None:
                return None
            cur = db.execute(
                "INSERT INTO review_comments(review_id, author, path, line, body, created_at) "
                "VALUES(?,?,?,?,?,?)",
                (review.id, author, path, line, body, now),
            )
            comment_id = int(cur.lastrowid or 0)
        return ReviewComment(comment_id, review.id, author, path, line, body, now)

    def submit(self, review: AgentReview, verdict: Verdict, summary: str) -> AgentReview | None:
        """Record the verdict and end the review; None when it was not open any more."""
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE agent_reviews SET state='submitted', verdict=?, summary=?, "
                "submitted_at=? WHERE id=? AND state IN ('starting', 'reviewing')",
                (verdict, summary, self.clock(), review.id),
            )
        return self.at(review.session_id, review.head_sha) if cur.rowcount else None

    def comments(self, review_id: int) -> list[ReviewComment]:
        """A review's comments, in the order they were made."""
        rows = self.store.read(
            f"SELECT {_COMMENT_COLUMNS} FROM review_comments WHERE review_id=? ORDER BY id",
            (review_id,),
        )
        return [_comment(row) for row in rows]

    def latest_submitted(self, session_id: str) -> AgentReview | None:
        """The session's newest submitted review (the one whose comments are unresolved)."""
        rows = self.store.read(
            f"SELECT {_REVIEW_COLUMNS} FROM agent_reviews WHERE session_id=? "
            "AND state='submitted' ORDER BY submitted_at DESC, id DESC LIMIT 1",
            (session_id,),
        )
        return _review(rows[0]) if rows else None

    def reviewer_at(self, session_id: str, head: str) -> str:
        """Who reviewed exactly ``head`` ("" when nobody has)."""
        review = self.at(session_id, head)
        return "" if review is None else review.reviewer

    def verdict_at(self, session_id: str, head: str) -> Verdict:
        """The verdict submitted for exactly ``head`` ("" when none)."""
        review = self.at(session_id, head)
        return review.verdict if review is not None and review.state == "submitted" else ""


def local_threads(book: ReviewBook, session_id: str) -> tuple[ReviewThread, ...]:
    """The unresolved review threads of a session's local PR: the newest submitted
    review's comments, after its summary when it requests changes (a thread on the PR as a
    whole, so a request with no comment still reaches the author). An agent's are a bot's
    (the ``bugbot-comments`` reaction forwards them); the operator's are a person's
    (``changes-requested``)."""
    review = book.latest_submitted(session_id)
    if review is None:
        return ()
    summary: tuple[ReviewThread, ...] = ()
    if review.verdict == "changes_requested" and review.summary:
        author = review.reviewer or OPERATOR
        summary = (
            ReviewThread(
                path="",
                line=None,
                author=author,
                body=review.summary,
                bot=author != OPERATOR,
                id=f"local-review-{review.id}",
            ),
        )
    return summary + tuple(
        ReviewThread(
            path=comment.path,
            line=comment.line,
            author=comment.author,
            body=comment.body,
            bot=comment.author != OPERATOR,
            id=f"local-review-{comment.id}",
        )
        for comment in book.comments(review.id)
    )


def _review(row: tuple[Any, ...]) -> AgentReview:
    return AgentReview(
        id=int(row[0]),
        session_id=str(row[1]),
        head_sha=str(row[2]),
        reviewer=str(row[3]),
        state=row[4],
        verdict=row[5],
        summary=str(row[6]),
        detail=str(row[7]),
        created_at=float(row[8]),
        submitted_at=None if row[9] is None else float(row[9]),
    )


def _comment(row: tuple[Any, ...]) -> ReviewComment:
    return ReviewComment(
        id=int(row[0]),
        review_id=int(row[1]),
        author=str(row[2]),
        path=str(row[3]),
        line=int(row[4]),
        body=str(row[5]),
        created_at=float(row[6]),
    )
