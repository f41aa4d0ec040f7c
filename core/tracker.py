"""The tracker slot: where tasks come from (a task file in the repo, GitHub issues).

``spawn --issue KEY`` asks the project's tracker for the issue, builds the agent's task
prompt from it and binds the session to ``KEY``, so a second session on the same issue is
refused unless forced. This module holds the shared types and the prompt; it imports no
plugin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.errors import AoError
from core.inert import inert
from core.scm import HostSettings

_KEY = re.compile(r"^#?(?P<key>[A-Za-z0-9][A-Za-z0-9_-]{0,40})$")


@dataclass(frozen=True)
class Issue:
    """One task as a tracker describes it."""

    key: str
    """The tracker's id without decoration: ``42`` (GitHub), ``12`` or ``T-3`` (task file)."""
    title: str
    body: str = ""
    url: str | None = None
    labels: tuple[str, ...] = ()
    state: str = "open"
    """``open`` or ``closed``."""
    where: str = ""
    """Where it came from, for messages: ``TASKS.md:14`` or ``octo-org/widgets#42``."""

    def to_json(self) -> dict[str, Any]:
        """The issue as ``ao-tui issues --json`` prints it."""
        return {
            "key": self.key,
            "title": self.title,
            "state": self.state,
            "labels": list(self.labels),
            "url": self.url,
            "where": self.where,
        }


@dataclass(frozen=True)
class TrackerTarget:
    """One project's tracker settings as a plugin needs them."""

    project_id: str
    repo: Path
    path: str = "TASKS.md"
    """The task file (``local``), relative to ``repo``."""
    host: HostSettings | None = None
    """The GitHub repository (``github``)."""


class TrackerError(AoError):
    """The tracker could not answer; the message names the file, line or request and a fix."""


@runtime_checkable
class Tracker(Protocol):
    """Where a project's tasks live."""

    name: str

    def issue(self, target: TrackerTarget, key: str) -> Issue:
        """The issue ``key`` (already normalised); :class:`TrackerError` when it is not there."""
        ...

    def issues(self, target: TrackerTarget, *, limit: int = 100) -> Sequence[Issue]:
        """Open issues, newest or first in the file first, at most ``limit``."""
        ...


def normalize_key(ref: str) -> str:
    """``#42``, ``42`` and `` 42 `` are one issue; anything else shaped oddly is refused."""
    found = _KEY.match(ref.strip())
    if found is None:
        raise TrackerError(
            f"issue {ref!r} is not an issue id; give a number like 42 (or #42), or a task "
            "id from the task file like T-3"
        )
    return found.group("key")


def task_prompt(issue: Issue, note: str = "") -> str:
    """The agent's task: the issue's title and body, where it is, and the operator's note.

    The issue's text is someone else's: it is made inert (``core.inert``), so nothing in
    it can act on the terminal that shows the prompt or hide text from the operator.
    """
    lines = [f"Resolve issue #{issue.key}: {inert(issue.title, one_line=True)}"]
    if issue.url or issue.where:
        lines.append(f"({inert(issue.url or issue.where, one_line=True)})")
    if issue.labels:
        lines.append(f"Labels: {', '.join(inert(label, one_line=True) for label in issue.labels)}")
    body = inert(issue.body).strip()
    if body:
        lines += ["", body]
    if note.strip():
        lines += ["", f"Operator's note: {note.strip()}"]
    return "\n".join(lines)


def task_title(issue: Issue) -> str:
    """The board's title for a session on ``issue`` (its title made inert, on one line)."""
    return f"#{issue.key} {inert(issue.title, one_line=True)}"
