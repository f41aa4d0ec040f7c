"""The facade every front end calls: spawn, send, respond, kill, restore, list, get, merge...

Front ends (the CLI, the cockpit, the daemon) hold no session logic of their own; what
changed reaches them through :attr:`Engine.feed` (:mod:`core.feed`). This module holds the
verbs and their contracts; their work is done by one module per verb group
(:mod:`core.spawning`, :mod:`core.delivery`, :mod:`core.kill_restore`,
:mod:`core.review_ops`), on plugins looked up by :mod:`core.plugin_access`. Every method is
blocking (tmux, git and SQLite calls); async front ends run them with ``asyncio.to_thread``.
State lives in the store, so any number of processes can call these at once; only the
holder of the engine lease runs :meth:`Engine.reconcile` on a timer.
"""

from __future__ import annotations

import builtins
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.errors import EngineError, NotFoundError
from core.feed import ChangeFeed
from core.launcher import sweep_plans
from core.lifecycle import Reconciler, ReconcilerDeps
from core.locations import Locations
from core.models import (
    ACTIVE_LIFECYCLES,
    DeliveryResult,
    Event,
    Lifecycle,
    ReactionMark,
    Role,
    Session,
)
from core.naming import ID_TAIL, branch_name
from core.plugin_access import PluginAccess
from core.plugin_failures import converts_plugin_failures
from core.redact import redact_here, redact_value
from core.registry import Registry
from core.slots import SlotError
from core.store import Store
from core.tracker import Issue, TrackerError, normalize_key

if TYPE_CHECKING:
    from core.agent_reviews import AgentReview, ReviewComment
    from core.ci_report import CiReport
    from core.commit_log import CommitEntry
    from core.config import Config

# The verb modules (core.spawning, core.delivery, core.kill_restore, core.review_ops) are
# imported by the verb that uses them: a one-shot `status` loads none of them (issue 10 §8).

SESSION_ID_RE = re.compile(rf"^[a-z0-9][a-z0-9-]{{0,30}}-{ID_TAIL}$")


@converts_plugin_failures
class Engine(PluginAccess):
    """Sessions end to end: each method is one user action, atomic from the outside.

    Every public method turns a plugin's failure into an :class:`EngineError` naming the
    verb and the session (:mod:`core.plugin_failures`), so no front end sees a raw one.
    """

    def __init__(
        self,
        config: Config,
        *,
        locations: Locations | None = None,
        registry: Registry | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Bind the engine to a config, a state dir, the plugin registry and the store."""
        super().__init__(config, locations or Locations.from_env(), registry or Registry())
        self.locations.ensure()
        # Launch plans a killed spawn (or an older version) left behind.
        sweep_plans(self.locations.sessions_root)
        self.store = store or Store(self.locations.database)
        self.clock = clock
        self.config_file: Path | None = None
        """The file the config was read from (set by the CLI): the ``ao-tui`` an agent with
        a role runs is pinned to it (:mod:`core.role_launch`)."""
        self._reconciler = Reconciler(
            ReconcilerDeps(
                store=self.store,
                locations=self.locations,
                clock=clock,
                config=lambda: self.config,
                runtime=lambda: self.runtime,
                agent=self.agent,
                context=self.context,
                scm=self.scm,
                scm_target=self.scm_target,
            )
        )
        self._reconcile_lock = threading.Lock()
        self.feed = ChangeFeed(self.store)
        """Every change to the store, woken at once by this engine's own writes."""

    # tracker -------------------------------------------------------------------------

    def issue(self, project_id: str, ref: str) -> Issue:
        """Issue ``ref`` (``42``, ``#42``, ``T-3``) from the project's tracker."""
        try:
            key = normalize_key(ref)
            tracker, target = self.tracker(project_id)
            return tracker.issue(target, key)
        except (TrackerError, SlotError) as exc:
            raise EngineError(str(exc)) from exc

    def issues(self, project_id: str, *, limit: int = 100) -> builtins.list[Issue]:
        """The project's open issues, as its tracker orders them."""
        try:
            tracker, target = self.tracker(project_id)
            found = tracker.issues(target, limit=limit)
            return [replace(issue, title=redact_here(issue.title)) for issue in found]
        except (TrackerError, SlotError) as exc:
            raise EngineError(str(exc)) from exc

    # reads ---------------------------------------------------------------------------

    def predict_branch(self, project_id: str, title: str) -> str:
        """The branch a spawn in ``project_id`` titled ``title`` would create now."""
        prefix = self.project(project_id).session_prefix
        # Asked on every keystroke: only the state dir is looked at (no git, no tmux).
        local = self._has_local_traces
        return branch_name(self.store.peek_id(prefix, in_use=local), title or "task")

    def _has_local_traces(self, session_id: str) -> bool:
        """Whether ``session_id`` has a state folder or a worktree folder of any project."""
        if self.locations.session_dir(session_id).exists():
            return True
        return any((root / session_id).exists() for root in self._worktree_roots())

    def _worktree_roots(self) -> builtins.list[Path]:
        try:
            return [p for p in (self.locations.home / "worktrees").iterdir() if p.is_dir()]
        except OSError:
            return []

    def list(self) -> list[Session]:
        """Every session, oldest first."""
        return self.store.list_sessions()

    def get(self, session_id: str) -> Session:
        """One session, or :class:`NotFoundError` naming the id."""
        if not SESSION_ID_RE.match(session_id):
            raise NotFoundError(
                f"{session_id!r} is not a session id (ids look like app-3); "
                "list them with `ao-tui status`"
            )
        session = self.store.get_session(session_id)
        if session is None:
            raise NotFoundError(f"no session {session_id!r}; list them with `ao-tui status`")
        return session

    # spawn ---------------------------------------------------------------------------

    def spawn(
        self,
        project_id: str,
        prompt: str,
        *,
        title: str | None = None,
        agent_name: str | None = None,
        issue: str = "",
        force: bool = False,
        role: Role = Role.WORKER,
        session_id: str = "",
        base: str = "",
    ) -> Session:
        """Start a new session on ``prompt``; any failure undoes every step before it.

        With ``issue``, the project's tracker (when it has one) supplies the task: its
        title and body become the prompt, with ``prompt`` added as the operator's note,
        and the session is bound to the issue, so a second one on it needs ``force``.
        A ``prompt`` or ``title`` holding a control character other than newline and tab
        is refused; the issue's own text is made inert (``core.inert``).

        ``role``: what the session is for (:class:`core.models.Role`); only a worker takes a
        slot of the project's cap. ``session_id``: a fixed id (the orchestrator's) instead of
        the next free one; refused while any artifact carries it. ``base``: the branch the
        new one starts from instead of the project's base (a reviewer's: the author's).
        """
        from core import spawning

        return spawning.spawn(
            self,
            project_id,
            prompt,
            title=title,
            agent_name=agent_name,
            issue=issue,
            force=force,
            role=role,
            session_id=session_id,
            base=base,
        )

    # send / respond ------------------------------------------------------------------

    def send(
        self,
        session_id: str,
        text: str,
        *,
        confirm_timeout: float = 8.0,
        ready_timeout: float = 20.0,
    ) -> tuple[DeliveryResult, str]:
        """Paste ``text`` into the session's agent and press Enter, then confirm it arrived.

        An agent still starting up drops what is typed at it, so the paste waits (up to
        ``ready_timeout`` seconds) until the agent says it takes input. Text holding a
        control character other than newline and tab is refused (:class:`EngineError`,
        saying which and where); ``core.inert.clean`` gives the text that may be sent.
        """
        from core import delivery

        return delivery.send(
            self,
            session_id,
            text,
            confirm_timeout=confirm_timeout,
            ready_timeout=ready_timeout,
            observe=self._observe,
        )

    def respond(
        self, session_id: str, yes: bool, *, expect: str | None = None, timeout: float = 10.0
    ) -> Session:
        """Answer the permission prompt the agent waits on; refuse when none is pending.

        ``expect`` binds the answer to the prompt the caller saw (its command, or ``TOOL:
        command``; see :class:`core.prompts.Prompt`): when the session asks something else
        now, :class:`core.prompts.PromptChangedError` is raised and no key is sent.
        """
        from core import delivery

        return delivery.respond(
            self, session_id, yes, expect=expect, timeout=timeout, observe=self._observe
        )

    # kill / restore ------------------------------------------------------------------

    def kill(self, session_id: str, *, discard: bool = False) -> tuple[Session, str | None]:
        """Stop the agent and remove its worktree; uncommitted work is committed first.

        Kills of one session take turns (a lock in its state dir), so a second kill sees
        what the first did instead of failing on its half-done work. A merged or done
        session keeps its state and merge record: only a leftover agent or worktree goes.
        """
        from core import kill_restore

        return kill_restore.kill(self, session_id, discard=discard)

    def restore(self, session_id: str) -> Session:
        """Bring an exited or killed session back in place: same id, branch and worktree."""
        from core import kill_restore

        return kill_restore.restore(self, session_id)

    def escalate(self, session_id: str, why: str) -> ReactionMark:
        """Hand the session to the operator with ``why`` (Needs you, a person notified);
        what the orchestrator does when judgment is needed. ``why`` with a control
        character is refused; the reason is kept inert, on one line, bounded."""
        from core.reactions import verbs

        return verbs.escalate(self, session_id, why)

    def attach_argv(self, session_id: str) -> builtins.list[str]:
        """The command that puts the operator's terminal on the session's tmux session."""
        session = self.get(session_id)
        if session.tmux not in self.runtime.list_panes():
            raise EngineError(
                f"{session_id} has no tmux session; `ao-tui restore {session_id}` first"
            )
        return self.runtime.attach_argv(session.tmux, inside_tmux=bool(os.environ.get("TMUX")))

    # review, CI and merge ------------------------------------------------------------

    def ci(self, session_id: str, *, run: bool = False) -> CiReport:
        """The CI of the session's head: its checks, failing first (:class:`CiReport`).

        CI starts once per head on its own (here or in a tick); ``run`` starts a new run of
        the current head even if one exists. Never waits for a run to finish.
        """
        from core import review_ops

        return review_ops.ci(self, session_id, run=run, refresh_pr=self._refresh_pr)

    def approve(self, session_id: str) -> Session:
        """Record the operator's approval of the session's current head commit.

        The approval holds for that exact commit: a later push needs a new approval.
        """
        from core import review_ops

        return review_ops.approve(self, session_id, refresh_pr=self._refresh_pr)

    def merge(
        self,
        session_id: str,
        *,
        method: str | None = None,
        force: bool = False,
        expect_head: str | None = None,
    ) -> tuple[Session, str]:
        """Land the session's branch on its base; the session and the merged commit sha.

        Refused with :class:`MergeBlockedError` while there are blockers, unless ``force``.
        The exact head that was checked is merged, so a push that lands meanwhile is never
        merged unseen. Afterwards the agent is stopped and the worktree removed (any
        uncommitted work saved on the branch first); the branch stays. ``expect_head``
        refuses the merge unless the branch head is still that commit (what an automatic
        merge saw green and approved).
        """
        from core import review_ops

        return review_ops.merge(
            self, session_id, method=method, force=force, expect_head=expect_head
        )

    def diff(self, session_id: str, *, stat: bool = False) -> str:
        """The session branch's changes against its base, as ``git diff base...branch``."""
        from core import review_ops

        return review_ops.diff(self, session_id, stat=stat)

    def review_comment(
        self, session_id: str, path: str, line: int, text: str
    ) -> tuple[AgentReview, ReviewComment]:
        """Add a finding at ``path:line`` to the review of ``session_id`` (the author) by
        this process's actor (the reviewer session, or the operator); refused once that
        review is submitted, or for a path outside the repository, a line below 1, or text
        with control characters."""
        from core import review_verbs

        return review_verbs.comment(self, session_id, path, line, text)

    def review_submit(
        self, session_id: str, verdict: Literal["changes_requested", "approved"], summary: str = ""
    ) -> tuple[AgentReview, builtins.list[ReviewComment], builtins.list[str]]:
        """Submit that review with ``verdict``: its comments become review threads (the
        local SCM) or one PR review (a host), and its reviewer session ends. Returns the
        review, its comments and notes in words."""
        from core import review_verbs

        return review_verbs.submit(self, session_id, verdict, summary, refresh_pr=self._refresh_pr)

    def log(self, session_id: str | None = None, *, limit: int = 200) -> builtins.list[CommitEntry]:
        """Commits carrying ao-tui's trailers (``session_id``'s only when given), newest first."""
        from core.commit_log import commit_log

        return commit_log(self, session_id, limit=limit)

    # reconcile and events ------------------------------------------------------------

    def reconcile(self, *, pr_interval: float = 0.0) -> builtins.list[Event]:
        """One tick: gather runtime facts in one call, fuse signals, record what changed.

        ``pr_interval`` lets a timer loop refresh PR state (git calls) less often.
        """
        with self._reconcile_lock:
            events = self._reconciler.tick(pr_interval=pr_interval)
        if events:
            self.feed.wake()
        # As masked as the stored log: the daemon prints these (an activity detail may
        # quote a command with a token).
        return [replace(event, data=redact_value(event.data)) for event in events]

    def reconcile_one(self, session_id: str) -> Session:
        """Refresh one session now (used before acting on its state)."""
        self.get(session_id)
        with self._reconcile_lock:
            self._reconciler.tick(only=session_id)
        return self.get(session_id)

    def _observe(self, session_id: str) -> Session:
        """Refresh one session's agent state (no PRs: see :meth:`Reconciler.observe`)."""
        self.get(session_id)
        with self._reconcile_lock:
            events = self._reconciler.observe(session_id)
        if events:
            self.feed.wake()
        return self.get(session_id)

    def _refresh_pr(self, session_id: str) -> Session:
        """Refresh one session's PR now, waiting for its host (the review verbs, after acting)."""
        with self._reconcile_lock:
            events = self._reconciler.refresh_prs([self.get(session_id)], wait=True)
        if events:
            self.feed.wake()
        return self.get(session_id)

    def last_signal(self, session_id: str) -> float | None:
        """When the session's agent last wrote a record of its own, as this process's
        ticks saw it (None: not since this process started watching)."""
        return self._reconciler.last_signal.get(session_id)

    def active_sessions(self) -> builtins.list[Session]:
        """Sessions that own (or should own) a tmux session."""
        return [
            s
            for s in self.store.list_sessions()
            if s.lifecycle in ACTIVE_LIFECYCLES or s.lifecycle is Lifecycle.EXITED
        ]
