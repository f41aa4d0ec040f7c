"""What a CI failure on a host gives a reaction: held while the host holds its log back,
and, once there, the excerpt with both the saved log and the check's page.

Plain values in, plain values out (:mod:`core.reactions.facts` and ``messages`` read no
store); tests/integration/test_reactions_github.py runs the same against the GitHub
stand-in.
"""

from __future__ import annotations

from pathlib import Path

from core.config_models import Config
from core.models import Activity, ActivityState, Lifecycle, Session, SessionPR, SignalSource
from core.reactions.facts import HOLD, Fact, Sources, observe
from core.reactions.messages import compose
from core.reactions.rules import effective_rules
from core.scm import CheckRun

HEAD = "a" * 40
URL = "https://github.com/octo/app/actions/runs/7/job/8"
EXCERPT = "FAILED tests/test_login.py::test_redirect - assert 302 == 200\n"


def _session() -> Session:
    return Session(
        id="app-1",
        project="app",
        agent="shell",
        title="t",
        prompt="p",
        branch="ao/app-1",
        worktree="/tmp/app-1",
        tmux="ao-app-1",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.IDLE, SignalSource.HOOK, 0.0),
        created_at=0.0,
        updated_at=0.0,
        base_branch="main",
        pr=SessionPR("ci_failed", ci="failing", head_sha=HEAD, base_sha="b" * 40),
    )


def _observe(check: CheckRun, tmp_path: Path) -> object:
    config = Config.model_validate({"projects": {"app": {"path": str(tmp_path)}}})
    rule = effective_rules(config, "app")["ci-failed"]
    sources = Sources(10.0, lambda _s: [check], lambda _s: None)
    return observe("ci-failed", _session(), rule, sources, last_attempt=None)


def test_a_log_the_host_holds_back_holds_the_reaction(tmp_path: Path) -> None:
    pending = CheckRun(
        "tests",
        "failing",
        HEAD,
        excerpt="(log not fetched yet: GitHub secondary rate limit; retrying at 14:05:30)",
        url=URL,
        log_pending=True,
    )
    assert _observe(pending, tmp_path) == HOLD


def test_the_message_names_the_saved_log_and_the_checks_page(tmp_path: Path) -> None:
    check = CheckRun("tests", "failing", HEAD, excerpt=EXCERPT, url=URL, log_path="/s/job-8.log")
    fact = _observe(check, tmp_path)
    assert isinstance(fact, Fact) and fact.summary == "test_redirect"
    config = Config.model_validate({"projects": {"app": {"path": str(tmp_path)}}})
    rule = effective_rules(config, "app")["ci-failed"]
    text = compose("ci-failed", _session(), rule, fact, attempt=1)
    assert text == (
        "CI failed on aaaaaaaaaa (attempt 1 of 2). Fix the failure, run the tests, and commit "
        "the fix.\n"
        "\n"
        f"Check 'tests' failed; the full log is /s/job-8.log; the check is {URL}:\n"
        "\n"
        "FAILED tests/test_login.py::test_redirect - assert 302 == 200\n"
    )
    only_url = compose(
        "ci-failed",
        _session(),
        rule,
        Fact(HEAD, "x", checks=(CheckRun("lint", "failing", HEAD, url=URL),)),
        attempt=1,
    )
    assert f"Check 'lint' failed; the check is {URL}:" in only_url
