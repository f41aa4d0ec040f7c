"""The git worktree workspace: each session works in its own worktree on its own branch.

Every operation is a ``git`` argv call (never a shell). GitPython's ``repo.git.*`` would
only wrap the same subprocess calls; plain argv keeps the environment explicit and the
error text intact for the messages operators see.

The plugin never loses work and never leaves half-made state behind: a failed create
removes the branch, directory and registration it made, ``remove`` keeps the branch, and
``delete_branch`` refuses to drop a branch that holds commits found nowhere else. Every
change to the repository's worktree registrations happens under its worktree lock
(``plugins.repo_lock``), so concurrent spawns, kills and merges never trip over each
other's ``git worktree`` calls.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.git import git_error, run_git
from core.slots import RepoFacts, SlotError, WorktreeInfo
from core.wip import INDEX_TRAILER, is_wip_subject, staged_tree
from plugins import git_locks
from plugins.repo_lock import worktrees_locked
from plugins.scratch_worktrees import sweep
from plugins.workspace import commit_hooks

# The identity WIP commits get only when the repository has none of its own.
_FALLBACK_IDENTITY = ("-c", "user.name=ao-tui", "-c", "user.email=ao-tui@localhost")
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_LOCK_RETRIES = 3
"""How often one save step may meet (and clear) a stale lock before giving up."""


@dataclass(frozen=True)
class _Layout:
    """Where git keeps one worktree's files: what lock handling needs to know."""

    worktree: Path
    toplevel: Path
    git_dir: Path
    common_dir: Path
    head_ref: str
    """``refs/heads/<branch>``, or ``HEAD`` when detached."""

    @property
    def places(self) -> list[Path]:
        """Where a git process working on this worktree runs (its cwd)."""
        return [self.worktree, self.git_dir]

    def guards(self, lock: Path) -> bool:
        """Whether ``lock`` is one of this worktree's git locks (never a user's file)."""
        lock = lock.resolve()
        return lock.name.endswith(".lock") and any(
            lock.is_relative_to(root.resolve()) for root in (self.git_dir, self.common_dir)
        )


class WorktreeWorkspace:
    """The ``worktree`` workspace plugin: ``git worktree`` on a branch per session."""

    name = "worktree"

    # -- plumbing -------------------------------------------------------------------------

    def _check_branch_name(self, repo: Path, branch: str) -> None:
        """Refuse names git would reject or read as an option."""
        proc = run_git(["check-ref-format", "--branch", branch], cwd=repo, check=False)
        # --branch expands "@{-1}"-style shorthands; only a name that stays itself is plain.
        if branch.startswith("-") or proc.returncode != 0 or proc.stdout.strip() != branch:
            raise SlotError(f"invalid branch name {branch!r}")

    def _prune(self, repo: Path) -> None:
        """Forget registrations of worktrees whose directories are gone."""
        run_git(["worktree", "prune"], cwd=repo)

    def _undo_add(self, repo: Path, path: Path, branch: str | None) -> None:
        """Remove what a failed ``worktree add`` may have left: dir, registration, branch."""
        if path.exists():
            run_git(["worktree", "remove", "--force", "--force", str(path)], cwd=repo, check=False)
            shutil.rmtree(path, ignore_errors=True)
        self._prune(repo)
        if branch is not None and self.branch_exists(repo, branch):
            run_git(["branch", "-D", "--", branch], cwd=repo, check=False)

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
        # Only a branch: a session merges back into its base, and HEAD, a tag or a sha
        # cannot take a merge.
        if base.startswith("-") or not self.branch_exists(repo, base):
            raise SlotError(
                f"base {base!r} is not a local branch of {repo}; name an existing branch"
            )
        with worktrees_locked(repo):
            self._prune(repo)
            path.parent.mkdir(parents=True, exist_ok=True)
            proc = run_git(
                ["worktree", "add", "--quiet", "-b", branch, "--", str(path), base],
                cwd=repo,
                check=False,
            )
            if proc.returncode != 0:
                self._undo_add(repo, path, branch)
                raise SlotError(
                    f"could not create worktree {path} on {branch!r}: {git_error(proc)}"
                )

    def reopen(self, repo: Path, path: Path, branch: str) -> None:
        """Re-create the worktree at ``path`` on the existing ``branch``."""
        path = path.absolute()
        self._check_branch_name(repo, branch)
        if not self.branch_exists(repo, branch):
            raise SlotError(f"branch {branch!r} no longer exists in {repo}; nothing to reopen")
        if path.exists() or path.is_symlink():
            raise SlotError(f"{path} already exists; remove it before reopening {branch!r}")
        with worktrees_locked(repo):
            # A registration left by a directory deleted by hand would block the branch.
            self._prune(repo)
            path.parent.mkdir(parents=True, exist_ok=True)
            proc = run_git(
                ["worktree", "add", "--quiet", "--", str(path), branch], cwd=repo, check=False
            )
            if proc.returncode != 0:
                self._undo_add(repo, path, None)
                raise SlotError(f"could not reopen {branch!r} at {path}: {git_error(proc)}")

    def exclude(self, path: Path, patterns: Sequence[str]) -> None:
        """Append the missing ``patterns`` to the exclude file git reads for ``path``.

        Linked worktrees share the main repository's ``info/exclude``, which is what
        ``git rev-parse --git-path info/exclude`` resolves to when run inside one.
        """
        for pattern in patterns:
            if not pattern.strip() or "\n" in pattern or "\r" in pattern:
                raise SlotError(f"invalid exclude pattern {pattern!r}: one non-empty line each")
        out = run_git(["rev-parse", "--git-path", "info/exclude"], cwd=path).stdout.strip("\n")
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

    def stamp_commits(self, path: Path, trailers: Sequence[tuple[str, str]]) -> None:
        """Make each commit in worktree ``path`` end with ``trailers`` (``commit_hooks``)."""
        commit_hooks.install(path, trailers)

    def save_work(self, path: Path, message: str) -> str | None:
        """Commit every change in ``path``, untracked files included; the sha, or None.

        Excluded files stay out; hooks are skipped so a failing linter cannot block
        saving work. A lock a dead git process left in the way is removed; one a live git
        process holds raises :class:`~core.slots.WorktreeBusyError` after a bounded wait.
        """
        layout = self._layout(path)
        if layout.toplevel != path.resolve():
            # Its .git file is gone: git would commit into whatever repository encloses it.
            raise SlotError(
                f"{path} is no longer a git worktree (git finds {layout.toplevel} instead); "
                "its files are untouched: copy what you need out of it by hand"
            )
        status = run_git(["status", "--porcelain", "-z"], cwd=path)
        if not status.stdout:
            return None
        staged = self._staged_tree(path)
        if staged:
            # Restore stages exactly this again (core.wip); `add --all` below loses it.
            message = f"{message}\n\n{INDEX_TRAILER}: {staged}"
        self._run_past_locks(layout, "add", "--all")
        config = () if self._has_identity(path) else _FALLBACK_IDENTITY
        self._run_past_locks(
            layout, "commit", "--quiet", "--no-verify", "-m", message, config=config
        )
        return self.head_sha(path)

    def _staged_tree(self, path: Path) -> str:
        """The tree of the index when something is staged, else "" (also when unreadable)."""
        index = run_git(["write-tree"], cwd=path, check=False)
        head = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{tree}"], cwd=path, check=False)
        if index.returncode != 0 or head.returncode != 0:
            return ""  # a conflicted index has no tree: restore unstages everything then
        tree = index.stdout.strip()
        return "" if tree == head.stdout.strip() else tree

    def take_back_work(self, path: Path, wip: str) -> str:
        """Make the work of WIP commit ``wip`` uncommitted again, if it is still the tip.

        Only a commit ao-tui made (its subject says so) with one parent, at the tip of the
        branch checked out in ``path``, with nothing uncommitted beside it, is taken back:
        the branch moves to its parent, the files stay as they are, and the index is what
        was staged at the kill (the commit's trailer names it), or nothing staged when
        that is not known. Otherwise nothing changes. A note says which happened.
        """
        if not _COMMIT_ID.fullmatch(wip):
            # Read back from the database: never let it reach git as an option.
            return f"{wip[:40]!r} is not a commit id: nothing to take back"
        layout = self._layout(path)
        head = self.head_sha(path)
        short = wip[:10]
        if head != wip:
            on_branch = run_git(["merge-base", "--is-ancestor", wip, head], cwd=path, check=False)
            if on_branch.returncode == 0:
                count = run_git(["rev-list", "--count", f"{wip}..{head}"], cwd=path).stdout.strip()
                return (
                    f"the branch moved on since the kill ({count} commit(s) on top of the WIP "
                    f"commit {short}): the saved work stays committed"
                )
            return f"the WIP commit {short} is no longer on the branch: nothing to take back"
        shown = run_git(["show", "-s", "--format=%P%n%B", wip], cwd=path).stdout
        parents, _, message = shown.partition("\n")
        if not is_wip_subject(message.split("\n", 1)[0]) or len(parents.split()) != 1:
            return f"{short} is not a WIP commit of ao-tui's: left as it is"
        if self.has_changes(path):
            return f"the worktree has uncommitted changes: the WIP commit {short} stays"
        staged = staged_tree(message)
        known = staged is not None and (
            run_git(["cat-file", "-e", f"{staged}^{{tree}}"], cwd=path, check=False).returncode == 0
        )
        if staged is not None and known:
            self._run_past_locks(layout, "reset", "--quiet", "--soft", parents.strip())
            self._run_past_locks(layout, "read-tree", staged)
        else:
            self._run_past_locks(layout, "reset", "--quiet", "--mixed", parents.strip())
        return f"the work saved at the kill ({short}) is uncommitted again"

    def release_stale_locks(self, path: Path) -> list[str]:
        """Remove the stale locks that would stop :meth:`save_work` in ``path``; a note each.

        The index and HEAD locks of the worktree and the lock of its branch are checked;
        a live holder raises :class:`~core.slots.WorktreeBusyError` after a bounded wait.
        """
        layout = self._layout(path)
        locks = [layout.git_dir / "index.lock", layout.git_dir / "HEAD.lock"]
        if layout.head_ref.startswith("refs/heads/"):
            locks.append(layout.common_dir / f"{layout.head_ref}.lock")
        notes = [git_locks.settle(lock, layout.places) for lock in locks]
        return [note for note in notes if note]

    def _layout(self, path: Path) -> _Layout:
        out = run_git(
            [
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--git-dir",
                "--git-common-dir",
                "--symbolic-full-name",
                "HEAD",
            ],
            cwd=path,
        ).stdout.splitlines()
        if len(out) != 4:
            raise SlotError(f"git rev-parse in {path} gave unexpected output: {out!r}")
        toplevel, git_dir, common_dir, head_ref = out
        return _Layout(
            path.resolve(), Path(toplevel).resolve(), Path(git_dir), Path(common_dir), head_ref
        )

    def _run_past_locks(
        self, layout: _Layout, *args: str, config: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run git in the worktree; clear a stale lock it reports and run it again."""
        for _ in range(_LOCK_RETRIES):
            proc = run_git(args, cwd=layout.worktree, check=False, config=config)
            if proc.returncode == 0:
                return proc
            lock = git_locks.reported_lock(proc.stderr)
            if lock is None or not layout.guards(lock):
                break
            git_locks.settle(lock, layout.places)
        raise SlotError(f"git {args[0]} in {layout.worktree} failed: {git_error(proc)}")

    def remove(self, repo: Path, path: Path) -> None:
        """Remove worktree ``path`` (uncommitted changes included); its branch stays."""
        path = path.absolute()
        with worktrees_locked(repo):
            if path.exists():
                # Twice --force: also removes a locked worktree, which otherwise would stay.
                run_git(["worktree", "remove", "--force", "--force", str(path)], cwd=repo)
            self._prune(repo)

    def tidy(self, repo: Path) -> list[str]:
        """Remove merge worktrees that interrupted merges left in ``repo``; a note each."""
        return sweep(repo)

    def repository_facts(self, repo: Path) -> RepoFacts:
        """Whether ``repo`` is a work tree with commits; its branches, tags and remotes."""
        top = run_git(["rev-parse", "--show-toplevel"], cwd=repo, check=False)
        if top.returncode != 0:
            return RepoFacts(problem=f"{repo} is not a git work tree: {git_error(top)}")
        refs = run_git(
            ["for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags", "refs/remotes"],
            cwd=repo,
        ).stdout.splitlines()
        branches = tuple(r.removeprefix("refs/heads/") for r in refs if r.startswith("refs/heads/"))
        tags = tuple(r.removeprefix("refs/tags/") for r in refs if r.startswith("refs/tags/"))
        remotes = tuple(
            r.removeprefix("refs/remotes/")
            for r in refs
            if r.startswith("refs/remotes/") and not r.endswith("/HEAD")
        )
        has_commits = bool(refs) or (
            run_git(
                ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=repo, check=False
            ).returncode
            == 0
        )
        return RepoFacts("", has_commits, branches, tags, remotes)

    def default_branch(self, repo: Path) -> str:
        """``origin``'s default branch, else the main worktree's branch, else ``main``."""
        remote = run_git(
            ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"],
            cwd=repo,
            check=False,
        )
        if remote.returncode == 0 and remote.stdout.strip().startswith("origin/"):
            return remote.stdout.strip().removeprefix("origin/")
        # The common dir's HEAD is the main worktree's, even when ``repo`` is a linked one.
        common = run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=repo)
        head = run_git(
            ["--git-dir", common.stdout.strip(), "symbolic-ref", "--quiet", "--short", "HEAD"],
            cwd=repo,
            check=False,
        )
        if head.returncode == 0 and head.stdout.strip():
            return head.stdout.strip()
        return "main"

    # -- what exists: the inventory of orphans and half-done operations ------------------

    def list_branches(self, repo: Path, prefix: str) -> dict[str, str]:
        """Local branches named ``prefix``..., each with its commit, in one ``for-each-ref``."""
        # for-each-ref matches whole path components: list the prefix's folder, then filter.
        folder = prefix.rpartition("/")[0]
        ref = f"refs/heads/{folder}" if folder else "refs/heads"
        out = run_git(["for-each-ref", "--format=%(objectname) %(refname)", ref], cwd=repo).stdout
        found: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition(" ")
            branch = name.removeprefix("refs/heads/")
            if branch.startswith(prefix):
                found[branch] = sha
        return found

    def list_worktrees(self, repo: Path) -> list[WorktreeInfo]:
        """Every registered worktree of ``repo`` (``git worktree list --porcelain -z``)."""
        out = run_git(["worktree", "list", "--porcelain", "-z"], cwd=repo).stdout
        found: list[WorktreeInfo] = []
        path: Path | None = None
        branch, prunable = "", False
        # Records are NUL-separated lines; an empty line ends one worktree.
        for line in [*out.split("\0"), ""]:
            if not line:
                if path is not None:
                    found.append(WorktreeInfo(path, branch, prunable))
                path, branch, prunable = None, "", False
            elif line.startswith("worktree "):
                path = Path(line.removeprefix("worktree "))
            elif line.startswith("branch "):
                branch = line.removeprefix("branch ").removeprefix("refs/heads/")
            elif line == "prunable" or line.startswith("prunable "):
                prunable = True
        return found

    def has_changes(self, path: Path) -> bool:
        """Whether ``path`` holds uncommitted work; excluded files (ours) do not count."""
        return bool(run_git(["status", "--porcelain", "-z"], cwd=path).stdout)

    def commits_ahead(self, repo: Path, branch: str, base: str) -> int:
        """How many commits ``branch`` has that ``base`` does not."""
        for name in (branch, base):
            if name.startswith("-"):
                raise SlotError(f"invalid branch name {name!r}")
        out = run_git(["rev-list", "--count", f"refs/heads/{base}..refs/heads/{branch}"], cwd=repo)
        return int(out.stdout.strip() or 0)

    # -- helpers the engine uses for rollback and status ----------------------------------

    def branch_exists(self, repo: Path, branch: str) -> bool:
        """Whether ``repo`` has a local branch called ``branch``."""
        proc = run_git(
            ["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo, check=False
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
            unique = run_git(["rev-list", "--max-count=1", f"{base}..{ref}"], cwd=repo)
        else:
            unique = run_git(
                [
                    "rev-list",
                    "--max-count=1",
                    ref,
                    "--not",
                    f"--exclude={branch}",
                    "--branches",
                    "--tags",
                    "--remotes",
                ],
                cwd=repo,
            )
        if unique.stdout.strip():
            raise SlotError(
                f"branch {branch!r} has commits of its own; not deleting it "
                f"(delete it by hand with `git branch -D {branch}` if it is really unwanted)"
            )
        run_git(["branch", "-D", "--", branch], cwd=repo)

    def head_sha(self, path: Path) -> str:
        """The commit checked out in ``path``."""
        return run_git(["rev-parse", "--verify", "HEAD"], cwd=path).stdout.strip()

    def _has_identity(self, path: Path) -> bool:
        """Whether git can name an author and a committer here without our fallback."""
        return all(
            run_git(["var", ident], cwd=path, check=False).returncode == 0
            for ident in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT")
        )
