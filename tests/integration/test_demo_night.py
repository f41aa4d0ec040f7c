"""``ao-tui demo --night``: the demo agent plays a small night with no human key pressed.

Real tmux (the test socket), real git, the sample project's real tests, the real engine
loop with the reactions (what the cockpit runs); the orchestrator, the workers and the
reviewers are all the demo agent, and the orchestrator spawns the workers through the real
``ao-tui``. The test itself only builds the sandbox, watches it and reads the store.
"""

from __future__ import annotations

import tempfile
import time
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import ao_tui.cli.cockpit as cockpit
from ao_tui.cli import main
from ao_tui.demo import DemoSandbox
from ao_tui.demo_night import NIGHT_TASKS, build_night, night_config_text
from core.engine import Engine
from core.models import Event, Lifecycle, Role, Session, Zone
from core.zones import zone_of
from plugins.agent.demo_program.fleet import TODO_MARKER
from tests.conftest import run_git
from tests.support.engine import wait_for

SPEED = 4.0
ORCHESTRATOR = "demo-orchestrator"
FINDINGS_KEYS = ("changes-requested", "bugbot-comments")


@pytest.fixture
def night(tmp_path: Path) -> Iterator[DemoSandbox]:
    sandbox = build_night(tmp_path / "night", speed=SPEED)
    try:
        sandbox.watch()
        yield sandbox
    finally:
        sandbox.close()


def _events(engine: Engine, session_id: str | None = None) -> list[Event]:
    every = engine.store.events_after(0, limit=100_000)
    return [e for e in every if session_id is None or e.session_id == session_id]


def _reactions(engine: Engine, session_id: str, key: str) -> list[tuple[str, int]]:
    """(outcome, attempt) of each reaction event of ``key`` on one session, oldest first."""
    return [
        (e.data["outcome"], e.data.get("attempt", 0))
        for e in _events(engine, session_id)
        if e.kind == "reaction" and e.data.get("key") == key
    ]


def _worker_on(engine: Engine, issue: str) -> Session:
    return next(s for s in engine.list() if s.issue == issue and s.role is Role.WORKER)


def _workers(sandbox: DemoSandbox) -> list[Session]:
    return sorted(
        (s for s in sandbox.engine.list() if s.role is Role.WORKER), key=lambda s: s.issue
    )


def _subjects(sandbox: DemoSandbox, session: Session) -> list[str]:
    repo = sandbox.root / "shop"
    return run_git(repo, "log", "--format=%s", f"main..{session.branch}").splitlines()


def _spawned_by_the_orchestrator(sandbox: DemoSandbox) -> None:
    """The orchestrator (and only it) spawned one worker per issue, all three."""
    engine = sandbox.engine
    wait_for(lambda: len(_workers(sandbox)) == 3, timeout=120, interval=0.5)
    assert [s.issue for s in _workers(sandbox)] == ["1", "2", "3"]
    spawned = {e.session_id: e.data.get("by") for e in _events(engine) if e.kind == "spawned"}
    assert spawned.pop(ORCHESTRATOR) is None  # started by the sandbox: `ao-tui start`'s part
    assert {spawned[s.id] for s in _workers(sandbox)} == {ORCHESTRATOR}


def _ci_fixed(sandbox: DemoSandbox) -> Session:
    """Issue 1's worker broke its test, was told by ci-failed, and fixed it."""
    engine = sandbox.engine
    fixer = _worker_on(engine, "1")
    wait_for(
        lambda: _reactions(engine, fixer.id, "ci-failed")[-1:] == [("cleared", 1)],
        timeout=180,
        interval=0.5,
    )
    assert _reactions(engine, fixer.id, "ci-failed")[0] == ("delivered", 1)
    assert "Count quantities in item_count()" in _subjects(sandbox, fixer)
    return fixer


def test_the_night_config_loads_and_the_task_file_tells_each_worker_its_part(
    tmp_path: Path,
) -> None:
    text = night_config_text(tmp_path / "shop", tmp_path / "claude", 2.0)
    assert "maxConcurrentSessions: 3" in text and "tracker: {plugin: local, path: TASKS.md}" in text
    assert "approved-and-green: {auto: true, action: auto-merge}" in text
    parts = [line for line in NIGHT_TASKS.splitlines() if line.startswith("demo-scenario:")]
    assert parts == [
        "demo-scenario: night-ci",
        "demo-scenario: night-review",
        "demo-scenario: night-stuck",
    ]


@pytest.mark.tmux
@pytest.mark.reactions
def test_the_orchestrator_spawns_the_night_and_the_reactions_carry_it(
    night: DemoSandbox,
) -> None:
    # What runs with or without the verbs other issues add: the orchestrator spawns every
    # worker through `ao-tui spawn --issue`, a red CI is fixed when ci-failed says so, and
    # the worker whose CI is never fixed ends with the human once its budget is spent.
    engine = night.engine
    orchestrator = engine.get(ORCHESTRATOR)
    assert orchestrator.role is Role.ORCHESTRATOR and orchestrator.agent == "demo"
    _spawned_by_the_orchestrator(night)
    _ci_fixed(night)
    stuck = _worker_on(engine, "3")
    wait_for(lambda: zone_of(engine.get(stuck.id)) is Zone.NEEDS_YOU, timeout=240, interval=0.5)
    attempts = [
        a for outcome, a in _reactions(engine, stuck.id, "ci-failed") if outcome != "cleared"
    ]
    assert max(attempts) == 2
    assert engine.get(stuck.id).lifecycle is Lifecycle.RUNNING
    assert night.watcher is not None and night.watcher.errors == []


@pytest.mark.tmux
@pytest.mark.reactions
def test_a_small_night_runs_with_no_human_key_pressed(night: DemoSandbox) -> None:
    engine = night.engine
    _spawned_by_the_orchestrator(night)
    fixer = _ci_fixed(night)

    # An agent reviews: changes requested on the TODO(demo), the findings pasted to the author
    # (by changes-requested, or bugbot-comments: an agent's threads are a bot's), the author
    # resolves them, a new head gets a new review, which approves; approved green work merges
    # on its own.
    author = _worker_on(engine, "2")
    wait_for(lambda: engine.get(author.id).lifecycle is Lifecycle.MERGED, timeout=300, interval=0.5)
    verdicts = [e.data.get("verdict") for e in _events(engine, author.id) if e.kind == "review"]
    assert verdicts == ["changes_requested", "approved"]
    forwarded = [
        outcome
        for key in FINDINGS_KEYS
        for outcome, _ in _reactions(engine, author.id, key)
        if outcome == "delivered"
    ]
    assert forwarded, "the review's findings never reached the author"
    landed = run_git(night.root / "shop", "log", "--format=%s", "main").splitlines()
    assert "Handle negative amounts in format_price()" in landed
    reviewers = [s for s in engine.list() if s.role is Role.REVIEWER and author.id in s.prompt]
    assert len(reviewers) == 2  # one per head: the one with the TODO, the one without
    merged = run_git(night.root / "shop", "show", "main:shop/pricing.py")
    assert "def format_price" in merged and TODO_MARKER not in merged
    wait_for(lambda: engine.get(fixer.id).lifecycle is Lifecycle.MERGED, timeout=300, interval=0.5)

    # Exactly one escalation reaches the human: the worker whose CI is never fixed, handed to
    # the orchestrator (tier 2), which escalated it.
    stuck = _worker_on(engine, "3")
    wait_for(lambda: zone_of(engine.get(stuck.id)) is Zone.NEEDS_YOU, timeout=300, interval=0.5)
    by_orchestrator = [e for e in _events(engine, stuck.id) if e.data.get("by") == ORCHESTRATOR]
    assert by_orchestrator, "the orchestrator escalated nothing"
    needs_you = [
        s.id for s in engine.list() if s.role is Role.WORKER and zone_of(s) is Zone.NEEDS_YOU
    ]
    assert needs_you == [stuck.id]

    # No human key: every message a worker got was a reaction's, every one the orchestrator
    # got was a hand-off, every verdict an agent reviewer's, every merge the reaction's.
    events = _events(engine)
    workers = {s.id for s in _workers(night)}
    sends = Counter(e.session_id for e in events if e.kind == "message")
    told = Counter(
        e.session_id
        for e in events
        if e.kind == "reaction" and e.data.get("outcome") in ("delivered", "queued", "sent")
    )
    handed = sum(
        1 for e in events if e.kind == "reaction" and e.data.get("outcome") == "orchestrator"
    )
    assert {sid: n for sid, n in sends.items() if sid in workers} == told
    assert sends[ORCHESTRATOR] == handed == 1
    reviewer_ids = {s.id for s in engine.list() if s.role is Role.REVIEWER}
    assert {e.data.get("by") for e in events if e.kind == "review"} <= reviewer_ids
    merges = [e.session_id for e in events if e.kind == "merged"]
    auto = [
        e.session_id
        for e in events
        if e.kind == "reaction"
        and e.data.get("key") == "approved-and-green"
        and e.data.get("outcome") == "merged"
    ]
    assert sorted(merges) == sorted(auto) == sorted([fixer.id, author.id])
    assert night.watcher is not None and night.watcher.errors == []


@pytest.mark.tmux
def test_cli_demo_night_headless_starts_the_orchestrator_then_removes_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the CLI's one-second pause between boards is faked; the rest is real.
    fast = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(0.05), strftime=time.strftime, time=time.time
    )
    monkeypatch.setattr(cockpit, "time", fast)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(main, ["demo", "--night", "--headless", "--speed", str(SPEED)])
    assert result.exit_code == 0, result.output
    assert "demo-orchestrator" in result.output
    assert "demo sandbox removed" in result.output
    assert not list(tmp_path.glob("ao-tui-demo-*"))
