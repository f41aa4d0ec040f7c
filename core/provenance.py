"""Commit provenance: the trailers that say which session, agent and model made a commit.

Every commit made in a session's worktree ends with ``Ao-Session: <id>`` and
``Ao-Agent: <agent> (<model>)`` (the model only when known). A workspace that can
(:class:`core.slots.CommitStamps`) installs a hook adding them in that worktree only;
the merge or squash commits ao-tui makes carry them too (:attr:`core.scm.ScmTarget.trailers`).
``ao-tui log`` reads them back (:mod:`core.commit_log`).

Commands have provenance too: ao-tui sets :data:`ACTOR_ENV` to the session's id in the
environment of an agent it starts with a role (the orchestrator, a reviewer). Every event
that agent's ``ao-tui`` calls log then carries ``by: <id>`` (:attr:`core.store.Store.actor`),
and the event log reads "… — by app-orchestrator".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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

ACTOR_ENV = "AO_TUI_ACTOR"
"""The session an ``ao-tui`` process acts for, set by ao-tui in that session's agent's
environment; unset for the operator."""
_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def actor_from(env: Mapping[str, str]) -> str:
    """The session id in ``env``'s :data:`ACTOR_ENV`; "" when unset or not an id's shape
    (never a way to write arbitrary text into the log)."""
    value = env.get(ACTOR_ENV, "")
    return value if _ACTOR.fullmatch(value) else ""


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
