"""The backlog: the lease holder spawns sessions for labelled tracker issues on its own.

Real git, real tmux (test socket), the recorder shell agent; the ``local`` tracker's YAML
task file (it has labels but cannot be labelled: the file is the operator's), and the
GitHub stand-in over real HTTP for the tracker that labels issues in progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.backlog import backlog_pass
from core.config import load_config
from core.daemon import reconcile_loop
from core.engine import Engine
from core.errors import ConfigError
from core.models import Lifecycle
from tests.conftest import run_git
from tests.support.engine import make_engine, recorder_command, write_config
from tests.support.github_server import TOKEN, Fault, GitHubStandIn

TASKS = """\
- id: 1
  title: Fix the flaky login test
  labels: [ao-ready]
- id: 2
  title: Write the release notes
  labels: [docs]
- id: 3
  title: Rename the config loader
  labels: [AO-Ready, refactor]
- id: 4
  title: Ship the dark mode
  labels: [ao-ready]
  done: true
- id: 5
  title: Drop the legacy importer
  labels: [ao-ready]
- id: 6
  title: Speed up the test suite
  labels: [ao-ready]
"""


def _project(tmp_path: Path, repo: Path, project_yaml: str) -> Path:
    config = write_config(
        repo,
        repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml=project_yaml,
    )
    (repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return config


@pytest.fixture
def local(tmp_path: Path, git_repo: Path) -> Engine:
    (git_repo / "tasks.yaml").write_text(TASKS, encoding="utf-8")
    run_git(git_repo, "add", "tasks.yaml")
    run_git(git_repo, "commit", "-qm", "tasks")
    config = _project(
        tmp_path,
        git_repo,
        "    tracker: {plugin: local, path: tasks.yaml}\n"
        "    maxConcurrentSessions: 2\n"
        "    backlog: {label: ao-ready, every: 30s}\n",
    )
    return make_engine(config)


def _issues(engine: Engine) -> list[str]:
    return sorted(s.issue for s in engine.store.list_sessions())


def test_picks_up_labelled_issues_up_to_the_cap_and_never_twice(local: Engine) -> None:
    events = backlog_pass(local, "app")
    # Labelled and open, in file order, two of them (the cap); the label matches any case.
    assert _issues(local) == ["1", "3"]
    assert [(e.kind, e.data) for e in events] == [
        ("backlog", {"issue": "1", "label": "ao-ready", "marked": False}),
        ("backlog", {"issue": "3", "label": "ao-ready", "marked": False}),
    ]
    sessions = {s.issue: s for s in local.store.list_sessions()}
    assert sessions["1"].title == "#1 Fix the flaky login test"
    assert sessions["1"].lifecycle is Lifecycle.RUNNING
    # At the cap: nothing more, however often it runs.
    assert backlog_pass(local, "app") == []
    # A killed session frees its slot, and its issue is not taken again: the next one is.
    local.kill(sessions["1"].id)
    assert [e.data["issue"] for e in backlog_pass(local, "app")] == ["5"]
    local.kill(sessions["3"].id)
    assert [e.data["issue"] for e in backlog_pass(local, "app")] == ["6"]
    # Everything labelled is taken: a free slot stays free.
    local.kill(next(s.id for s in local.store.list_sessions() if s.issue == "5"))
    assert backlog_pass(local, "app") == []
    assert _issues(local) == ["1", "3", "5", "6"]


def test_an_issue_an_operator_already_works_on_is_not_taken(local: Engine) -> None:
    mine = local.spawn("app", "", issue="3")
    events = backlog_pass(local, "app")
    assert [e.data["issue"] for e in events] == ["1"]  # one slot left, #3 is mine
    assert _issues(local) == ["1", "3"]
    assert [s.id for s in local.store.list_sessions() if s.issue == "3"] == [mine.id]


def test_the_lease_holders_loop_picks_up_at_once(local: Engine) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(reconcile_loop(local, stop, react=True))
        try:
            for _ in range(400):
                if len(local.store.list_sessions()) == 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await task

    asyncio.run(run())
    assert _issues(local) == ["1", "3"]
    kinds = [e.kind for e in local.store.events_after(0)]
    assert kinds.count("backlog") == 2


def test_without_the_loop_nothing_is_picked_up(local: Engine) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(reconcile_loop(local, stop, react=False))
        await asyncio.sleep(1.0)
        stop.set()
        await task

    asyncio.run(run())
    assert local.store.list_sessions() == []


def test_bad_backlog_settings_name_the_field(tmp_path: Path, git_repo: Path) -> None:
    for setting, field in (
        ("{label: ao-ready, every: 1s}", "every '1s' must be a duration of at least 10s"),
        ("{label: ''}", "label '' must be 1-50 printable characters"),
        ("{every: 1m}", "label"),
    ):
        config = _project(tmp_path, git_repo, f"    tracker: local\n    backlog: {setting}\n")
        with pytest.raises(ConfigError) as info:
            load_config(config, known_agents=["shell"])
        assert "projects.app.backlog" in str(info.value)
        assert field in str(info.value)
    config = _project(tmp_path, git_repo, "    tracker: local\n    backlog: ao-ready\n")
    backlog = load_config(config, known_agents=["shell"]).config.projects["app"].backlog
    assert backlog is not None
    assert (backlog.label, backlog.seconds, backlog.in_progress_label) == (
        "ao-ready",
        60.0,
        "ao-in-progress",
    )


REPO = "octo/app"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn() as server:
        server.add_issue(REPO, 41, "Login redirect loops", labels=["ao-ready", "bug"])
        server.add_issue(REPO, 42, "Taken elsewhere", labels=["ao-ready", "ao-in-progress"])
        server.add_issue(REPO, 43, "Dark mode", labels=["ao-ready"])
        server.add_issue(REPO, 44, "Not for agents", labels=["bug"])
        server.add_issue(REPO, 45, "Old crash", labels=["ao-ready"], state="closed")
        yield server


@pytest.fixture
def hub(tmp_path: Path, git_repo: Path, github: GitHubStandIn) -> Iterator[Engine]:
    config = _project(
        tmp_path,
        git_repo,
        f"    scm: local\n    tracker: github\n    github:\n      repo: {REPO}\n"
        f"      apiUrl: {github.url}\n"
        "    backlog: {label: ao-ready}\n",
    )
    engine = make_engine(config)
    yield engine
    engine.registry.get("tracker", "github").close()


def test_github_issues_are_labelled_in_progress(hub: Engine, github: GitHubStandIn) -> None:
    events = backlog_pass(hub, "app")
    # Newest first (GitHub's order); #42 carries the in-progress label already.
    assert [(e.data["issue"], e.data["marked"]) for e in events] == [("43", True), ("41", True)]
    issues = github.repos[REPO].issues
    assert issues[41].labels == ["ao-ready", "bug", "ao-in-progress"]
    assert issues[43].labels == ["ao-ready", "ao-in-progress"]
    assert issues[44].labels == ["bug"]
    assert [r.body for r in github.log("issue_labels")] == [
        {"labels": ["ao-in-progress"]},
        {"labels": ["ao-in-progress"]},
    ]
    # No cap set: the backlog stops at five, and it never takes an issue twice.
    assert backlog_pass(hub, "app") == []
    assert len(github.log("issue_labels")) == 2


def test_a_label_that_does_not_stick_keeps_the_session(hub: Engine, github: GitHubStandIn) -> None:
    github.fault("issue_labels", Fault.server_error(403), times=5)
    events = backlog_pass(hub, "app")
    assert [(e.data["issue"], e.data["marked"]) for e in events] == [("43", False), ("41", False)]
    assert _issues(hub) == ["41", "43"]
