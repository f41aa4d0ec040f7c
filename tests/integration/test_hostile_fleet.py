"""One bad session never takes the fleet down: ``status`` with hostile files in the fleet.

A real tmux server (the test's private socket) holds one live pane per session; each
session is a Claude Code session whose hook log or transcript is one file of the hostile
corpus (tests/fixtures/hostile/transcripts and hooks), beside one ordinary session. The real
CLI's ``status`` must report every one of them, with exit 0 and valid JSON, and the
ordinary session's state must be right.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from core.locations import Locations
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource
from core.store import Store
from plugins.runtime.tmux import TmuxRuntime
from tests.support.engine import ao, write_config

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary"),
]

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"


def _session(number: int, worktree: Path, pane_id: str, extra: dict[str, str]) -> Session:
    now = time.time()
    return Session(
        id=f"app-{number}",
        project="app",
        agent="claude-code",
        title=f"session {number}",
        prompt=f"task {number}",
        branch=f"ao/app-{number}-task",
        worktree=str(worktree),
        tmux=f"ao-app-{number}",
        pane_id=pane_id,
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now, "starting"),
        created_at=now,
        updated_at=now,
        agent_session_id=f"00000000-0000-4000-8000-{number:012d}",
        base_branch="main",
        extra=extra,
    )


def test_status_reports_every_session_when_some_have_hostile_files(
    tmp_path: Path, git_repo: Path
) -> None:
    write_config(tmp_path, git_repo, agent="claude-code", command=sys.executable)
    locations = Locations.from_env()
    locations.ensure()
    store = Store(locations.database)
    runtime = TmuxRuntime()
    files = [("transcript", p) for p in sorted((HOSTILE / "transcripts").iterdir())]
    files += [("hooks", p) for p in sorted((HOSTILE / "hooks").iterdir())]
    files.append(("control", HOSTILE / "transcripts" / "depth-at-limit.jsonl"))
    for number, (kind, source) in enumerate(files, start=1):
        worktree = tmp_path / "worktrees" / f"app-{number}"
        worktree.mkdir(parents=True)
        pane = runtime.create(f"ao-app-{number}", worktree, ["sleep", "600"])
        extra: dict[str, str] = {}
        state_dir = locations.session_dir(f"app-{number}")
        state_dir.mkdir(parents=True)
        if kind == "transcript":
            copy = tmp_path / "transcripts" / source.name
            copy.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, copy)
            extra["transcript_path"] = str(copy)
        elif kind == "hooks":
            shutil.copyfile(source, state_dir / "hooks.jsonl")
        else:
            stop = {"ao_ts": f"{time.time():.3f}", "payload": {"hook_event_name": "Stop"}}
            (state_dir / "hooks.jsonl").write_text(json.dumps(stop) + "\n")
        store.insert_session(_session(number, worktree, pane.pane_id, extra), event=("spawned", {}))
    store.close()

    result = ao(tmp_path, "status", "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    reported = {s["id"]: s for s in json.loads(result.stdout)}
    assert set(reported) == {f"app-{n}" for n in range(1, len(files) + 1)}
    control = reported[f"app-{len(files)}"]
    assert control["activity"]["state"] == "idle" and control["activity"]["source"] == "hook"
    # What each hostile session's readable lines say still comes through.
    deep = files.index(("transcript", HOSTILE / "transcripts" / "deeply-nested-message.jsonl"))
    assert reported[f"app-{deep + 1}"]["activity"]["detail"] == "All 212 tests pass."

    table = ao(tmp_path, "status")
    assert table.returncode == 0, table.stderr
    assert len(table.stdout.splitlines()) == len(files) + 1
