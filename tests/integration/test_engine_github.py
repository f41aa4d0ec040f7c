"""The engine and the CLI with ``scm: github``: a session's PR, CI, review threads and merge.

Real parts throughout: git, tmux (test socket), the recorder shell agent, the CLI as a
process, and the GitHub stand-in (``tests.support.github_server``) over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.engine import Engine
from core.models import Lifecycle, Zone
from core.review_threads import NewThreads, forward_message, new_threads
from core.zones import zone_of
from tests.conftest import run_git
from tests.support.engine import ao as run_ao
from tests.support.engine import make_engine, recorder_command, write_config
from tests.support.github_server import TOKEN, FakeCheck, FakeThread, GitHubStandIn

REPO = "octo/app"
FAILING_LOG = (
    "2024-05-01T10:00:00.0000000Z ##[group]Run pytest\n"
    "2024-05-01T10:00:01.0000000Z FAILED tests/test_login.py::test_redirect - assert 302 == 200\n"
    "2024-05-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n"
)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn() as server:
        server.repo(REPO)
        yield server


@pytest.fixture
def config(tmp_path: Path, git_repo: Path, github: GitHubStandIn) -> Path:
    # The origin remote would make `scm: auto` choose GitHub; here the block says it.
    return write_config(
        tmp_path,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml=(
            f"    github:\n      repo: {REPO}\n      apiUrl: {github.url}\n      pollInterval: 2\n"
        ),
    )


@pytest.fixture
def engine(config: Path) -> Iterator[Engine]:
    engine = make_engine(config)
    yield engine
    scm = engine.registry.get("scm", "github")
    scm.close()


def ao(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ao(config.parent, "--config", str(config), *args, timeout=120)


def commit(worktree: Path, name: str) -> str:
    (worktree / name).write_text("change\n")
    run_git(worktree, "add", name)
    run_git(worktree, "commit", "-qm", f"add {name}")
    return run_git(worktree, "rev-parse", "HEAD").strip()


def refresh(engine: Engine) -> None:
    """Reconcile once the repository's poll interval (2 s here) has passed."""
    time.sleep(2.1)
    engine.reconcile()


def test_a_session_pr_on_github_drives_zone_ci_threads_and_merge(
    engine: Engine, config: Path, github: GitHubStandIn
) -> None:
    session = engine.spawn("app", "fix the login redirect")
    assert engine.scm("app").name == "github"
    head = commit(Path(session.worktree), "login.py")
    engine.reconcile()
    assert engine.get(session.id).pr is None  # pushed nowhere yet: no PR on GitHub

    pr = github.add_pr(
        REPO,
        session.branch,
        head,
        checks=[FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG), FakeCheck("lint")],
        review_decision="CHANGES_REQUESTED",
        threads=[FakeThread("login.py", 3, "Keep the old redirect for API clients.", "mira")],
    )
    refresh(engine)
    stored = engine.get(session.id).pr
    assert stored is not None
    assert (stored.number, stored.state, stored.ci) == (pr.number, "ci_failed", "failing")
    assert stored.threads[0].body == "Keep the old redirect for API clients."
    assert zone_of(engine.get(session.id)) in (Zone.FIXING, Zone.NEEDS_YOU, Zone.WORKING)

    report = ao(config, "ci", session.id, "--json")
    assert report.returncode == 0, report.stderr
    ci = json.loads(report.stdout)
    assert ci["state"] == "failing" and ci["checks"][0]["name"] == "tests"
    assert "FAILED tests/test_login.py::test_redirect" in ci["checks"][0]["excerpt"]

    refused = ao(config, "merge", session.id, "--yes")
    assert refused.returncode == 8
    assert "CI failing" in refused.stderr and "changes requested" in refused.stderr

    github.update(
        pr,
        checks=[FakeCheck("tests"), FakeCheck("lint")],
        review_decision="APPROVED",
        threads=[],
    )
    refresh(engine)
    stored = engine.get(session.id).pr
    assert stored is not None and stored.state == "mergeable"
    merged = ao(config, "merge", session.id, "--yes", "--json")
    assert merged.returncode == 0, merged.stderr
    assert github.merges[-1]["sha"] == head  # the reviewed head, so a late push is refused
    after = engine.get(session.id)
    assert after.lifecycle is Lifecycle.MERGED


def test_a_bots_and_a_persons_threads_are_stored_apart_and_only_new_ones_are_new(
    engine: Engine, github: GitHubStandIn
) -> None:
    session = engine.spawn("app", "fix the login redirect")
    head = commit(Path(session.worktree), "login.py")
    pr = github.add_pr(
        REPO,
        session.branch,
        head,
        threads=[
            FakeThread("login.py", 3, "Possible open redirect via `next`.", "cursor", bot=True),
            FakeThread("login.py", 7, "Keep the old redirect for API clients.", "mira"),
        ],
    )
    refresh(engine)
    stored = engine.get(session.id).pr
    assert stored is not None
    assert [(t.author, t.bot, t.id) for t in stored.threads] == [
        ("cursor", True, pr.threads[0].id),
        ("mira", False, pr.threads[1].id),
    ]
    first = new_threads(stored, set())
    assert first == NewThreads(bots=stored.threads[:1], humans=stored.threads[1:])
    message = forward_message(first.bots, stored.number)
    assert "1. login.py:3 (cursor[bot]):\nPossible open redirect via `next`." in message
    forwarded = {thread.fingerprint for thread in stored.threads}

    # Replies on both threads and a new one from another reviewer (GitHub moves the PR's
    # updatedAt, so the next poll refetches it): only the new thread is new.
    bot_thread, person = pr.threads
    github.update(
        pr,
        threads=[
            replace(bot_thread, replies=1),
            replace(person, replies=2),
            FakeThread("login.py", 12, "Add a test for the redirect.", "jon"),
        ],
    )
    refresh(engine)
    later = engine.get(session.id).pr
    assert later is not None
    assert [(t.author, t.replies) for t in later.threads] == [
        ("cursor", 1),
        ("mira", 2),
        ("jon", 0),
    ]
    assert [t.fingerprint for t in later.threads[:2]] == [t.fingerprint for t in stored.threads]
    assert new_threads(later, forwarded) == NewThreads(humans=later.threads[2:])


def test_github_failures_show_as_the_pr_problem_and_keep_what_was_known(
    engine: Engine, config: Path, github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = engine.spawn("app", "fix the login redirect")
    head = commit(Path(session.worktree), "login.py")
    github.add_pr(REPO, session.branch, head, checks=[FakeCheck("tests")])
    engine.reconcile()
    stored = engine.get(session.id).pr
    assert stored is not None and stored.state == "open"
    # A new process with a revoked token: the stored PR stays, with the reason beside it.
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "R" * 36)
    status = ao(config, "status", session.id, "--json")
    assert status.returncode == 0, status.stderr
    pr = json.loads(status.stdout)["pr"]
    assert pr["number"] == 1 and pr["state"] == "open"
    assert pr["problem"].startswith("GitHub token rejected (401): Bad credentials")
    assert "ghp_" not in status.stdout + status.stderr


def test_first_tick_without_an_answer_keeps_the_stored_pr(
    engine: Engine, github: GitHubStandIn
) -> None:
    session = engine.spawn("app", "fix the login redirect")
    head = commit(Path(session.worktree), "login.py")
    github.add_pr(REPO, session.branch, head, checks=[FakeCheck("tests")])
    engine.reconcile()
    before = engine.get(session.id).pr
    assert before is not None
    # A fresh engine (a restarted cockpit) in timer mode: the first poll is in flight.
    fresh = make_engine(Path(engine.config.projects["app"].path).parent / "ao.config.yaml")
    try:
        fresh.reconcile(pr_interval=3.0)
        assert fresh.get(session.id).pr == before
    finally:
        fresh.registry.get("scm", "github").close()
