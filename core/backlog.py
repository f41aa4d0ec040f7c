"""The backlog: the lease holder picks up tracker issues carrying a label, on its own.

Every ``backlog.every`` the process that holds the engine lease lists each project's open
issues, keeps those carrying ``backlog.label``, and spawns one session per issue, oldest
slot first, until the project's session cap is reached (:mod:`core.session_cap`; a project
with no cap gets :data:`DEFAULT_BACKLOG_CAP`, AO's fixed number, so a label put on fifty
issues never starts fifty agents).

Never twice for one issue: an issue any session of the project was ever bound to is
skipped, whatever became of that session. A merged one is done; a killed one was stopped
by someone on purpose, and picking it up again would undo that (spawn it by hand, or
remove the session, to have it worked on again). An issue already carrying
``inProgressLabel`` is skipped too, so a reset database or a second machine does not take
it again. Each issue picked up gets that label where the tracker can label
(:class:`core.slots.IssueLabels`), and a ``backlog`` event on its new session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import DuplicateTaskError, SessionCapError
from core.models import Event
from core.session_cap import session_cap, slot_holders
from core.slots import IssueLabels
from core.tracker import TrackerError

if TYPE_CHECKING:
    from core.engine import Engine

DEFAULT_BACKLOG_CAP = 5
"""Sessions the backlog fills a project up to when it sets no ``maxConcurrentSessions``."""
CONFIG_LOOK = 5.0
"""Seconds between looks at the config while no backlog pass is due (a reload may add one)."""
LISTED = 100
"""Issues asked of the tracker per pass."""


def backlog_pass(engine: Engine, project_id: str) -> list[Event]:
    """Spawn sessions for the project's labelled issues up to its cap; the events written.

    A spawn refused for the cap (someone spawned meanwhile) ends the pass; one refused as
    a duplicate (an operator's spawn on the issue won the race) is skipped. Any other
    failure ends the pass and is raised: it would most likely fail for every issue.
    """
    project = engine.project(project_id)
    backlog = project.backlog
    if backlog is None:
        return []
    sessions = [s for s in engine.store.list_sessions() if s.project == project_id]
    cap = session_cap(engine.config, project_id) or DEFAULT_BACKLOG_CAP
    free = cap - len(slot_holders(sessions, project_id))
    if free <= 0:
        return []
    taken = {s.issue.casefold() for s in sessions if s.issue}
    wanted, busy = backlog.label.casefold(), backlog.in_progress_label.casefold()
    events: list[Event] = []
    for issue in engine.issues(project_id, limit=LISTED):
        if free <= 0:
            break
        labels = {label.casefold() for label in issue.labels}
        if wanted not in labels or busy in labels or issue.key.casefold() in taken:
            continue
        try:
            session = engine.spawn(project_id, "", issue=issue.key)
        except SessionCapError:
            break
        except DuplicateTaskError:
            continue
        free -= 1
        taken.add(issue.key.casefold())
        marked = _mark_in_progress(engine, project_id, issue.key, backlog.in_progress_label)
        data = {"issue": issue.key, "label": backlog.label, "marked": marked}
        events.append(engine.store.append_event(session.id, "backlog", data))
    return events


def _mark_in_progress(engine: Engine, project_id: str, key: str, label: str) -> bool:
    """Label the issue in progress where the tracker can; whether it is now labelled.

    A label that does not stick (no write access) is no reason to undo the spawn: the
    session is the record that the issue is taken, and the event says it was not marked.
    """
    tracker, target = engine.tracker(project_id)
    if not isinstance(tracker, IssueLabels):
        return False
    try:
        tracker.add_label(target, key, label)
    except TrackerError:
        return False
    return True


async def backlog_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Run :func:`backlog_pass` for each project with a backlog, every ``backlog.every``,
    until ``stop``. The first pass of a project runs at once; a failing pass goes to
    ``on_error`` (else is raised) and the next one is tried on time."""
    loop = asyncio.get_running_loop()
    due: dict[str, float] = {}
    while not stop.is_set():
        now = loop.time()
        config = engine.config  # a reload may add, change or drop a backlog
        for project_id, project in config.projects.items():
            if project.backlog is None or due.get(project_id, now) > now:
                continue
            due[project_id] = now + project.backlog.seconds
            try:
                await asyncio.to_thread(backlog_pass, engine, project_id)
            except Exception as exc:  # the loop outlives a bad pass, as the ticks do
                if on_error is None:
                    raise
                on_error(exc)
        wait = min([CONFIG_LOOK, *(when - loop.time() for when in due.values())])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, wait))
