"""The morning report from a recorded night: a real store built by the test with sessions
of known outcomes and the events ao-tui writes for them, read back by ``build_report`` and
by the real ``ao-tui report`` in a subprocess (text and ``--json``).

The night: 12 sessions. 3 merged (one after two CI cycles and reactions, one after the
operator stepped in), 4 escalated (2 auth, 1 CI, 1 conflict), 1 open, 1 working, 1 killed
by the operator, 2 died (exit status 1; tmux gone).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from core.config_report import ReportConfig
from core.engine import Engine
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    ReactionMark,
    Role,
    Session,
    SessionPR,
    SignalSource,
)
from core.report import build_report, summary
from core.store import _append_event as append_event_at
from tests.support.engine import ao, make_engine, write_config

NOW = time.time()
HOUR = 3600.0
AUTH_ERROR = 'API Error: 401 {"type":"error","error":{"type":"authentication_error"}}'


def _session(sid: str, hours_ago: float, **kw: Any) -> Session:
    created = NOW - hours_ago * HOUR
    values: dict[str, Any] = {
        "id": sid,
        "project": "app",
        "agent": "shell",
        "title": f"task of {sid}",
        "prompt": f"task of {sid}",
        "branch": f"ao/{sid}",
        "worktree": f"/nowhere/{sid}",
        "tmux": f"ao-{sid}",
        "lifecycle": Lifecycle.RUNNING,
        "activity": Activity(
            ActivityState.WORKING, SignalSource.HOOK, created, kw.pop("detail", "")
        ),
        "created_at": created,
        "updated_at": created,
    }
    values.update(kw)
    return Session(**values)


def _escalated(key: str, reason: str) -> ReactionMark:
    return ReactionMark(key, "escalated", attempts=2, budget=2, tier=3, reason=reason, since=NOW)


NIGHT: list[tuple[Session, list[tuple[float, str, dict[str, Any]]]]] = [
    (
        _session(
            "app-1",
            10,
            lifecycle=Lifecycle.MERGED,
            pr=SessionPR("merged", number=1),
            extra={"tokens": 48_200, "cost_usd": 0.61},
        ),
        [
            (9.5, "ci-failed", {"head_sha": "aaa111"}),
            (9.4, "reaction", {"key": "ci-failed", "outcome": "sent", "attempt": 1}),
            (9.4, "message", {"result": "delivered"}),
            (9.0, "ci-failed", {"head_sha": "bbb222"}),
            (8.9, "reaction", {"key": "ci-failed", "outcome": "sent", "attempt": 2}),
            (8.9, "message", {"result": "delivered"}),
            (8.0, "reaction", {"key": "ci-failed", "outcome": "cleared", "attempt": 2}),
            (7.5, "merged", {"sha": "ccc333"}),
        ],
    ),
    (
        _session(
            "app-2",
            9,
            lifecycle=Lifecycle.MERGED,
            pr=SessionPR("merged", number=2),
            extra={"tokens": {"input": 1_000_000, "output": 100_000}, "model": "claude-sonnet-4-5"},
        ),
        [
            (8.0, "message", {"result": "delivered"}),  # the operator, from the cockpit
            (7.9, "responded", {"answer": "yes"}),
            (7.0, "approved", {"head_sha": "ddd"}),
            (6.0, "merged", {"sha": "eee"}),
        ],
    ),
    (_session("app-3", 8, lifecycle=Lifecycle.MERGED), [(7.0, "merged", {"sha": "fff"})]),
    (
        _session(
            "app-4",
            8,
            detail="API error (retry 7/10): 401 authentication_error",
            reaction=_escalated("agent-stuck", "no progress for 15m"),
        ),
        [
            (7.0, "reaction", {"key": "agent-stuck", "outcome": "escalated", "reason": "x"}),
            (7.0, "error", {"message": AUTH_ERROR}),
        ],
    ),
    (
        _session(
            "app-5",
            7,
            reaction=_escalated("agent-exited", "Invalid API key · Please run /login"),
        ),
        [],
    ),
    (
        _session(
            "app-6",
            7,
            pr=SessionPR("ci_failed", number=6, ci="failing"),
            reaction=_escalated("ci-failed", "CI still failing after 2 fixes: test_login"),
        ),
        [
            (6.0, "ci-failed", {"head_sha": "a1"}),
            (5.5, "reaction", {"key": "ci-failed", "outcome": "sent", "attempt": 1}),
            (5.5, "message", {"result": "delivered"}),
            (5.0, "ci-failed", {"head_sha": "a2"}),
            (4.5, "reaction", {"key": "ci-failed", "outcome": "sent", "attempt": 2}),
            (4.5, "message", {"result": "delivered"}),
            (4.0, "ci-failed", {"head_sha": "a3"}),
            (4.0, "reaction", {"key": "ci-failed", "outcome": "escalated", "reason": "still"}),
        ],
    ),
    (
        _session(
            "app-7",
            6,
            pr=SessionPR("conflicts", number=7),
            reaction=_escalated("merge-conflicts", "the branch conflicts with main in app.py"),
        ),
        [(3.0, "reaction", {"key": "merge-conflicts", "outcome": "escalated"})],
    ),
    (_session("app-8", 5, pr=SessionPR("review_pending", number=8)), []),
    (_session("app-9", 1), []),
    (
        _session(
            "app-10",
            6,
            lifecycle=Lifecycle.KILLED,
            lifecycle_reason="killed by operator",
        ),
        [],
    ),
    (
        _session(
            "app-11",
            5,
            lifecycle=Lifecycle.EXITED,
            lifecycle_reason="agent exited with status 1",
        ),
        [],
    ),
    (
        _session(
            "app-12",
            4,
            lifecycle=Lifecycle.EXITED,
            lifecycle_reason="its tmux session is gone",
        ),
        [],
    ),
]

EXPECTED = {
    # session: (outcome, cause, ci cycles, reactions, interventions)
    "app-1": ("merged", "", 2, 2, 0),
    "app-2": ("merged", "", 0, 0, 3),
    "app-3": ("merged", "", 0, 0, 0),
    "app-4": ("escalated", "auth", 0, 1, 0),
    "app-5": ("escalated", "auth", 0, 0, 0),
    "app-6": ("escalated", "CI", 3, 3, 0),
    "app-7": ("escalated", "conflict", 0, 1, 0),
    "app-8": ("open", "", 0, 0, 0),
    "app-9": ("working", "", 0, 0, 0),
    "app-10": ("killed", "operator", 0, 0, 0),
    "app-11": ("died", "exit 1", 0, 0, 0),
    "app-12": ("died", "tmux gone", 0, 0, 0),
}
SUMMARY = (
    "12 sessions · 3 merged · 1 open · 4 escalated (2 auth, 1 CI, 1 conflict) · 1 working · "
    "1 killed (1 operator) · 2 died (1 exit 1, 1 tmux gone)"
)


def record_night(engine: Engine) -> None:
    """Write the night into the engine's store as ao-tui writes it: rows and events."""
    for session, events in NIGHT:
        engine.store.insert_session(session, event=("spawned", {"branch": session.branch}))
        with engine.store.transaction() as db:
            for hours_ago, kind, data in events:
                append_event_at(db, session.id, kind, data, NOW - hours_ago * HOUR)


@pytest.fixture
def config(tmp_path: Path, git_repo: Path) -> Path:
    """A config whose pricing table overrides one default."""
    extra = "report:\n  pricing:\n    sonnet: {input: 2.0, output: 10.0}\n"
    return write_config(tmp_path, git_repo, extra=extra)


@pytest.fixture
def night(config: Path) -> Engine:
    """The engine on ``config`` with the night recorded in its store."""
    engine = make_engine(config)
    record_night(engine)
    return engine


def test_rows_counts_and_causes_match_the_night(night: Engine) -> None:
    report = build_report(night.store, night.config.report, now=NOW)
    got = {
        line.session: (
            line.outcome,
            line.cause,
            line.ci_cycles,
            line.reactions,
            line.interventions,
        )
        for line in report.lines
    }
    assert got == EXPECTED
    assert summary(report) == SUMMARY
    assert report.causes("escalated") == {"auth": 2, "CI": 1, "conflict": 1}
    by_id = {line.session: line for line in report.lines}
    assert by_id["app-1"].time_to_merge == pytest.approx(2.5 * HOUR, abs=1)
    assert by_id["app-2"].time_to_merge == pytest.approx(3 * HOUR, abs=1)
    # The evidence shown is the text that named the cause, not the reaction's own words.
    assert by_id["app-4"].why == "API error (retry 7/10): 401 authentication_error"
    assert by_id["app-10"].why == "killed by operator"


def test_the_orchestrator_and_reviewers_are_counted_apart(config: Path) -> None:
    # The demo night's shape: the orchestrator, a reviewer that ended after its verdict,
    # and a worker the orchestrator escalated after ci-failed handed it over.
    engine = make_engine(config)
    night = [
        (_session("app-orchestrator", 8, role=Role.ORCHESTRATOR), []),
        (
            _session(
                "app-2",
                7,
                role=Role.REVIEWER,
                lifecycle=Lifecycle.KILLED,
                lifecycle_reason="discarded",
            ),
            [],
        ),
        (
            _session(
                "app-3",
                7,
                reaction=_escalated("orchestrator", "over budget (escalated by app-orchestrator)"),
            ),
            [
                (6, "reaction", {"key": "ci-failed", "outcome": "orchestrator", "tier": 2}),
                (5, "reaction", {"key": "orchestrator", "outcome": "escalated", "tier": 3}),
            ],
        ),
    ]
    for session, events in night:
        engine.store.insert_session(session, event=("spawned", {"branch": session.branch}))
        with engine.store.transaction() as db:
            for hours_ago, kind, data in events:
                append_event_at(db, session.id, kind, data, NOW - hours_ago * HOUR)
    report = build_report(engine.store, engine.config.report, now=NOW)
    got = {line.session: (line.outcome, line.cause) for line in report.lines}
    assert got == {
        "app-orchestrator": ("orchestrating", ""),
        "app-2": ("reviewed", ""),
        "app-3": ("escalated", "CI"),
    }
    assert summary(report) == "3 sessions · 1 escalated (1 CI) · 1 reviewed · 1 orchestrating"


def test_tokens_and_cost_reported_or_priced_by_the_config_table(night: Engine) -> None:
    lines = {line.session: line for line in build_report(night.store, night.config.report).lines}
    assert (lines["app-1"].tokens, lines["app-1"].cost_usd) == (48_200, 0.61)
    assert not lines["app-1"].cost_estimated
    # 1M input at the config's $2 + 0.1M output at $10 (the default would say $4.50).
    assert lines["app-2"].cost_usd == pytest.approx(3.0)
    assert lines["app-2"].cost_estimated
    assert build_report(night.store, ReportConfig()).lines[1].cost_usd == pytest.approx(4.5)
    assert (lines["app-3"].tokens, lines["app-3"].cost_usd) == (None, None)


def test_since_leaves_out_sessions_that_ended_before_it(night: Engine) -> None:
    report = build_report(night.store, night.config.report, since=NOW - 5.5 * HOUR, now=NOW)
    ended_early = {"app-1", "app-2", "app-3", "app-10"}  # ended (rows dated) before the cut
    assert {line.session for line in report.lines} == set(EXPECTED) - ended_early


def test_cli_json_shape(night: Engine, config: Path) -> None:
    done = ao(config.parent, "--config", str(config), "report", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {
        "since",
        "generated_at",
        "total",
        "counts",
        "causes",
        "tokens",
        "cost_usd",
        "sessions",
    }
    assert doc["total"] == 12 and doc["since"] is None
    assert doc["counts"] == {
        "merged": 3,
        "open": 1,
        "escalated": 4,
        "working": 1,
        "killed": 1,
        "died": 2,
        "done": 0,
        "reviewing": 0,
        "reviewed": 0,
        "orchestrating": 0,
        "stopped": 0,
    }
    assert doc["causes"]["escalated"] == {"auth": 2, "CI": 1, "conflict": 1}
    assert doc["tokens"] == 48_200 + 1_100_000
    assert doc["cost_usd"] == pytest.approx(3.61)
    first = doc["sessions"][0]
    assert set(first) == {
        "session",
        "project",
        "title",
        "agent",
        "outcome",
        "cause",
        "why",
        "ci_cycles",
        "reactions",
        "interventions",
        "time_to_merge",
        "tokens",
        "cost_usd",
        "cost_estimated",
        "created_at",
    }
    assert (first["session"], first["outcome"], first["cause"]) == ("app-1", "merged", None)


def test_cli_text_and_since(night: Engine, config: Path) -> None:
    done = ao(config.parent, "--config", str(config), "report")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == SUMMARY
    assert re.search(r"^app-6 +escalated \(CI\) +3 +3 +0 +— ", done.stdout, re.M)
    assert "app-11: agent exited with status 1" in done.stdout
    since = ao(config.parent, "--config", str(config), "report", "--since", "5h30m", "--json")
    assert since.returncode == 0, since.stderr
    assert json.loads(since.stdout)["total"] == 8
    bad = ao(config.parent, "--config", str(config), "report", "--since", "yesterday")
    assert bad.returncode == 2
    assert "--since 'yesterday' is not a duration" in bad.stderr
