"""The ``github`` tracker and ``spawn --issue`` against the local GitHub stand-in (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.engine import Engine
from core.errors import DuplicateTaskError, EngineError
from core.scm import HostSettings
from core.tracker import TrackerError, TrackerTarget
from plugins.tracker.github import GitHubTracker
from tests.support.engine import make_engine, recorder_command, write_config
from tests.support.github_server import TOKEN, Fault, GitHubStandIn

REPO = "octo/app"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn(page_cap=2) as server:
        server.add_issue(
            REPO, 42, "Login redirect loops", body="Steps: open /login", labels=["bug"]
        )
        server.add_issue(REPO, 43, "Old crash", state="closed")
        server.add_issue(REPO, 44, "Dark mode")
        server.add_issue(REPO, 45, "Docs typo", body=None)
        server.add_pr(REPO, "ao/app-9-x", "a" * 40)  # PR #1: GitHub lists it among issues
        yield server


@pytest.fixture
def tracker() -> Iterator[GitHubTracker]:
    plugin = GitHubTracker(timeout=2.0)
    yield plugin
    plugin.close()


def target(server: GitHubStandIn, repo: str = REPO) -> TrackerTarget:
    return TrackerTarget("app", Path(), host=HostSettings(repo=repo, api_url=server.url))


def test_one_issue_and_the_open_list_without_prs(
    github: GitHubStandIn, tracker: GitHubTracker
) -> None:
    issue = tracker.issue(target(github), "42")
    assert (issue.key, issue.title, issue.body, issue.labels, issue.state) == (
        "42",
        "Login redirect loops",
        "Steps: open /login",
        ("bug",),
        "open",
    )
    assert issue.url == "https://github.com/octo/app/issues/42"
    assert issue.where == "octo/app#42"
    # Three pages of two (page_cap): every open issue, no PR, no closed one.
    assert [i.key for i in tracker.issues(target(github))] == ["45", "44", "42"]
    assert [i.key for i in tracker.issues(target(github), limit=2)] == ["45", "44"]
    assert tracker.issue(target(github), "45").body == ""


def test_refusals_are_clear(github: GitHubStandIn, tracker: GitHubTracker) -> None:
    with pytest.raises(TrackerError, match=r"#1 in octo/app is a pull request, not an issue"):
        tracker.issue(target(github), "1")
    with pytest.raises(TrackerError, match=r"issue #99 not found in octo/app"):
        tracker.issue(target(github), "99")
    with pytest.raises(TrackerError, match=r"GitHub issues are numbers; 'T-3'"):
        tracker.issue(target(github), "T-3")
    github.fault("issues", Fault.malformed())
    with pytest.raises(TrackerError, match="malformed answer"):
        tracker.issues(target(github))
    with pytest.raises(TrackerError, match="needs the repository"):
        tracker.issue(TrackerTarget("app", Path()), "42")
    github.fault("issue", Fault.server_error(503))
    with pytest.raises(TrackerError, match=r"GitHub server error \(503\)"):
        tracker.issue(target(github), "42")
    # Backing off: the next call is refused with the same reason and nothing is sent.
    sent = len(github.log())
    with pytest.raises(TrackerError, match=r"server error \(503\).*try again after"):
        tracker.issue(target(github), "42")
    assert len(github.log()) == sent


def test_a_silent_github_times_out_clearly(github: GitHubStandIn, tracker: GitHubTracker) -> None:
    github.fault("issue", Fault.timeout(4.0))
    with pytest.raises(TrackerError, match="did not answer"):
        tracker.issue(target(github), "44")


def test_no_token_says_how_to_get_one(
    github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `gh` either
    plugin = GitHubTracker(timeout=2.0)
    try:
        with pytest.raises(TrackerError, match="no GitHub token: set GITHUB_TOKEN or GH_TOKEN"):
            plugin.issue(target(github), "42")
    finally:
        plugin.close()
    assert github.log() == []


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path, github: GitHubStandIn) -> Iterator[Engine]:
    config = write_config(
        tmp_path,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml=(
            f"    scm: local\n    tracker: github\n    github:\n      repo: {REPO}\n"
            f"      apiUrl: {github.url}\n"
        ),
    )
    engine = make_engine(config)
    yield engine
    engine.registry.get("tracker", "github").close()


def test_spawn_on_a_github_issue(engine: Engine) -> None:
    session = engine.spawn("app", "", issue="#42")
    assert (session.issue, session.title) == ("42", "#42 Login redirect loops")
    assert session.prompt.startswith(
        "Resolve issue #42: Login redirect loops\n(https://github.com/octo/app/issues/42)\n"
        "Labels: bug\n\nSteps: open /login"
    )
    with pytest.raises(DuplicateTaskError):
        engine.spawn("app", "", issue="42")
    with pytest.raises(EngineError, match=r"issue #43 \(octo/app#43\) is closed; pass --force"):
        engine.spawn("app", "", issue="43")
    assert [i.key for i in engine.issues("app")] == ["45", "44", "42"]
