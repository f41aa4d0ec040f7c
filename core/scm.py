"""The SCM slot: what the engine asks of a source-control host (local git, GitHub).

A session's "PR" is its branch proposed into its base branch. Plugins report facts (head,
ahead/behind, conflicts, CI runs, review); this module turns them into the one PR state
the board shows and the list of blockers a merge must clear. It imports no plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from core.ci_excerpt import bound_excerpt
from core.errors import EngineError
from core.models import CiState, PRState, ReviewState, ReviewThread, SessionPR
from core.redact import env_secrets, redact
from core.slots import SlotError
from core.wip import WIP_BLOCKER

if TYPE_CHECKING:
    from core.store import Store

MergeMethod = Literal["merge", "squash", "rebase"]
MERGE_METHODS: tuple[MergeMethod, ...] = ("merge", "squash", "rebase")


class MergeBlockedError(EngineError):
    """A merge was refused because of blockers; ``blockers`` lists them, one line each."""

    exit_code = 8

    def __init__(self, message: str, blockers: Sequence[str]) -> None:
        """Refuse with ``message``; ``blockers`` are kept for the caller to print."""
        super().__init__(message)
        self.blockers = list(blockers)


class ScmUnavailableError(SlotError):
    """The host could not be asked and nothing is known yet (no token, offline, rate limited).

    The message says what failed and what would fix it; the reconciler shows it as the PR's
    ``problem`` instead of dropping the PR silently.
    """


class ScmNotReadyError(ScmUnavailableError):
    """Nothing is known yet because the first answer is still on its way (not a failure).

    The reconciler keeps the PR it has stored instead of writing "unknown" in the meantime.
    """


class MergeConflictError(EngineError):
    """The branch does not merge cleanly; both branches were left as they were."""

    exit_code = 9

    def __init__(self, message: str, files: Sequence[str]) -> None:
        """Report the conflict; ``files`` are the paths that conflict."""
        super().__init__(message)
        self.files = list(files)


@dataclass(frozen=True)
class CheckRun:
    """One CI check of a head commit (local: one run of the configured command)."""

    name: str
    state: CiState
    head_sha: str = ""
    duration: float | None = None
    """Seconds the run took (or has taken so far, while running)."""
    excerpt: str = ""
    """The useful part of the log: failing tests and error lines with some context."""
    url: str | None = None
    log_path: str = ""
    command: str | None = None
    """The command line this run ran (local CI), as recorded when it started; None for a
    host's check."""
    log_pending: bool = False
    """The log could not be fetched for a passing reason (the host is rate-limited or
    failing): the excerpt is a placeholder, and a later call brings the real one."""

    def to_json(self) -> dict[str, Any]:
        """One entry of ``ci --json``'s ``checks``: masked, the excerpt bounded.

        Every front end (``ci``, the cockpit's CI view, the excerpt sent to an agent) reads
        checks through here, so an excerpt stored before masking existed is masked too.
        """
        secrets = env_secrets()
        return {
            "name": redact(self.name, secrets),
            "state": self.state,
            "duration": None if self.duration is None else round(self.duration, 3),
            "excerpt": bound_excerpt(self.excerpt, secrets=secrets, log_path=self.log_path),
            "url": self.url,
            "log": self.log_path or None,
            "head_sha": self.head_sha,
            "command": None if self.command is None else redact(self.command, secrets),
        }


@dataclass(frozen=True)
class PRInfo:
    """Everything known about one session's PR at one head commit."""

    head_sha: str
    base_sha: str
    ahead: int
    behind: int
    conflicts: tuple[str, ...] = ()
    ci: CiState = "none"
    ci_required: bool = False
    """True when a CI command is configured, so "none" means "not run yet", not "no CI"."""
    review: ReviewState = "pending"
    review_required: bool = True
    """False when the project's ``merge.requireApproval`` is off: a green head with no
    review is mergeable (a stale approval or requested changes still block)."""
    draft: bool = False
    merged: bool = False
    number: int | None = None
    url: str | None = None
    checks: tuple[CheckRun, ...] = field(default=())
    threads: tuple[ReviewThread, ...] = field(default=())
    """Unresolved review threads (hosts that have them)."""
    problem: str = ""
    """Why this information may be out of date (the host failed on the last poll), or ""."""
    host_notes: tuple[str, ...] = ()
    """What the host adds to :attr:`notes` (e.g. the local branch is ahead of the PR head)."""
    wip_head: bool = False
    """The head is a WIP commit ao-tui saved at a kill (core.wip): never to be merged."""

    @property
    def state(self) -> PRState:
        """The PR state the zones read (core.zones): open, ci_failed, mergeable, ..."""
        return pr_state(self)

    @property
    def blockers(self) -> list[str]:
        """Why a merge must not happen now (empty when it may)."""
        return merge_blockers(self)

    @property
    def notes(self) -> list[str]:
        """Facts worth showing beside the blockers that do not stop a merge."""
        notes = list(self.host_notes)
        if self.behind and not self.merged:
            plural = "commit" if self.behind == 1 else "commits"
            notes.insert(0, f"behind base by {self.behind} {plural}")
        return notes

    def to_session_pr(self) -> SessionPR:
        """The record stored on the session and read by every front end."""
        blockers = self.blockers
        return SessionPR(
            state=self.state,
            number=self.number,
            url=self.url,
            ci=self.ci,
            review=self.review,
            mergeable=not blockers and not self.merged,
            blockers=tuple(blockers),
            notes=tuple(self.notes),
            head_sha=self.head_sha,
            base_sha=self.base_sha,
            ahead=self.ahead,
            behind=self.behind,
            conflicts=self.conflicts,
            threads=self.threads,
            problem=self.problem,
        )


def pr_state(pr: PRInfo) -> PRState:
    """One state from the facts, most urgent first.

    An approval only counts for the head it was given at: a push after review sends the
    PR back to ``review_pending`` so nothing is ever merged unseen.
    """
    if pr.merged:
        return "merged"
    if pr.conflicts:
        return "conflicts"
    if pr.ci == "running":
        return "ci_running"
    if pr.ci == "failing":
        return "ci_failed"
    if pr.review == "changes_requested":
        return "changes_requested"
    green = pr.ci == "passing" or (pr.ci == "none" and not pr.ci_required)
    unreviewed_ok = pr.review == "pending" and not pr.review_required and not pr.draft
    if green and (pr.review == "approved" or unreviewed_ok):
        return "mergeable"
    if pr.review == "stale":
        return "review_pending"
    if pr.draft:
        return "draft"
    return "open"


def merge_blockers(pr: PRInfo) -> list[str]:
    """Every reason not to merge ``pr`` now, in the order the operator should fix them.

    Being behind the base is not a blocker: each merge method replays the branch onto the
    current base, and real conflicts are reported on their own.
    """
    if pr.merged:
        return ["already merged"]
    blockers: list[str] = [WIP_BLOCKER] if pr.wip_head else []
    if pr.ci == "failing":
        blockers.append("CI failing")
    elif pr.ci == "running":
        blockers.append("CI running")
    elif pr.ci == "none" and pr.ci_required:
        blockers.append("CI has not run on this head")
    if pr.review == "changes_requested":
        blockers.append("changes requested")
    if pr.conflicts:
        blockers.append(f"conflicts in: {', '.join(pr.conflicts)}")
    if pr.draft:
        blockers.append("draft")
    if pr.review == "pending" and pr.review_required:
        blockers.append("not approved")
    elif pr.review == "stale":
        blockers.append("approval is for an older head")
    if pr.ahead == 0:
        blockers.append("no commits ahead of base")
    return blockers


@dataclass(frozen=True)
class CiSettings:
    """A project's ``ci`` block as the SCM plugin sees it."""

    command: str
    """A shell line, run as ``sh -c <command>`` in the session worktree."""
    timeout: int = 600
    project_env: Mapping[str, str] = field(default_factory=dict, hash=False)
    """The project's ``env:``: the run's environment is built from it
    (:func:`core.agent_env.ci_environment`), never from the starting process's whole one."""


@dataclass(frozen=True)
class HostSettings:
    """Where a project's PRs live on a hosting service (``scm: github``)."""

    repo: str
    """``owner/name`` on the host."""
    api_url: str = "https://api.github.com"
    """REST root; GraphQL is ``{api_url}/graphql`` (GitHub Enterprise: ``https://HOST/api/v3``
    with GraphQL at ``https://HOST/api/graphql``, which the plugin derives)."""
    poll_interval: float = 15.0
    """Seconds between change checks of the repository (a 304 costs no rate limit)."""


@dataclass(frozen=True)
class ScmTarget:
    """One session's branch as the SCM plugin needs to know it."""

    session_id: str
    title: str
    repo: Path
    worktree: Path
    branch: str
    base: str
    state_dir: Path
    """The session's private directory (CI logs go there)."""
    ci: CiSettings | None = None
    host: HostSettings | None = None
    """Set for host plugins (GitHub); None for ``local``."""
    review_required: bool = True
    """The project's ``merge.requireApproval``: False lets a green head merge unreviewed
    (the local SCM; a host's own branch protection decides there)."""
    trailers: tuple[tuple[str, str], ...] = ()
    """What a merge or squash commit ao-tui makes ends with (:mod:`core.provenance`)."""
    agent_approval_counts: bool = False
    """The project's ``merge.agentApprovalCounts``: a reviewer agent's approval counts as
    the approval ``review_required`` asks for."""


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: the new base commit and anything the operator should know."""

    sha: str
    method: MergeMethod
    notes: tuple[str, ...] = ()


@runtime_checkable
class Scm(Protocol):
    """Where PRs, CI and reviews live (local git, GitHub)."""

    name: str

    def heads(self, repo: Path, branches: Sequence[str]) -> dict[str, str]:
        """The commit of each existing local branch, read in one call."""
        ...

    def prefetch(self, targets: Sequence[ScmTarget], store: Store, *, wait: bool) -> None:
        """Bring what :meth:`status` reads up to date for all ``targets`` of one project.

        Called once per project before the per-session :meth:`status` calls, so a host
        plugin can ask about every PR in a few batched requests. ``wait=False`` (the
        daemon's and cockpit's timer loop) must not block on the network: start a
        background refresh and return; ``wait=True`` (a one-shot CLI call) waits for it.
        Local plugins do nothing.
        """
        ...

    def status(self, target: ScmTarget, store: Store, head: str, base_head: str) -> PRInfo | None:
        """The PR of ``target`` at ``head`` (None when it has no commits ahead of base).

        ``head`` and ``base_head`` are the local branches' commits; a host plugin reports
        the PR's own head (``PRInfo.head_sha``), which is what a merge must name. Raise
        :class:`ScmUnavailableError` when the host cannot be asked and nothing is known.
        """
        ...

    def start_ci(self, target: ScmTarget, store: Store, head: str, *, rerun: bool = False) -> bool:
        """Start CI for ``head`` in the background unless it ran (or ``rerun``); True if started."""
        ...

    def checks(self, target: ScmTarget, store: Store, head: str) -> list[CheckRun]:
        """The CI checks of ``head``, failing ones first."""
        ...

    def approve(self, target: ScmTarget, store: Store, head: str) -> None:
        """Record the operator's approval of ``head``."""
        ...

    def merge(self, target: ScmTarget, method: MergeMethod, head: str) -> MergeResult:
        """Land ``head`` of the branch on the base; raise :class:`MergeConflictError`."""
        ...

    def diff(self, target: ScmTarget, *, stat: bool = False) -> str:
        """The branch's changes against the base (from their merge base)."""
        ...
