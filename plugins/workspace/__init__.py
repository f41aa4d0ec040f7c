"""Workspace plugins: where an agent's files live."""

from plugins.workspace.worktree import WorktreeWorkspace

__all__ = ["WorktreeWorkspace"]
