"""``ao-tui log``: the commits ao-tui's sessions made, read back from their trailers.

Every local branch of every project's repository is searched (session branches, and the
base branches their work was merged into), keeping the commits that carry an
``Ao-Session`` trailer (:mod:`core.provenance`). One ``git log`` per repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.git import run_git
from core.provenance import AGENT_TRAILER, SESSION_TRAILER

if TYPE_CHECKING:
    from core.plugin_access import PluginAccess

DEFAULT_LIMIT = 200
"""Commits listed at most, newest first, unless the caller asks for more."""

_FIELD = "\x1f"
_VALUES = "\x1e"
_FORMAT = _FIELD.join(
    [
        "%H",
        "%ct",
        "%an",
        "%s",
        f"%(trailers:key={SESSION_TRAILER},valueonly,separator=%x1e)",
        f"%(trailers:key={AGENT_TRAILER},valueonly,separator=%x1e)",
    ]
)


@dataclass(frozen=True)
class CommitEntry:
    """One commit a session made (or an ao-tui merge of its work)."""

    sha: str
    session: str
    agent: str
    project: str
    subject: str
    author: str
    time: float
    """Commit time, epoch seconds."""

    def to_json(self) -> dict[str, Any]:
        """The entry as ``log --json`` prints it."""
        return {
            "sha": self.sha,
            "session": self.session,
            "agent": self.agent,
            "project": self.project,
            "subject": self.subject,
            "author": self.author,
            "time": self.time,
        }


def commit_log(
    plugins: PluginAccess, session_id: str | None = None, *, limit: int = DEFAULT_LIMIT
) -> list[CommitEntry]:
    """The commits carrying ao-tui's trailers (only ``session_id``'s when given), newest first."""
    seen: dict[Path, str] = {}
    for project_id, project in plugins.config.projects.items():
        seen.setdefault(Path(project.path).resolve(), project_id)
    found: dict[str, CommitEntry] = {}
    for repo, project_id in seen.items():
        for entry in _read(repo, project_id, session_id, limit):
            found.setdefault(entry.sha, entry)
    ordered = sorted(found.values(), key=lambda e: e.time, reverse=True)
    return ordered[:limit]


def _read(repo: Path, project_id: str, session_id: str | None, limit: int) -> list[CommitEntry]:
    """The stamped commits on ``repo``'s local branches."""
    if not repo.is_dir():
        return []
    wanted = f"{SESSION_TRAILER}: {session_id or ''}"
    proc = run_git(
        [
            "log",
            "--no-color",
            "-z",
            f"--max-count={limit}",
            "--fixed-strings",
            f"--grep={wanted}",
            f"--format={_FORMAT}",
            "--branches",
            "--",
        ],
        cwd=repo,
        check=False,
    )
    if proc.returncode != 0:
        return []  # no commits yet, or not a repository any more: nothing to list
    entries = []
    for record in proc.stdout.split("\0"):
        fields = record.strip("\n").split(_FIELD)
        if len(fields) != 6:
            continue
        sha, when, author, subject, sessions, agents = fields
        session = _last(sessions)
        # --grep matched a line; only the trailer itself counts (app-3 is not app-30).
        if not session or (session_id is not None and session != session_id):
            continue
        entries.append(
            CommitEntry(
                sha=sha,
                session=session,
                agent=_last(agents),
                project=project_id,
                subject=subject,
                author=author,
                time=float(when or 0),
            )
        )
    return entries


def _last(values: str) -> str:
    """The last trailer value of several (git reads the last one as the one in force)."""
    parts = [v.strip() for v in values.split(_VALUES) if v.strip()]
    return parts[-1] if parts else ""
