"""A local stand-in for api.github.com, served on 127.0.0.1 for tests and benchmarks.

It is a real HTTP server (``http.server`` on a thread, port 0) with the documented response
shapes of the endpoints ao-tui uses, plus the per-field REST endpoints a naive client would
call (for the benchmark's comparison):

* ``GET /repos/{o}/{r}/pulls?state=open&per_page=N`` with ``Link`` pagination (the page size
  can be capped lower than GitHub's 100 to test pagination cheaply) and a weak ETag per page:
  ``If-None-Match`` → 304, which does not count against the rate limit;
* ``POST /graphql`` (and ``/api/graphql`` for Enterprise-style roots; REST then also answers
  under ``/api/v3``), resolved by :mod:`tests.support.graphql_mini` against the fake
  repositories, with each query's cost in points counted as GitHub documents it;
* ``PUT …/pulls/{n}/merge`` (409 when ``sha`` is not the head, 405 when not mergeable),
  ``POST …/pulls/{n}/reviews`` (422 when approving your own PR),
  ``POST …/actions/runs/{id}/rerun-failed-jobs``, and ``GET …/actions/jobs/{id}/logs``,
  which redirects to another host name (``localhost`` instead of ``127.0.0.1``) the way
  GitHub redirects to its log storage;
* ``GET …/pulls/{n}``, ``…/pulls/{n}/reviews``, ``…/pulls/{n}/comments``,
  ``…/commits/{sha}/check-runs`` and ``…/commits/{sha}/status`` (naive polling).

Every answer carries ``x-ratelimit-*`` headers for its resource (``core`` or ``graphql``).
Faults are scripted per endpoint (:meth:`GitHubStandIn.fault`) and consumed in order: any
status, body and headers, a delay (longer than the client's timeout = a timeout), or a
malformed body. Every request is logged (method, path, host, headers without
``Authorization``, whether the token was right, status); the log never holds the token.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import graphql_mini as gql
from tests.support.graphql_mini import FieldError, Obj, Page

TOKEN = "ghp_standinTOKEN0123456789abcdefABCDEF01"
"""The token the stand-in accepts (GitHub's classic token shape, so redaction applies)."""
RATE_LIMIT = 5000
_FAILING = {"FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE"}


def iso(epoch: float) -> str:
    """``2024-05-01T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class FakeCheck:
    """A check run on a PR head (a GitHub Actions job unless ``run_id`` is None)."""

    name: str
    conclusion: str | None = "SUCCESS"
    status: str = "COMPLETED"
    log: str = ""
    job_id: int = 0
    run_id: int | None = 0
    started_at: float = 0.0
    completed_at: float | None = None


@dataclass
class FakeStatus:
    """A commit status (the older Statuses API)."""

    context: str
    state: str = "SUCCESS"
    target_url: str | None = None
    created_at: float = 0.0


@dataclass
class FakeThread:
    """A review thread: its first comment and how many replies follow."""

    path: str
    line: int | None
    body: str
    author: str = "reviewer"
    """The first comment's login as GraphQL gives it: a bot's without ``[bot]``."""
    resolved: bool = False
    replies: int = 0
    bot: bool = False
    """The first comment is a GitHub App's (GraphQL type ``Bot``), e.g. ``cursor``."""
    id: str = ""
    """The thread's node id (``PRRT_…``), given when the PR is added or updated."""


@dataclass
class FakePR:
    """A pull request of a fake repository."""

    number: int
    head_ref: str
    head_sha: str
    base_ref: str = "main"
    base_sha: str = "b" * 40
    state: str = "OPEN"
    draft: bool = False
    mergeable: str = "MERGEABLE"
    merge_state: str = "CLEAN"
    review_decision: str | None = None
    commits: int = 1
    author: str = "octo-agent"
    head_repo: str = ""
    """Full name of the repository the head lives in ("" = the same repository)."""
    checks: list[FakeCheck] = field(default_factory=list)
    statuses: list[FakeStatus] = field(default_factory=list)
    threads: list[FakeThread] = field(default_factory=list)
    rollup: str | None = None
    """Force the rollup state (None: computed from checks and statuses)."""
    updated_at: float = 0.0
    created_at: float = 0.0
    merge_sha: str = ""
    approved_sha: str = ""
    """The commit the approval was given at ("" = the head, when approved)."""


@dataclass
class FakeIssue:
    """An issue of a fake repository (the tracker reads these)."""

    number: int
    title: str
    body: str | None = ""
    state: str = "open"
    labels: list[str] = field(default_factory=list)


@dataclass
class FakeRepo:
    """A repository: its PRs and issues by number (GitHub numbers both from one sequence)."""

    full_name: str
    prs: dict[int, FakePR] = field(default_factory=dict)
    issues: dict[int, FakeIssue] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """``octo`` of ``octo/app``."""
        return self.full_name.split("/")[0]


@dataclass
class Fault:
    """One scripted misbehaviour; ``status`` None answers normally after ``delay``."""

    status: int | None = None
    body: Any = None
    """JSON-able, or ``bytes`` sent as they are."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def unauthorized(cls) -> Fault:
        """401 Bad credentials."""
        return cls(401, {"message": "Bad credentials", "documentation_url": _DOCS})

    @classmethod
    def primary_limit(cls, reset: float, *, status: int = 403) -> Fault:
        """The hourly budget is spent: remaining 0 until ``reset`` (epoch)."""
        return cls(
            status,
            {"message": "API rate limit exceeded for user ID 1.", "documentation_url": _DOCS},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))},
        )

    @classmethod
    def secondary_limit(cls, retry_after: int | None = None, *, status: int = 403) -> Fault:
        """Too fast: GitHub's secondary-limit message, with Retry-After when given."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before "
            "you try again."
        )
        return cls(status, {"message": message, "documentation_url": _DOCS}, headers)

    @classmethod
    def not_found(cls) -> Fault:
        """404 Not Found (also what GitHub says for a private repository you cannot see)."""
        return cls(404, {"message": "Not Found", "documentation_url": _DOCS})

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        """A 5xx with an HTML body, as a proxy in front of GitHub sends it."""
        return cls(status, b"<html><body><h1>502 Bad Gateway</h1></body></html>")

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Answer only after ``seconds`` (longer than the client's timeout)."""
        return cls(None, delay=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        """200 with a body that is not JSON."""
        return cls(200, b'{"data": {"repository": [unterminated')

    @classmethod
    def message(cls, status: int, text: str) -> Fault:
        """Any status with GitHub's ``{"message": ...}`` body."""
        return cls(status, {"message": text, "documentation_url": _DOCS})


_DOCS = "https://docs.github.com/rest"


@dataclass
class LoggedRequest:
    """One request as the stand-in saw it (never the token)."""

    method: str
    path: str
    host: str
    endpoint: str
    auth: str
    """"valid", "invalid" or "none"."""
    headers: dict[str, str]
    status: int = 0
    at: float = 0.0
    body: Any = None


_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("GET", "pulls", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls$")),
    ("GET", "pull", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)$")),
    ("PUT", "merge", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)/merge$")),
    ("POST", "reviews", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)/reviews$")),
    ("GET", "pull_reviews", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)/reviews$")),
    ("GET", "pull_comments", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)/comments$")),
    ("GET", "check_runs", re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([^/]+)/check-runs$")),
    ("GET", "commit_status", re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([^/]+)/status$")),
    (
        "POST",
        "rerun",
        re.compile(r"^/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/rerun-failed-jobs$"),
    ),
    ("GET", "logs", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/jobs/(\d+)/logs$")),
    ("GET", "log_blob", re.compile(r"^/_blobs/job-logs/(\d+)$")),
    ("POST", "graphql", re.compile(r"^/graphql$")),
    ("GET", "issues", re.compile(r"^/repos/([^/]+)/([^/]+)/issues$")),
    ("GET", "issue", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)$")),
    ("POST", "issue_labels", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/labels$")),
]


class GitHubStandIn:
    """The server and its fake world; use as a context manager."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        page_cap: int = 100,
        viewer: str = "octo-operator",
    ) -> None:
        """``page_cap`` caps the REST page size; ``viewer`` is the token's user."""
        self.clock = clock
        self.page_cap = page_cap
        self.viewer = viewer
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[LoggedRequest] = []
        self.merges: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.reruns: list[int] = []
        self.graphql_points = 0
        self.graphql_queries: list[str] = []
        self.core_used = 0
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.RLock()
        self._ids = 1000
        self._tick = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> GitHubStandIn:
        """Start serving on 127.0.0.1 at a free port."""
        handler = _handler_for(self)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def url(self) -> str:
        """The API root to give the client (``api_url``)."""
        return f"http://127.0.0.1:{self.port}"

    # -- the fake world -----------------------------------------------------------------

    def next_id(self) -> int:
        """A fresh id for jobs, runs, reviews."""
        with self._lock:
            self._ids += 1
            return self._ids

    def _stamp(self) -> float:
        """A strictly increasing time for ``updated_at`` (GitHub's has one-second grain)."""
        self._tick += 1
        return float(int(self.clock()) + self._tick)

    def repo(self, full_name: str) -> FakeRepo:
        """The repository ``owner/name``, created on first use."""
        with self._lock:
            return self.repos.setdefault(full_name, FakeRepo(full_name))

    def add_pr(self, full_name: str, head_ref: str, head_sha: str, **fields: Any) -> FakePR:
        """Open a PR; checks get job and run ids unless given."""
        with self._lock:
            repo = self.repo(full_name)
            number = max(repo.prs, default=0) + 1
            stamp = self._stamp()
            pr = FakePR(number, head_ref, head_sha, updated_at=stamp, created_at=stamp, **fields)
            self._number_checks(pr)
            self._name_threads(pr)
            repo.prs[number] = pr
            return pr

    def _number_checks(self, pr: FakePR) -> None:
        for check in pr.checks:
            if not check.job_id:
                check.job_id = self.next_id()
            if check.run_id == 0:
                check.run_id = self.next_id()
            if not check.started_at:
                check.started_at = self.clock() - 60
            if check.completed_at is None and check.status == "COMPLETED":
                check.completed_at = check.started_at + 42

    def _name_threads(self, pr: FakePR) -> None:
        for thread in pr.threads:
            if not thread.id:
                thread.id = f"PRRT_kwDOstand{self.next_id()}"

    def update(self, pr: FakePR, *, touch: bool = True, **changes: Any) -> None:
        """Change a PR; ``touch`` moves ``updated_at`` (pushes, reviews, new review comments
        do)."""
        with self._lock:
            for key, value in changes.items():
                setattr(pr, key, value)
            self._number_checks(pr)
            self._name_threads(pr)
            if touch:
                pr.updated_at = self._stamp()

    def add_issue(self, full_name: str, number: int, title: str, **fields: Any) -> FakeIssue:
        """File issue ``number`` (pick numbers apart from the PRs': GitHub shares them)."""
        with self._lock:
            issue = FakeIssue(number, title, **fields)
            self.repo(full_name).issues[number] = issue
            return issue

    def fault(self, endpoint: str, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``fault``."""
        with self._lock:
            self._faults.setdefault(endpoint, []).extend([fault] * times)

    def take_fault(self, endpoint: str) -> Fault | None:
        """The next scripted fault for ``endpoint``, if any."""
        with self._lock:
            queue = self._faults.get(endpoint) or []
            return queue.pop(0) if queue else None

    # -- the log ------------------------------------------------------------------------

    def log(self, endpoint: str | None = None) -> list[LoggedRequest]:
        """A copy of the request log (optionally one endpoint's)."""
        with self._lock:
            return [r for r in self.requests if endpoint is None or r.endpoint == endpoint]

    def dump(self) -> str:
        """The whole log as JSON text (what a test searches for leaked secrets)."""
        with self._lock:
            return json.dumps([asdict(r) for r in self.requests], default=str)

    def clear_log(self) -> None:
        """Forget the requests seen so far (and the GraphQL points counted)."""
        with self._lock:
            self.requests.clear()
            self.graphql_queries.clear()
            self.graphql_points = 0
            self.core_used = 0

    # -- GraphQL ------------------------------------------------------------------------

    def run_graphql(self, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Execute a query; its cost is added to :attr:`graphql_points`."""
        try:
            selections = gql.parse(query)
            cost = gql.cost(selections)
            with self._lock:
                self.graphql_points += cost
                self.graphql_queries.append(query)
                self._query_cost = cost
                executor = gql.Executor(_RESOLVERS, _CONNECTIONS, variables)
                data = executor.run(selections, root=self)
        except gql.GraphQLError as exc:
            return 200, {"errors": [{"message": str(exc)}]}
        answer: dict[str, Any] = {"data": data}
        if executor.errors:
            answer["errors"] = executor.errors
        return 200, answer

    def graphql_remaining(self) -> int:
        """Points left in the GraphQL budget."""
        return max(0, RATE_LIMIT - self.graphql_points)


# -- GraphQL resolvers --------------------------------------------------------------------
# Each takes (parent value, arguments); the parent of a Query field is the stand-in itself.


def _rollup_state(pr: FakePR) -> str | None:
    if pr.rollup is not None:
        return pr.rollup
    if not pr.checks and not pr.statuses:
        return None
    if any(c.status == "COMPLETED" and c.conclusion in _FAILING for c in pr.checks) or any(
        s.state in ("FAILURE", "ERROR") for s in pr.statuses
    ):
        return "FAILURE"
    if any(c.status != "COMPLETED" for c in pr.checks) or any(
        s.state in ("PENDING", "EXPECTED") for s in pr.statuses
    ):
        return "PENDING"
    return "SUCCESS"


def _pr_url(server: GitHubStandIn, repo: FakeRepo, pr: FakePR) -> str:
    return f"https://github.com/{repo.full_name}/pull/{pr.number}"


@dataclass(frozen=True)
class _Ctx:
    server: GitHubStandIn
    repo: FakeRepo
    pr: FakePR | None = None


def _query_repository(ctx: Any, args: dict[str, Any]) -> Obj:
    server: GitHubStandIn = ctx
    full = f"{args.get('owner')}/{args.get('name')}"
    repo = server.repos.get(full)
    if repo is None:
        raise FieldError(f"Could not resolve to a Repository with the name '{full}'.")
    return Obj("Repository", _Ctx(server, repo))


def _query_rate_limit(ctx: Any, args: dict[str, Any]) -> Obj:
    return Obj("RateLimit", ctx)


def _repo_pull_request(ctx: _Ctx, args: dict[str, Any]) -> Obj:
    pr = ctx.repo.prs.get(int(args.get("number", 0)))
    if pr is None:
        raise FieldError(
            f"Could not resolve to a PullRequest with the number of {args.get('number')}."
        )
    return Obj("PullRequest", _Ctx(ctx.server, ctx.repo, pr))


def _repo_pull_requests(ctx: _Ctx, args: dict[str, Any]) -> Page:
    prs = sorted(ctx.repo.prs.values(), key=lambda p: p.number)
    if args.get("headRefName"):
        prs = [p for p in prs if p.head_ref == args["headRefName"]]
    if args.get("states"):
        prs = [p for p in prs if p.state in args["states"]]
    order = args.get("orderBy") or {}
    if order.get("direction") == "DESC":
        prs.reverse()
    return Page([Obj("PullRequest", _Ctx(ctx.server, ctx.repo, p)) for p in prs])


def _repo_object(ctx: _Ctx, args: dict[str, Any]) -> Obj | None:
    for pr in ctx.repo.prs.values():
        if pr.head_sha == args.get("oid"):
            return Obj("Commit", _Ctx(ctx.server, ctx.repo, pr))
    return None


def _pr(ctx: _Ctx) -> FakePR:
    assert ctx.pr is not None
    return ctx.pr


def _latest_reviews(pr: FakePR) -> list[tuple[str, str]]:
    """(state, commit) of the latest opinionated review, as the review decision implies."""
    if pr.review_decision == "APPROVED":
        return [("APPROVED", pr.approved_sha or pr.head_sha)]
    if pr.review_decision == "CHANGES_REQUESTED":
        return [("CHANGES_REQUESTED", pr.head_sha)]
    return []


def _check_obj(ctx: _Ctx, check: FakeCheck | FakeStatus) -> Obj:
    kind = "CheckRun" if isinstance(check, FakeCheck) else "StatusContext"
    return Obj(kind, (ctx, check))


def _rollup_contexts(ctx: _Ctx, args: dict[str, Any]) -> Page:
    pr = _pr(ctx)
    items = [_check_obj(ctx, c) for c in pr.checks] + [_check_obj(ctx, s) for s in pr.statuses]
    return Page(items)


def _run(value: tuple[_Ctx, FakeCheck]) -> FakeCheck:
    return value[1]


def _status(value: tuple[_Ctx, FakeStatus]) -> FakeStatus:
    return value[1]


def _details_url(value: tuple[_Ctx, FakeCheck]) -> str:
    ctx, check = value
    return f"https://github.com/{ctx.repo.full_name}/actions/runs/{check.run_id}/job/{check.job_id}"


_RESOLVERS: dict[tuple[str, str], gql.Resolver] = {
    ("Query", "repository"): _query_repository,
    ("Query", "rateLimit"): _query_rate_limit,
    ("Repository", "nameWithOwner"): lambda c, a: c.repo.full_name,
    ("Repository", "pullRequest"): _repo_pull_request,
    ("Repository", "pullRequests"): _repo_pull_requests,
    ("Repository", "object"): _repo_object,
    ("PullRequest", "number"): lambda c, a: _pr(c).number,
    ("PullRequest", "title"): lambda c, a: f"PR {_pr(c).number}",
    ("PullRequest", "url"): lambda c, a: _pr_url(c.server, c.repo, _pr(c)),
    ("PullRequest", "state"): lambda c, a: _pr(c).state,
    ("PullRequest", "isDraft"): lambda c, a: _pr(c).draft,
    ("PullRequest", "mergeable"): lambda c, a: _pr(c).mergeable,
    ("PullRequest", "mergeStateStatus"): lambda c, a: _pr(c).merge_state,
    ("PullRequest", "reviewDecision"): lambda c, a: _pr(c).review_decision,
    ("PullRequest", "headRefName"): lambda c, a: _pr(c).head_ref,
    ("PullRequest", "headRefOid"): lambda c, a: _pr(c).head_sha,
    ("PullRequest", "baseRefName"): lambda c, a: _pr(c).base_ref,
    ("PullRequest", "baseRefOid"): lambda c, a: _pr(c).base_sha,
    ("PullRequest", "updatedAt"): lambda c, a: iso(_pr(c).updated_at),
    ("PullRequest", "commits"): lambda c, a: Page(
        [Obj("PullRequestCommit", c)], total=_pr(c).commits
    ),
    ("PullRequest", "reviewThreads"): lambda c, a: Page(
        [Obj("PullRequestReviewThread", (c, t)) for t in _pr(c).threads]
    ),
    ("PullRequest", "latestOpinionatedReviews"): lambda c, a: Page(
        [Obj("PullRequestReview", review) for review in _latest_reviews(_pr(c))]
    ),
    ("PullRequestReview", "state"): lambda v, a: v[0],
    ("PullRequestReview", "commit"): lambda v, a: Obj("Commit", v[1]),
    ("PullRequestCommit", "commit"): lambda c, a: Obj("Commit", c),
    # A review's commit is its sha; a PR commit node is the PR's head.
    ("Commit", "oid"): lambda c, a: c if isinstance(c, str) else _pr(c).head_sha,
    ("Commit", "statusCheckRollup"): lambda c, a: (
        Obj("StatusCheckRollup", c) if _rollup_state(_pr(c)) is not None else None
    ),
    ("StatusCheckRollup", "state"): lambda c, a: _rollup_state(_pr(c)),
    ("StatusCheckRollup", "contexts"): _rollup_contexts,
    ("CheckRun", "name"): lambda v, a: _run(v).name,
    ("CheckRun", "status"): lambda v, a: _run(v).status,
    ("CheckRun", "conclusion"): lambda v, a: _run(v).conclusion,
    ("CheckRun", "startedAt"): lambda v, a: iso(_run(v).started_at),
    ("CheckRun", "completedAt"): lambda v, a: (
        iso(_run(v).completed_at or 0) if _run(v).completed_at else None
    ),
    ("CheckRun", "detailsUrl"): lambda v, a: _details_url(v),
    ("CheckRun", "databaseId"): lambda v, a: _run(v).job_id,
    ("CheckRun", "checkSuite"): lambda v, a: Obj("CheckSuite", v),
    ("CheckSuite", "workflowRun"): lambda v, a: (
        Obj("WorkflowRun", _run(v).run_id) if _run(v).run_id else None
    ),
    ("WorkflowRun", "databaseId"): lambda v, a: v,
    ("StatusContext", "context"): lambda v, a: _status(v).context,
    ("StatusContext", "state"): lambda v, a: _status(v).state,
    ("StatusContext", "targetUrl"): lambda v, a: _status(v).target_url,
    ("StatusContext", "createdAt"): lambda v, a: iso(_status(v).created_at),
    ("PullRequestReviewThread", "id"): lambda v, a: v[1].id,
    ("PullRequestReviewThread", "isResolved"): lambda v, a: v[1].resolved,
    ("PullRequestReviewThread", "path"): lambda v, a: v[1].path,
    ("PullRequestReviewThread", "line"): lambda v, a: v[1].line,
    ("PullRequestReviewThread", "comments"): lambda v, a: Page(
        [Obj("PullRequestReviewComment", (v, i)) for i in range(1 + v[1].replies)]
    ),
    ("PullRequestReviewComment", "author"): lambda v, a: (
        Obj("Bot" if v[0][1].bot else "User", v[0][1].author)
        if v[1] == 0
        else Obj("User", "author")
    ),
    ("PullRequestReviewComment", "body"): lambda v, a: (
        v[0][1].body if v[1] == 0 else f"reply {v[1]}"
    ),
    ("PullRequestReviewComment", "url"): lambda v, a: (
        f"https://github.com/{v[0][0].repo.full_name}/pull/{_pr(v[0][0]).number}"
        f"#discussion_r{id(v[0][1]) % 100000}"
    ),
    ("User", "login"): lambda v, a: v,
    ("Bot", "login"): lambda v, a: v,
    ("RateLimit", "cost"): lambda s, a: s._query_cost,
    ("RateLimit", "remaining"): lambda s, a: s.graphql_remaining(),
    ("RateLimit", "limit"): lambda s, a: RATE_LIMIT,
    ("RateLimit", "used"): lambda s, a: s.graphql_points,
    ("RateLimit", "resetAt"): lambda s, a: iso(s.clock() + 3600),
}
_CONNECTIONS = {
    ("Repository", "pullRequests"),
    ("PullRequest", "commits"),
    ("PullRequest", "reviewThreads"),
    ("PullRequest", "latestOpinionatedReviews"),
    ("StatusCheckRollup", "contexts"),
    ("PullRequestReviewThread", "comments"),
}


# -- REST -----------------------------------------------------------------------------------


def _user(login: str, *, bot: bool = False) -> dict[str, Any]:
    # REST names an app's account with the [bot] GraphQL leaves out, and types it Bot.
    if bot:
        return {"login": f"{login}[bot]", "id": abs(hash(login)) % 100000, "type": "Bot"}
    return {"login": login, "id": abs(hash(login)) % 100000, "type": "User"}


def _repo_json(full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {"full_name": full_name, "name": name, "owner": _user(owner), "private": False}


def pull_json(server: GitHubStandIn, repo: FakeRepo, pr: FakePR) -> dict[str, Any]:
    """A PR as the REST API shows it in lists."""
    head_repo = pr.head_repo or repo.full_name
    return {
        "url": f"{server.url}/repos/{repo.full_name}/pulls/{pr.number}",
        "id": pr.number * 7919,
        "html_url": _pr_url(server, repo, pr),
        "number": pr.number,
        "state": "open" if pr.state == "OPEN" else "closed",
        "title": f"PR {pr.number}",
        "user": _user(pr.author),
        "draft": pr.draft,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "merged_at": iso(pr.updated_at) if pr.state == "MERGED" else None,
        "head": {
            "label": f"{head_repo.split('/')[0]}:{pr.head_ref}",
            "ref": pr.head_ref,
            "sha": pr.head_sha,
            "repo": _repo_json(head_repo),
        },
        "base": {
            "label": f"{repo.owner}:{pr.base_ref}",
            "ref": pr.base_ref,
            "sha": pr.base_sha,
            "repo": _repo_json(repo.full_name),
        },
    }


def issue_json(server: GitHubStandIn, repo: FakeRepo, issue: FakeIssue) -> dict[str, Any]:
    """An issue as the REST API shows it."""
    return {
        "url": f"{server.url}/repos/{repo.full_name}/issues/{issue.number}",
        "html_url": f"https://github.com/{repo.full_name}/issues/{issue.number}",
        "id": issue.number * 104729,
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "labels": [{"name": name, "color": "ededed"} for name in issue.labels],
        "user": _user("reporter"),
    }


def _handler_for(server: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is the record."""

        def do_GET(self) -> None:
            """Serve a GET request."""
            self._serve("GET")

        def do_POST(self) -> None:
            """Serve a POST request."""
            self._serve("POST")

        def do_PUT(self) -> None:
            """Serve a PUT request."""
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if path.startswith("/api/v3/"):
                path = path.removeprefix("/api/v3")
            elif path == "/api/graphql":
                path = "/graphql"
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            endpoint, match = "unknown", None
            for verb, name, pattern in _ROUTES:
                found = pattern.match(path)
                if found and verb == method:
                    endpoint, match = name, found
                    break
            auth_header = self.headers.get("authorization")
            auth = "none"
            if auth_header is not None:
                auth = (
                    "valid" if auth_header in (f"Bearer {TOKEN}", f"token {TOKEN}") else "invalid"
                )
            entry = LoggedRequest(
                method=method,
                path=self.path,
                host=self.headers.get("host", ""),
                endpoint=endpoint,
                auth=auth,
                headers={k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                at=server.clock(),
                body=body,
            )
            with server._lock:
                server.requests.append(entry)
            fault = server.take_fault(endpoint)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            resource = "graphql" if endpoint == "graphql" else "core"
            if fault is not None and fault.status is not None:
                self._send(entry, fault.status, fault.body, resource, fault.headers)
                return
            if endpoint != "log_blob" and auth != "valid":
                self._send(entry, 401, {"message": "Bad credentials"}, resource)
                return
            try:
                status, payload, headers = self._route(endpoint, match, parts.query, body)
            except KeyError:
                status, payload, headers = 404, {"message": "Not Found"}, {}
            self._send(entry, status, payload, resource, headers)

        def _route(
            self, endpoint: str, match: re.Match[str] | None, query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            if match is None:
                return 404, {"message": "Not Found", "documentation_url": _DOCS}, {}
            if endpoint == "graphql":
                status, answer = server.run_graphql(
                    str((body or {}).get("query", "")), (body or {}).get("variables") or {}
                )
                return status, answer, {}
            if endpoint == "log_blob":
                job = int(match.group(1))
                for repo in server.repos.values():
                    for pr in repo.prs.values():
                        for check in pr.checks:
                            if check.job_id == job:
                                return 200, check.log.encode(), {"content-type": "text/plain"}
                raise KeyError(job)
            repo = server.repos[f"{match.group(1)}/{match.group(2)}"]
            handler = getattr(self, f"_{endpoint}")
            result: tuple[int, Any, dict[str, str]] = handler(repo, match, query, body)
            return result

        # Each REST endpoint: (repo, match, query string, JSON body) → (status, body, headers)

        def _page(
            self, repo: FakeRepo, kind: str, query: str, listed: Callable[[str], list[Any]]
        ) -> tuple[int, Any, dict[str, str]]:
            """One page of a REST list (``kind``: pulls, issues) with Link and ETag headers."""
            params = parse_qs(query)
            per_page = min(int(params.get("per_page", ["30"])[0]), server.page_cap)
            page = int(params.get("page", ["1"])[0])
            wanted = params.get("state", ["open"])[0]
            with server._lock:
                items = listed(wanted)
            pages = max(1, -(-len(items) // per_page))
            chunk = items[(page - 1) * per_page : page * per_page]
            base = f"{server.url}/repos/{repo.full_name}/{kind}?state={wanted}&per_page={per_page}"
            links = []
            if page < pages:
                links.append(f'<{base}&page={page + 1}>; rel="next"')
                links.append(f'<{base}&page={pages}>; rel="last"')
            if page > 1:
                links.append(f'<{base}&page=1>; rel="first"')
                links.append(f'<{base}&page={page - 1}>; rel="prev"')
            headers = {"link": ", ".join(links)} if links else {}
            text = json.dumps(chunk, sort_keys=True)
            etag = 'W/"' + hashlib.sha1((text + str(links)).encode()).hexdigest() + '"'
            headers["etag"] = etag
            if self.headers.get("if-none-match") == etag:
                return 304, None, headers
            return 200, text.encode(), headers

        def _pulls(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            def listed(wanted: str) -> list[Any]:
                prs = sorted(repo.prs.values(), key=lambda p: -p.number)
                if wanted == "open":
                    prs = [p for p in prs if p.state == "OPEN"]
                return [pull_json(server, repo, p) for p in prs]

            return self._page(repo, "pulls", query, listed)

        def _issue_items(self, repo: FakeRepo) -> list[dict[str, Any]]:
            """Issues and PRs, newest first, as ``/issues`` lists them (PRs included)."""
            items = [issue_json(server, repo, i) for i in repo.issues.values()]
            for pr in repo.prs.values():
                item = pull_json(server, repo, pr)
                item["pull_request"] = {"url": item["url"]}
                item["labels"], item["body"] = [], ""
                items.append(item)
            return sorted(items, key=lambda item: -int(item["number"]))

        def _issues(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            def listed(wanted: str) -> list[Any]:
                items = self._issue_items(repo)
                return [i for i in items if wanted == "all" or i["state"] == wanted]

            return self._page(repo, "issues", query, listed)

        def _issue(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            number = int(match.group(3))
            with server._lock:
                for item in self._issue_items(repo):
                    if item["number"] == number:
                        return 200, item, {}
            return 404, {"message": "Not Found", "documentation_url": _DOCS}, {}

        def _issue_labels(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            """``POST …/issues/{n}/labels {"labels": [...]}``: added, the issue's labels back."""
            wanted = (body or {}).get("labels") if isinstance(body, dict) else None
            if not isinstance(wanted, list) or not all(isinstance(x, str) for x in wanted):
                return 422, {"message": "Invalid request: labels must be a list"}, {}
            with server._lock:
                issue = repo.issues[int(match.group(3))]
                issue.labels += [name for name in wanted if name not in issue.labels]
                return 200, [{"name": name, "color": "ededed"} for name in issue.labels], {}

        def _pr(self, repo: FakeRepo, match: re.Match[str]) -> FakePR:
            return repo.prs[int(match.group(3))]

        def _pull(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._pr(repo, match)
            payload = pull_json(server, repo, pr)
            payload.update(
                merged=pr.state == "MERGED",
                mergeable={"MERGEABLE": True, "CONFLICTING": False}.get(pr.mergeable),
                mergeable_state=pr.merge_state.lower(),
                commits=pr.commits,
                review_comments=sum(1 + t.replies for t in pr.threads),
            )
            return 200, payload, {}

        def _pull_reviews(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._pr(repo, match)
            reviews = []
            if pr.review_decision in ("APPROVED", "CHANGES_REQUESTED"):
                reviews.append(
                    {
                        "id": pr.number * 31,
                        "user": _user("reviewer"),
                        "state": pr.review_decision,
                        "commit_id": pr.head_sha,
                        "submitted_at": iso(pr.updated_at),
                    }
                )
            return 200, reviews, {}

        def _pull_comments(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._pr(repo, match)
            comments = [
                {
                    "id": i + 1,
                    "path": t.path,
                    "line": t.line,
                    "body": t.body,
                    "user": _user(t.author, bot=t.bot),
                }
                for i, t in enumerate(pr.threads)
            ]
            return 200, comments, {}

        def _head_pr(self, repo: FakeRepo, match: re.Match[str]) -> FakePR:
            for pr in repo.prs.values():
                if pr.head_sha == match.group(3):
                    return pr
            raise KeyError(match.group(3))

        def _check_runs(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._head_pr(repo, match)
            runs = [
                {
                    "id": c.job_id,
                    "name": c.name,
                    "head_sha": pr.head_sha,
                    "status": c.status.lower(),
                    "conclusion": c.conclusion.lower() if c.conclusion else None,
                    "started_at": iso(c.started_at),
                    "completed_at": iso(c.completed_at) if c.completed_at else None,
                    "details_url": _details_url((_Ctx(server, repo, pr), c)),
                }
                for c in pr.checks
            ]
            return 200, {"total_count": len(runs), "check_runs": runs}, {}

        def _commit_status(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._head_pr(repo, match)
            statuses = [
                {"context": s.context, "state": s.state.lower(), "target_url": s.target_url}
                for s in pr.statuses
            ]
            state = "success" if all(s["state"] == "success" for s in statuses) else "pending"
            return 200, {"state": state, "sha": pr.head_sha, "statuses": statuses}, {}

        def _merge(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._pr(repo, match)
            body = body or {}
            with server._lock:
                server.merges.append({"number": pr.number, **body})
                if body.get("sha") and body["sha"] != pr.head_sha:
                    return (
                        409,
                        {
                            "message": "Head branch was modified. Review and try the merge again.",
                            "documentation_url": _DOCS,
                        },
                        {},
                    )
                if pr.state != "OPEN" or pr.mergeable != "MERGEABLE" or pr.draft:
                    return (
                        405,
                        {"message": "Pull Request is not mergeable", "documentation_url": _DOCS},
                        {},
                    )
                sha = hashlib.sha1(f"merge-{pr.number}-{pr.head_sha}".encode()).hexdigest()
                server.update(pr, state="MERGED", merge_sha=sha)
            return (
                200,
                {"sha": sha, "merged": True, "message": "Pull Request successfully merged"},
                {},
            )

        def _reviews(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            pr = self._pr(repo, match)
            body = body or {}
            with server._lock:
                server.reviews.append({"number": pr.number, **body})
                if body.get("event") == "APPROVE" and pr.author == server.viewer:
                    return (
                        422,
                        {
                            "message": "Unprocessable Entity",
                            "errors": ["Can not approve your own pull request"],
                            "documentation_url": _DOCS,
                        },
                        {},
                    )
                if body.get("event") == "APPROVE":
                    approved = str(body.get("commit_id") or pr.head_sha)
                    server.update(pr, review_decision="APPROVED", approved_sha=approved)
            review = {
                "id": server.next_id(),
                "user": _user(server.viewer),
                "state": "APPROVED",
                "commit_id": body.get("commit_id"),
            }
            return 200, review, {}

        def _rerun(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            run_id = int(match.group(3))
            with server._lock:
                checks = [c for p in repo.prs.values() for c in p.checks if c.run_id == run_id]
                if not checks:
                    raise KeyError(run_id)
                server.reruns.append(run_id)
                for check in checks:
                    if check.conclusion in _FAILING:
                        check.status, check.conclusion, check.completed_at = (
                            "QUEUED",
                            None,
                            None,
                        )
            return 201, {}, {}

        def _logs(
            self, repo: FakeRepo, match: re.Match[str], query: str, body: Any
        ) -> tuple[int, Any, dict[str, str]]:
            job = int(match.group(3))
            if not any(c.job_id == job for p in repo.prs.values() for c in p.checks):
                raise KeyError(job)
            # GitHub answers 302 to a signed URL on its log storage host.
            where = f"http://localhost:{server.port}/_blobs/job-logs/{job}?sig=s1gn3d"
            return 302, None, {"location": where}

        def _send(
            self,
            entry: LoggedRequest,
            status: int,
            payload: Any,
            resource: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            entry.status = status
            if payload is None:
                data = b""
            elif isinstance(payload, bytes):
                data = payload
            else:
                data = json.dumps(payload).encode()
            with server._lock:
                if resource == "core" and status != 304 and entry.endpoint != "log_blob":
                    server.core_used += 1
                used = server.graphql_points if resource == "graphql" else server.core_used
            out = {
                "content-type": "application/json; charset=utf-8",
                "x-ratelimit-limit": str(RATE_LIMIT),
                "x-ratelimit-remaining": str(max(0, RATE_LIMIT - used)),
                "x-ratelimit-reset": str(int(server.clock() + 3600)),
                "x-ratelimit-used": str(used),
                "x-ratelimit-resource": resource,
            }
            if entry.endpoint == "log_blob":
                out = {"content-type": "text/plain"}
            out.update({k.lower(): v for k, v in (headers or {}).items()})
            try:
                self.send_response(status)
                for key, value in out.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if data and status != 304:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a scripted timeout)

    return Handler
