"""Agent review with ``scm: github``: a reviewer's comments and verdict become one PR review.

Real parts: git, tmux (test socket), the recorder shell agent, the CLI as a process run as
the reviewer (``AO_TUI_ACTOR``), and the GitHub stand-in (``tests.support.github_server``)
over HTTP on 127.0.0.1; the assertions are on the request bodies it received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.agent_reviews import ReviewBook
from core.engine import Engine
from core.provenance import ACTOR_ENV
from tests.conftest import run_git
from tests.support.engine import make_engine, recorder_command, write_config
from tests.support.github_server import TOKEN, FakeCheck, GitHubStandIn

REPO = "octo/app"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn() as server:
        server.repo(REPO)
        yield server


def configure(tmp_path: Path, git_repo: Path, github: GitHubStandIn, merge: str = "") -> Path:
    return write_config(
        tmp_path,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml=(
            f"    github:\n      repo: {REPO}\n      apiUrl: {github.url}\n      pollInterval: 2\n"
            + merge
        ),
    )


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path, github: GitHubStandIn) -> Iterator[Engine]:
    engine = make_engine(configure(tmp_path, git_repo, github))
    yield engine
    engine.registry.get("scm", "github").close()


def as_reviewer(config: Path, reviewer: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ACTOR_ENV: reviewer}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(config), "review", *args],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def opened(engine: Engine, github: GitHubStandIn, **fields: object) -> tuple[str, str, int]:
    """A session with one commit and its PR on GitHub, green; (id, head, PR number)."""
    session = engine.spawn("app", "fix the login redirect")
    worktree = Path(session.worktree)
    (worktree / "login.py").write_text("REDIRECT = '/home'\n")
    run_git(worktree, "add", "login.py")
    run_git(worktree, "commit", "-qm", "redirect home")
    head = run_git(worktree, "rev-parse", "HEAD").strip()
    pr = github.add_pr(REPO, session.branch, head, checks=[FakeCheck("tests")], **fields)
    return session.id, head, pr.number


def test_request_changes_posts_one_review_with_both_comments(
    engine: Engine, github: GitHubStandIn, tmp_path: Path
) -> None:
    session_id, head, number = opened(engine, github, author="mira")
    config = tmp_path / "ao.config.yaml"
    for line, text in [("1", "the redirect drops the query string"), ("1", "add a test")]:
        made = as_reviewer(
            config, "app-9", "comment", session_id, "--file", "login.py", "--line", line, text
        )
        assert made.returncode == 0, made.stderr
    assert github.reviews == []  # nothing posted until the verdict
    done = as_reviewer(config, "app-9", "request-changes", session_id, "two problems")
    assert done.returncode == 0, done.stderr
    (review,) = github.reviews
    assert review == {
        "number": number,
        "commit_id": head,
        "event": "REQUEST_CHANGES",
        "body": "two problems",
        "comments": [
            {
                "path": "login.py",
                "line": 1,
                "side": "RIGHT",
                "body": "the redirect drops the query string",
            },
            {"path": "login.py", "line": 1, "side": "RIGHT", "body": "add a test"},
        ],
    }
    stored = ReviewBook(engine.store).at(session_id, head)
    assert stored is not None and (stored.state, stored.verdict) == (
        "submitted",
        "changes_requested",
    )


def test_an_agent_approval_is_posted_as_a_comment_unless_it_counts(
    engine: Engine, github: GitHubStandIn, tmp_path: Path
) -> None:
    session_id, head, _number = opened(engine, github, author="mira")
    done = as_reviewer(tmp_path / "ao.config.yaml", "app-9", "approve", session_id, "good")
    assert done.returncode == 0, done.stderr
    (review,) = github.reviews
    # An agent's approval never stands in for a person's on GitHub either.
    assert (review["event"], review["body"], review["commit_id"]) == ("COMMENT", "good", head)


def test_a_review_github_refuses_is_posted_as_one_comment_with_the_findings(
    tmp_path: Path, git_repo: Path, github: GitHubStandIn
) -> None:
    merge = "    merge:\n      agentApprovalCounts: true\n"
    config = configure(tmp_path, git_repo, github, merge)
    engine = make_engine(config)
    try:
        # The token's user opened the PR: GitHub refuses it an APPROVE (422).
        session_id, head, _number = opened(engine, github, author=github.viewer)
        made = as_reviewer(
            config,
            "app-9",
            "comment",
            session_id,
            "--file",
            "login.py",
            "--line",
            "1",
            "consider a constant",
        )
        assert made.returncode == 0, made.stderr
        done = as_reviewer(config, "app-9", "approve", session_id, "fine otherwise")
        assert done.returncode == 0, done.stderr
    finally:
        engine.registry.get("scm", "github").close()
    refused, posted = github.reviews
    assert refused["event"] == "APPROVE" and refused["comments"][0]["body"] == "consider a constant"
    assert posted == {
        "number": refused["number"],
        "commit_id": head,
        "event": "COMMENT",
        "body": "**Approved**\n\nfine otherwise\n\n`login.py:1`: consider a constant",
    }


def test_agent_review_is_off_by_default_on_github_and_says_why(
    tmp_path: Path, git_repo: Path, github: GitHubStandIn
) -> None:
    config = configure(tmp_path, git_repo, github)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    listed = subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(config), "reactions", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    [project] = json.loads(listed.stdout)["projects"]
    rule = next(r for r in project["reactions"] if r["key"] == "agent-review")
    assert (rule["auto"], rule["action"]) == (False, "spawn-reviewer")
    assert rule["sources"]["auto"] == "default (off with scm github)"
