"""The ``github`` SCM against a real local HTTP stand-in for api.github.com and real git repos.

Nothing is mocked on our side: the plugin's own httpx client talks HTTP to
``tests.support.github_server`` on 127.0.0.1, which serves GitHub's documented shapes,
resolves the GraphQL it receives, prices it in points and logs every request. Time is a
manual clock shared by the plugin and the stand-in, so back-off windows and rate-limit
resets are crossed by advancing it, never by sleeping.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.scm import HostSettings, MergeConflictError, PRInfo, ScmTarget, ScmUnavailableError
from core.slots import SlotError
from core.store import Store
from plugins.github.client import Backoff
from plugins.scm.github import UNKNOWN_CONFLICTS, GitHubScm
from tests.conftest import run_git
from tests.support.github_server import (
    TOKEN,
    FakeCheck,
    FakeStatus,
    FakeThread,
    Fault,
    GitHubStandIn,
)

REPO = "octo/app"
POLL = 15.0


class ManualClock:
    """Epoch seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def github(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with GitHubStandIn(clock=clock) as server:
        yield server


def make_scm(clock: ManualClock, **kwargs: object) -> GitHubScm:
    settings: dict[str, object] = {
        "clock": clock,
        "timeout": 5.0,
        "backoff": Backoff(base=10.0, cap=300.0, secondary=60.0),
        "action_timeout": 60.0,
    }
    settings.update(kwargs)
    return GitHubScm(**settings)  # type: ignore[arg-type]


@pytest.fixture
def scm(clock: ManualClock) -> Iterator[GitHubScm]:
    plugin = make_scm(clock)
    yield plugin
    plugin.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "state" / "state.db")
    yield db
    db.close()


def branch(repo: Path, name: str, files: dict[str, str] | None = None) -> str:
    """Create ``name`` from main with one commit; its head sha (main stays checked out)."""
    run_git(repo, "checkout", "-q", "-b", name, "main")
    for path, text in (files or {f"{name.replace('/', '_')}.txt": name}).items():
        (repo / path).write_text(text)
        run_git(repo, "add", path)
    run_git(repo, "commit", "-q", "-m", f"work on {name}")
    run_git(repo, "checkout", "-q", "main")
    return run_git(repo, "rev-parse", name).strip()


def head_of(repo: Path, ref: str) -> str:
    return run_git(repo, "rev-parse", ref).strip()


def target(
    repo: Path, server: GitHubStandIn, name: str, *, repo_name: str = REPO, api_url: str = ""
) -> ScmTarget:
    host = HostSettings(repo=repo_name, api_url=api_url or server.url, poll_interval=POLL)
    return ScmTarget(
        session_id=name.split("/")[-1],
        title=name,
        repo=repo,
        worktree=repo,
        branch=name,
        base="main",
        state_dir=repo / ".state",
        host=host,
    )


def poll(
    scm: GitHubScm, clock: ManualClock, store: Store, targets: list[ScmTarget], step: float = POLL
) -> None:
    """Let a poll interval pass, then poll and wait for it (as a one-shot CLI call does)."""
    clock.advance(step + 1)
    scm.prefetch(targets, store, wait=True)


def info(scm: GitHubScm, store: Store, tgt: ScmTarget) -> PRInfo:
    head = head_of(tgt.repo, tgt.branch)
    found = scm.status(tgt, store, head, head_of(tgt.repo, "main"))
    assert found is not None, f"no PR for {tgt.branch}"
    return found


# -- finding PRs and polling cheaply -------------------------------------------------------


def test_pr_is_found_by_head_branch_across_pages(
    git_repo: Path, clock: ManualClock, store: Store
) -> None:
    sha = branch(git_repo, "ao/app-1-login")
    with GitHubStandIn(clock=clock, page_cap=10) as server:
        mine = server.add_pr(REPO, "ao/app-1-login", sha)  # the oldest: on the last page
        for i in range(24):
            server.add_pr(REPO, f"someone/else-{i}", f"{i:040x}")
        server.add_pr(REPO, "ao/app-1-login", "f" * 40, head_repo="fork/app")  # a fork's PR
        with pytest.MonkeyPatch.context() as env:
            env.setenv("GITHUB_TOKEN", TOKEN)
            plugin = make_scm(clock)
            try:
                tgt = target(git_repo, server, "ao/app-1-login")
                poll(plugin, clock, store, [tgt])
                pr = info(plugin, store, tgt)
            finally:
                plugin.close()
        pages = server.log("pulls")
    assert pr.number == mine.number
    assert pr.head_sha == sha
    assert pr.url == f"https://github.com/{REPO}/pull/{mine.number}"
    assert [r.path.split("page=")[-1] for r in pages[1:]] == ["2", "3"]
    assert all(r.auth == "valid" and r.status == 200 for r in pages)


def test_unchanged_repository_costs_one_conditional_request_and_no_points(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    targets = []
    for i in range(3):
        name = f"ao/app-{i}-task"
        github.add_pr(REPO, name, branch(git_repo, name), checks=[FakeCheck("tests")])
        targets.append(target(git_repo, github, name))
    poll(scm, clock, store, targets)
    assert len(github.log("graphql")) == 1  # first poll: all three in one query
    github.clear_log()

    poll(scm, clock, store, targets)

    requests = github.log()
    assert [(r.endpoint, r.status) for r in requests] == [("pulls", 304)]
    assert "if-none-match" in {k.lower() for k in requests[0].headers}
    assert github.graphql_points == 0
    assert github.core_used == 0  # a 304 does not count against the rate limit
    assert {info(scm, store, t).state for t in targets} == {"open"}


def test_a_push_refreshes_that_pr_only_and_notes_a_local_head_that_differs(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    shas = {name: branch(git_repo, name) for name in ("ao/app-1-a", "ao/app-2-b")}
    prs = {name: github.add_pr(REPO, name, sha) for name, sha in shas.items()}
    targets = [target(git_repo, github, name) for name in shas]
    poll(scm, clock, store, targets)
    github.clear_log()
    github.update(prs["ao/app-1-a"], head_sha="c" * 40)

    poll(scm, clock, store, targets)

    assert [(r.endpoint, r.status) for r in github.log()] == [("pulls", 200), ("graphql", 200)]
    assert "pullRequest(number: 1)" in github.graphql_queries[0]
    assert "pullRequest(number: 2)" not in github.graphql_queries[0]
    pushed = info(scm, store, targets[0])
    assert pushed.head_sha == "c" * 40
    assert any("not pushed?" in note for note in pushed.notes)
    assert info(scm, store, targets[1]).notes == []


def test_thirty_prs_are_asked_about_in_two_graphql_queries(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    head = head_of(git_repo, "main")
    targets = []
    for i in range(30):
        name = f"ao/app-{i}-bulk"
        run_git(git_repo, "branch", name, head)
        github.add_pr(REPO, name, head, commits=i + 1)
        targets.append(target(git_repo, github, name))

    poll(scm, clock, store, targets)

    assert len(github.log("graphql")) == 2
    assert [scm.status(t, store, head, head) is not None for t in targets] == [True] * 30
    found = scm.status(targets[29], store, head, head)
    assert found is not None and found.ahead == 30


def test_more_than_a_hundred_check_contexts_are_all_fetched(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-many-checks"
    checks = [FakeCheck(f"job-{i:03d}") for i in range(120)]
    checks.append(FakeCheck("job-late", conclusion="FAILURE", log="boom"))
    statuses = [FakeStatus(f"ci/legacy-{i}") for i in range(15)]
    github.add_pr(REPO, name, branch(git_repo, name), checks=checks, statuses=statuses)
    tgt = target(git_repo, github, name)

    poll(scm, clock, store, [tgt])

    pr = info(scm, store, tgt)
    assert len(pr.checks) == 136
    assert {c.name for c in pr.checks} >= {"job-000", "job-119", "job-late", "ci/legacy-14"}
    assert pr.checks[0].name == "job-late"  # failing first
    assert pr.ci == "failing"
    assert len(github.log("graphql")) == 2  # the batch, then one follow-up page
    assert "after:" in github.graphql_queries[1]


def test_review_threads_are_paginated_and_resolved_ones_left_out(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-reviewed"
    threads = [
        FakeThread(f"src/f{i}.py", i + 1, f"please fix {i}", resolved=i % 6 == 0, replies=i % 3)
        for i in range(70)
    ]
    github.add_pr(REPO, name, branch(git_repo, name), threads=threads)
    tgt = target(git_repo, github, name)

    poll(scm, clock, store, [tgt])

    pr = info(scm, store, tgt)
    expected = [t for t in threads if not t.resolved]
    assert [(t.path, t.line, t.body) for t in pr.threads] == [
        (t.path, t.line, t.body) for t in expected
    ]
    assert [t.replies for t in pr.threads] == [t.replies for t in expected]
    assert pr.threads[0].author == "reviewer"
    assert pr.to_session_pr().to_json()["threads"][0]["path"] == "src/f1.py"


# -- state mapping --------------------------------------------------------------------------


def test_github_facts_map_to_board_states(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    cases: dict[str, dict[str, Any]] = {
        "ao/app-1-red": {"checks": [FakeCheck("tests", conclusion="FAILURE")]},
        "ao/app-2-changes": {
            "review_decision": "CHANGES_REQUESTED",
            "checks": [FakeCheck("tests")],
        },
        "ao/app-3-green": {
            "review_decision": "APPROVED",
            "checks": [FakeCheck("tests"), FakeCheck("lint", conclusion="SKIPPED")],
            "statuses": [FakeStatus("ci/legacy")],
        },
        "ao/app-4-draft": {"draft": True},
        "ao/app-5-running": {"checks": [FakeCheck("tests", status="IN_PROGRESS", conclusion=None)]},
        "ao/app-6-pending-review": {"review_decision": "REVIEW_REQUIRED"},
    }
    targets = {}
    for name, fields in cases.items():
        github.add_pr(REPO, name, branch(git_repo, name), **fields)
        targets[name] = target(git_repo, github, name)

    poll(scm, clock, store, list(targets.values()))

    states = {name: info(scm, store, t) for name, t in targets.items()}
    assert states["ao/app-1-red"].state == "ci_failed"
    assert states["ao/app-2-changes"].state == "changes_requested"
    assert states["ao/app-2-changes"].review == "changes_requested"
    green = states["ao/app-3-green"]
    assert (green.state, green.ci, green.review, green.blockers) == (
        "mergeable",
        "passing",
        "approved",
        [],
    )
    assert states["ao/app-4-draft"].state == "draft"
    assert states["ao/app-4-draft"].ci == "none"
    assert states["ao/app-5-running"].state == "ci_running"
    assert states["ao/app-6-pending-review"].review == "pending"


def test_a_merged_pr_is_learned_by_number_once_it_leaves_the_open_list(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-done"
    pr = github.add_pr(REPO, name, branch(git_repo, name), review_decision="APPROVED")
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    github.clear_log()
    github.update(pr, state="MERGED")

    poll(scm, clock, store, [tgt])

    merged = info(scm, store, tgt)
    assert merged.merged and merged.state == "merged"
    assert "pullRequest(number: 1)" in github.graphql_queries[0]
    github.clear_log()
    poll(scm, clock, store, [tgt])
    assert [r.endpoint for r in github.log()] == ["pulls"]  # merged is final: no more GraphQL


def test_a_pr_merged_before_the_process_started_is_found_by_branch(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-old"
    github.add_pr(REPO, name, branch(git_repo, name), state="MERGED")
    github.add_pr(REPO, "ao/app-2-closed", branch(git_repo, "ao/app-2-closed"), state="CLOSED")
    branch(git_repo, "ao/app-3-no-pr")
    targets = [target(git_repo, github, n) for n in (name, "ao/app-2-closed", "ao/app-3-no-pr")]

    poll(scm, clock, store, targets)

    assert info(scm, store, targets[0]).state == "merged"
    head = head_of(git_repo, "ao/app-2-closed")
    assert scm.status(targets[1], store, head, head_of(git_repo, "main")) is None
    head = head_of(git_repo, "ao/app-3-no-pr")
    assert scm.status(targets[2], store, head, head_of(git_repo, "main")) is None
    assert 'headRefName: "ao/app-3-no-pr"' in github.graphql_queries[0]
    github.clear_log()
    poll(scm, clock, store, targets)  # looked up a moment ago: not again yet
    assert [r.endpoint for r in github.log()] == ["pulls"]
    poll(scm, clock, store, targets, step=POLL * 4)
    assert 'headRefName: "ao/app-3-no-pr"' in github.graphql_queries[-1]


def test_conflicts_name_local_files_or_say_they_are_unknown(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    clash = branch(git_repo, "ao/app-1-clash", {"README.md": "# mine\n"})
    (git_repo / "README.md").write_text("# theirs\n")
    run_git(git_repo, "commit", "-q", "-am", "base moves on")
    clean = branch(git_repo, "ao/app-2-clean", {"other.txt": "x\n"})
    github.add_pr(REPO, "ao/app-1-clash", clash, mergeable="CONFLICTING", merge_state="DIRTY")
    github.add_pr(REPO, "ao/app-2-clean", clean, mergeable="CONFLICTING", merge_state="DIRTY")
    targets = [target(git_repo, github, n) for n in ("ao/app-1-clash", "ao/app-2-clean")]

    poll(scm, clock, store, targets)

    clashing = info(scm, store, targets[0])
    assert clashing.state == "conflicts"
    assert clashing.conflicts == ("README.md",)
    assert info(scm, store, targets[1]).conflicts == (UNKNOWN_CONFLICTS,)
    with pytest.raises(MergeConflictError) as raised:
        scm.merge(targets[0], "squash", clash)
    assert raised.value.files == ["README.md"]
    assert github.log("merge") == []


def test_behind_base_is_reported_with_the_local_count(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    sha = branch(git_repo, "ao/app-1-behind")
    for i in range(2):
        (git_repo / f"base{i}.txt").write_text("x\n")
        run_git(git_repo, "add", f"base{i}.txt")
        run_git(git_repo, "commit", "-q", "-m", f"base {i}")
    github.add_pr(REPO, "ao/app-1-behind", sha, merge_state="BEHIND", review_decision="APPROVED")
    tgt = target(git_repo, github, "ao/app-1-behind")

    poll(scm, clock, store, [tgt])

    pr = info(scm, store, tgt)
    assert pr.behind == 2
    assert "behind base by 2 commits" in pr.notes
    assert pr.state == "mergeable"


def test_running_ci_is_followed_although_the_list_does_not_change(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-ci"
    check = FakeCheck("tests", status="IN_PROGRESS", conclusion=None)
    pr = github.add_pr(REPO, name, branch(git_repo, name), checks=[check])
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).state == "ci_running"
    github.clear_log()
    github.update(pr, touch=False, checks=[FakeCheck("tests")])  # completion: no new ETag

    poll(scm, clock, store, [tgt])

    assert [(r.endpoint, r.status) for r in github.log()] == [("pulls", 304), ("graphql", 200)]
    assert info(scm, store, tgt).ci == "passing"
    github.clear_log()
    poll(scm, clock, store, [tgt])
    assert [r.endpoint for r in github.log()] == ["pulls"]


def test_a_full_refresh_runs_every_five_minutes_as_a_safety_net(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-quiet"
    pr = github.add_pr(REPO, name, branch(git_repo, name))
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    github.update(pr, touch=False, review_decision="APPROVED")  # a change the ETag misses
    github.clear_log()
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).review == "pending"

    poll(scm, clock, store, [tgt], step=300)

    assert len(github.log("graphql")) == 1
    assert info(scm, store, tgt).review == "approved"


def test_asking_about_one_session_keeps_the_others_known(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    names = [f"ao/app-{i}-shared" for i in range(3)]
    for name in names:
        github.add_pr(REPO, name, branch(git_repo, name))
    targets = [target(git_repo, github, name) for name in names]
    poll(scm, clock, store, targets)  # the timer loop: the whole project

    poll(scm, clock, store, targets[:1])  # a CLI verb in the same process: one session

    assert [info(scm, store, t).number for t in targets] == [1, 2, 3]


def test_prefetch_without_wait_returns_before_github_answers(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-slow"
    sha = branch(git_repo, name)
    github.add_pr(REPO, name, sha)
    tgt = target(git_repo, github, name)
    github.fault("pulls", Fault.timeout(4.0))  # answers after 4 s (the client waits 5 s)

    scm.prefetch([tgt], store, wait=False)

    with pytest.raises(ScmUnavailableError, match="waiting for GitHub's first answer"):
        scm.status(tgt, store, sha, head_of(git_repo, "main"))
    scm.prefetch([tgt], store, wait=True)  # joins the poll already running
    assert info(scm, store, tgt).head_sha == sha
    assert len(github.log("pulls")) == 1


def test_enterprise_roots_use_api_graphql(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-ghe"
    github.add_pr(REPO, name, branch(git_repo, name))
    tgt = target(git_repo, github, name, api_url=f"{github.url}/api/v3")

    poll(scm, clock, store, [tgt])

    assert info(scm, store, tgt).number == 1
    assert [r.path.split("?")[0] for r in github.log()] == [
        "/api/v3/repos/octo/app/pulls",
        "/api/graphql",
    ]


# -- CI logs, rerun, approve, merge -----------------------------------------------------


def _stamped(lines: list[str]) -> str:
    """Lines as GitHub serves a job log: each behind an ISO timestamp."""
    return "\n".join(
        f"2024-05-01T10:00:{i % 60:02d}.{i:07d}Z {line}" for i, line in enumerate(lines)
    )


FAILING_LOG = _stamped(
    [
        "##[group]Run actions/checkout@v4",
        *[f"checkout line {i}" for i in range(200)],
        "##[endgroup]",
        "##[group]Run python -m pytest -q",
        *[f"tests/test_ok.py::test_{i} PASSED" for i in range(150)],
        "=" * 35 + " FAILURES " + "=" * 35,
        "_" * 30 + " test_login " + "_" * 30,
        "    def test_login():",
        ">       assert login('ann') == 200",
        "E       AssertionError: expected 200, got 500",
        "=" * 27 + " short test summary info " + "=" * 27,
        "FAILED tests/test_auth.py::test_login - AssertionError: expected 200, got 500",
        "=" * 25 + " 1 failed, 150 passed in 3.21s " + "=" * 25,
        "##[error]Process completed with exit code 1.",
    ]
)


def test_failing_job_log_is_cut_to_the_failure_and_fetched_once(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-red"
    sha = branch(git_repo, name)
    checks = [
        FakeCheck("lint"),
        FakeCheck("tests", conclusion="FAILURE", log=FAILING_LOG),
        FakeCheck("external", conclusion="FAILURE", run_id=None),  # not GitHub Actions
    ]
    github.add_pr(REPO, name, sha, checks=checks, statuses=[FakeStatus("ci/legacy", "PENDING")])
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])

    runs = scm.checks(tgt, store, sha)

    assert [r.state for r in runs] == ["failing", "failing", "running", "passing"]
    tests = next(r for r in runs if r.name == "tests")
    assert "FAILED tests/test_auth.py::test_login" in tests.excerpt
    assert "AssertionError: expected 200, got 500" in tests.excerpt
    assert "checkout line 7" not in tests.excerpt
    assert "test_ok.py::test_3 PASSED" not in tests.excerpt
    assert "2024-05-01T10" not in tests.excerpt
    assert tests.head_sha == sha and tests.duration == 42.0
    assert tests.url and tests.url.endswith(f"/job/{checks[1].job_id}")
    assert next(r for r in runs if r.name == "external").excerpt == ""
    blob = github.log("log_blob")
    assert len(blob) == 1 and blob[0].host.startswith("localhost:")
    assert blob[0].auth == "none"  # the token never leaves the API's origin
    scm.checks(tgt, store, sha)
    assert len(github.log("logs")) == 1  # cached by check id
    assert "AssertionError" in info(scm, store, tgt).checks[0].excerpt
    # The whole log is kept in the session's dir for the CI view's full-log key.
    assert Path(tests.log_path) == tgt.state_dir / f"github-job-{checks[1].job_id}.log"
    assert "test_ok.py::test_3 PASSED" in Path(tests.log_path).read_text(encoding="utf-8")


def test_rerun_restarts_each_failing_workflow_run_once(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-flaky"
    sha = branch(git_repo, name)
    checks = [FakeCheck("unit", conclusion="FAILURE"), FakeCheck("lint")]
    pr = github.add_pr(REPO, name, sha, checks=checks)
    e2e = FakeCheck("e2e", "TIMED_OUT", run_id=checks[0].run_id)  # same workflow run
    github.update(pr, touch=False, checks=[*checks, e2e])
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])

    assert scm.start_ci(tgt, store, sha, rerun=False) is False
    assert github.log("rerun") == []
    assert scm.start_ci(tgt, store, sha, rerun=True) is True

    assert github.reruns == [checks[0].run_id]
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).ci == "running"


def test_approve_posts_a_review_of_the_given_head(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-approve"
    sha = branch(git_repo, name)
    github.add_pr(REPO, name, sha, checks=[FakeCheck("tests")])
    github.add_pr(REPO, "ao/app-2-mine", branch(git_repo, "ao/app-2-mine"), author="octo-operator")
    tgt, own = target(git_repo, github, name), target(git_repo, github, "ao/app-2-mine")
    poll(scm, clock, store, [tgt, own])

    scm.approve(tgt, store, sha)

    assert github.reviews == [{"number": 1, "event": "APPROVE", "commit_id": sha}]
    poll(scm, clock, store, [tgt, own])
    assert info(scm, store, tgt).state == "mergeable"
    with pytest.raises(SlotError, match="Can not approve your own pull request"):
        scm.approve(own, store, head_of(git_repo, "ao/app-2-mine"))


def test_an_approval_of_an_older_head_does_not_approve_a_push(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-late-push"
    sha = branch(git_repo, name)
    pr = github.add_pr(REPO, name, sha, checks=[FakeCheck("tests")])
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    scm.approve(tgt, store, sha)
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).state == "mergeable"
    # The agent pushes after the review; GitHub still says APPROVED (no stale dismissal).
    github.update(pr, head_sha="c" * 40, commits=2)
    poll(scm, clock, store, [tgt])
    pushed = info(scm, store, tgt)
    assert pushed.review == "stale" and pushed.state == "review_pending"
    assert "approval is for an older head" in pushed.blockers


def test_merge_names_the_reviewed_head_and_reports_the_new_commit(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    name = "ao/app-1-ship"
    sha = branch(git_repo, name)
    github.add_pr(REPO, name, sha, review_decision="APPROVED")
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])

    result = scm.merge(tgt, "squash", sha)

    assert github.merges == [{"number": 1, "sha": sha, "merge_method": "squash"}]
    assert len(result.sha) == 40 and result.method == "squash"
    assert any("git pull" in note for note in result.notes)
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).state == "merged"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, r"head of PR #1 moved since review \(Head branch was modified"),
        (Fault.message(405, "Pull Request is not mergeable"), "not mergeable: Pull Request is"),
        (
            Fault(422, {"message": "Validation Failed", "errors": ["merge_method not allowed"]}),
            "GitHub refused to merge PR #1: Validation Failed",
        ),
    ],
)
def test_merge_refusals_are_clear(
    git_repo: Path,
    github: GitHubStandIn,
    scm: GitHubScm,
    clock: ManualClock,
    store: Store,
    fault: Fault | None,
    expected: str,
) -> None:
    name = "ao/app-1-refused"
    sha = branch(git_repo, name)
    pr = github.add_pr(REPO, name, sha, review_decision="APPROVED")
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    if fault is None:
        github.update(pr, head_sha="d" * 40)  # pushed after review
    else:
        github.fault("merge", fault)

    with pytest.raises(SlotError, match=expected) as raised:
        scm.merge(tgt, "merge", sha)

    assert "\n" not in str(raised.value)
    assert github.log("merge")[0].body == {"sha": sha, "merge_method": "merge"}


# -- failures ---------------------------------------------------------------------------------


def _known(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> ScmTarget:
    """A session whose PR has been seen once, with CI running (so each poll asks GraphQL)."""
    name = "ao/app-1-known"
    running = FakeCheck("tests", status="IN_PROGRESS", conclusion=None)
    github.add_pr(REPO, name, branch(git_repo, name), checks=[running])
    tgt = target(git_repo, github, name)
    poll(scm, clock, store, [tgt])
    github.clear_log()
    return tgt


def test_no_token_says_how_to_get_one(
    git_repo: Path,
    github: GitHubStandIn,
    scm: GitHubScm,
    clock: ManualClock,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no gh either
    tgt = target(git_repo, github, "ao/app-1-x")

    poll(scm, clock, store, [tgt])

    with pytest.raises(ScmUnavailableError) as raised:
        scm.status(tgt, store, "a" * 40, "b" * 40)
    message = str(raised.value)
    assert "set GITHUB_TOKEN or GH_TOKEN" in message
    assert "gh auth login" in message and "scm: local" in message
    assert github.log() == []


def test_rejected_token_is_named_and_the_token_is_not(
    git_repo: Path,
    github: GitHubStandIn,
    scm: GitHubScm,
    clock: ManualClock,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "ghp_" + "W" * 36
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    github.repo(REPO)  # exists, with no PR
    tgt = target(git_repo, github, "ao/app-1-x")

    poll(scm, clock, store, [tgt])

    with pytest.raises(
        ScmUnavailableError, match=r"GitHub token rejected \(401\): Bad credentials"
    ):
        scm.status(tgt, store, "a" * 40, "b" * 40)
    assert github.log()[0].auth == "invalid"
    assert wrong not in github.dump()
    # A rotated token is picked up once the back-off (10 s here) is over, without a restart.
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    sent = len(github.log())
    poll(scm, clock, store, [tgt])
    assert [r.auth for r in github.log()[sent:]][:1] == ["valid"]
    assert scm.status(tgt, store, "a" * 40, "b" * 40) is None  # known now: no PR there


def test_primary_rate_limit_sends_nothing_until_the_reset(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    reset = clock() + 600
    github.fault("pulls", Fault.primary_limit(reset))

    poll(scm, clock, store, [tgt])

    pr = info(scm, store, tgt)
    assert pr.problem.startswith("GitHub rate limit reached; retrying at ")
    assert re.search(r" \(data from \d\d:\d\d\)$", pr.problem), pr.problem
    assert pr.state == "ci_running"  # the last known facts stay
    sent = len(github.log())
    for _ in range(5):
        poll(scm, clock, store, [tgt], step=60)
    assert clock() < reset and len(github.log()) == sent
    # The text stays the same while nothing changes: no new event every minute.
    assert info(scm, store, tgt).problem == pr.problem
    poll(scm, clock, store, [tgt], step=reset - clock())
    assert len(github.log()) > sent
    assert info(scm, store, tgt).problem == ""


def test_graphql_primary_limit_only_stops_graphql(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    github.fault("graphql", Fault.primary_limit(clock() + 900))
    poll(scm, clock, store, [tgt])
    assert "rate limit reached" in info(scm, store, tgt).problem
    github.clear_log()

    poll(scm, clock, store, [tgt])

    assert [r.endpoint for r in github.log()] == ["pulls"]


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_waits_retry_after_with_no_request_in_between(
    git_repo: Path,
    github: GitHubStandIn,
    scm: GitHubScm,
    clock: ManualClock,
    store: Store,
    status: int,
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    github.fault("graphql", Fault.secondary_limit(retry_after=120, status=status))
    poll(scm, clock, store, [tgt])
    hit = clock()
    assert info(scm, store, tgt).problem.startswith("GitHub secondary rate limit; retrying at ")
    sent = len(github.log())

    poll(scm, clock, store, [tgt], step=50)
    poll(scm, clock, store, [tgt], step=50)

    assert clock() - hit < 120
    assert len(github.log()) == sent
    poll(scm, clock, store, [tgt], step=30)
    assert clock() - hit >= 120
    assert [r.endpoint for r in github.log()[sent:]] == ["pulls", "graphql"]
    assert info(scm, store, tgt).problem == ""


def test_repeated_secondary_limits_without_retry_after_back_off_longer(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    github.fault("pulls", Fault.secondary_limit(), times=2)
    poll(scm, clock, store, [tgt])  # first: 60 s (the default)
    first = clock()
    poll(scm, clock, store, [tgt], step=60)
    second = github.log()[-1].at
    assert second - first >= 60
    sent = len(github.log())

    poll(scm, clock, store, [tgt], step=100)  # the second pause is 120 s

    assert len(github.log()) == sent
    poll(scm, clock, store, [tgt], step=20)
    assert len(github.log()) > sent


def test_unknown_repository_says_not_found_or_no_access(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = target(git_repo, github, "ao/app-1-x", repo_name="octo/nope")

    poll(scm, clock, store, [tgt])

    with pytest.raises(
        ScmUnavailableError, match="repository octo/nope not found or token lacks access"
    ):
        scm.status(tgt, store, "a" * 40, "b" * 40)


def test_server_errors_back_off_exponentially(
    git_repo: Path, github: GitHubStandIn, clock: ManualClock, store: Store
) -> None:
    plugin = make_scm(clock, backoff=Backoff(base=40.0, cap=300.0))
    try:
        tgt = _known(git_repo, github, plugin, clock, store)
        github.fault("graphql", Fault.server_error(502), times=2)
        poll(plugin, clock, store, [tgt])
        problem = info(plugin, store, tgt).problem
        assert problem.startswith("GitHub server error (502) on POST /graphql; retrying at ")
        poll(plugin, clock, store, [tgt], step=40)  # the first pause is 40 s
        sent = len(github.log())
        assert github.log()[-1].status == 502

        poll(plugin, clock, store, [tgt], step=40)  # the second is 80 s

        assert len(github.log()) == sent
        poll(plugin, clock, store, [tgt], step=40)
        assert github.log()[-1].status == 200
        assert info(plugin, store, tgt).problem == ""
    finally:
        plugin.close()


def test_a_timeout_is_a_clear_problem(
    git_repo: Path, github: GitHubStandIn, clock: ManualClock, store: Store
) -> None:
    plugin = make_scm(clock, timeout=0.5)
    try:
        tgt = _known(git_repo, github, plugin, clock, store)
        github.fault("pulls", Fault.timeout(3.0))

        poll(plugin, clock, store, [tgt])

        problem = info(plugin, store, tgt).problem
    finally:
        plugin.close()
    assert problem.startswith("GitHub did not answer GET /repos/octo/app/pulls within 0.5s")


def test_malformed_json_is_a_problem_not_a_crash(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    github.fault("graphql", Fault.malformed())

    poll(scm, clock, store, [tgt])

    pr = info(scm, store, tgt)
    assert pr.problem.startswith("GitHub sent a malformed answer to POST /graphql (not JSON)")
    poll(scm, clock, store, [tgt])
    assert info(scm, store, tgt).problem == ""


def test_the_token_appears_only_in_the_authorization_header(
    git_repo: Path, github: GitHubStandIn, scm: GitHubScm, clock: ManualClock, store: Store
) -> None:
    tgt = _known(git_repo, github, scm, clock, store)
    texts = []
    for endpoint, fault in [
        ("pulls", Fault.unauthorized()),
        ("pulls", Fault.server_error(503)),
        ("graphql", Fault.malformed()),
        ("pulls", Fault.secondary_limit(5)),
        ("pulls", Fault.message(403, f"token {TOKEN} is not allowed")),
    ]:
        github.fault(endpoint, fault)
        poll(scm, clock, store, [tgt], step=400)
        texts.append(info(scm, store, tgt).problem)
    github.fault("merge", Fault.message(422, f"echo {TOKEN}"))
    with pytest.raises(SlotError) as raised:
        scm.merge(tgt, "merge", head_of(git_repo, tgt.branch))
    texts.append(str(raised.value))

    assert all(texts), texts
    assert not any(TOKEN in text for text in texts), texts
    assert TOKEN not in github.dump()
    assert {r.auth for r in github.log() if r.endpoint != "log_blob"} == {"valid"}
    assert TOKEN not in repr(vars(scm))
