"""Making sure a project's orchestrator session exists and runs, or stopping it.

``ao-tui start`` calls :func:`ensure_orchestrator`: the session ``<prefix>-orchestrator`` is
spawned (role orchestrator, no slot of the cap) when the project has none, restored in
place when its row is there but its agent exited or was killed, and left alone while it
runs. ``ao-tui stop`` calls :func:`stop_orchestrator`, which kills that one session and
nothing else: the workers keep running.

Both run under a per-project lock, so two ``start`` calls at once cannot both spawn it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import EngineError
from core.file_lock import hold
from core.models import ENDED_LIFECYCLES, Role, Session
from core.naming import orchestrator_id
from core.plugin_access import live_pane

if TYPE_CHECKING:
    from core.engine import Engine

ORCHESTRATOR_TITLE = "orchestrator"
ORCHESTRATOR_TASK = (
    "You are this project's orchestrator; your instructions say how to work. Start now: "
    "read `ao-tui status --json` and the project's open issues, spawn one worker for each "
    "open issue nobody works on (within the cap), then wait for messages from ao-tui."
)
"""The orchestrator's first prompt (its standing instructions come with every start)."""
LOCK_WAIT = 120.0
"""Seconds a start or stop waits for another one of the same project (a spawn takes a few)."""


@dataclass(frozen=True)
class OrchestratorOutcome:
    """What :func:`ensure_orchestrator` or :func:`stop_orchestrator` did."""

    session_id: str
    action: str
    """``started``, ``restored``, ``running`` (left alone), ``stopped``, ``not running``
    (already stopped) or ``absent`` (the project has none)."""
    session: Session | None = None

    def to_json(self) -> dict[str, object]:
        """The ``start --json`` / ``stop --json`` object for the orchestrator."""
        return {
            "id": self.session_id,
            "action": self.action,
            "lifecycle": self.session.lifecycle.value if self.session else None,
        }


def ensure_orchestrator(
    engine: Engine, project_id: str, *, agent_name: str | None = None
) -> OrchestratorOutcome:
    """Spawn, restore or keep the project's orchestrator so that it runs."""
    session_id = orchestrator_id(engine.project(project_id).session_prefix)
    with _project_lock(engine, project_id):
        session = engine.store.get_session(session_id)
        if session is None:
            started = engine.spawn(
                project_id,
                ORCHESTRATOR_TASK,
                title=ORCHESTRATOR_TITLE,
                agent_name=agent_name,
                role=Role.ORCHESTRATOR,
                session_id=session_id,
            )
            return OrchestratorOutcome(session_id, "started", started)
        _require_orchestrator(session)
        if session.lifecycle not in ENDED_LIFECYCLES and live_pane(engine.runtime, session):
            return OrchestratorOutcome(session_id, "running", session)
        return OrchestratorOutcome(session_id, "restored", engine.restore(session_id))


def stop_orchestrator(engine: Engine, project_id: str) -> OrchestratorOutcome:
    """Kill the project's orchestrator (never a worker); its row stays for a later start."""
    session_id = orchestrator_id(engine.project(project_id).session_prefix)
    with _project_lock(engine, project_id):
        session = engine.store.get_session(session_id)
        if session is None:
            return OrchestratorOutcome(session_id, "absent")
        _require_orchestrator(session)
        if session.lifecycle in ENDED_LIFECYCLES:
            return OrchestratorOutcome(session_id, "not running", session)
        killed, _ = engine.kill(session_id)
        return OrchestratorOutcome(session_id, "stopped", killed)


def _require_orchestrator(session: Session) -> None:
    """Refuse to act on a session that carries the orchestrator's id but another role."""
    if session.role is not Role.ORCHESTRATOR:
        raise EngineError(
            f"{session.id} is a {session.role.value} session, not the orchestrator; "
            f"ao-tui start and stop leave it alone (kill it with `ao-tui kill {session.id}`)"
        )


def _project_lock(engine: Engine, project_id: str) -> AbstractContextManager[None]:
    """The lock serialising starts and stops of one project's orchestrator."""
    path = engine.locations.home / "locks" / f"orchestrator-{project_id}.lock"

    def too_long(pid: int | None) -> Exception:
        who = f"process {pid}" if pid else "another process"
        return EngineError(
            f"{who} is starting or stopping the orchestrator of {project_id} (holding "
            f"{path} for over {LOCK_WAIT:g}s); try again when it is done"
        )

    return hold(path, timeout=LOCK_WAIT, on_timeout=too_long)
