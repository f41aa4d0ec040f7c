"""Commit provenance: the trailers that say which session, agent and model made a commit.

Every commit made in a session's worktree ends with ``Ao-Session: <id>`` and
``Ao-Agent: <agent> (<model>)`` (the model only when known). A workspace that can
(:class:`core.slots.CommitStamps`) installs a hook adding them in that worktree only;
the merge or squash commits ao-tui makes carry them too (:attr:`core.scm.ScmTarget.trailers`).
``ao-tui log`` reads them back (:mod:`core.commit_log`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from core.slots import CommitStamps

if TYPE_CHECKING:
    from core.models import Session
    from core.plugin_access import PluginAccess

SESSION_TRAILER = "Ao-Session"
AGENT_TRAILER = "Ao-Agent"
TRAILER_KEYS = (SESSION_TRAILER, AGENT_TRAILER)

Trailers = tuple[tuple[str, str], ...]
"""``(key, value)`` pairs, in the order they are written."""

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def one_line(value: str) -> str:
    """``value`` as a trailer value: control characters (newlines too) become one space."""
    return " ".join(_UNSAFE.sub(" ", value).split())


def commit_trailers(session_id: str, agent: str, model: str = "") -> Trailers:
    """The trailers of a commit made by ``agent`` (running ``model``) for ``session_id``."""
    label = one_line(agent)
    model = one_line(model)
    if model:
        label = f"{label} ({model})"
    return ((SESSION_TRAILER, one_line(session_id)), (AGENT_TRAILER, label))


def trailer_block(trailers: Trailers) -> str:
    """The trailers as the last paragraph of a commit message ("" when there are none)."""
    return "\n".join(f"{key}: {value}" for key, value in trailers)


def with_trailers(message: str, trailers: Trailers) -> str:
    """``message`` with ``trailers`` appended as its own last paragraph."""
    block = trailer_block(trailers)
    if not block:
        return message
    return f"{message.rstrip()}\n\n{block}\n"


def session_trailers(plugins: PluginAccess, session: Session) -> Trailers:
    """The trailers of ``session``'s commits: its id, its agent and the configured model."""
    project = plugins.config.projects.get(session.project)
    model = (project.agent_config.model if project else None) or ""
    return commit_trailers(session.id, session.agent, model)


def stamp_worktree(plugins: PluginAccess, session: Session) -> None:
    """Make every commit in ``session``'s worktree carry its trailers, if the workspace can.

    Called at spawn and at restore (a reopened worktree is a fresh one); a workspace
    without :class:`~core.slots.CommitStamps` leaves commits as they are.
    """
    workspace = plugins.workspace
    if isinstance(workspace, CommitStamps):
        workspace.stamp_commits(Path(session.worktree), session_trailers(plugins, session))
