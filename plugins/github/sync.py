"""Keeping one repository's session PRs up to date with as few requests and points as possible.

Each poll starts with one conditional REST request per page of
``GET /repos/{owner}/{repo}/pulls?state=open&per_page=100`` (Link pagination, one ETag per
page). A 304 costs no rate limit and means no PR was opened, closed, pushed to or edited
since the last poll, so usually nothing else is sent: one request, zero points.

That ETag does not cover everything, so GraphQL is also asked (batched, 25 PRs a query) when:

* a session PR's CI is running (rollup PENDING/EXPECTED or a check not completed): check
  runs finishing do not change the PR list;
* GitHub has not computed a PR's mergeability yet (``mergeable: UNKNOWN``);
* a PR tracked before vanished from the open list: merged or closed, learned by number;
* a session branch has no known PR and its last lookup is older than ``poll_interval * 4``
  (a PR opened and merged between two polls never shows in the open list; so does a PR
  merged before this process started);
* a PR was acted on here (approve, merge, rerun), or
* the last full refresh is older than ``full_refresh_every`` (5 minutes): a safety net for
  anything else the ETag misses (review decisions, new review threads on some paths).

A poll never raises: what went wrong becomes the published view's one-line ``problem``,
and the last good data stays beside it. Views are immutable and swapped whole, so readers
on other threads need no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from core.scm import HostSettings
from plugins.github import queries
from plugins.github.client import GitHubClient, GitHubError, next_link
from plugins.github.queries import PageItem, PRSnapshot, ShapeError

FULL_REFRESH_EVERY = 300.0
LOOKUP_FACTOR = 4
"""A branch without a PR is looked up again after ``poll_interval`` times this."""
_MAX_PAGE_ROUNDS = 100


@dataclass(frozen=True)
class OpenPR:
    """One entry of the REST list of open PRs."""

    number: int
    head_ref: str
    head_sha: str
    updated_at: str


@dataclass(frozen=True)
class _Page:
    etag: str
    prs: tuple[OpenPR, ...]
    next_url: str | None


@dataclass(frozen=True)
class RepoView:
    """What is known about one repository's session PRs, as of the last poll."""

    repo: str
    snapshots: Mapping[int, PRSnapshot] = field(default_factory=dict)
    branches: Mapping[str, int] = field(default_factory=dict)
    """Session branch → its PR (the open one, else the newest known)."""
    synced_at: float | None = None
    """When the last fully successful poll ended (None: never)."""
    problem: str = ""
    """Why the last poll failed, one line with the retry time ("" when it worked)."""
    failed: GitHubError | None = None

    def pr_for(self, branch: str) -> PRSnapshot | None:
        """The snapshot of ``branch``'s PR, if one is known."""
        number = self.branches.get(branch)
        return None if number is None else self.snapshots.get(number)


def brought_news(old: RepoView, new: RepoView) -> bool:
    """Whether the view ``new`` tells its readers something ``old`` did not.

    News is the first answer, a PR found, gone or changed in anything but when it was
    fetched (state, head, checks, review, threads, mergeability), or a problem begun, over
    or changed. A poll that only confirmed what was known (a 304; a GraphQL refetch of a
    PR whose CI runs, with the same answer) brings none.
    """
    if old.synced_at is None and new.synced_at is not None:
        return True
    if new.problem != old.problem or new.branches != old.branches:
        return True
    if new.snapshots.keys() != old.snapshots.keys():
        return True
    return any(
        replace(snap, fetched_at=0.0) != replace(old.snapshots[number], fetched_at=0.0)
        for number, snap in new.snapshots.items()
    )


def split_repo(repo: str) -> tuple[str, str]:
    """``owner/name`` as its two parts; ValueError for anything else."""
    owner, _, name = repo.strip().partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"github.repo must be owner/name, got {repo!r}")
    return owner, name


class RepoSync:
    """The poller and cache of one repository; polls run on one event loop at a time."""

    def __init__(
        self,
        host: HostSettings,
        *,
        clock: Callable[[], float],
        full_refresh_every: float = FULL_REFRESH_EVERY,
    ) -> None:
        """Start knowing nothing about ``host.repo``."""
        self.host = host
        self.owner, self.name = split_repo(host.repo)
        self._clock = clock
        self._full_every = full_refresh_every
        self.view = RepoView(repo=host.repo)
        self._pages: dict[str, _Page] = {}
        self._open: dict[str, OpenPR] = {}
        self._snapshots: dict[int, PRSnapshot] = {}
        self._numbers: dict[str, int] = {}
        self._looked_up: dict[str, float] = {}
        self._last_attempt: float | None = None
        self._last_full: float | None = None
        self._lock = threading.Lock()
        self._stale: set[int] = set()
        self._relook: set[str] = set()
        self._forced = False

    # -- scheduling (any thread) --------------------------------------------------------

    def due(self) -> bool:
        """Whether a poll should start now (never polled, interval passed, or forced)."""
        with self._lock:
            if self._forced or self._last_attempt is None:
                return True
            return self._clock() - self._last_attempt >= self.host.poll_interval

    def due_in(self) -> float:
        """Seconds until a poll is due (0: due now, see :meth:`due`)."""
        with self._lock:
            if self._forced or self._last_attempt is None:
                return 0.0
            return max(0.0, self.host.poll_interval - (self._clock() - self._last_attempt))

    def mark_stale(self, number: int | None = None, *, branch: str | None = None) -> None:
        """Make the next poll due at once, refreshing PR ``number`` and looking ``branch`` up."""
        with self._lock:
            self._forced = True
            if number is not None:
                self._stale.add(number)
            if branch is not None:
                self._relook.add(branch)

    # -- polling (the loop thread) ------------------------------------------------------

    def fail(self, error: GitHubError) -> None:
        """Publish a failure that happened before any request (no token, bad settings)."""
        with self._lock:
            self._last_attempt = self._clock()
            self._forced = False
        self._publish(error)

    async def poll(self, client: GitHubClient, branches: Iterable[str]) -> None:
        """Bring the view up to date for ``branches``; failures land in ``view.problem``."""
        watched = sorted(set(branches))
        with self._lock:
            self._last_attempt = self._clock()
            self._forced = False
            stale, self._stale = self._stale, set()
            relook, self._relook = self._relook, set()
        for branch in relook:
            self._looked_up.pop(branch, None)
        try:
            await self._list_open(client)
            numbers, lookups, full = self._plan(watched, stale)
            await self._fetch(client, numbers, lookups)
        except GitHubError as error:
            with self._lock:
                self._stale |= stale  # not refreshed: try again next time
            self._publish(error, watched)
            return
        if full:
            self._last_full = self._clock()
        self._publish(None, watched)

    async def _list_open(self, client: GitHubClient) -> None:
        """The open PRs from the REST list, page by page, each page conditional."""
        url: str | None = (
            f"/repos/{quote(self.owner)}/{quote(self.name)}/pulls?state=open&per_page=100"
        )
        found: dict[str, OpenPR] = {}
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)
            cached = self._pages.get(url)
            reply = await client.request("GET", url, etag=cached.etag if cached else None)
            if reply.status == 304 and cached is not None:
                page = cached
            else:
                page = _Page(
                    etag=reply.headers.get("etag", ""),
                    prs=tuple(self._open_prs(reply.json())),
                    next_url=next_link(reply.headers),
                )
                self._pages[url] = page
            for pr in page.prs:
                found.setdefault(pr.head_ref, pr)  # newest first: the newest PR of a branch
            url = page.next_url
        self._pages = {u: p for u, p in self._pages.items() if u in seen}
        self._open = found

    def _open_prs(self, payload: Any) -> Iterable[OpenPR]:
        """The list items whose head branch lives in this repository (not in a fork)."""
        if not isinstance(payload, list):
            raise GitHubError(f"GitHub sent an unexpected PR list for {self.host.repo}")
        full_name = self.host.repo.lower()
        for item in payload:
            try:
                head = item["head"]
                repo = head.get("repo") or {}
                if str(repo.get("full_name", "")).lower() != full_name:
                    continue
                yield OpenPR(
                    number=int(item["number"]),
                    head_ref=str(head["ref"]),
                    head_sha=str(head["sha"]),
                    updated_at=str(item.get("updated_at") or ""),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise GitHubError(
                    f"GitHub sent an unexpected PR list for {self.host.repo}"
                ) from None

    def _plan(self, branches: Sequence[str], stale: set[int]) -> tuple[list[int], list[str], bool]:
        """Which PRs to refresh by number and which branches to look up, and if in full."""
        now = self._clock()
        full = self._last_full is None or now - self._last_full >= self._full_every
        lookup_age = self.host.poll_interval * LOOKUP_FACTOR
        numbers: list[int] = []
        lookups: list[str] = []
        for branch in branches:
            listed = self._open.get(branch)
            if listed is not None:
                self._numbers[branch] = listed.number
                snap = self._snapshots.get(listed.number)
                if (
                    full
                    or snap is None
                    or not snap.complete
                    or listed.number in stale
                    or snap.head_sha != listed.head_sha
                    or snap.updated_at != listed.updated_at
                    or snap.ci_pending
                    or snap.mergeable == "UNKNOWN"
                ):
                    numbers.append(listed.number)
                continue
            number = self._numbers.get(branch)
            snap = self._snapshots.get(number) if number is not None else None
            if number is not None and (snap is None or snap.state == "OPEN" or number in stale):
                numbers.append(number)  # no longer listed as open: merged or closed
            elif snap is None or snap.state == "CLOSED":
                last = self._looked_up.get(branch)
                if full or last is None or now - last >= lookup_age:
                    lookups.append(branch)
        return list(dict.fromkeys(numbers)), lookups, full

    async def _fetch(self, client: GitHubClient, numbers: list[int], lookups: list[str]) -> None:
        """Ask GraphQL about ``numbers`` and ``lookups``, then finish paginated lists."""
        items: list[queries.Item] = [("number", n) for n in numbers]
        items += [("branch", b) for b in lookups]
        follow: list[int] = []
        fetched: list[int] = []
        for start in range(0, len(items), queries.BATCH):
            chunk = items[start : start + queries.BATCH]
            repo = await self._query(client, queries.batch_query(self.owner, self.name, chunk))
            now = self._clock()
            for i, (kind, key) in enumerate(chunk):
                node = repo.get(f"q{i}")
                if kind == "number":
                    assert isinstance(key, int)
                    if node is None:
                        self._forget(key)
                        continue
                    self._snapshots[key] = self._parse(node, now)
                    fetched.append(key)
                    continue
                assert isinstance(key, str)
                self._looked_up[key] = now
                nodes = node.get("nodes") if isinstance(node, dict) else None
                if not nodes:
                    continue
                snap = self._parse(nodes[0], now, brief=True)
                self._numbers[key] = snap.number
                known = self._snapshots.get(snap.number)
                if known is None or known.state != snap.state or not known.complete:
                    self._snapshots[snap.number] = snap
                if snap.state == "OPEN":
                    follow.append(snap.number)  # opened since the list was read
        await self._paginate(client, fetched)
        if follow:
            await self._fetch(client, follow, [])

    async def _query(self, client: GitHubClient, query: str) -> dict[str, Any]:
        """Run a query and return its ``repository`` object."""
        reply = await client.graphql(query)
        repo = reply.data.get("repository")
        if not isinstance(repo, dict):
            if (
                any(e.get("type") == "NOT_FOUND" for e in reply.errors)
                or "repository" in reply.data
            ):
                raise GitHubError(f"repository {self.host.repo} not found or token lacks access")
            raise GitHubError(f"GitHub sent an unexpected GraphQL answer for {self.host.repo}")
        return repo

    def _parse(self, node: Any, now: float, *, brief: bool = False) -> PRSnapshot:
        try:
            return queries.parse_pr(node, fetched_at=now, brief=brief)
        except ShapeError as exc:
            raise GitHubError(
                f"GitHub sent an unexpected GraphQL answer for {self.host.repo}: {exc}"
            ) from None

    async def _paginate(self, client: GitHubClient, numbers: list[int]) -> None:
        """Fetch every remaining page of contexts and threads of the PRs just refreshed."""
        for _ in range(_MAX_PAGE_ROUNDS):
            pending: list[tuple[int, PageItem]] = []
            for number in numbers:
                snap = self._snapshots.get(number)
                if snap is None:
                    continue
                if snap.contexts_after:
                    pending.append((number, ("contexts", snap.head_sha, snap.contexts_after)))
                if snap.threads_after:
                    pending.append((number, ("threads", number, snap.threads_after)))
            if not pending:
                return
            for start in range(0, len(pending), queries.BATCH):
                chunk = pending[start : start + queries.BATCH]
                query = queries.pages_query(self.owner, self.name, [item for _, item in chunk])
                repo = await self._query(client, query)
                for i, (number, (kind, _key, _after)) in enumerate(chunk):
                    self._merge_page(number, kind, repo.get(f"q{i}"))
        raise GitHubError(f"too many pages of checks or review threads in {self.host.repo}")

    def _merge_page(self, number: int, kind: str, node: Any) -> None:
        snap = self._snapshots[number]
        try:
            if kind == "contexts":
                rollup = node.get("statusCheckRollup") if isinstance(node, dict) else None
                _state, contexts, after = queries.parse_contexts(rollup)
                if rollup is None:
                    after = None  # the commit lost its rollup meanwhile: keep what we have
                self._snapshots[number] = replace(
                    snap, contexts=snap.contexts + contexts, contexts_after=after
                )
            else:
                conn = node.get("reviewThreads") if isinstance(node, dict) else None
                threads, after = queries.parse_threads(conn)
                self._snapshots[number] = replace(
                    snap, threads=snap.threads + threads, threads_after=after
                )
        except ShapeError as exc:
            raise GitHubError(
                f"GitHub sent an unexpected GraphQL answer for {self.host.repo}: {exc}"
            ) from None

    def _forget(self, number: int) -> None:
        self._snapshots.pop(number, None)
        for branch in [b for b, n in self._numbers.items() if n == number]:
            del self._numbers[branch]

    def _publish(self, error: GitHubError | None, branches: Sequence[str] = ()) -> None:
        """Swap in a new immutable view for readers on other threads."""
        old = self.view
        if branches:
            mapping = {b: self._numbers[b] for b in branches if b in self._numbers}
            keep = set(mapping.values())
            self._snapshots = {n: s for n, s in self._snapshots.items() if n in keep}
        else:
            mapping = dict(old.branches)
        self.view = RepoView(
            repo=self.host.repo,
            snapshots=dict(self._snapshots),
            branches=mapping,
            synced_at=old.synced_at if error is not None else self._clock(),
            problem="" if error is None else error.line(),
            failed=error,
        )
