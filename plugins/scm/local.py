"""The ``local`` SCM: a session branch ahead of its base is a PR; CI, review and merge are local.

CI is the project's ``ci.command``, a shell line run with ``sh -c`` in the session worktree
with the project's environment, by a detached runner (``core.ci_runner``) whose result
lands in the store; review is the operator's approval recorded at a head sha; merge happens
in a throwaway worktree of the base commit (``plugins.scratch_worktrees``) and lands with a
compare-and-swap ``update-ref``, so the operator's checkout and any concurrent change to
the base are never clobbered. Every git call is an argv list, never a shell.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.agent_env import ci_environment
from core.agent_reviews import OPERATOR, ReviewBook, local_threads
from core.git import git_error, run_git
from core.models import CiState, ReviewState
from core.provenance import with_trailers
from core.redact import redact
from core.scm import (
    CheckRun,
    MergeConflictError,
    MergeMethod,
    MergeResult,
    PRInfo,
    ScmTarget,
)
from core.slots import SlotError
from core.wip import is_wip_subject

if TYPE_CHECKING:
    from core.store import CiRun, Store

_LOST_GRACE = 60.0
"""Seconds past its timeout after which a run still marked running has lost its runner."""
_FACTS_CACHE_SIZE = 512

_HEADER_BYTES = 8192
_COMMAND_HEADER = "# command: "
"""How a run's log names its command (the header :meth:`LocalScm.start_ci` writes)."""

_FALLBACK_IDENTITY = ("-c", "user.name=ao-tui", "-c", "user.email=ao-tui@localhost")


@dataclass(frozen=True)
class _GitFacts:
    """What git says about a branch against its base at two given commits."""

    ahead: int
    behind: int
    conflicts: tuple[str, ...]
    wip_head: bool = False
    """The head is ao-tui's WIP commit (core.wip), which a merge must not land."""


class LocalScm:
    """The ``local`` SCM plugin (no host, no network)."""

    name = "local"

    def __init__(self) -> None:
        """Start with an empty cache of git facts (keyed by the two commits they depend on)."""
        self._facts: dict[tuple[str, str, str], _GitFacts] = {}

    # -- reads ---------------------------------------------------------------------------

    def heads(self, repo: Path, branches: Sequence[str]) -> dict[str, str]:
        """The commit of each existing local branch of ``repo``, in one ``for-each-ref``."""
        if not branches:
            return {}
        refs = [f"refs/heads/{b}" for b in dict.fromkeys(branches)]
        out = run_git(["for-each-ref", "--format=%(objectname) %(refname)", *refs], cwd=repo).stdout
        wanted = set(refs)
        found: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            if ref in wanted:
                found[ref.removeprefix("refs/heads/")] = sha
        return found

    def watch_paths(self, repo: Path) -> list[Path]:
        """The repository's branch refs: every answer here follows a branch moving.

        A commit in any worktree, a merge's ``update-ref`` and a branch deleted while packed
        all write or lock a file under ``refs/heads`` of the common git dir (worktrees share
        it), so no ``for-each-ref`` needs to run until one of them changes.
        """
        common = common_git_dir(repo)
        return [] if common is None else [common / "refs" / "heads"]

    def prefetch(self, targets: Sequence[ScmTarget], store: Store, *, wait: bool) -> None:
        """Nothing to fetch: every fact is read from the local repository when asked."""

    def _git_facts(self, repo: Path, head: str, base_head: str) -> _GitFacts:
        """Ahead/behind counts and conflicting files; git runs only for new commit pairs."""
        key = (str(repo), head, base_head)
        cached = self._facts.get(key)
        if cached is not None:
            return cached
        counts = run_git(["rev-list", "--left-right", "--count", f"{base_head}...{head}"], cwd=repo)
        behind, ahead = (int(n) for n in counts.stdout.split())
        conflicts: tuple[str, ...] = ()
        if ahead and behind:
            merge = run_git(
                ["merge-tree", "--write-tree", "--name-only", "--no-messages", base_head, head],
                cwd=repo,
                check=False,
            )
            if merge.returncode == 1:
                # First line is the (conflicted) tree; then one conflicted path per line.
                names = [line for line in merge.stdout.splitlines()[1:] if line.strip()]
                conflicts = tuple(dict.fromkeys(names))
            elif merge.returncode != 0:
                raise SlotError(f"git merge-tree in {repo} failed: {git_error(merge)}")
        subject = run_git(["show", "-s", "--format=%s", head], cwd=repo, check=False).stdout
        facts = _GitFacts(ahead, behind, conflicts, is_wip_subject(subject))
        if len(self._facts) >= _FACTS_CACHE_SIZE:
            self._facts.clear()
        self._facts[key] = facts
        return facts

    def status(self, target: ScmTarget, store: Store, head: str, base_head: str) -> PRInfo | None:
        """The PR at ``head`` against ``base_head``, or None when nothing is ahead."""
        facts = self._git_facts(target.repo, head, base_head)
        if facts.ahead == 0:
            return None
        checks = tuple(self.checks(target, store, head))
        ci: CiState = checks[0].state if checks else "none"
        review: ReviewState = "pending"
        approval = store.latest_approval(target.session_id)
        if approval is not None:
            review = "approved" if approval[0] == head else "stale"
        # A review's verdict (core.agent_reviews) counts at its head only; an agent's
        # approval only where merge.agentApprovalCounts says so, a person's always.
        book = ReviewBook(store)
        verdict = book.verdict_at(target.session_id, head)
        if verdict == "changes_requested":
            review = "changes_requested"
        elif verdict == "approved" and (
            target.agent_approval_counts or book.reviewer_at(target.session_id, head) == OPERATOR
        ):
            review = "approved"
        return PRInfo(
            head_sha=head,
            base_sha=base_head,
            ahead=facts.ahead,
            behind=facts.behind,
            conflicts=facts.conflicts,
            ci=ci,
            ci_required=target.ci is not None,
            review=review,
            review_required=target.review_required,
            checks=checks,
            threads=local_threads(book, target.session_id),
            wip_head=facts.wip_head,
        )

    def checks(self, target: ScmTarget, store: Store, head: str) -> list[CheckRun]:
        """The one local check: the newest run of the CI command at ``head``."""
        if target.ci is None:
            return []
        run = store.latest_ci_run(target.session_id, head)
        if run is None:
            return []
        now = time.time()
        end = run.finished_at if run.finished_at is not None else now
        state: CiState = "running"
        excerpt = run.excerpt
        if run.state in ("passing", "failing"):
            state = "passing" if run.state == "passing" else "failing"
        elif now - run.started_at > target.ci.timeout + _LOST_GRACE:
            state = "failing"
            excerpt = "the CI runner stopped without a result; rerun with `ao-tui ci ID --run`"
        command = _ran(run)
        return [
            CheckRun(
                name=command,
                command=command,
                state=state,
                head_sha=head,
                duration=max(0.0, end - run.started_at),
                excerpt=excerpt,
                log_path=run.log_path,
            )
        ]

    def diff(self, target: ScmTarget, *, stat: bool = False) -> str:
        """``git diff base...branch``: the branch's own changes, from the merge base."""
        args = ["diff", "--no-color", "--no-ext-diff"]
        if stat:
            args.append("--stat")
        span = f"refs/heads/{target.base}...refs/heads/{target.branch}"
        return run_git([*args, span, "--"], cwd=target.repo).stdout

    # -- CI ------------------------------------------------------------------------------

    def start_ci(self, target: ScmTarget, store: Store, head: str, *, rerun: bool = False) -> bool:
        """Start a detached run at ``head`` unless one exists (or ``rerun``); True if started."""
        if target.ci is None:
            return False
        log_path = target.state_dir / f"ci-{head[:12]}.log"
        earlier = sum(1 for run in store.ci_runs(target.session_id) if run.head_sha == head)
        if rerun and earlier:
            # A rerun keeps the earlier logs (one may still be being written).
            log_path = target.state_dir / f"ci-{head[:12]}-{earlier + 1}.log"
        run_id = store.start_ci_run(
            target.session_id, head, str(log_path), rerun=rerun, command=target.ci.command
        )
        if run_id is None:
            return False
        # A multi-line command (a YAML block, like a `run: |` step) keeps one "# " per line.
        shown = target.ci.command.strip().splitlines() or [""]
        header = [
            f"ao-tui CI for {target.session_id} at {head}",
            f"command: {shown[0]}",
            *(f"         {line}" for line in shown[1:]),
            f"run with: sh -c, in {target.worktree}",
        ]
        worktree = target.worktree
        if not worktree.is_dir():
            store.finish_ci_run(
                run_id,
                passed=False,
                exit_code=None,
                excerpt=f"the worktree {worktree} is gone; restore the session to run CI",
            )
            return True
        checked_out = run_git(["rev-parse", "HEAD"], cwd=worktree, check=False).stdout.strip()
        if checked_out != head:
            header.append(f"note: the worktree is at {checked_out[:12]}, not at {head[:12]}")
        if run_git(["status", "--porcelain"], cwd=worktree, check=False).stdout.strip():
            header.append("note: worktree has uncommitted changes")
        command = target.ci.command
        if not command.strip():
            store.finish_ci_run(
                run_id, passed=False, exit_code=None, excerpt="ci.command is empty; set one"
            )
            return True
        # Imported here: a one-shot `status` loads this plugin but seldom starts a run
        # (the runner brings ctypes and the reaper; tests/unit/test_import_hygiene.py).
        from core.ci_runner import RunSpec, launch

        target.state_dir.mkdir(parents=True, exist_ok=True)
        launch(
            RunSpec(
                database=str(store.path),
                run_id=run_id,
                # The user's own line from their config, run as a CI system runs a `run:`
                # step: through `sh -c`, so `PYTHONPATH=src pytest`, `&&` and pipes work.
                # It is no string we build and no third party's text, and Popen still gets
                # an argv list (never shell=True).
                argv=["sh", "-c", command],
                cwd=str(worktree),
                log_path=str(log_path),
                timeout=target.ci.timeout,
                header=header,
                env=ci_environment(os.environ, project_env=target.ci.project_env),
            )
        )
        return True

    # -- review and merge ----------------------------------------------------------------

    def approve(self, target: ScmTarget, store: Store, head: str) -> None:
        """Record the operator's approval of exactly ``head``."""
        store.add_approval(target.session_id, head)

    def merge(self, target: ScmTarget, method: MergeMethod, head: str) -> MergeResult:
        """Land ``head`` on the base branch with ``method``; the new base commit.

        The work happens in a temporary detached worktree; the base ref moves only at the
        end, and only if it still points where it did when we started.
        """
        from plugins.scratch_worktrees import scratch_worktree, sweep

        repo = target.repo
        # What an earlier merge killed midway left registered goes first (plugins.
        # scratch_worktrees: merges still running in other processes are left alone).
        swept = sweep(repo)
        base_ref = f"refs/heads/{target.base}"
        old = run_git(["rev-parse", "--verify", base_ref], cwd=repo).stdout.strip()
        identity = () if _has_identity(repo) else _FALLBACK_IDENTITY
        start = head if method == "rebase" else old
        with scratch_worktree(repo, start) as tmp:
            new = self._combine(tmp, target, method, head, old, identity)
        notes = self._land(repo, target.base, old, new)
        return MergeResult(sha=new, method=method, notes=(*swept, *notes))

    def _combine(
        self,
        tmp: Path,
        target: ScmTarget,
        method: MergeMethod,
        head: str,
        old: str,
        identity: Sequence[str],
    ) -> str:
        """Make the commit the base should point at, inside the temporary worktree."""
        where = f"{target.branch} into {target.base}"
        if method == "merge":
            message = f"Merge {target.branch} ({target.session_id}): {target.title}"
            message = with_trailers(message, target.trailers)
            proc = run_git(
                ["merge", "--no-ff", "--no-verify", "--no-edit", "-m", message, head],
                cwd=tmp,
                check=False,
                config=identity,
            )
            if proc.returncode != 0:
                self._conflict(tmp, where, ("merge", "--abort"), proc)
        elif method == "squash":
            proc = run_git(["merge", "--squash", head], cwd=tmp, check=False, config=identity)
            if proc.returncode != 0:
                self._conflict(tmp, where, ("reset", "--hard", "--quiet"), proc)
            if not run_git(["status", "--porcelain"], cwd=tmp).stdout.strip():
                raise SlotError(f"{target.branch} adds nothing to {target.base}; nothing to squash")
            message = f"{target.title} ({target.session_id})\n\nSquashed from {target.branch}."
            message = with_trailers(message, target.trailers)
            run_git(["commit", "--quiet", "--no-verify", "-m", message], cwd=tmp, config=identity)
        else:
            proc = run_git(["rebase", "--no-verify", old], cwd=tmp, check=False, config=identity)
            if proc.returncode != 0:
                self._conflict(tmp, where, ("rebase", "--abort"), proc)
        return run_git(["rev-parse", "HEAD"], cwd=tmp).stdout.strip()

    def _conflict(
        self,
        tmp: Path,
        where: str,
        abort: Sequence[str],
        proc: subprocess.CompletedProcess[str],
    ) -> None:
        """Name the conflicting files, undo the attempt, and raise."""
        unmerged = run_git(["diff", "--name-only", "--diff-filter=U"], cwd=tmp, check=False).stdout
        files = list(dict.fromkeys(line for line in unmerged.splitlines() if line))
        run_git(abort, cwd=tmp, check=False)
        if not files:
            raise SlotError(f"could not merge {where}: {git_error(proc)}")
        raise MergeConflictError(
            f"cannot merge {where}: conflicts in {', '.join(files)}; both branches are "
            "unchanged. Ask the agent to merge the base into its branch and resolve them",
            files,
        )

    def _land(self, repo: Path, base: str, old: str, new: str) -> list[str]:
        """Move the base branch from ``old`` to ``new`` without clobbering anything."""
        base_ref = f"refs/heads/{base}"
        notes: list[str] = []
        checkout = _checkout_of(repo, base_ref)
        moved = f"{base} moved while merging; nothing was changed, merge again"
        # Untracked files do not make a checkout dirty: a fast-forward keeps them, and
        # refuses (below) only when the merge would overwrite one.
        if (
            checkout is not None
            and not run_git(
                ["status", "--porcelain", "--untracked-files=no"], cwd=checkout
            ).stdout.strip()
        ):
            # A clean checkout follows the branch; --ff-only can never drop a commit that
            # landed on the base meanwhile, and it updates the files with the ref.
            current = run_git(["rev-parse", "--verify", base_ref], cwd=repo).stdout.strip()
            if current != old:
                raise SlotError(moved)
            proc = run_git(["merge", "--ff-only", "--quiet", new], cwd=checkout, check=False)
            if proc.returncode == 0:
                return notes
            current = run_git(["rev-parse", "--verify", base_ref], cwd=repo).stdout.strip()
            if current != old:
                raise SlotError(f"{moved} ({git_error(proc)})")
            reason = "untracked files in the way"
        else:
            reason = "uncommitted changes"
        if checkout is not None:
            # Moving the branch under a dirty checkout would make its files look like a
            # revert of the merge; detach it at the commit it has, files untouched.
            run_git(["checkout", "--quiet", "--detach"], cwd=checkout)
            notes.append(
                f"your checkout of {base} at {checkout} has {reason} and was left as it "
                f"was (now detached at {old[:10]}, behind {base}); when ready run "
                f"`git switch {base}` there, or `git merge --ff-only {base}`"
            )
        proc = run_git(
            ["update-ref", "-m", "ao-tui merge", base_ref, new, old], cwd=repo, check=False
        )
        if proc.returncode != 0:
            if checkout is not None:
                run_git(["symbolic-ref", "HEAD", base_ref], cwd=checkout, check=False)
            raise SlotError(f"{moved} ({git_error(proc)})")
        return notes


def _ran(run: CiRun) -> str:
    """The command ``run`` ran: as recorded, else (a run recorded before commands were kept)
    from its log's header, never the config's command of today."""
    if run.command:
        return run.command
    try:
        with Path(run.log_path).open("rb") as log:
            head = log.read(_HEADER_BYTES).decode("utf-8", errors="replace")
    except OSError:
        head = ""
    for line in head.splitlines():
        if not line.startswith("# "):
            break
        if line.startswith(_COMMAND_HEADER):
            return redact(line.removeprefix(_COMMAND_HEADER))
    return "CI (its command was not recorded)"


def common_git_dir(repo: Path) -> Path | None:
    """The git dir holding ``repo``'s branches, read from the files (no git call); None if
    ``repo`` does not look like a repository."""
    dot_git = repo / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        pointer = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not pointer.startswith("gitdir:"):
        return None
    # A linked worktree's .git file names its private git dir, whose "commondir" names the
    # shared one (relative to it).
    private = (repo / pointer.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (private / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return private
    return (private / common).resolve()


def _has_identity(repo: Path) -> bool:
    """Whether git can name an author and a committer here without our fallback."""
    return all(
        run_git(["var", ident], cwd=repo, check=False).returncode == 0
        for ident in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT")
    )


def _checkout_of(repo: Path, ref: str) -> Path | None:
    """The worktree (usually the operator's main checkout) that has ``ref`` checked out."""
    out = run_git(["worktree", "list", "--porcelain"], cwd=repo).stdout
    path: Path | None = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            path = Path(line.removeprefix("worktree "))
        elif line == f"branch {ref}" and path is not None and path.is_dir():
            return path
    return None
