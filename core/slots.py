"""The plugin slots: what the engine asks of a runtime, a workspace and an agent.

The engine only ever talks to these protocols; concrete plugins live in ``plugins/`` and
are found through the registry (``core.registry``), never imported by name from ``core``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.errors import AoError
from core.models import ActivitySignal, Delivery, DeliveryMarker, Turn, WaitingFor
from core.notify.model import Notification

if TYPE_CHECKING:
    import asyncio  # annotations only: status --json must not pay for loading it

    from core.scm import ScmTarget
    from core.tracker import TrackerTarget


class SlotError(AoError):
    """A plugin could not do what was asked; the message says what to do about it."""


class WorktreeBusyError(SlotError):
    """A live git process holds a lock in the worktree: the same call will work later.

    Nothing is wrong with the work itself, so callers say "retry", never "discard".
    """


@dataclass(frozen=True)
class RepoFacts:
    """What a workspace can tell about a project's repository, in a few cheap git calls."""

    problem: str = ""
    """Why the path is not a usable repository ("" when it is); the other facts are empty."""
    has_commits: bool = False
    branches: tuple[str, ...] = ()
    """Local branch names (``main``, ``ao/app-1-fix``)."""
    tags: tuple[str, ...] = ()
    remote_branches: tuple[str, ...] = ()
    """Remote-tracking branches as git shortens them (``origin/main``)."""


@dataclass(frozen=True)
class PaneInfo:
    """Runtime facts about one agent's pane, all gathered in one batched call."""

    session_name: str
    pane_id: str
    pane_pid: int
    dead: bool
    current_command: str = ""
    dead_status: int | None = None
    dead_at: float | None = None
    """When the agent exited, by the runtime's own record (epoch seconds), if it keeps one."""

    @property
    def exit_detail(self) -> str:
        """``agent exited (status 1)``: what a dead pane says, for an exited signal."""
        if self.dead_status is None:
            return "agent exited"
        return f"agent exited (status {self.dead_status})"


@dataclass(frozen=True)
class WorktreeInfo:
    """One worktree registered in a repository (``git worktree list``)."""

    path: Path
    branch: str
    """The branch checked out there ("" when detached)."""
    prunable: bool = False
    """Its directory is gone; only the registration is left."""


@runtime_checkable
class Runtime(Protocol):
    """Where agent processes live (tmux)."""

    name: str

    def create(
        self, name: str, cwd: Path, argv: Sequence[str], *, width: int = 200, height: int = 50
    ) -> PaneInfo:
        """Start a detached session called ``name`` running ``argv`` (never through a shell)."""
        ...

    def kill(self, name: str) -> None:
        """End the session if it exists; a missing session is not an error."""
        ...

    def list_panes(self) -> dict[str, PaneInfo]:
        """Every pane of every session, keyed by session name, in one call; {} if no server."""
        ...

    def capture(self, target: str, *, ansi: bool = False) -> str:
        """The visible screen of a pane (``target`` is a pane id like ``%3``)."""
        ...

    def paste(self, target: str, text: str) -> None:
        """Paste ``text`` byte-for-byte as one bracketed paste (no key is interpreted)."""
        ...

    def send_keys(self, target: str, *keys: str) -> None:
        """Press named keys (``Enter``, ``Escape``, ``1``) in the pane."""
        ...

    def attach_argv(self, name: str, *, inside_tmux: bool) -> list[str]:
        """The argv that puts the operator's terminal on session ``name``."""
        ...


@runtime_checkable
class RuntimeWatch(Protocol):
    """Optional for a runtime: it reports, the moment they happen, the changes no file shows.

    An agent's exit, its pane dying, its session closing and the runtime's server going
    away reach the reconcile loop through this, so the loop needs no timer to see them.
    """

    async def watch(self, wake: Callable[[str | None], None], stop: asyncio.Event) -> None:
        """Call ``wake(session_name)`` (None: any or all of them) on each such change until
        ``stop`` is set; returning early means this runtime cannot watch here."""
        ...


@runtime_checkable
class RefWatch(Protocol):
    """Optional for an SCM: the files whose changes are the only way its answers change.

    An SCM that declares them (the local one: branch refs) is refreshed when they change
    instead of on a timer; one that does not (a host's API) keeps being polled.
    """

    def watch_paths(self, repo: Path) -> list[Path]:
        """Directories (each with everything below it) whose changes mean ``repo``'s
        answers may have changed."""
        ...


@runtime_checkable
class IssueLabels(Protocol):
    """Optional for a tracker: it can put a label on an issue (GitHub; not a task file,
    which is the operator's to edit). The backlog marks an issue it picked up with it."""

    def add_label(self, target: TrackerTarget, key: str, label: str) -> None:
        """Add ``label`` to issue ``key``; :class:`core.tracker.TrackerError` when it cannot."""
        ...


@runtime_checkable
class HostNews(Protocol):
    """Optional for an SCM: it polls a host by itself and says when a poll brought news.

    An SCM whose answers come from a host's API (GitHub) learns of a change only by
    asking. While :meth:`watch_news` runs, it asks every poll interval on its own, and
    wakes the reconcile loop the moment an answer differs from the last one (a PR's state,
    head, checks, review or threads; a PR found or gone; a problem begun or over), so the
    PR state is refreshed then, not at the loop's next timed refresh. A poll that brings
    nothing wakes nothing.
    """

    async def watch_news(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        """Keep polling the repositories asked about lately and call ``wake()`` (on the
        caller's event loop) after each poll that brought news, until ``stop`` is set."""
        ...


@runtime_checkable
class HostReviews(Protocol):
    """Optional for an SCM: an agent review becomes one review on the host's PR (GitHub).

    Without it (local) the review stays in the store, which the SCM's status reads."""

    def post_review(
        self, target: ScmTarget, head: str, event: str, body: str, comments: Sequence[Any]
    ) -> None:
        """Post one review of ``head``: ``event`` REQUEST_CHANGES, APPROVE or COMMENT,
        ``comments`` with ``path``, ``line`` and ``body``; :class:`SlotError` if refused."""
        ...


@runtime_checkable
class Workspace(Protocol):
    """Where an agent's files live (a git worktree on its own branch)."""

    name: str

    def create(self, repo: Path, path: Path, branch: str, base: str) -> None:
        """Create ``path`` as a worktree of ``repo`` on new ``branch`` forked from ``base``."""
        ...

    def reopen(self, repo: Path, path: Path, branch: str) -> None:
        """Re-create a removed worktree at ``path`` on the existing ``branch``."""
        ...

    def exclude(self, path: Path, patterns: Sequence[str]) -> None:
        """Keep ``patterns`` (our own files) out of git status and WIP commits."""
        ...

    def save_work(self, path: Path, message: str) -> str | None:
        """Commit every change, untracked files included; the new sha, or None if clean."""
        ...

    def take_back_work(self, path: Path, wip: str) -> str:
        """Make WIP commit ``wip`` (saved by a kill) uncommitted work again if it is still the
        branch tip; a note saying what was done (the commit is left when it is not the tip)."""
        ...

    def remove(self, repo: Path, path: Path) -> None:
        """Remove the worktree (the branch stays)."""
        ...

    def default_branch(self, repo: Path) -> str:
        """The branch sessions fork from when the config names none."""
        ...

    def release_stale_locks(self, path: Path) -> list[str]:
        """Remove git lock files a dead process left where saving ``path``'s work needs them.

        One note per lock removed. Raises :class:`WorktreeBusyError` naming the process when
        a live one still holds a lock after a bounded wait.
        """
        ...

    def repository_facts(self, repo: Path) -> RepoFacts:
        """Whether ``repo`` is a repository with commits, and its branches, tags and remotes."""
        ...

    def tidy(self, repo: Path) -> list[str]:
        """Remove what crashed ao-tui processes left registered in ``repo``; one note each."""
        ...

    def list_branches(self, repo: Path, prefix: str) -> dict[str, str]:
        """Local branches whose name starts with ``prefix``, each with its commit (one call)."""
        ...

    def list_worktrees(self, repo: Path) -> list[WorktreeInfo]:
        """Every worktree registered in ``repo``, the main one included."""
        ...

    def has_changes(self, path: Path) -> bool:
        """Whether the worktree holds uncommitted work (untracked files included)."""
        ...

    def commits_ahead(self, repo: Path, branch: str, base: str) -> int:
        """How many commits ``branch`` has that ``base`` does not."""
        ...

    def delete_branch(self, repo: Path, branch: str, *, base: str | None = None) -> None:
        """Delete ``branch`` only if it holds no commits of its own (beyond ``base``)."""
        ...


CACHE_SUFFIX = ".cache"
"""The name ending of a file a plugin writes for itself into a watched dir (such as a
session's state dir): a change to it is ao-tui's own, not an agent's, and wakes no tick."""


@dataclass(frozen=True)
class AgentSettings:
    """The per-project ``agentConfig`` block, as the agent plugin sees it."""

    command: str | None = None
    permissions: str | None = None
    model: str | None = None
    allow: tuple[str, ...] = ()
    """Tools the agent may use without asking (``agentConfig.allow``), applied only through
    :class:`PermissionRules`."""


@dataclass(frozen=True)
class AgentContext:
    """Everything an agent plugin needs to know about one session."""

    session_id: str
    agent_session_id: str
    worktree: Path
    state_dir: Path
    """A private per-session directory under AO_TUI_HOME (hook log, launch plan); a file
    the plugin keeps there for itself ends in :data:`CACHE_SUFFIX`."""
    prompt: str
    settings: AgentSettings = AgentSettings()
    env: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    """When the agent process of the current attempt was launched (0 if unknown)."""
    role: str = "worker"
    """What the session is for (:class:`core.models.Role`'s value)."""


@dataclass(frozen=True)
class LaunchPlan:
    """The process an agent session runs: argv (never a shell string) and its environment."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    starts_on_task: bool = True
    """True when the process begins working on the task at once; False when it resumes a
    conversation and waits for input (so an idle screen right after the start is real)."""


@dataclass(frozen=True)
class Observation:
    """What an agent plugin read about its session in one tick."""

    signals: list[ActivitySignal]
    extra: dict[str, Any] = field(default_factory=dict)
    """Facts to persist on the session (e.g. the transcript path once found)."""


@runtime_checkable
class Agent(Protocol):
    """One kind of coding agent (an agent CLI, a shell command, ...)."""

    name: str
    summary: str
    """What the agent is, in a few words (``ao-tui init`` lists the agents with it)."""
    confirms_delivery: bool
    """True when :meth:`delivery` can prove a message arrived."""

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Write hooks and settings into the worktree; the worktree paths to git-exclude."""
        ...

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """The process for a fresh session with ``ctx.prompt`` as its task."""
        ...

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """The process that brings an exited session back with its conversation."""
        ...

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """Read the agent's signals; ``capture`` costs a tmux call, so call it only when needed."""
        ...

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Directories outside AO_TUI_HOME where this agent, run with a project's ``env``,
        writes what :meth:`observe` reads (transcripts, status files); watched, so a write
        there wakes a reconcile tick. May name directories that do not exist yet."""
        ...

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Whether typed text reaches the agent now (False while it is still starting up)."""
        ...

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """Where the agent's records of received messages end, taken just before a send."""
        ...

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """Whether ``text`` reached the agent since ``marker`` was taken: delivered (its
        records show it), queued (it waits to be read once the agent is done), else pending.
        ``capture`` (a tmux call) reads the screen when the records do not tell."""
        ...

    def paste_delay(self, text: str) -> float:
        """Seconds to wait between the paste and Enter, scaled by the text's length."""
        ...

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """Keys that answer a pending prompt; ``asked`` is what it asks, as the session's
        activity reports it (an agent with more than one kind of prompt answers each its
        own way)."""
        ...


@runtime_checkable
class EnvNeeds(Protocol):
    """Optional for an agent plugin: the operator's variables its program reads.

    The agent process gets only an allowlist of the operator's environment
    (:mod:`core.agent_env`); a plugin whose program needs more (its API key, its own
    settings variables) says so here. A plugin without it gets nothing extra.
    """

    def inherited_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The variables of ``environ`` (the operator's) the agent program needs."""
        ...


@dataclass(frozen=True)
class InspectedFiles:
    """What an inspector read from the files given to ``ao-tui inspect transcript``."""

    format: str
    """The transcript's format, as the report names it."""
    signals: dict[str, ActivitySignal | None]
    """One signal (or None) per source read: ``transcript``, ``hooks``, ``status``, ``pane``."""
    report: dict[str, Any]
    """The per-file part of the report: a ``transcript`` summary and one entry per file."""


@runtime_checkable
class TranscriptInspector(Protocol):
    """The ``inspector`` slot: reads an agent's files outside a live session, for
    ``ao-tui inspect transcript``, with the same readers its agent plugin uses."""

    name: str

    def inspect(
        self,
        transcript: Path,
        hooks: Path | None,
        status: Path | None,
        pane: Path | None,
        now: float,
    ) -> InspectedFiles | None:
        """Read the files if the transcript is in a format this inspector knows, else None."""
        ...


@runtime_checkable
class ConversationLookup(Protocol):
    """Optional for an agent plugin: finding the agent's own conversation id from its files,
    so a session recovered from what is left on disk resumes its conversation."""

    def latest_conversation(self, worktree: Path, env: Mapping[str, str]) -> str:
        """The id of the newest conversation the agent recorded for ``worktree`` ("" if none)."""
        ...


@runtime_checkable
class ConversationTurns(Protocol):
    """Optional for an agent plugin: reading the conversation from the file the agent keeps
    (``Session.extra["transcript_path"]``), for the cockpit's transcript tab."""

    speaker: str
    """How the tab labels the agent's own turns (the agent's short name)."""

    def read_turns(self, path: Path, problems: list[str] | None = None) -> list[Turn]:
        """The latest turns of the conversation at ``path`` (blocking: call from a thread).

        Lines that cannot be read are skipped and, when ``problems`` is given, noted there
        (``line 3: nested deeper than 100 levels``). An unreadable file raises ``OSError``.
        """
        ...


@runtime_checkable
class AgentProgram(Protocol):
    """Optional for an agent plugin: the program it runs, which the operator installs
    (``doctor`` and ``init`` look for it on PATH)."""

    program: str
    """The command run unless ``agentConfig.command`` says otherwise ("" for none to install)."""
    install_hint: str
    """How to install :attr:`program`, as a command to run."""


@runtime_checkable
class PermissionRules(Protocol):
    """Optional for an agent plugin: it lets its agent use the tools a project's
    ``agentConfig.allow`` names without asking, through the agent's own permission settings
    (never by answering prompts for it).

    A plugin without it cannot: a session of a project with ``allow`` rules is refused
    (:mod:`core.permission_policy`), never started with the rules silently dropped.
    """

    allow_target: str
    """Where the rules go, in the agent's own terms (``config check`` and ``doctor`` show it)."""

    def apply_allow(self, ctx: AgentContext) -> list[str]:
        """Make ``ctx.settings.allow`` the rules ao-tui gives the agent in ``ctx.worktree``.

        Rules an earlier call wrote that are no longer listed are withdrawn; rules anyone
        else wrote are kept; calling it again with the same rules changes nothing. Returns
        the worktree paths to keep out of git.
        """
        ...


@runtime_checkable
class WorktreeTraces(Protocol):
    """Optional for an agent plugin: what :meth:`Agent.prepare` recorded about a worktree
    outside it (the folder's trust in the agent's own config), taken back once ao-tui has
    removed the worktree, so the agent's files do not grow by one entry per session."""

    def forget_worktree(self, worktree: Path, env: Mapping[str, str]) -> list[str]:
        """Take back what was recorded about ``worktree`` (gone now) for an agent run with
        ``env``; one note per entry removed. A file that cannot be read, and an entry the
        plugin cannot tell for its own, are left as they are."""
        ...


@runtime_checkable
class RoleSupport(Protocol):
    """Optional for an agent plugin: it can run a session with a role (the orchestrator,
    a reviewer), which takes standing instructions at every start and tool rules the
    agent itself enforces, so it cannot talk its way around them.

    A session with a role on an agent without it is refused (:mod:`core.role_launch`),
    never started without its rules. A worker's session is never asked.
    """

    roles: frozenset[str]
    """The roles (:class:`core.models.Role` values other than ``worker``) it can run."""

    def apply_role(self, ctx: AgentContext) -> list[str]:
        """Make the tool rules of ``ctx.role`` the rules ao-tui gives the agent in
        ``ctx.worktree`` (in place of the project's ``allow``, which is the workers');
        the worktree paths to keep out of git."""
        ...

    def role_plan(self, ctx: AgentContext, plan: LaunchPlan, instructions: str) -> LaunchPlan:
        """``plan`` (from ``launch`` or ``resume``) made to give the agent ``instructions``
        as its standing instructions and to run with ``ctx.role``'s permissions."""
        ...


class Notifier(Protocol):
    """A channel that reaches a person: the ``notifier`` slot.

    One plugin instance serves every configured notifier of its kind: ``options`` are that
    notifier's entry of ``notifiers:`` (``${VAR}`` expanded; tokens and URLs in it are
    secrets, never to be logged or put in an error).
    """

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``options`` (for ``doctor`` and before sending), in words that
        name the option and the fix and never its secret value; [] when nothing is."""
        ...

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """Deliver ``notification`` (blocking; bounded by the plugin's own timeout).

        ``key`` is the idempotency key of this notification on this notifier: sent where the
        receiver can read it (a header, the payload), so a resend after a crash is seen by
        the receiver as the same message. Raises
        :class:`core.notify.model.NotifierError` when it could not deliver.
        """
        ...


@runtime_checkable
class NamedServer(Protocol):
    """Optional for a runtime: the name of the server its sessions live on, so the cockpit
    can tell whether it runs inside that same server."""

    socket_name: str | None
    """The server's socket name (``tmux -L``); None for the default server."""


@runtime_checkable
class QuietPanes(Protocol):
    """Optional for a runtime: whether a pane wrote nothing since a moment, told without
    asking the server (so an unchanged screen is not captured again)."""

    def quiet_since(self, pane_id: str, since: float) -> bool:
        """True only when the pane surely showed no output since ``since`` (epoch seconds)."""
        ...


@runtime_checkable
class CommitStamps(Protocol):
    """Optional for a workspace: every commit made in a session's worktree carries trailers
    (:mod:`core.provenance`), through a hook installed for that worktree only."""

    def stamp_commits(self, path: Path, trailers: Sequence[tuple[str, str]]) -> None:
        """Make each commit in worktree ``path`` end with ``trailers`` (exactly once each).

        Never touches the repository's own hooks, which keep running, nor its main
        checkout; calling it again replaces what an earlier call installed.
        """
        ...


CAPABILITIES: dict[str, tuple[type[Any], ...]] = {
    "runtime": (NamedServer, QuietPanes, RuntimeWatch),
    "scm": (RefWatch, HostNews, HostReviews),
    "workspace": (CommitStamps,),
    "tracker": (IssueLabels,),
    "agent": (
        EnvNeeds,
        ConversationLookup,
        ConversationTurns,
        AgentProgram,
        PermissionRules,
        RoleSupport,
        WorktreeTraces,
    ),
}
"""The optional interfaces of each slot. A plugin need not offer one, but one it offers in
part (some members, not all) is refused when it loads (see :mod:`core.registry`)."""
