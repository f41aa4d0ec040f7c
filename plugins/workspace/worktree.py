"""The git worktree workspace: each session works in its own worktree on its own branch.

Every operation is a ``git`` argv call (never a shell). GitPython's ``repo.git.*`` would
only wrap the same subprocess calls; plain argv keeps the environment explicit and the
error text intact for the messages operators see.

The plugin never loses work and never leaves half-made state behind: a failed create
removes the branch, directory and registration it made, ``remove`` keeps the branch, and
``delete_branch`` refuses to drop a branch that holds commits found nowhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from core.slots import SlotError

GIT_TIMEOUT = 120.0
"""Seconds before a git call counts as hung (big checkouts can take a while)."""

# Variables that would point git at another repository than the one we name with ``-C``
# (set, for instance, when ao-tui runs from inside a git hook).
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)

# The identity WIP commits get only when the repository has none of its own.
_FALLBACK_IDENTITY = ("-c", "user.name=ao-tui", "-c", "user.email=ao-tui@localhost")


class WorktreeWorkspace:
    """The ``worktree`` workspace plugin: ``git worktree`` on a branch per session."""

    name = "worktree"

    # -- plumbing -------------------------------------------------------------------------

    def _git(
        self, cwd: Path, *args: str, check: bool = True, config: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run ``git -C cwd [config] args``; raise :class:`SlotError` on failure if ``check``."""
        env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
        # A credential or editor prompt would hang a background call forever.
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_EDITOR"] = "true"
        try:
            proc = subprocess.run(
                ["git", "-C", str(cwd), *config, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="surrogateescape",
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise SlotError("git is not installed: no `git` on PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise SlotError(f"git {args[0]} in {cwd} took over {GIT_TIMEOUT:.0f}s") from exc
        if check and proc.returncode != 0:
            raise SlotError(f"git {args[0]} in {cwd} failed: {_error(proc)}")
        return proc

    def _check_branch_name(self, repo: Path, branch: str) -> None:
        """Refuse names git would reject or read as an option."""
        proc = self._git(repo, "check-ref-format", "--branch", branch, check=False)
        # --branch expands "@{-1}"-style shorthands; only a name that stays itself is plain.
        if branch.startswith("-") or proc.returncode != 0 or proc.stdout.strip() != branch:
            raise SlotError(f"invalid branch name {branch!r}")

    def _prune(self, repo: Path) -> None:
        """Forget registrations of worktrees whose directories are gone."""
        self._git(repo, "worktree", "prune")

    def _undo_add(self, repo: Path, path: Path, branch: str | None) -> None:
        """Remove what a failed ``worktree add`` may have left: dir, registration, branch."""
        if path.exists():
            self._git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
            shutil.rmtree(path, ignore_errors=True)
        self._prune(repo)
        if branch is not None and self.branch_exists(repo, branch):
            self._git(repo, "branch", "-D", "--", branch, check=False)

    # -- Workspace protocol ---------------------------------------------------------------

    def create(self, repo: Path, path: Path, branch: str, base: str) -> None:
        """Create worktree ``path`` of ``repo`` on new ``branch`` forked from ``base``."""
        path = path.absolute()
        self._check_branch_name(repo, branch)
        if self.branch_exists(repo, branch):
            raise SlotError(
                f"branch {branch!r} already exists in {repo}; delete it (git branch -D) or "
                "reopen it instead of creating it"
            )
        if path.exists() or path.is_symlink():
            raise SlotError(f"{path} already exists; remove it or choose another worktree path")
        commit = f"{base}^{{commit}}"
        verify = self._git(repo, "rev-parse", "--verify", "--quiet", commit, check=False)
        if verify.returncode != 0 or base.startswith("-"):
            raise SlotError(f"base {base!r} is not a commit in {repo}; name an existing branch")
        self._prune(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = self._git(
            repo, "worktree", "add", "--quiet", "-b", branch, "--", str(path), base, check=False
        )
        if proc.returncode != 0:
            self._undo_add(repo, path, branch)
            raise SlotError(f"could not create worktree {path} on {branch!r}: {_error(proc)}")

    def reopen(self, repo: Path, path: Path, branch: str) -> None:
        """Re-create the worktree at ``path`` on the existing ``branch``."""
        path = path.absolute()
        self._check_branch_name(repo, branch)
        if not self.branch_exists(repo, branch):
            raise SlotError(f"branch {branch!r} no longer exists in {repo}; nothing to reopen")
        if path.exists() or path.is_symlink():
            raise SlotError(f"{path} already exists; remove it before reopening {branch!r}")
        # A registration left by a directory deleted by hand would block the branch.
        self._prune(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = self._git(repo, "worktree", "add", "--quiet", "--", str(path), branch, check=False)
        if proc.returncode != 0:
            self._undo_add(repo, path, None)
            raise SlotError(f"could not reopen {branch!r} at {path}: {_error(proc)}")

    def exclude(self, path: Path, patterns: Sequence[str]) -> None:
        """Append the missing ``patterns`` to the exclude file git reads for ``path``.

        Linked worktrees share the main repository's ``info/exclude``, which is what
        ``git rev-parse --git-path info/exclude`` resolves to when run inside one.
        """
        for pattern in patterns:
            if not pattern.strip() or "\n" in pattern or "\r" in pattern:
                raise SlotError(f"invalid exclude pattern {pattern!r}: one non-empty line each")
        out = self._git(path, "rev-parse", "--git-path", "info/exclude").stdout.strip("\n")
        exclude_file = path / out  # absolute output replaces ``path`` in the join
        existing = exclude_file.read_text(encoding="utf-8") if exclude_file.exists() else ""
        present = {line.strip() for line in existing.splitlines()}
        missing = [p for p in dict.fromkeys(patterns) if p.strip() not in present]
        if not missing:
            return
        exclude_file.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        with exclude_file.open("a", encoding="utf-8") as fh:
            fh.write(prefix + "".join(f"{p}\n" for p in missing))

    def save_work(self, path: Path, message: str) -> str | None:
        """Commit every change in ``path``, untracked files included; the sha, or None.

        Excluded files stay out; hooks are skipped so a failing linter cannot block
        saving work.
        """
        status = self._git(path, "status", "--porcelain", "-z")
        if not status.stdout:
            return None
        self._git(path, "add", "--all")
        config = () if self._has_identity(path) else _FALLBACK_IDENTITY
        self._git(path, "commit", "--quiet", "--no-verify", "-m", message, config=config)
        return self.head_sha(path)

    def remove(self, repo: Path, path: Path) -> None:
        """Remove worktree ``path`` (uncommitted changes included); its branch stays."""
        path = path.absolute()
        if path.exists():
            # Twice --force: also removes a locked worktree, which otherwise would stay.
            self._git(repo, "worktree", "remove", "--force", "--force", str(path))
        self._prune(repo)

    def default_branch(self, repo: Path) -> str:
        """``origin``'s default branch, else the main worktree's branch, else ``main``."""
        remote = self._git(
            repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
        )
        if remote.returncode == 0 and remote.stdout.strip().startswith("origin/"):
            return remote.stdout.strip().removeprefix("origin/")
        # The common dir's HEAD is the main worktree's, even when ``repo`` is a linked one.
        common = self._git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
        head = self._git(
            repo,
            "--git-dir",
            common.stdout.strip(),
            "symbolic-ref",
            "--quiet",
            "--short",
            "HEAD",
            check=False,
        )
        if head.returncode == 0 and head.stdout.strip():
            return head.stdout.strip()
        return "main"

    # -- helpers the engine uses for rollback and status ----------------------------------

    def branch_exists(self, repo: Path, branch: str) -> bool:
        """Whether ``repo`` has a local branch called ``branch``."""
        proc = self._git(
            repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        )
        return proc.returncode == 0

    def delete_branch(self, repo: Path, branch: str, *, base: str | None = None) -> None:
        """Delete ``branch`` (spawn rollback) only if it holds no commits of its own.

        With ``base``, "its own" means commits not in ``base``; without, commits reachable
        from no other branch, tag or remote ref. A missing branch is not an error.
        """
        if not self.branch_exists(repo, branch):
            return
        ref = f"refs/heads/{branch}"
        if base is not None:
            unique = self._git(repo, "rev-list", "--max-count=1", f"{base}..{ref}")
        else:
            unique = self._git(
                repo,
                "rev-list",
                "--max-count=1",
                ref,
                "--not",
                f"--exclude={branch}",
                "--branches",
                "--tags",
                "--remotes",
            )
        if unique.stdout.strip():
            raise SlotError(
                f"branch {branch!r} has commits of its own; not deleting it "
                f"(delete it by hand with `git branch -D {branch}` if it is really unwanted)"
            )
        self._git(repo, "branch", "-D", "--", branch)

    def head_sha(self, path: Path) -> str:
        """The commit checked out in ``path``."""
        return self._git(path, "rev-parse", "--verify", "HEAD").stdout.strip()

    def _has_identity(self, path: Path) -> bool:
        """Whether git can name an author and a committer here without our fallback."""
        return all(
            self._git(path, "var", ident, check=False).returncode == 0
            for ident in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT")
        )


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    """git's error output as one line of text."""
    return " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
