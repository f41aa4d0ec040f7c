"""The sample board with the project's orchestrator: its row, its pane, what it did.

Test support for the pinned strip: :func:`with_orchestrator` adds ``app-orchestrator``
to :func:`tests.support.canned.sample_engine`'s store (canned pane, frozen clock) and logs
two actions of its, ``by`` it as its own ``ao-tui`` calls would log them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.engine import Engine
from core.models import Activity, ActivityState, Lifecycle, Role, Session, SignalSource, WaitingFor
from core.naming import orchestrator_id
from core.store import _append_event as append_event_at
from tests.support.canned import NOW, CannedRuntime

ORCHESTRATOR = orchestrator_id("app")
ORCHESTRATOR_PANE = "%90"
ORCHESTRATOR_SCREEN = "\n".join(
    [
        "> Read the backlog and spawn one worker per ready issue",
        "",
        "● Bash(ao-tui issues --json)",
        '  ⎿  [{"number": 12, "title": "Rate-limit the webhook notifier"}]',
        "● Bash(ao-tui spawn app --issue 12 --json)",
        '  ⎿  {"id": "app-10", "branch": "ao/app-10-refactor-session-store"}',
        "",
        "✻ Watching the fleet… (esc to interrupt)",
    ]
)


def orchestrator_session(**changes: Any) -> Session:
    """The orchestrator's row: working for 4 minutes, on the project's default branch."""
    session = Session(
        id=ORCHESTRATOR,
        project="app",
        agent="claude-code",
        title="Orchestrate the app project",
        prompt="Orchestrate the app project",
        branch="main",
        worktree="/home/dev/code/app",
        tmux=f"ao-{ORCHESTRATOR}",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(
            ActivityState.WORKING, SignalSource.HOOK, NOW - 240, "Bash: ao-tui status --json"
        ),
        created_at=NOW - 3600,
        updated_at=NOW - 3600,
        pane_id=ORCHESTRATOR_PANE,
        role=Role.ORCHESTRATOR,
    )
    return replace(session, **changes)


WAITING = Activity(
    ActivityState.WAITING_INPUT,
    SignalSource.HOOK,
    NOW - 60,
    "Bash: git push origin main",
    WaitingFor("permission", "Bash", "git push origin main"),
)
"""The orchestrator asking for a permission its rules leave to the operator."""


def with_orchestrator(engine: Engine, **changes: Any) -> Session:
    """Add the orchestrator (``changes`` to its row) with its pane, and two of its actions:
    a message to app-9, then the spawn of app-10 (the newer)."""
    session = orchestrator_session(**changes)
    engine.store.insert_session(session, event=("spawned", {"branch": session.branch}))
    runtime = engine.runtime
    assert isinstance(runtime, CannedRuntime)
    runtime.live[session.tmux] = session.pane_id
    runtime.screens[session.pane_id] = ORCHESTRATOR_SCREEN
    by = {"by": ORCHESTRATOR}
    with engine.store.transaction() as db:
        message = {"result": "delivered", "preview": "Rebase on main first", **by}
        append_event_at(db, "app-9", "message", message, NOW - 300)
        # What the engine saw while the orchestrator's verb looked: not an action of its.
        append_event_at(db, "app-9", "activity", {"state": "idle", **by}, NOW - 290)
        append_event_at(db, "app-10", "spawned", {"branch": "ao/app-10-refactor", **by}, NOW - 90)
    return session
