"""The ``github`` SCM's news: it polls by itself while a loop watches, and wakes that loop
only after a poll that brought news (:class:`core.slots.HostNews`).

Real parts: the plugin's own HTTP client against the GitHub stand-in
(``tests.support.github_server``) on 127.0.0.1, a real store, and a real asyncio loop in
the test's thread standing in for the reconcile loop's. Time is the wall clock: the point
is what happens between polls, so each test waits a few short poll intervals.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.scm import HostSettings, ScmTarget
from core.store import Store
from plugins.github.sync import RepoView, brought_news
from plugins.scm.github import GitHubScm
from tests.support.github_server import TOKEN, FakeCheck, FakeThread, GitHubStandIn

REPO = "octo/app"
POLL = 0.3
"""A short poll interval, so a handful of polls take a second or two."""
BRANCH = "ao/app-1-fix"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn() as server:
        server.repo(REPO)
        yield server


@pytest.fixture
def scm() -> Iterator[GitHubScm]:
    plugin = GitHubScm(timeout=5.0, action_timeout=30.0)
    yield plugin
    plugin.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "state.db")
    yield db
    db.close()


def target(tmp_path: Path, server: GitHubStandIn) -> ScmTarget:
    host = HostSettings(repo=REPO, api_url=server.url, poll_interval=POLL)
    return ScmTarget(
        session_id="app-1",
        title="fix",
        repo=tmp_path,
        worktree=tmp_path,
        branch=BRANCH,
        base="main",
        state_dir=tmp_path,
        host=host,
    )


def watching(scm: GitHubScm, body: Callable[[list[float]], Awaitable[None]]) -> list[float]:
    """Run ``scm.watch_news`` on a fresh loop while ``body(wakes)`` runs; the wake times."""
    wakes: list[float] = []

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scm.watch_news(lambda: wakes.append(time.time()), stop))
        try:
            await body(wakes)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    return wakes


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def lists(server: GitHubStandIn) -> int:
    """How many polls reached the stand-in (each begins with the open-PR list)."""
    return len(server.log("pulls"))


def test_polls_that_bring_nothing_wake_nothing_and_news_wakes_within_a_poll(
    tmp_path: Path, github: GitHubStandIn, scm: GitHubScm, store: Store
) -> None:
    # CI runs: each poll asks GraphQL again and gets the same answer (news in no field
    # but the fetch time), besides the list's 304s.
    pr = github.add_pr(
        REPO, BRANCH, "a" * 40, checks=[FakeCheck("tests", status="IN_PROGRESS", conclusion=None)]
    )
    tgt = target(tmp_path, github)
    seen: dict[str, float] = {}

    async def body(wakes: list[float]) -> None:
        # The reconcile loop's first PR refresh asks about the branch: the first answer.
        await asyncio.to_thread(scm.prefetch, [tgt], store, wait=True)
        await until(lambda: len(wakes) == 1)
        # Then the plugin polls by itself every POLL seconds; none of these wakes.
        polls = lists(github)
        await until(lambda: lists(github) >= polls + 5)
        assert len(wakes) == 1
        assert len(github.log("graphql")) >= 5  # the refetches of the running CI
        seen["quiet_polls"] = lists(github) - polls
        # A new review thread reaches GitHub: the next poll wakes the loop.
        github.update(pr, threads=[FakeThread("login.py", 7, "Keep the redirect.", "mira")])
        seen["pushed"] = time.time()
        await until(lambda: len(wakes) == 2)
        info = scm.status(tgt, store, "a" * 40, "b" * 40)
        assert info is not None and [t.body for t in info.threads] == ["Keep the redirect."]

    wakes = watching(scm, body)
    assert seen["quiet_polls"] >= 5
    # At worst a poll interval until GitHub is asked, and the answer; a loaded machine's
    # scheduling besides.
    assert wakes[1] - seen["pushed"] < POLL + 1.0


def test_no_polls_before_a_repository_is_asked_about_nor_after_the_watch_stops(
    tmp_path: Path, github: GitHubStandIn, scm: GitHubScm, store: Store
) -> None:
    github.add_pr(REPO, BRANCH, "a" * 40)
    tgt = target(tmp_path, github)

    async def body(wakes: list[float]) -> None:
        await asyncio.sleep(POLL * 4)
        assert github.log() == []  # nothing asked: nothing sent, no token looked for
        await asyncio.to_thread(scm.prefetch, [tgt], store, wait=True)
        await until(lambda: lists(github) >= 3)

    watching(scm, body)
    stopped = lists(github)
    time.sleep(POLL * 4)
    # Without a watcher, polls happen only when a caller asks (prefetch, status).
    assert lists(github) <= stopped + 1  # one may have been on its way


def _view(**changes: object) -> RepoView:
    from plugins.github.queries import PRSnapshot

    snap = PRSnapshot(
        number=1,
        url="u",
        state="OPEN",
        draft=False,
        mergeable="MERGEABLE",
        merge_state="CLEAN",
        review_decision=None,
        head_ref=BRANCH,
        head_sha="a" * 40,
        base_ref="main",
        base_sha="b" * 40,
        updated_at="t1",
        commits=1,
        fetched_at=100.0,
    )
    snap = replace(snap, **changes)  # type: ignore[arg-type]
    return RepoView(repo=REPO, snapshots={1: snap}, branches={BRANCH: 1}, synced_at=100.0)


def test_news_is_a_change_in_what_readers_see_not_a_newer_fetch() -> None:
    old = _view()
    assert not brought_news(old, replace(_view(fetched_at=200.0), synced_at=200.0))
    assert brought_news(old, _view(review_decision="CHANGES_REQUESTED"))
    assert brought_news(old, _view(head_sha="c" * 40))
    assert brought_news(old, replace(old, problem="GitHub rate limit; retry at 10:15"))
    assert brought_news(old, replace(old, snapshots={}, branches={}))
    assert brought_news(RepoView(repo=REPO), old)  # the first answer
