"""Reactions against the GitHub stand-in: review threads, conflicts, CI logs, rate limits.

Real parts throughout: the engine and its reconcile loop with the reactor on
(``core.daemon.reconcile_loop(..., react=True)`` on a thread of its own, as the daemon runs
it), git, tmux on the test socket, the recorder shell agent (every byte it receives lands
in a file) and the GitHub stand-in (``tests.support.github_server``) over HTTP on
127.0.0.1, with scripted rate-limit faults. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import Event
from tests.conftest import run_git
from tests.support.engine import make_engine, recorder_command, wait_for, write_config
from tests.support.github_server import TOKEN, FakeCheck, FakeThread, Fault, GitHubStandIn

pytestmark = pytest.mark.reactions

REPO = "octo/app"
TIMEOUT = 30.0
POLL = 2
"""The repository's ``pollInterval`` (the smallest the config allows)."""
FAILING_LOG = (
    "2024-05-01T10:00:00.0000000Z ##[group]Run pytest\n"
    "2024-05-01T10:00:01.0000000Z FAILED tests/test_login.py::test_redirect - assert 302 == 200\n"
    "2024-05-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n"
)


class Daemon:
    """The reconcile loop with reactions, on its own thread and event loop, as
    ``ao-tui daemon`` runs it; errors it hands back are kept for the test to assert on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: list[Exception] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await reconcile_loop(
            self.engine, self._stop, interval=0.2, on_error=self.errors.append, react=True
        )

    def __enter__(self) -> Daemon:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the reconcile loop did not stop"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn() as server:
        server.repo(REPO)
        yield server


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    return tmp_path / "rec.bin"


@pytest.fixture
def engine(
    tmp_path: Path, git_repo: Path, github: GitHubStandIn, recorded: Path
) -> Iterator[Engine]:
    config = write_config(
        tmp_path,
        git_repo,
        command=recorder_command(recorded),
        extra_project_yaml=(
            f"    github:\n      repo: {REPO}\n      apiUrl: {github.url}\n"
            f"      pollInterval: {POLL}\n"
        ),
    )
    engine = make_engine(config)
    yield engine
    engine.registry.get("scm", "github").close()


def commit(worktree: Path, name: str, text: str = "change\n") -> str:
    (worktree / name).write_text(text)
    run_git(worktree, "add", name)
    run_git(worktree, "commit", "-qm", f"change {name}")
    return run_git(worktree, "rev-parse", "HEAD").strip()


def reactions(engine: Engine, session_id: str, outcome: str | None = None) -> list[Event]:
    """The session's ``reaction`` events (of one outcome)."""
    return [
        event
        for event in engine.store.events_after(0, limit=100_000)
        if event.kind == "reaction"
        and event.session_id == session_id
        and (outcome is None or event.data.get("outcome") == outcome)
    ]


def sends(engine: Engine, session_id: str) -> list[dict[str, Any]]:
    """What the reactor typed into the session's agent, in order (delivered or sent)."""
    return [
        event.data
        for event in reactions(engine, session_id)
        if event.data.get("outcome") in ("delivered", "queued", "sent")
    ]


def received(recorded: Path, texts: list[str]) -> bytes:
    """Wait for the recorder to hold the bytes of ``texts``, each typed and entered."""
    expected = b"".join(text.encode() + b"\r" for text in texts)
    return wait_for(
        lambda: (
            recorded.read_bytes()
            if recorded.exists() and len(recorded.read_bytes()) >= len(expected)
            else None
        ),
        timeout=TIMEOUT,
    )


def spawn(engine: Engine, recorded: Path) -> tuple[str, str, str]:
    """A session whose recorder is ready; its id, branch and a first commit's sha."""
    session = engine.spawn("app", "fix the login redirect")
    wait_for(recorded.exists, timeout=TIMEOUT)
    head = commit(Path(session.worktree), "login.py")
    return session.id, session.branch, head


def test_a_bots_thread_goes_to_bugbot_comments_and_a_persons_to_changes_requested(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    sid, branch, head = spawn(engine, recorded)
    github.add_pr(
        REPO,
        branch,
        head,
        threads=[
            FakeThread("login.py", 3, "Possible open redirect via `next`.", "cursor", bot=True),
            FakeThread("login.py", 7, "Keep the old redirect for API clients.", "mira"),
        ],
    )
    with Daemon(engine) as daemon:
        wait_for(lambda: len(sends(engine, sid)) >= 2, timeout=TIMEOUT)
        got = received(recorded, [data["text"] for data in sends(engine, sid)])
    assert daemon.errors == []
    person, bot = sends(engine, sid)
    assert (person["key"], bot["key"]) == ("changes-requested", "bugbot-comments")
    assert person["text"] == (
        "Review comments on PR #1 are unresolved (attempt 1). Address each one, commit, push, "
        "and say what you changed:\n"
        "\n"
        "1. login.py:7 (mira):\n"
        "Keep the old redirect for API clients.\n"
    )
    assert bot["text"] == (
        "Review comments on PR #1 are unresolved (attempt 1). Address each one, commit, push, "
        "and say what you changed:\n"
        "\n"
        "1. login.py:3 (cursor[bot]):\n"
        "Possible open redirect via `next`.\n"
    )
    # Byte for byte what the agent got: the two messages, each entered, nothing else.
    assert got == (person["text"] + "\r" + bot["text"] + "\r").encode()


def test_only_new_threads_are_forwarded_and_replies_forward_nothing(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    sid, branch, head = spawn(engine, recorded)
    pr = github.add_pr(
        REPO, branch, head, threads=[FakeThread("login.py", 7, "Keep the old redirect.", "mira")]
    )
    with Daemon(engine) as daemon:
        wait_for(lambda: len(sends(engine, sid)) == 1, timeout=TIMEOUT)
        (first,) = sends(engine, sid)
        # A reply on the first thread (GitHub moves updatedAt, so the PR is refetched):
        # nothing new to say.
        github.update(pr, threads=[replace(pr.threads[0], replies=1)])
        wait_for(lambda: _stored_replies(engine, sid) == [1], timeout=TIMEOUT)
        time.sleep(1.5)  # a few more ticks and passes of the reactor
        assert len(sends(engine, sid)) == 1
        # A later thread from another reviewer: sent alone, within about a poll interval
        # of reaching GitHub (the latency target for GitHub).
        pushed = time.time()
        github.update(
            pr,
            threads=[
                replace(pr.threads[0], replies=2),
                FakeThread("login.py", 12, "Add a test for the redirect.", "jon"),
            ],
        )
        wait_for(lambda: len(sends(engine, sid)) == 2, timeout=TIMEOUT)
        latency = [e for e in reactions(engine, sid) if "text" in e.data][-1].ts - pushed
        print(f"GitHub thread to the agent: {latency:.2f}s (pollInterval {POLL}s)")
        # At worst a poll interval until GitHub is asked; the poll's news wakes the
        # reconcile loop, whose tick reads the answer at once (not PR_INTERVAL later) and
        # the reactor sends; 1.5 s for that on a loaded test machine.
        assert latency < POLL + 1.5, latency
        time.sleep(1.5)
        assert len(sends(engine, sid)) == 2
        got = received(recorded, [first["text"], sends(engine, sid)[1]["text"]])
    assert daemon.errors == []
    second = sends(engine, sid)[1]
    assert second["key"] == "changes-requested" and second["attempt"] == 2
    assert "1. login.py:12 (jon):\nAdd a test for the redirect.\n" in second["text"]
    assert "Keep the old redirect." not in second["text"]
    assert got == (first["text"] + "\r" + second["text"] + "\r").encode()


def _stored_replies(engine: Engine, sid: str) -> list[int]:
    pr = engine.get(sid).pr
    return [] if pr is None else [thread.replies for thread in pr.threads]


def test_a_conflicting_pr_tells_the_agent_the_files_and_the_base(
    engine: Engine, github: GitHubStandIn, git_repo: Path, recorded: Path
) -> None:
    sid, branch, _ = spawn(engine, recorded)
    head = commit(Path(engine.get(sid).worktree), "README.md", "the session's readme\n")
    base = commit(git_repo, "README.md", "main's readme\n")
    github.add_pr(REPO, branch, head, base_sha=base, mergeable="CONFLICTING", merge_state="DIRTY")
    with Daemon(engine) as daemon:
        wait_for(lambda: sends(engine, sid), timeout=TIMEOUT)
        time.sleep(1.5)
        (sent,) = sends(engine, sid)
        got = received(recorded, [sent["text"]])
    assert daemon.errors == []
    assert sent["key"] == "merge-conflicts"
    assert sent["text"] == (
        f"Your branch conflicts with main at {base[:10]} (attempt 1). Merge main into your "
        "branch, resolve the conflicts, run the tests, and commit.\n"
        "\n"
        "Conflicting files:\n"
        "- README.md\n"
    )
    assert got == (sent["text"] + "\r").encode()


def test_a_conflict_only_github_knows_of_is_still_told(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    # The base moved on GitHub, not in the local clone: no trial merge can name the files.
    sid, branch, head = spawn(engine, recorded)
    github.add_pr(REPO, branch, head, mergeable="CONFLICTING", merge_state="DIRTY")
    with Daemon(engine) as daemon:
        wait_for(lambda: sends(engine, sid), timeout=TIMEOUT)
        (sent,) = sends(engine, sid)
    assert daemon.errors == []
    assert sent["key"] == "merge-conflicts"
    assert sent["text"].startswith(f"Your branch conflicts with main at {'b' * 10} (attempt 1)")
    assert "files unknown" in sent["text"]


def test_a_failing_check_sends_the_excerpt_of_its_fetched_log_and_its_url(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    sid, branch, head = spawn(engine, recorded)
    pr = github.add_pr(
        REPO,
        branch,
        head,
        checks=[FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG), FakeCheck("lint")],
    )
    with Daemon(engine) as daemon:
        wait_for(lambda: sends(engine, sid), timeout=TIMEOUT)
        time.sleep(1.5)
        (sent,) = sends(engine, sid)
        got = received(recorded, [sent["text"]])
    assert daemon.errors == []
    job = pr.checks[0].job_id
    assert [r.status for r in github.log("logs")] == [302], "the job's log was fetched"
    log = engine.locations.session_dir(sid) / f"github-job-{job}.log"
    url = f"https://github.com/{REPO}/actions/runs/{pr.checks[0].run_id}/job/{job}"
    text = sent["text"]
    assert sent["key"] == "ci-failed"
    # The excerpt is the fetched log's failing part (timestamps and workflow markers
    # stripped), then where the whole log is on disk and the check's page on GitHub.
    assert text == (
        f"CI failed on {head[:10]} (attempt 1 of 2). Fix the failure, run the tests, and "
        "commit the fix.\n"
        "\n"
        f"Check 'tests' failed; the full log is {log}; the check is {url}:\n"
        "\n"
        "Run pytest\n"
        "FAILED tests/test_login.py::test_redirect - assert 302 == 200\n"
        "error: Process completed with exit code 1.\n"
    )
    assert log.read_text().endswith("Process completed with exit code 1.\n")
    assert got == (text + "\r").encode()


LIMITS: dict[str, Callable[[float], Fault]] = {
    "primary-429": lambda reset: Fault.primary_limit(reset, status=429),
    "primary-403": lambda reset: Fault.primary_limit(reset, status=403),
    "secondary-403": lambda reset: Fault.secondary_limit(round(reset - time.time()), status=403),
}
"""GitHub's ways of saying "not now": the hourly budget spent (``x-ratelimit-remaining: 0``
and its reset time), or the secondary limit with ``Retry-After``."""


@pytest.mark.parametrize("limit", list(LIMITS))
def test_a_rate_limited_github_delays_reactions_without_losing_or_repeating_them(
    engine: Engine, github: GitHubStandIn, recorded: Path, limit: str
) -> None:
    sid, branch, head = spawn(engine, recorded)
    pr = github.add_pr(
        REPO, branch, head, threads=[FakeThread("login.py", 7, "Keep the old redirect.", "mira")]
    )
    with Daemon(engine) as daemon:
        wait_for(lambda: len(sends(engine, sid)) == 1, timeout=TIMEOUT)
        # GitHub's hourly budget runs out for a few seconds; meanwhile a bot comments and
        # CI fails. Nothing may be sent while ao-tui cannot see GitHub.
        reset = time.time() + 6
        github.fault("pulls", LIMITS[limit](reset))
        github.fault("graphql", LIMITS[limit](reset))
        github.update(
            pr,
            threads=[
                pr.threads[0],
                FakeThread("login.py", 3, "Possible open redirect.", "cursor", bot=True),
            ],
            checks=[FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG)],
        )
        limited = wait_for(lambda: _problem(engine, sid), timeout=TIMEOUT)
        assert "rate limit" in limited
        while time.time() < reset - 0.5:
            assert _problem(engine, sid), "the limit is still in force"
            assert len(sends(engine, sid)) == 1, "nothing is sent while GitHub is limited"
            time.sleep(0.2)
        # Lifted: each reaction fires exactly once, the first one is not repeated.
        wait_for(lambda: len(sends(engine, sid)) == 3, timeout=TIMEOUT)
        time.sleep(3)
        keys = [data["key"] for data in sends(engine, sid)]
        got = received(recorded, [data["text"] for data in sends(engine, sid)])
    assert daemon.errors == []
    assert sorted(keys) == ["bugbot-comments", "changes-requested", "ci-failed"]
    assert keys[0] == "changes-requested"
    assert got == "".join(data["text"] + "\r" for data in sends(engine, sid)).encode()
    assert github.log("pulls")[-1].status in (200, 304)


def _problem(engine: Engine, sid: str) -> str:
    pr = engine.get(sid).pr
    return "" if pr is None else pr.problem


def test_a_log_held_back_by_a_rate_limit_is_waited_for_not_sent_empty(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    # GitHub answers the PR but not yet its job's log (a secondary limit on that call): the
    # agent must get the excerpt once the log comes, not a placeholder that spends a fix.
    sid, branch, head = spawn(engine, recorded)
    github.fault("logs", Fault.secondary_limit(4, status=403))
    github.add_pr(
        REPO, branch, head, checks=[FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG)]
    )
    with Daemon(engine) as daemon:
        refused = wait_for(lambda: github.log("logs"), timeout=TIMEOUT)[0]
        wait_for(lambda: sends(engine, sid), timeout=TIMEOUT)
        time.sleep(1.5)
        (sent,) = sends(engine, sid)
        got = received(recorded, [sent["text"]])
    assert daemon.errors == []
    assert refused.status == 403
    sent_at = next(e for e in reactions(engine, sid) if "text" in e.data).ts
    assert sent_at >= refused.at + 3.5, "nothing was sent while the log was held back"
    assert "FAILED tests/test_login.py::test_redirect - assert 302 == 200" in sent["text"]
    assert "log not fetched" not in sent["text"]
    assert got == (sent["text"] + "\r").encode()


def test_a_log_that_is_gone_is_not_waited_for(
    engine: Engine, github: GitHubStandIn, recorded: Path
) -> None:
    # A 404 (GitHub keeps logs 90 days) will not pass: the agent is told at once, with
    # the check's page, rather than never.
    sid, branch, head = spawn(engine, recorded)
    github.fault("logs", Fault.not_found(), times=100)
    github.add_pr(
        REPO, branch, head, checks=[FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG)]
    )
    with Daemon(engine) as daemon:
        wait_for(lambda: sends(engine, sid), timeout=TIMEOUT)
        (sent,) = sends(engine, sid)
    assert daemon.errors == []
    assert "(log unavailable: " in sent["text"]
    assert "/actions/runs/" in sent["text"]
