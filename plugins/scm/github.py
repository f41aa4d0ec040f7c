"""The ``github`` SCM: session PRs, their CI, reviews and merges on GitHub or GitHub Enterprise.

A session's PR is the open PR whose head is the session branch in the project's repository
(``github.repo``). The protocol is synchronous but the network is not allowed to block the
reconciler: the plugin owns one asyncio loop on a daemon thread (:mod:`plugins.github.loop`)
where an ``httpx.AsyncClient`` per API root runs. :meth:`GitHubScm.prefetch` starts a poll of
each repository there (at most one at a time, at most one per ``poll_interval``) and returns
at once, or waits for it with ``wait=True``; :meth:`GitHubScm.status` only reads the last
published snapshot. While a reconcile loop runs :meth:`GitHubScm.watch_news`, the plugin
also polls every ``poll_interval`` by itself and wakes that loop after each poll that
brought news (:mod:`plugins.github.news`), so a change reaches the reactions within about
one poll interval of reaching GitHub.

A poll is one conditional request for the repository's open-PR list; a 304 (no PR opened,
closed, pushed or edited) costs no rate limit and usually ends the poll. That ETag misses
check runs finishing, mergeability being computed and PRs leaving the list, so GraphQL is
also asked while a PR's CI runs or its mergeability is unknown, for tracked PRs that left
the open list, for branches with no known PR (every ``poll_interval * 4``), and in full
every 5 minutes as a safety net. :mod:`plugins.github.sync` tells the details.

Actions the operator takes (checks with their logs, rerun, approve, merge) block the caller,
bounded by ``action_timeout``. A merge names the reviewed head sha, so GitHub refuses (409)
if anything was pushed since. Diffs, branch heads and conflicting file names come from the
local repository through :class:`plugins.scm.local.LocalScm`.

Every failure is one token-free line: a :class:`core.slots.SlotError` for actions, the
``problem`` of the last known PR when a poll failed, or :class:`ScmUnavailableError` when
nothing is known yet.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from core.models import ReviewState
from core.scm import (
    CheckRun,
    MergeConflictError,
    MergeMethod,
    MergeResult,
    PRInfo,
    ScmNotReadyError,
    ScmTarget,
    ScmUnavailableError,
)
from core.slots import SlotError
from plugins.github.client import Backoff, Clock, GitHubClient, GitHubError
from plugins.github.logs import LOG_MAX_BYTES, job_excerpt, save_log
from plugins.github.news import Listeners, watch
from plugins.github.pool import ClientPool
from plugins.github.queries import CheckContext, PRSnapshot, rollup_state
from plugins.github.reviews import folded_payload, review_payload
from plugins.github.sync import FULL_REFRESH_EVERY, RepoSync, RepoView, brought_news
from plugins.scm.local import LocalScm

if TYPE_CHECKING:
    from core.store import Store

T = TypeVar("T")
RepoKey = tuple[str, str]

UNKNOWN_CONFLICTS = "(GitHub reports conflicts; files unknown)"
WATCH_TTL = 600.0
"""A branch no caller has asked about for this many seconds is no longer polled."""
_EXCERPT_CACHE = 512
_CHECK_ORDER = {"failing": 0, "running": 1, "none": 2, "passing": 3}
_PENDING = "(log not fetched yet: "
"""How a job log's placeholder begins when fetching it failed for a passing reason."""


class GitHubScm:
    """The ``github`` SCM plugin."""

    name = "github"

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        timeout: float = 20.0,
        backoff: Backoff | None = None,
        full_refresh_every: float = FULL_REFRESH_EVERY,
        action_timeout: float = 120.0,
    ) -> None:
        """Nothing is sent (and no token looked for) until the first poll or action.

        ``clock``, ``timeout`` (seconds per request) and ``backoff`` exist so tests and
        benchmarks can run the real client against a local stand-in without waiting.
        """
        self._clock = clock
        self._full_every = full_refresh_every
        self._action_timeout = action_timeout
        self._local = LocalScm()
        self._pool = ClientPool("ao-tui-github", timeout=timeout, clock=clock, backoff=backoff)
        self._lock = threading.Lock()
        self._syncs: dict[RepoKey, RepoSync] = {}
        self._watched: dict[RepoKey, dict[str, float]] = {}
        """Per repository: session branch → when a caller last asked about it."""
        self._polls: dict[RepoKey, concurrent.futures.Future[bool]] = {}
        self._excerpts: dict[int, str] = {}
        """Check run id → excerpt of its job log (a finished job's log never changes)."""
        self._logs: dict[int, str] = {}
        """Check run id → the job log saved in the session's dir (the CI view's full log)."""
        self._conflicts: dict[tuple[RepoKey, str], tuple[str, ...]] = {}
        self._listeners = Listeners()
        """The reconcile loops told when a poll ends (:meth:`watch_news`)."""

    def close(self) -> None:
        """Stop the loop thread and close the HTTP clients."""
        self._pool.close()

    # -- repositories, clients and polls ------------------------------------------------

    def _sync(self, target: ScmTarget) -> tuple[RepoSync, RepoKey]:
        host = target.host
        if host is None:
            raise ScmUnavailableError(
                "scm: github needs `github: {repo: owner/name}` in the project's config"
            )
        key = (host.api_url.rstrip("/"), host.repo.strip().lower())
        with self._lock:
            sync = self._syncs.get(key)
            if sync is None:
                try:
                    sync = RepoSync(host, clock=self._clock, full_refresh_every=self._full_every)
                except ValueError as exc:
                    raise ScmUnavailableError(str(exc)) from None
                self._syncs[key] = sync
        return sync, key

    async def _poll(self, sync: RepoSync, key: RepoKey) -> bool:
        """Poll ``key``'s repository; whether its view brought news (:func:`brought_news`)."""
        before = sync.view
        try:
            client = await self._pool.client(sync.host.api_url)
        except ScmUnavailableError as exc:
            sync.fail(GitHubError(str(exc)))
        else:
            with self._lock:
                branches = list(self._watched.get(key, {}))
            await sync.poll(client, branches)
        return brought_news(before, sync.view)

    def _polled(self, future: concurrent.futures.Future[bool]) -> None:
        """Tell the listeners a poll ended: once its future is done, so one of them that
        looks at once sees no poll running, and after the new view is published, so one
        woken by the news reads it."""
        news = not future.cancelled() and future.exception() is None and future.result()
        self._listeners.tell(news)

    async def watch_news(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        """Poll each repository asked about lately every ``poll_interval`` by itself, and
        call ``wake()`` after each poll that brought news, until ``stop``
        (:class:`core.slots.HostNews`)."""
        await watch(self._listeners, self._start_due_polls, wake, stop)

    def _start_due_polls(self) -> float | None:
        """Start each due poll of a repository asked about within :data:`WATCH_TTL`;
        seconds until the next is due (None: only a running poll's end can tell)."""
        now = self._clock()
        with self._lock:
            keys = [
                key
                for key, seen in self._watched.items()
                if any(now - at <= WATCH_TTL for at in seen.values())
            ]
            syncs = [(self._syncs[key], key) for key in keys if key in self._syncs]
        pause: float | None = None
        for sync, key in syncs:
            if self._start_poll(sync, key) is not None:
                continue  # running: its end brings the next look
            wait = sync.due_in()
            pause = wait if pause is None else min(pause, wait)
        return pause

    def _start_poll(self, sync: RepoSync, key: RepoKey) -> concurrent.futures.Future[bool] | None:
        """The running poll of ``key``, or a new one when due; None when not due."""
        with self._lock:
            running = self._polls.get(key)
            if running is not None and not running.done():
                return running
            if not sync.due():
                return None
            future = self._pool.submit(self._poll(sync, key))
            self._polls[key] = future
        future.add_done_callback(self._polled)
        return future

    def _watch(self, sync: RepoSync, key: RepoKey, branches: Sequence[str]) -> None:
        """Keep polling ``branches``; a branch new to ``key`` makes a poll due at once.

        Callers ask about one session (a CLI verb) or a whole project (the timer loop) in
        the same process, so the watched set is the union of what was asked lately, not
        the last call's list.
        """
        now = self._clock()
        with self._lock:
            seen = self._watched.setdefault(key, {})
            new = [b for b in branches if b not in seen]
            for branch in branches:
                seen[branch] = now
            for branch in [b for b, at in seen.items() if now - at > WATCH_TTL]:
                del seen[branch]
        for branch in new:
            sync.mark_stale(branch=branch)

    def _run(self, api_url: str, work: Callable[[GitHubClient], Awaitable[T]]) -> T:
        """Run ``work`` with the client on the loop and wait for it (an operator's action)."""

        async def go() -> T:
            return await work(await self._pool.client(api_url))

        try:
            return self._pool.run(go(), self._action_timeout)
        except TimeoutError:
            raise SlotError(f"GitHub did not answer within {self._action_timeout:g}s") from None

    def _snapshot_now(self, target: ScmTarget) -> tuple[RepoSync, RepoKey, PRSnapshot | None]:
        """The PR of ``target``, polling (and waiting) when it is not known yet."""
        sync, key = self._sync(target)
        snap = sync.view.pr_for(target.branch)
        if snap is not None:
            return sync, key, snap
        self._watch(sync, key, [target.branch])
        sync.mark_stale(branch=target.branch)
        future = self._start_poll(sync, key)
        if future is not None:
            try:
                future.result(self._action_timeout)
            except concurrent.futures.TimeoutError:
                raise SlotError(f"GitHub did not answer within {self._action_timeout:g}s") from None
        view = sync.view
        snap = view.pr_for(target.branch)
        if snap is None and view.problem:
            raise ScmUnavailableError(view.problem)
        return sync, key, snap

    def _require_pr(self, target: ScmTarget) -> tuple[RepoSync, RepoKey, PRSnapshot]:
        sync, key, snap = self._snapshot_now(target)
        if snap is None:
            raise SlotError(
                f"no PR on GitHub for {target.branch} in {sync.host.repo}: push the branch "
                "and open one"
            )
        return sync, key, snap

    # -- the Scm protocol: reads --------------------------------------------------------

    def heads(self, repo: Path, branches: Sequence[str]) -> dict[str, str]:
        """The local branches' commits (see :meth:`LocalScm.heads`)."""
        return self._local.heads(repo, branches)

    def diff(self, target: ScmTarget, *, stat: bool = False) -> str:
        """The local branch against the local base (see :meth:`LocalScm.diff`)."""
        return self._local.diff(target, stat=stat)

    def prefetch(self, targets: Sequence[ScmTarget], store: Store, *, wait: bool) -> None:
        """Start a poll of each repository of ``targets`` that is due; ``wait`` waits for it."""
        groups: dict[RepoKey, tuple[RepoSync, set[str]]] = {}
        for target in targets:
            try:
                sync, key = self._sync(target)
            except ScmUnavailableError:
                continue  # status() reports it for the session
            groups.setdefault(key, (sync, set()))[1].add(target.branch)
        futures = []
        for key, (sync, branches) in groups.items():
            self._watch(sync, key, sorted(branches))
            future = self._start_poll(sync, key)
            if future is not None:
                futures.append(future)
        if wait and futures:
            concurrent.futures.wait(futures, timeout=self._action_timeout)

    def status(self, target: ScmTarget, store: Store, head: str, base_head: str) -> PRInfo | None:
        """The PR of ``target`` from the last poll; never waits on the network."""
        sync, key = self._sync(target)
        self._watch(sync, key, [target.branch])
        view = sync.view
        if view.synced_at is None and not view.snapshots:
            self._start_poll(sync, key)
        snap = view.pr_for(target.branch)
        if snap is None:
            if view.synced_at is None:
                if view.problem:
                    raise ScmUnavailableError(view.problem)
                raise ScmNotReadyError(f"waiting for GitHub's first answer about {sync.host.repo}")
            return None
        if snap.state == "CLOSED":
            return None
        return self._pr_info(target, store, key, view, snap, head, base_head)

    def _pr_info(
        self,
        target: ScmTarget,
        store: Store,
        key: RepoKey,
        view: RepoView,
        snap: PRSnapshot,
        head: str,
        base_head: str,
    ) -> PRInfo:
        merged = snap.state == "MERGED"
        conflicts: tuple[str, ...] = ()
        behind = 0
        if not merged and (snap.mergeable == "CONFLICTING" or snap.merge_state == "BEHIND"):
            local = self._local_facts(target, store, head, base_head)
            if snap.mergeable == "CONFLICTING":
                conflicts = local.conflicts if local and local.conflicts else (UNKNOWN_CONFLICTS,)
                self._conflicts[(key, target.branch)] = conflicts
            if snap.merge_state == "BEHIND":
                behind = max(1, local.behind if local else 0)
        notes: tuple[str, ...] = ()
        if head and head != snap.head_sha and not merged:
            notes = (
                f"local {target.branch} is at {head[:10]} but the PR head on GitHub is "
                f"{snap.head_sha[:10]} (not pushed?); review and merge use the PR head",
            )
        problem = ""
        if view.problem:
            problem = view.problem
            if view.synced_at is not None:
                # A clock time, not an age: the problem text must not change every minute
                # (each change is a stored event) while the failure itself stays the same.
                problem += f" (data from {time.strftime('%H:%M', time.localtime(view.synced_at))})"
        return PRInfo(
            head_sha=snap.head_sha,
            base_sha=snap.base_sha or base_head,
            ahead=snap.commits,
            behind=behind,
            conflicts=conflicts,
            ci=rollup_state(snap.rollup),
            review=_review(snap),
            draft=snap.draft,
            merged=merged,
            number=snap.number,
            url=snap.url,
            checks=tuple(self._check_runs(snap)),
            threads=snap.threads,
            problem=problem,
            host_notes=notes,
        )

    def _local_facts(
        self, target: ScmTarget, store: Store, head: str, base_head: str
    ) -> PRInfo | None:
        """What local git says (conflicting files, commits behind), when it can say it."""
        if not head or not base_head:
            return None
        try:
            return self._local.status(target, store, head, base_head)
        except SlotError:
            return None

    def _check_runs(
        self, snap: PRSnapshot, unavailable: dict[int, str] | None = None
    ) -> list[CheckRun]:
        now = self._clock()
        excerpts = {**self._excerpts, **(unavailable or {})}
        pending = {job for job, why in (unavailable or {}).items() if why.startswith(_PENDING)}
        runs = [
            _check_run(c, snap.head_sha, now, excerpts, self._logs, pending) for c in snap.contexts
        ]
        return sorted(runs, key=lambda run: _CHECK_ORDER[run.state])

    def checks(self, target: ScmTarget, store: Store, head: str) -> list[CheckRun]:
        """The PR head's checks, failing first; failing Actions jobs carry their log excerpt."""
        sync, _key, snap = self._snapshot_now(target)
        if snap is None:
            return []
        missing = [
            c
            for c in snap.contexts
            if c.state == "failing" and c.run_id and c.job_id and c.job_id not in self._excerpts
        ]
        unavailable: dict[int, str] = {}
        if missing:
            folder = target.state_dir
            unavailable = self._run(
                sync.host.api_url, lambda client: self._fetch_logs(client, sync, missing, folder)
            )
        return self._check_runs(snap, unavailable)

    async def _fetch_logs(
        self, client: GitHubClient, sync: RepoSync, contexts: list[CheckContext], folder: Path
    ) -> dict[int, str]:
        """Fetch each job's log: its excerpt into the cache, the log (its last
        ``LOG_MAX_BYTES``) into ``folder`` for the full-log view; why, for those that failed."""
        unavailable: dict[int, str] = {}
        for context in contexts:
            assert context.job_id is not None
            path = f"/repos/{_path(sync)}/actions/jobs/{context.job_id}/logs"
            try:
                text = await client.download(path, max_bytes=LOG_MAX_BYTES)
            except GitHubError as err:
                # Not cached: the next call tries again. A pause (rate limit), a host error
                # or no answer passes; a 404 (the log expired) does not.
                passing = err.retry_at is not None or err.status is None or err.status >= 500
                prefix = _PENDING if passing else "(log unavailable: "
                unavailable[context.job_id] = f"{prefix}{err.line()})"
                continue
            if len(self._excerpts) >= _EXCERPT_CACHE:
                self._excerpts.clear()
                self._logs.clear()
            log = folder / f"github-job-{context.job_id}.log"
            try:
                # Masking megabytes takes a while: off the loop other repositories poll on.
                await asyncio.to_thread(save_log, log, text)
                self._logs[context.job_id] = str(log)
            except OSError:
                pass  # the excerpt is still there; only the full-log view goes without
            where = self._logs.get(context.job_id, "")
            self._excerpts[context.job_id] = job_excerpt(text, log_path=where)
        return unavailable

    # -- the Scm protocol: actions ------------------------------------------------------

    def start_ci(self, target: ScmTarget, store: Store, head: str, *, rerun: bool = False) -> bool:
        """Rerun the failed jobs of the PR head's failing workflow runs; True if any started.

        Without ``rerun`` nothing happens: GitHub runs CI on every push by itself.
        """
        if not rerun:
            return False
        sync, _key, snap = self._require_pr(target)
        runs = sorted({c.run_id for c in snap.contexts if c.state == "failing" and c.run_id})
        if not runs:
            return False

        async def rerun_all(client: GitHubClient) -> tuple[int, list[str]]:
            started, errors = 0, []
            for run_id in runs:
                path = f"/repos/{_path(sync)}/actions/runs/{run_id}/rerun-failed-jobs"
                try:
                    await client.request("POST", path)
                    started += 1
                except GitHubError as err:
                    errors.append(err.line("try again after"))
            return started, errors

        try:
            started, errors = self._run(sync.host.api_url, rerun_all)
        finally:
            sync.mark_stale(snap.number)
        if not started and errors:
            raise SlotError(f"GitHub did not rerun CI for PR #{snap.number}: {errors[0]}")
        return started > 0

    def approve(self, target: ScmTarget, store: Store, head: str) -> None:
        """Post an approving review of exactly ``head`` on the PR."""
        sync, _key, snap = self._require_pr(target)
        path = f"/repos/{_path(sync)}/pulls/{snap.number}/reviews"
        body = {"event": "APPROVE", "commit_id": head}
        try:
            self._run(sync.host.api_url, lambda c: c.request("POST", path, json_body=body))
        except GitHubError as err:
            if err.status == 422:
                raise SlotError(
                    f"GitHub refused the approval of PR #{snap.number}: {err.message}"
                ) from None
            raise SlotError(err.line("try again after")) from None
        finally:
            sync.mark_stale(snap.number)

    def post_review(
        self, target: ScmTarget, head: str, event: str, body: str, comments: Sequence[Any]
    ) -> None:
        """One review of ``head`` with inline comments (:class:`core.slots.HostReviews`);
        if GitHub refuses it (422), the findings go as one COMMENT (plugins.github.reviews)."""
        sync, _key, snap = self._require_pr(target)
        path = f"/repos/{_path(sync)}/pulls/{snap.number}/reviews"
        tries = [review_payload(head, event, body, comments)]
        tries.append(folded_payload(head, event, body, comments))
        try:
            for payload in tries:
                try:
                    self._run(
                        sync.host.api_url,
                        lambda c, p=payload: c.request("POST", path, json_body=p),  # type: ignore[misc]
                    )
                    return
                except GitHubError as err:
                    if err.status != 422 or payload is tries[-1]:
                        raise
        except GitHubError as err:
            refused = f"GitHub refused the review of PR #{snap.number}: {err.message}"
            raise SlotError(refused if err.status == 422 else err.line("try again after")) from None
        finally:
            sync.mark_stale(snap.number)

    def merge(self, target: ScmTarget, method: MergeMethod, head: str) -> MergeResult:
        """Merge the PR on GitHub at exactly ``head`` (the reviewed head) with ``method``."""
        sync, key, snap = self._require_pr(target)
        number = snap.number
        if snap.state == "MERGED":
            raise SlotError(f"PR #{number} is already merged")
        if snap.state == "CLOSED":
            raise SlotError(f"PR #{number} is closed; reopen it on GitHub to merge it")
        if snap.mergeable == "CONFLICTING":
            files = self._conflicts.get((key, target.branch), (UNKNOWN_CONFLICTS,))
            raise MergeConflictError(
                f"cannot merge PR #{number}: it conflicts with {snap.base_ref} in "
                f"{', '.join(files)}; ask the agent to merge {snap.base_ref} into its branch",
                files,
            )
        path = f"/repos/{_path(sync)}/pulls/{number}/merge"
        body = {"sha": head, "merge_method": method}
        try:
            reply = self._run(sync.host.api_url, lambda c: c.request("PUT", path, json_body=body))
            payload = reply.json()
        except GitHubError as err:
            raise SlotError(_merge_refusal(err, number)) from None
        finally:
            sync.mark_stale(number)
        sha = payload.get("sha") if isinstance(payload, dict) else None
        if not isinstance(sha, str) or not sha:
            raise SlotError(f"GitHub merged PR #{number} but did not say the new commit")
        return MergeResult(
            sha=sha,
            method=method,
            notes=(
                f"merged PR #{number} on GitHub into {snap.base_ref}; your local "
                f"{snap.base_ref} is unchanged until you `git pull`",
            ),
        )


def _path(sync: RepoSync) -> str:
    return f"{quote(sync.owner)}/{quote(sync.name)}"


def _review(snap: PRSnapshot) -> ReviewState:
    """GitHub's review decision, with an approval of an older head counted as stale.

    GitHub keeps a PR approved after a push unless the repository dismisses stale reviews;
    like the local SCM, ao-tui wants the approval of the exact head that will be merged.
    """
    decision = snap.review_decision
    if decision == "APPROVED":
        if snap.approved_heads and snap.head_sha not in snap.approved_heads:
            return "stale"
        return "approved"
    if decision == "CHANGES_REQUESTED":
        return "changes_requested"
    return "pending"


def _check_run(
    context: CheckContext,
    head_sha: str,
    now: float,
    excerpts: dict[int, str],
    logs: dict[int, str],
    pending: set[int],
) -> CheckRun:
    duration = None
    if context.started_at is not None:
        end = context.completed_at if context.completed_at is not None else now
        duration = max(0.0, end - context.started_at)
    job = context.job_id
    return CheckRun(
        name=context.name,
        state=context.state,
        head_sha=head_sha,
        duration=duration,
        excerpt=excerpts.get(job, "") if job is not None else "",
        url=context.url,
        log_path=logs.get(job, "") if job is not None else "",
        log_pending=job in pending,
    )


def _merge_refusal(err: GitHubError, number: int) -> str:
    message = err.message or "no message"
    if err.status == 405:
        return f"not mergeable: {message} (PR #{number})"
    if err.status == 409:
        return (
            f"the head of PR #{number} moved since review ({message}); review the new "
            "head and merge again"
        )
    if err.status == 422:
        return f"GitHub refused to merge PR #{number}: {message}"
    return err.line("try again after")
