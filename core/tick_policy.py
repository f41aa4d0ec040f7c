"""When the reconcile loop must tick on a timer, and when reports alone are enough.

A tick costs processes (``tmux list-panes``, ``git for-each-ref`` per repository, captures).
The loop is woken at once by what reports itself: a hook or transcript line (the file
watch), an agent exiting or the tmux server going away (the runtime's
:class:`~core.slots.RuntimeWatch`), a branch moving (an SCM's
:class:`~core.slots.RefWatch` paths). It still needs a short timer while some answer
can change with nothing reported:

- an agent plugin re-reads the screen on time-based rules while a session is busy or has
  just changed (a hook silent for a few seconds while a tool call is pending, the start-up
  grace, "working" that went stale), and a reading that only the screen gave (a shell
  agent) changes only on the screen;
- an SCM that declares no ref paths (a host's API) changes only when asked.

Otherwise the loop sleeps until the slow :data:`SAFETY_TICK`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import AoError
from core.models import ACTIVE_LIFECYCLES, ActivityState, Lifecycle, Session, SignalSource
from core.plugin_failures import PLUGIN_FAILURES
from core.slots import HostNews, RefWatch

if TYPE_CHECKING:
    from core.engine import Engine

SAFETY_TICK = 30.0
"""Seconds between two ticks while everything that can change reports itself. It catches
what no report covers: a session killed whose process ignored the hang-up (its process lives
on, so no exit is reported), a pidfd that could not be opened (descriptors ran out), an
inotify queue that dropped events, a CI runner that died without a word."""

SETTLE = 20.0
"""Seconds after a session's activity last changed during which it counts as busy: longer
than the agents' time-based rules (a 2 s hook silence, 10 s of stale "working", the 15 s
start-up grace), so each of them gets its ticks."""

_UNKNOWN: tuple[type[BaseException], ...] = (AoError, *PLUGIN_FAILURES)
"""A project whose SCM cannot be had: treated as one that must be polled (it was before)."""

_SETTLED_STATES = frozenset(
    {ActivityState.IDLE, ActivityState.WAITING_INPUT, ActivityState.ERROR, ActivityState.EXITED}
)
_REPORTED_SOURCES = frozenset(
    {SignalSource.HOOK, SignalSource.STATUS_FILE, SignalSource.TRANSCRIPT}
)


def settled(session: Session, now: float) -> bool:
    """Whether ``session`` can change only through something that reports itself."""
    if session.lifecycle not in ACTIVE_LIFECYCLES:
        return True  # exited or gone: only a verb (restore, kill) changes it, and says so
    activity = session.activity
    return (
        activity.state in _SETTLED_STATES
        and activity.source in _REPORTED_SOURCES
        and now - activity.since >= SETTLE
    )


def needs_timer(engine: Engine, sessions: Iterable[Session], now: float) -> bool:
    """Whether some session or its project's SCM changes only when the loop looks."""
    sessions = list(sessions)
    if not all(settled(s, now) for s in sessions):
        return True
    # The sessions whose PR a tick refreshes.
    projects = {
        s.project
        for s in sessions
        if s.lifecycle in ACTIVE_LIFECYCLES or s.lifecycle is Lifecycle.EXITED
    }
    for project_id in projects:
        try:
            if not isinstance(engine.scm(project_id), RefWatch):
                return True
        except _UNKNOWN:
            return True  # unknown: look, as before
    return False


def ref_roots(engine: Engine) -> list[Path]:
    """The directories whose changes mean a project's PR answers may have changed."""
    roots: list[Path] = []
    for project_id, project in engine.config.projects.items():
        try:
            scm = engine.scm(project_id)
        except _UNKNOWN:
            continue
        if isinstance(scm, RefWatch):
            roots += scm.watch_paths(project.path)
    return roots


def news_sources(engine: Engine) -> list[HostNews]:
    """The projects' SCMs that say when a poll of their host brought news, each once."""
    found: dict[int, HostNews] = {}
    for project_id in engine.config.projects:
        try:
            scm = engine.scm(project_id)
        except _UNKNOWN:
            continue
        if isinstance(scm, HostNews):
            found.setdefault(id(scm), scm)
    return list(found.values())
