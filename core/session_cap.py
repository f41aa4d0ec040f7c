"""The session cap: at most ``maxConcurrentSessions`` sessions of a project hold a slot.

A session holds a slot from its spawn until it is killed, merged or done. An exited
session still holds one: its worktree and branch are there, and the ``agent-exited``
reaction (or ``restore``) brings it back without asking the cap again.

The count and the new row must not race: two spawns, each seeing one slot free, would both
start. So while a project has a cap, every spawn in it runs under the project's spawn lock
(an ``flock``, dropped by the kernel if the spawner dies), from the count to the stored
row. Spawns of one capped project therefore start one at a time; uncapped projects are
untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import EngineError, SessionCapError
from core.file_lock import hold
from core.models import ENDED_LIFECYCLES, Role, Session

if TYPE_CHECKING:
    from core.config import Config
    from core.engine import Engine

SPAWN_LOCK_WAIT = 180.0
"""Seconds a spawn waits for another spawn of the same capped project to finish."""


def session_cap(config: Config, project_id: str) -> int | None:
    """The project's cap: its own ``maxConcurrentSessions``, else the defaults'; None: none."""
    project = config.projects[project_id]
    if project.max_concurrent_sessions is not None:
        return project.max_concurrent_sessions
    return config.defaults.max_concurrent_sessions


def slot_holders(sessions: Iterable[Session], project_id: str) -> list[Session]:
    """The project's workers that hold a slot (every one not ended), oldest first; the
    orchestrator and reviewers take none (they do no task of the backlog)."""
    held = [
        s
        for s in sessions
        if s.project == project_id and s.role is Role.WORKER and s.lifecycle not in ENDED_LIFECYCLES
    ]
    return sorted(held, key=lambda s: (s.created_at, s.id))


def free_slots(engine: Engine, project_id: str) -> int | None:
    """How many more sessions the project may start now; None when it has no cap."""
    cap = session_cap(engine.config, project_id)
    if cap is None:
        return None
    return max(0, cap - len(slot_holders(engine.store.list_sessions(), project_id)))


def refuse_over_cap(engine: Engine, project_id: str) -> None:
    """Raise :class:`SessionCapError`, naming the holders, when no slot is free."""
    cap = session_cap(engine.config, project_id)
    if cap is None:
        return
    holders = slot_holders(engine.store.list_sessions(), project_id)
    if len(holders) < cap:
        return
    named = ", ".join(f"{s.id} ({s.lifecycle.value})" for s in holders)
    raise SessionCapError(
        f"project {project_id} is at its cap of {cap} sessions "
        f"(maxConcurrentSessions); the slots are held by {named}; kill or merge one "
        f"(`ao-tui kill ID`), or raise projects.{project_id}.maxConcurrentSessions"
    )


def spawn_lock_path(engine: Engine, project_id: str) -> Path:
    """The lock file serialising the spawns of one capped project."""
    return engine.locations.home / "locks" / f"spawn-{project_id}.lock"


@contextlib.contextmanager
def session_slot(engine: Engine, project_id: str) -> Iterator[None]:
    """Hold a slot of the project for the ``with`` block (a spawn), or refuse at once.

    Under the project's spawn lock when it has a cap: the count made here stays true
    until the block has stored its row (or given up). Without a cap, nothing is held.
    """
    if session_cap(engine.config, project_id) is None:
        yield
        return
    path = spawn_lock_path(engine, project_id)

    def too_long(pid: int | None) -> Exception:
        who = f"process {pid}" if pid else "another process"
        return EngineError(
            f"another spawn in project {project_id} ({who}) has held {path} for over "
            f"{SPAWN_LOCK_WAIT:g}s; try again when it is done"
        )

    with hold(path, timeout=SPAWN_LOCK_WAIT, on_timeout=too_long):
        refuse_over_cap(engine, project_id)
        yield
