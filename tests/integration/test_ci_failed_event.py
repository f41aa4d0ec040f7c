"""A failing CI run is its own event, ``ci-failed``: logged once per failing run, readable.

Real git, real CI runs of a real script, a real tmux session (a sleeping agent), SQLite.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.engine import Engine
from core.event_summary import summary
from core.models import Event
from tests.integration.test_scm_local import commit, engine_for, repo, settle
from tests.support.engine import ao as run_ao
from tests.support.engine import make_engine

__all__ = ["repo"]  # the fixture, used by name


def ci_failed(engine: Engine, session_id: str) -> list[Event]:
    return [
        e
        for e in engine.store.events_after(0, limit=100_000)
        if e.session_id == session_id and e.kind == "ci-failed"
    ]


def test_a_failing_run_is_told_once_with_its_head_checks_and_excerpt(
    tmp_path: Path, repo: Path
) -> None:
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "add a feature")
    commit(session, "feature.py", "x = 1\n")
    settle(engine, session.id)
    assert ci_failed(engine, session.id) == []  # a pass is no failure

    head = commit(session, "mode.txt", "fail\n")
    settle(engine, session.id)
    for _ in range(5):  # more ticks, more PR refreshes: still one event for one failing run
        engine.reconcile()
    [event] = ci_failed(engine, session.id)
    assert event.data["head_sha"] == head
    [check] = event.data["checks"]
    shown = engine.ci(session.id).to_json()["checks"][0]
    # The local check is named after the command that ran.
    assert check == {"name": shown["name"], "excerpt_chars": len(shown["excerpt"]), "url": None}
    assert shown["name"].endswith("check.py") and len(shown["excerpt"]) > 0
    assert f"failed at {head[:10]}" in summary(event.kind, event.data)

    # Run again on the same head: another failing run, another event.
    engine.ci(session.id, run=True)
    settle(engine, session.id)
    engine.reconcile()
    assert len(ci_failed(engine, session.id)) == 2

    # A new head that fails is a new failing run too; one that passes tells nothing.
    fixed = commit(session, "mode.txt", "pass\n", "fix the test")
    settle(engine, session.id)
    assert len(ci_failed(engine, session.id)) == 2
    broken = commit(session, "mode.txt", "fail\n", "break it again")
    settle(engine, session.id)
    assert [e.data["head_sha"] for e in ci_failed(engine, session.id)][-1] == broken != fixed


def test_a_second_process_deciding_from_what_it_read_before_tells_nothing_again(
    tmp_path: Path, repo: Path
) -> None:
    """The cockpit's reconciler and a CLI `ci --wait` both see the same run finish."""
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "add a feature")
    commit(session, "mode.txt", "fail\n")
    engine.reconcile()  # starts the CI run and stores the PR as running
    # The other process read the session while its CI was still running...
    other = make_engine(tmp_path / "ao.config.yaml")
    running = other.get(session.id)
    assert running.pr is not None and running.pr.ci == "running"
    # ...this one stores the failure first...
    settle(engine, session.id)
    assert len(ci_failed(engine, session.id)) == 1
    # ...and the other refreshes the PR it read: the failure is known, nothing is written.
    # (The reconciler's PR refresh is called directly: that is what its next tick runs.)
    assert other._reconciler.refresh_prs([running], wait=True) == []
    assert len(ci_failed(engine, session.id)) == 1
    other.store.close()


def test_events_json_carries_the_kind_for_scripts(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "add a feature")
    head = commit(session, "mode.txt", "fail\n")
    settle(engine, session.id)
    config = tmp_path / "ao.config.yaml"
    shown = run_ao(tmp_path, "--config", str(config), "events", "--json")
    assert shown.returncode == 0, shown.stderr
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    [event] = [e for e in lines if e["kind"] == "ci-failed"]
    assert event["session"] == session.id
    assert event["data"]["head_sha"] == head
    assert [c["name"].rsplit(" ", 1)[-1] for c in event["data"]["checks"]] == ["check.py"]
