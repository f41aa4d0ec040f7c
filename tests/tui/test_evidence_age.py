"""Issue 9 item 6: a card's age counts from the evidence's own time, not from detection.

A claude-code record on a real tmux pane that shows a permission dialog, with a hook log
the test writes as Claude's hooks would: the prompt was requested 90 s ago and repeated by
a notification 84 s ago. A cockpit opened now, on a fresh engine that never saw the
session wait, must show that it has waited a minute, not ``<1m``.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from ao_tui.app import CockpitApp
from core.engine import Engine
from core.humanize import age
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource
from tests.support.engine import make_engine, write_config
from tests.support.pilot_waits import wait_until

DIALOG = """\
● Bash(rm -rf build)
  ⎿  Waiting…

────────────────────────────────────────────
 Bash command

   rm -rf build
   Remove the build output

 Do you want to proceed?
 \u276f 1. Yes
   2. No

 Esc to cancel · Tab to amend
"""
"""What Claude Code 2.1.197 draws for a Bash permission prompt (cut to 44 columns)."""

BASH = {"command": "rm -rf build", "description": "Remove the build output"}


def _hook(event: str, at: float, **payload: Any) -> str:
    body = json.dumps({"hook_event_name": event, **payload})
    return f'{{"ao_ts":"{at:.9f}","payload":{body}}}\n'


def _waiting_session(engine: Engine, tmp_path: Path, now: float) -> Session:
    """A session last recorded working 5 minutes ago, whose prompt came up 90 s ago."""
    sid = engine.store.allocate_id("app")
    worktree = engine.locations.worktree("app", sid)
    worktree.mkdir(parents=True)
    screen = tmp_path / "dialog.txt"
    screen.write_text(DIALOG, encoding="utf-8")
    pane = engine.runtime.create(
        f"ao-{sid}", worktree, ["sh", "-c", f"cat '{screen}'; exec sleep 100000"]
    )
    state_dir = engine.locations.session_dir(sid)
    state_dir.mkdir(parents=True)
    (state_dir / "hooks.jsonl").write_text(
        _hook("UserPromptSubmit", now - 300, prompt="clean the build")
        + _hook("PreToolUse", now - 91, tool_name="Bash", tool_input=BASH)
        + _hook("PermissionRequest", now - 90, tool_name="Bash", tool_input=BASH)
        + _hook(
            "Notification",
            now - 84,
            notification_type="permission_prompt",
            message="Claude needs your permission to use Bash",
        )
    )
    session = Session(
        id=sid,
        project="app",
        agent="claude-code",
        title="clean the build",
        prompt="clean the build",
        branch=f"ao/{sid}-clean",
        worktree=str(worktree),
        tmux=f"ao-{sid}",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.WORKING, SignalSource.HOOK, now - 300, "prompt"),
        created_at=now - 400,
        updated_at=now - 300,
        agent_session_id=str(uuid.uuid4()),
        pane_id=pane.pane_id,
        base_branch="main",
    )
    engine.store.insert_session(session, event=("spawned", {}))
    return session


def _row(app: CockpitApp, session_id: str) -> str:
    """The session's row on the narrow board, as plain text."""
    cells = app.board.active_table().get_row(session_id)
    return " ".join(getattr(cell, "plain", str(cell)) for cell in cells)


async def test_a_prompt_seen_first_now_is_as_old_as_its_hook_says(
    tmp_path: Path, git_repo: Path
) -> None:
    now = time.time()
    seeded = _waiting_session(
        make_engine(write_config(tmp_path, git_repo, agent="claude-code")), tmp_path, now
    )
    # The cockpit's own engine is fresh: it reads the hook log and the pane for the first time.
    engine = make_engine(tmp_path / "ao.config.yaml")
    app = CockpitApp(engine, notify_bell=False, cursor_blink=False, refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                (s := app.sessions.get(seeded.id)) is not None
                and s.activity.state is ActivityState.WAITING_INPUT
            ),
        )
        await pilot.pause(0.2)
        activity = app.sessions[seeded.id].activity
        # The pane confirmed the prompt, but did not date it: the PermissionRequest did.
        assert activity.source is SignalSource.PANE
        assert abs(activity.since - (now - 90)) < 0.01
        assert age(app.now - activity.since) == "1m"
        row = _row(app, seeded.id)
        assert " 1m " in f" {row} " and "<1m" not in row, row
