"""The GraphQL we send to GitHub and the parsing of its answers into plain snapshots.

One query asks about up to 25 items of one repository under aliases ``q0``, ``q1``, …:
a PR by number (every field the board needs, the head commit's whole check rollup and the
review threads) or, for a session branch with no known PR, the newest PR of that head
branch (a brief form: enough to see it merged or closed). Check contexts and review threads
come 100 and 50 at a time; when ``pageInfo.hasNextPage`` is set, follow-up queries fetch the
rest, so a snapshot never holds a truncated list. Every query also asks for
``rateLimit { cost remaining resetAt }``.

Values are written into the query as literals (``json.dumps`` quoting is valid GraphQL);
parsing raises :class:`ShapeError` on anything that is not the documented shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.errors import AoError
from core.models import CiState, ReviewThread
from plugins.github.client import parse_time

BATCH = 25
"""Items per query: keeps each query's cost and answer size modest."""
CONTEXTS_PAGE = 100
THREADS_PAGE = 50
_BODY_MAX = 1000

_CONTEXT_NODE = (
    "__typename "
    "... on CheckRun { name status conclusion startedAt completedAt detailsUrl databaseId "
    "checkSuite { workflowRun { databaseId } } } "
    "... on StatusContext { context state targetUrl createdAt }"
)
_SCALARS = (
    "number url state isDraft mergeable mergeStateStatus reviewDecision headRefName "
    "headRefOid baseRefName baseRefOid updatedAt"
)


def _contexts(after: str | None = None) -> str:
    cursor = f", after: {json.dumps(after)}" if after else ""
    return (
        f"contexts(first: {CONTEXTS_PAGE}{cursor}) {{ totalCount "
        f"pageInfo {{ hasNextPage endCursor }} nodes {{ {_CONTEXT_NODE} }} }}"
    )


def _threads(after: str | None = None) -> str:
    cursor = f", after: {json.dumps(after)}" if after else ""
    return (
        f"reviewThreads(first: {THREADS_PAGE}{cursor}) {{ totalCount "
        "pageInfo { hasNextPage endCursor } nodes { id isResolved path line "
        "comments(first: 1) { totalCount nodes { author { __typename login } body url } } } }"
    )


REVIEWS_PAGE = 20
_REVIEWS = (
    f"latestOpinionatedReviews(first: {REVIEWS_PAGE}) {{ nodes {{ state commit {{ oid }} }} }}"
)
PR_FULL = (
    f"{_SCALARS} commits(last: 1) {{ totalCount nodes {{ commit {{ oid "
    f"statusCheckRollup {{ state {_contexts()} }} }} }} }} {_threads()} {_REVIEWS}"
)
"""Everything about one PR: the board's facts, the head's checks, the review threads."""
PR_BRIEF = f"{_SCALARS} commits(last: 1) {{ totalCount }}"
"""Enough to tell a found PR's state; an open one is then fetched in full."""

_RATE = "rateLimit { cost remaining resetAt }"


class ShapeError(AoError, ValueError):
    """GitHub's answer did not have the documented shape."""


@dataclass(frozen=True)
class CheckContext:
    """One entry of a head commit's check rollup: a check run or a commit status."""

    name: str
    state: CiState
    started_at: float | None = None
    completed_at: float | None = None
    url: str | None = None
    job_id: int | None = None
    """The check run's ``databaseId``: for GitHub Actions, the job whose log we can fetch."""
    run_id: int | None = None
    """The Actions workflow run it belongs to (what a rerun restarts)."""


@dataclass(frozen=True)
class PRSnapshot:
    """One PR as the last GraphQL answer described it."""

    number: int
    url: str
    state: str
    """OPEN, CLOSED or MERGED."""
    draft: bool
    mergeable: str
    """MERGEABLE, CONFLICTING or UNKNOWN (GitHub has not computed it yet)."""
    merge_state: str
    review_decision: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    updated_at: str
    commits: int
    complete: bool = True
    """False for the brief form (no rollup, no threads)."""
    rollup: str | None = None
    contexts: tuple[CheckContext, ...] = ()
    threads: tuple[ReviewThread, ...] = ()
    """Unresolved threads only."""
    contexts_after: str | None = None
    """Cursor of the next page of contexts still to fetch (None when complete)."""
    threads_after: str | None = None
    fetched_at: float = 0.0
    approved_heads: tuple[str, ...] = ()
    """The commits the reviewers' latest approvals were given at (their latest opinion
    each): an approval of an older commit does not approve a later push."""

    @property
    def ci_pending(self) -> bool:
        """CI still running: check-run progress does not change the REST list's ETag."""
        return self.rollup in ("PENDING", "EXPECTED") or any(
            c.state == "running" for c in self.contexts
        )


# -- query text ---------------------------------------------------------------------------

Item = tuple[Literal["number", "branch"], int | str]
"""What one alias asks for: a PR by number, or the newest PR of a head branch."""


def _repository(owner: str, name: str, body: str) -> str:
    return (
        f"query {{ {_RATE} repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) "
        f"{{ {body} }} }}"
    )


def batch_query(owner: str, name: str, items: Sequence[Item]) -> str:
    """One query for up to :data:`BATCH` items, aliased ``q0``, ``q1``, … in order."""
    parts = []
    for i, (kind, key) in enumerate(items):
        if kind == "number":
            parts.append(f"q{i}: pullRequest(number: {int(key)}) {{ {PR_FULL} }}")
        else:
            parts.append(
                f"q{i}: pullRequests(headRefName: {json.dumps(str(key))}, first: 1, "
                f"orderBy: {{field: CREATED_AT, direction: DESC}}) {{ nodes {{ {PR_BRIEF} }} }}"
            )
    return _repository(owner, name, " ".join(parts))


PageItem = tuple[Literal["contexts", "threads"], int | str, str]
"""A follow-up page: ("contexts", head oid, cursor) or ("threads", PR number, cursor)."""


def pages_query(owner: str, name: str, items: Sequence[PageItem]) -> str:
    """One query for the next page of several rollups' contexts or PRs' review threads."""
    parts = []
    for i, (kind, key, after) in enumerate(items):
        if kind == "contexts":
            parts.append(
                f"q{i}: object(oid: {json.dumps(str(key))}) {{ ... on Commit {{ "
                f"statusCheckRollup {{ state {_contexts(after)} }} }} }}"
            )
        else:
            parts.append(f"q{i}: pullRequest(number: {int(key)}) {{ {_threads(after)} }}")
    return _repository(owner, name, " ".join(parts))


# -- parsing ------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{what} is not an object")
    return value


def _str(node: dict[str, Any], key: str, default: str | None = None) -> str:
    value = node.get(key, default)
    if not isinstance(value, str):
        if default is not None and value is None:
            return default
        raise ShapeError(f"{key} is not a string")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{what} is not a number")
    return value


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_run_state(status: str | None, conclusion: str | None) -> CiState:
    """A check run's state: not completed → running; neutral/skipped count as passing."""
    if status != "COMPLETED":
        return "running"
    if conclusion in ("SUCCESS", "NEUTRAL", "SKIPPED"):
        return "passing"
    return "failing"


def status_context_state(state: str | None) -> CiState:
    """A commit status's state."""
    if state == "SUCCESS":
        return "passing"
    if state in ("PENDING", "EXPECTED"):
        return "running"
    return "failing"


def rollup_state(rollup: str | None) -> CiState:
    """The head's combined state: SUCCESS, FAILURE/ERROR, PENDING/EXPECTED, or none."""
    if rollup == "SUCCESS":
        return "passing"
    if rollup in ("FAILURE", "ERROR"):
        return "failing"
    if rollup in ("PENDING", "EXPECTED"):
        return "running"
    return "none"


def _context(node: Any) -> CheckContext:
    node = _obj(node, "a check context")
    kind = node.get("__typename")
    if kind == "CheckRun":
        suite = node.get("checkSuite") or {}
        run = suite.get("workflowRun") if isinstance(suite, dict) else None
        return CheckContext(
            name=_str(node, "name"),
            state=check_run_state(node.get("status"), node.get("conclusion")),
            started_at=parse_time(node.get("startedAt")),
            completed_at=parse_time(node.get("completedAt")),
            url=node.get("detailsUrl") if isinstance(node.get("detailsUrl"), str) else None,
            job_id=_opt_int(node.get("databaseId")),
            run_id=_opt_int(run.get("databaseId")) if isinstance(run, dict) else None,
        )
    if kind == "StatusContext":
        created = parse_time(node.get("createdAt"))
        return CheckContext(
            name=_str(node, "context"),
            state=status_context_state(node.get("state")),
            started_at=created,
            url=node.get("targetUrl") if isinstance(node.get("targetUrl"), str) else None,
        )
    raise ShapeError(f"unknown check context type {kind!r}")


def _page(conn: Any, what: str) -> tuple[list[Any], str | None]:
    """A connection's nodes and the cursor of its next page (None on the last page)."""
    conn = _obj(conn, what)
    nodes = conn.get("nodes")
    if not isinstance(nodes, list):
        raise ShapeError(f"{what}.nodes is not a list")
    info = conn.get("pageInfo") or {}
    after = info.get("endCursor") if isinstance(info, dict) and info.get("hasNextPage") else None
    if after is not None and not isinstance(after, str):
        raise ShapeError(f"{what}.pageInfo.endCursor is not a string")
    return nodes, after


def parse_contexts(rollup: Any) -> tuple[str | None, tuple[CheckContext, ...], str | None]:
    """A ``statusCheckRollup`` object: its state, its contexts, the next page's cursor."""
    if rollup is None:
        return None, (), None
    rollup = _obj(rollup, "statusCheckRollup")
    nodes, after = _page(rollup.get("contexts"), "contexts")
    state = rollup.get("state")
    return (state if isinstance(state, str) else None), tuple(map(_context, nodes)), after


def parse_threads(conn: Any) -> tuple[tuple[ReviewThread, ...], str | None]:
    """A ``reviewThreads`` connection: its unresolved threads and the next page's cursor."""
    nodes, after = _page(conn, "reviewThreads")
    threads = []
    for node in nodes:
        node = _obj(node, "a review thread")
        if node.get("isResolved"):
            continue
        comments = _obj(node.get("comments"), "comments")
        first = next(iter(comments.get("nodes") or []), None) or {}
        author = first.get("author") if isinstance(first, dict) else None
        body = str(first.get("body") or "") if isinstance(first, dict) else ""
        total = _opt_int(comments.get("totalCount")) or 0
        login = str(author.get("login") or "ghost") if isinstance(author, dict) else "ghost"
        host_id = node.get("id")
        threads.append(
            ReviewThread(
                path=str(node.get("path") or ""),
                line=_opt_int(node.get("line")),
                author=login,
                body=body if len(body) <= _BODY_MAX else body[: _BODY_MAX - 1] + "…",
                url=first.get("url") if isinstance(first, dict) else None,
                replies=max(0, total - 1),
                bot=is_bot(author),
                id=host_id if isinstance(host_id, str) else "",
            )
        )
    return tuple(threads), after


def is_bot(author: Any) -> bool:
    """A comment author that is an app or a bot account, not a person.

    GraphQL names a GitHub App's author ``Bot`` and gives its login without the ``[bot]``
    the web and REST show (``cursor``, not ``cursor[bot]``); a login that does end in
    ``[bot]`` (an Enterprise proxy, a REST-shaped answer) counts too. A deleted account
    (``author: null``, shown as ghost) is not a bot.
    """
    if not isinstance(author, dict):
        return False
    login = author.get("login")
    return author.get("__typename") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))


def parse_pr(node: Any, *, fetched_at: float, brief: bool = False) -> PRSnapshot:
    """One ``pullRequest`` object (full or brief form) as a snapshot."""
    node = _obj(node, "pullRequest")
    commits = _obj(node.get("commits"), "commits")
    snapshot = PRSnapshot(
        number=_int(node.get("number"), "number"),
        url=_str(node, "url"),
        state=_str(node, "state"),
        draft=bool(node.get("isDraft")),
        mergeable=_str(node, "mergeable", "UNKNOWN"),
        merge_state=_str(node, "mergeStateStatus", "UNKNOWN"),
        review_decision=node.get("reviewDecision")
        if isinstance(node.get("reviewDecision"), str)
        else None,
        head_ref=_str(node, "headRefName"),
        head_sha=_str(node, "headRefOid"),
        base_ref=_str(node, "baseRefName"),
        base_sha=_str(node, "baseRefOid", ""),
        updated_at=_str(node, "updatedAt", ""),
        commits=_int(commits.get("totalCount"), "commits.totalCount"),
        complete=not brief,
        fetched_at=fetched_at,
    )
    if brief:
        return snapshot
    heads = commits.get("nodes")
    if not isinstance(heads, list):
        raise ShapeError("commits.nodes is not a list")
    rollup: Any = None
    if heads:
        commit = _obj(_obj(heads[-1], "commit node").get("commit"), "commit")
        rollup = commit.get("statusCheckRollup")
    state, contexts, contexts_after = parse_contexts(rollup)
    threads, threads_after = parse_threads(node.get("reviewThreads"))
    return replace(
        snapshot,
        rollup=state,
        contexts=contexts,
        threads=threads,
        contexts_after=contexts_after,
        threads_after=threads_after,
        approved_heads=parse_approvals(node.get("latestOpinionatedReviews")),
    )


def parse_approvals(reviews: Any) -> tuple[str, ...]:
    """The commit of each latest APPROVED review (absent or odd shapes: none)."""
    nodes = reviews.get("nodes") if isinstance(reviews, dict) else None
    if not isinstance(nodes, list):
        return ()
    heads = []
    for node in nodes:
        if not isinstance(node, dict) or node.get("state") != "APPROVED":
            continue
        commit = node.get("commit")
        oid = commit.get("oid") if isinstance(commit, dict) else None
        if isinstance(oid, str) and oid:
            heads.append(oid)
    return tuple(heads)
