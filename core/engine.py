"""The facade every front end calls: spawn, send, respond, kill, restore, list, get, merge...

Front ends (the CLI, the cockpit, the daemon) hold no session logic of their own; what
changed reaches them through :attr:`Engine.feed` (:mod:`core.feed`). Every method here is
blocking (tmux, git and SQLite calls); async front ends run them with ``asyncio.to_thread``.
State lives in the store, so any number of processes can call these at once; only the
holder of the engine lease runs :meth:`Engine.reconcile` on a timer.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import functools
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from core.activity.starts import SIGNALS_FROM
from core.agent_env import agent_environment
from core.artifacts import ids_in_use
from core.closed import closed_reason, closed_state, is_closed, restore_refusal
from core.config import Config, ProjectConfig
from core.errors import DuplicateTaskError, EngineError, NotFoundError
from core.faults import fault_point
from core.feed import ChangeFeed
from core.file_lock import hold
from core.inert import refusal
from core.launcher import PlanError, hand_over, make_pipe, sweep_plans
from core.lifecycle import Reconciler, ReconcilerDeps
from core.locations import Locations
from core.manifest import (
    Manifest,
    OperationMark,
    abandon_operation,
    operation_mark,
    write_manifest,
)
from core.models import (
    ACTIVE_LIFECYCLES,
    Activity,
    ActivityState,
    Delivery,
    DeliveryResult,
    Event,
    Lifecycle,
    Session,
    SignalSource,
)
from core.naming import branch_name, title_from
from core.plugin_failures import PLUGIN_FAILURES, converts_plugin_failures, describe_failure
from core.project_checks import usable_base
from core.prompts import Prompt, PromptChangedError, doing, not_waiting
from core.redact import redact_here, redact_value
from core.registry import Registry
from core.scm import (
    MERGE_METHODS,
    CiSettings,
    HostSettings,
    MergeBlockedError,
    MergeMethod,
    Scm,
    ScmTarget,
)
from core.scm_host import host_settings, scm_name
from core.slots import (
    Agent,
    AgentContext,
    AgentSettings,
    LaunchPlan,
    PaneInfo,
    Runtime,
    SlotError,
    Workspace,
    WorktreeBusyError,
)
from core.store import Store
from core.tracker import (
    Issue,
    Tracker,
    TrackerError,
    TrackerTarget,
    normalize_key,
    task_prompt,
    task_title,
)
from core.wip import WIP_BLOCKER, wip_message

SESSION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}-[0-9]{1,9}$")
MAX_PROMPT_BYTES = 100_000
"""Linux caps one argv element at 128 KiB; the task prompt is one argv element."""

_CLOSED_LIFECYCLES = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})
_KILL_WAIT = 180.0
"""Seconds a kill waits for another kill of the same session (which may itself wait for a
git process to let go of the worktree) before giving up."""


@converts_plugin_failures
class Engine:
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
        self.config = config
        self.locations = locations or Locations.from_env()
        self.locations.ensure()
        # Launch plans a killed spawn (or an older version) left behind.
        sweep_plans(self.locations.sessions_root)
        self.registry = registry or Registry()
        self.store = store or Store(self.locations.database)
        self.clock = clock
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
        # What `scm: auto` and the GitHub repo resolve to costs a git call; it is asked
        # on every PR refresh, and a project's remote does not move under a running engine.
        self._scm_names: dict[str, str] = {}
        self._hosts: dict[str, HostSettings | None] = {}

    def use_config(self, config: Config) -> None:
        """Run every action from now on with ``config`` (the file changed under a long-running
        process, :mod:`core.config_reload`); what was derived from the old one is dropped."""
        self.config = config
        self._scm_names = {}
        self._hosts = {}

    # plugins -------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        """The runtime plugin of the config's defaults (tmux)."""
        runtime: Runtime = self.registry.get("runtime", self.config.defaults.runtime)
        return runtime

    @property
    def workspace(self) -> Workspace:
        """The workspace plugin of the config's defaults (worktree)."""
        workspace: Workspace = self.registry.get("workspace", self.config.defaults.workspace)
        return workspace

    def agent(self, name: str) -> Agent:
        """The agent plugin called ``name``."""
        agent: Agent = self.registry.get("agent", name)
        return agent

    def scm(self, project_id: str) -> Scm:
        """The SCM plugin a project uses (``auto`` decided once: github or local)."""
        name = self._scm_names.get(project_id)
        if name is None:
            name = self._scm_names[project_id] = scm_name(self.project(project_id))
        scm: Scm = self.registry.get("scm", name)
        return scm

    def scm_target(self, session: Session) -> ScmTarget:
        """What the SCM plugin needs to know about ``session``'s branch."""
        project = self.project(session.project)
        ci = project.ci
        return ScmTarget(
            session_id=session.id,
            title=session.title,
            repo=project.path,
            worktree=Path(session.worktree),
            branch=session.branch,
            base=session.base_branch or project.default_branch or "main",
            state_dir=self.locations.session_dir(session.id),
            ci=None
            if ci is None
            else CiSettings(command=ci.command, timeout=ci.timeout, project_env=dict(project.env)),
            host=self._host(session.project) if self.scm(session.project).name != "local" else None,
        )

    def _host(self, project_id: str) -> HostSettings | None:
        if project_id not in self._hosts:
            self._hosts[project_id] = host_settings(self.project(project_id))
        return self._hosts[project_id]

    def tracker(self, project_id: str) -> tuple[Tracker, TrackerTarget]:
        """The project's tracker plugin and its settings; an error says how to add one."""
        project = self.project(project_id)
        if project.tracker is None:
            raise EngineError(
                f"project {project_id} has no tracker; add `tracker: local` (tasks in "
                "TASKS.md in the repository) or `tracker: github` to its config"
            )
        name = project.tracker.plugin
        host = self._host(project_id) if name == "github" else None
        tracker: Tracker = self.registry.get("tracker", name)
        target = TrackerTarget(project_id, project.path, project.tracker.path, host)
        return tracker, target

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

    def project(self, project_id: str) -> ProjectConfig:
        """A project's config by id, or an error listing the known ids."""
        try:
            return self.config.projects[project_id]
        except KeyError:
            known = ", ".join(sorted(self.config.projects)) or "none"
            raise EngineError(f"unknown project {project_id!r} (known: {known})") from None

    def context(self, session: Session) -> AgentContext:
        """What an agent plugin needs to know about ``session``."""
        project = self.config.projects.get(session.project)
        cfg = project.agent_config if project else None
        return AgentContext(
            session_id=session.id,
            agent_session_id=session.agent_session_id,
            worktree=Path(session.worktree),
            state_dir=self.locations.session_dir(session.id),
            prompt=session.prompt,
            settings=AgentSettings(
                command=cfg.command if cfg else None,
                permissions=cfg.permissions if cfg else None,
                model=cfg.model if cfg else None,
            ),
            env=dict(project.env) if project else {},
            extra=session.extra,
            started_at=float(session.extra.get("started_at", session.created_at)),
        )

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
    ) -> Session:
        """Start a new session on ``prompt``; any failure undoes every step before it.

        With ``issue``, the project's tracker (when it has one) supplies the task: its
        title and body become the prompt, with ``prompt`` added as the operator's note,
        and the session is bound to the issue, so a second one on it needs ``force``.
        A ``prompt`` or ``title`` holding a control character other than newline and tab
        is refused; the issue's own text is made inert (``core.inert``).
        """
        project = self.project(project_id)
        # The operator's own text, before an issue's (already inert) text is added to it: a
        # NUL would kill the agent at exec, an escape would act on the terminal showing it.
        for what, text in (("prompt", prompt), ("title", title or "")):
            problem = refusal(text, what, "pass --clean to use the cleaned text")
            if problem:
                raise EngineError(problem)
        if issue:
            prompt, title, issue = self._issue_task(project_id, issue, prompt, title, force)
        prompt = prompt.strip()
        if not prompt:
            raise EngineError(
                "the task prompt is empty; pass --prompt with what the agent should do"
            )
        if len(prompt.encode()) > MAX_PROMPT_BYTES:
            raise EngineError(
                f"the task prompt is {len(prompt.encode())} bytes (max {MAX_PROMPT_BYTES}); "
                "put the details in a file in the repo and point the agent at it"
            )
        # The prompt stays verbatim (the agent needs the task as given); the title is shown.
        title = redact_here((title or title_from(prompt)).strip())
        agent_name = agent_name or project.agent_name(self.config.defaults)
        agent = self.agent(agent_name)
        if not force:
            self._refuse_duplicate(project_id, prompt, title, issue)
        repo = project.path
        base = usable_base(project_id, project, self.workspace)

        # An id already carried by a worktree, branch, tmux session or state folder (a
        # database reset or restored from a backup) is skipped, never shared.
        in_use = ids_in_use(self, project.session_prefix)
        session_id = self.store.allocate_id(project.session_prefix, in_use=in_use.__contains__)
        fault_point("spawn.allocated")
        branch = branch_name(session_id, title)
        worktree = self.locations.worktree(project_id, session_id)
        now = self.clock()
        session = Session(
            id=session_id,
            project=project_id,
            agent=agent_name,
            title=title,
            prompt=prompt,
            branch=branch,
            worktree=str(worktree),
            tmux=f"ao-{session_id}",
            lifecycle=Lifecycle.SPAWNING,
            activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now, "starting"),
            created_at=now,
            updated_at=now,
            agent_session_id=str(uuid.uuid4()),
            issue=issue,
            base_branch=base,
        )
        state_dir = self.locations.session_dir(session_id)
        try:
            state_dir.mkdir(mode=0o700)
        except OSError as exc:
            # Never adopt a folder this spawn did not make: it may be another session's.
            self.store.append_event(session_id, "spawn-failed", {"error": str(exc)})
            raise EngineError(
                f"spawn {session_id} refused: cannot create its state folder {state_dir} "
                f"({exc.strerror or exc}); nothing was changed. `ao-tui doctor` lists what "
                "is there"
            ) from exc
        # Everything undone on failure was made by this spawn, the state folder included.
        undo: list[Callable[[], None]] = [lambda: shutil.rmtree(state_dir)]
        try:
            # The manifest comes first: whatever a crash leaves after this is recoverable.
            write_manifest(state_dir, Manifest.of(session).running("spawn"))
            fault_point("spawn.manifest")
            self.workspace.create(repo, worktree, branch, base)
            undo.append(lambda: self._undo_worktree(repo, worktree, branch))
            fault_point("spawn.worktree")
            ctx = self.context(session)
            excludes = agent.prepare(ctx)
            self.workspace.exclude(worktree, excludes)
            plan = agent.launch(ctx)
            self._check_binary(plan, project_id)
            pane = self._start_process(session, plan)
            undo.append(lambda: self.runtime.kill(session.tmux))
            fault_point("spawn.started")
            session = replace(session, pane_id=pane.pane_id, lifecycle=Lifecycle.RUNNING)
            self.store.insert_session(
                session,
                event=(
                    "spawned",
                    {"branch": branch, "worktree": str(worktree), "agent": agent_name},
                ),
            )
        except BaseException as exc:
            # Undo in reverse; a step that fails keeps everything before it (the state
            # folder with its manifest last of all), so what is left stays recoverable.
            for step in reversed(undo):
                try:
                    step()
                except Exception:
                    abandon_operation(state_dir)
                    break
            self.store.append_event(session_id, "spawn-failed", {"error": str(exc)})
            if isinstance(exc, SlotError):
                raise EngineError(f"spawn {session_id} failed: {exc}") from exc
            raise
        fault_point("spawn.recorded")
        try:
            write_manifest(state_dir, Manifest.of(session))
        except OSError:
            pass  # the row is the record now; the mark alone does not mislead anyone
        self._notify()
        return session

    def _issue_task(
        self, project_id: str, ref: str, note: str, title: str | None, force: bool
    ) -> tuple[str, str | None, str]:
        """Prompt, title and normalised key for a spawn on issue ``ref``."""
        try:
            key = normalize_key(ref)
        except TrackerError as exc:
            raise EngineError(str(exc)) from exc
        if self.project(project_id).tracker is None:
            if note.strip():
                return note, title, key  # no tracker: the id is a label on the session
            self.tracker(project_id)  # raises, saying how to configure one
        found = self.issue(project_id, key)
        if found.state != "open" and not force:
            raise EngineError(
                f"issue #{found.key} ({found.where or found.url}) is {found.state}; "
                "pass --force to work on it anyway"
            )
        return task_prompt(found, note), title or task_title(found), found.key

    def _refuse_duplicate(self, project_id: str, prompt: str, title: str, issue: str) -> None:
        wanted = _normalize(prompt)
        for other in self.store.list_sessions():
            if other.project != project_id or other.lifecycle in _CLOSED_LIFECYCLES:
                continue
            same_issue = bool(issue) and other.issue == issue
            same_task = _normalize(other.prompt) == wanted
            near_title = _near_duplicate(other.title, title)
            if same_issue:
                raise DuplicateTaskError(
                    f"{other.id} already works on issue #{issue} ({other.title!r}); "
                    f"send it a message with `ao-tui send {other.id} ...`, or pass --force"
                )
            if same_task or near_title:
                raise DuplicateTaskError(
                    f"{other.id} already works on this task ({other.title!r}); "
                    f"send it a message with `ao-tui send {other.id} ...`, or pass --force"
                )

    def _check_binary(self, plan: LaunchPlan, project_id: str) -> None:
        binary = plan.argv[0]
        path_env = {**os.environ, **plan.env}.get("PATH")
        if shutil.which(binary, path=path_env) is None:
            raise EngineError(
                f"agent command {binary!r} not found on PATH; install it or set "
                f"projects.{project_id}.agentConfig.command in the config"
            )

    def _start_process(self, session: Session, plan: LaunchPlan) -> PaneInfo:
        # The agent gets what it needs of the operator's environment, never all of it
        # (core.agent_env); tmux itself would hand it the environment of whichever process
        # started the tmux server. The plan goes through a FIFO, so no secret rests on disk.
        env = agent_environment(
            os.environ,
            agent=self.agent(session.agent),
            project_env=self.context(session).env,
            plan_env=plan.env,
            session_id=session.id,
        )
        try:
            pipe = make_pipe(self.locations.session_dir(session.id))
        except OSError as exc:
            raise EngineError(
                f"{session.id}: cannot make the launch pipe in "
                f"{self.locations.session_dir(session.id)}: {exc.strerror or exc}; "
                "AO_TUI_HOME must be writable and on a local file system"
            ) from None
        try:
            pane = self.runtime.create(
                session.tmux,
                Path(session.worktree),
                [sys.executable, "-m", "core.launcher", str(pipe)],
            )
            try:
                hand_over(
                    pipe,
                    plan.argv,
                    env,
                    Path(session.worktree),
                    launcher_gone=lambda: self._live_pane(session) is None,
                )
            except BaseException as exc:
                self.runtime.kill(session.tmux)
                if isinstance(exc, PlanError):
                    raise EngineError(f"{session.id}: {exc}") from None
                raise
            return pane
        finally:
            pipe.unlink(missing_ok=True)

    def _undo_worktree(self, repo: Path, worktree: Path, branch: str) -> None:
        self.workspace.remove(repo, worktree)
        self.workspace.delete_branch(repo, branch)

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
        session = self.get(session_id)
        # Only newline and tab among control characters: an escape could end the bracketed
        # paste, and whatever follows would be typed (CR as Enter). Third-party text comes
        # here already inert (core.inert); the operator's own is refused, not altered.
        problem = refusal(text, "message", "pass --clean to send the cleaned text")
        if problem:
            raise EngineError(problem)
        pane = self._live_pane(session)
        if pane is None:
            return self._record_send(
                session, DeliveryResult.FAILED, "the agent is not running", text
            )
        if not text.strip():
            raise EngineError("the message is empty")
        session = self._observe(session_id)
        if session.activity.state is ActivityState.WAITING_INPUT:
            # Typed into a permission menu, the text would be read as key presses ("1"
            # approves): the prompt must be answered first.
            return self._record_send(
                session,
                DeliveryResult.FAILED,
                f"it waits on a prompt ({session.activity.detail}); answer it first with "
                f"`ao-tui respond {session_id} yes|no`",
                text,
            )
        agent = self.agent(session.agent)
        ctx = self.context(session)
        if not self._wait_ready(agent, ctx, ready_timeout):
            return self._record_send(
                session,
                DeliveryResult.FAILED,
                f"the agent did not get ready for input within {ready_timeout:.0f}s; "
                f"look at it with `ao-tui attach {session_id}`",
                text,
            )
        marker = agent.delivery_marker(ctx)
        try:
            self.runtime.paste(pane.pane_id, text)
            time.sleep(agent.paste_delay(text))
            self.runtime.send_keys(pane.pane_id, "Enter")
        except PLUGIN_FAILURES as exc:
            return self._record_send(
                session, DeliveryResult.FAILED, f"typing it failed: {describe_failure(exc)}", text
            )
        if not agent.confirms_delivery:
            return self._record_send(
                session, DeliveryResult.SENT, "pasted; this agent gives no receipt", text
            )
        deadline = time.monotonic() + confirm_timeout
        retry_at = [1.5, 3.5, 6.0]  # Enter again if the paste swallowed it
        started = time.monotonic()
        screen = functools.partial(self.runtime.capture, pane.pane_id)
        while time.monotonic() < deadline:
            delivery = agent.delivery(ctx, marker, text, screen)
            if delivery is Delivery.DELIVERED:
                return self._record_send(
                    session, DeliveryResult.DELIVERED, "seen in the transcript", text
                )
            if delivery is Delivery.QUEUED:
                return self._record_send(
                    session, DeliveryResult.QUEUED, "the agent is busy; it will read it next", text
                )
            if retry_at and time.monotonic() - started >= retry_at[0]:
                retry_at.pop(0)
                self.runtime.send_keys(pane.pane_id, "Enter")
            time.sleep(0.1)
        return self._record_send(
            session,
            DeliveryResult.FAILED,
            f"no receipt from the agent within {confirm_timeout:.0f}s",
            text,
        )

    @staticmethod
    def _wait_ready(agent: Agent, ctx: AgentContext, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not agent.ready_for_input(ctx):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _record_send(
        self, session: Session, result: DeliveryResult, detail: str, text: str
    ) -> tuple[DeliveryResult, str]:
        # The event keeps the size and a short preview only: messages may carry secrets.
        # Masked whole, then cut: a cut token keeps no shape the masking could recognise.
        self.store.append_event(
            session.id,
            "message",
            {
                "result": result.value,
                "detail": detail,
                "bytes": len(text.encode()),
                "preview": redact_here(text)[:60],
            },
        )
        self._notify()
        return result, detail

    def respond(
        self, session_id: str, yes: bool, *, expect: str | None = None, timeout: float = 10.0
    ) -> Session:
        """Answer the permission prompt the agent waits on; refuse when none is pending.

        ``expect`` binds the answer to the prompt the caller saw (its command, or ``TOOL:
        command``; see :class:`core.prompts.Prompt`): when the session asks something else
        now, :class:`core.prompts.PromptChangedError` is raised and no key is sent.
        """
        session = self._observe(session_id)
        prompt = Prompt.of(session)
        if expect is not None and (prompt is None or not prompt.matches(expect)):
            raise PromptChangedError(session_id, expect, prompt, doing(session))
        if prompt is None:
            raise EngineError(not_waiting(session))
        pane = self._live_pane(session)
        if pane is None:
            raise EngineError(
                f"{session_id} has no live pane; restore it with `ao-tui restore {session_id}`"
            )
        asked = session.activity.waiting_for
        self.runtime.send_keys(pane.pane_id, *self.agent(session.agent).answer_keys(yes))
        self.store.append_event(
            session_id,
            "responded",
            {
                "answer": "yes" if yes else "no",
                "waiting_for": {} if asked is None else asked.to_json(),
                "expected": expect,
            },
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            session = self._observe(session_id)
            # Answered once the prompt is gone or another one is asked (agents often ask
            # for their next tool call at once).
            if Prompt.of(session) != prompt:
                break
        self._notify()
        return session

    # kill / restore ------------------------------------------------------------------

    def kill(self, session_id: str, *, discard: bool = False) -> tuple[Session, str | None]:
        """Stop the agent and remove its worktree; uncommitted work is committed first.

        Kills of one session take turns (a lock in its state dir), so a second kill sees
        what the first did instead of failing on its half-done work. A merged or done
        session keeps its state and merge record: only a leftover agent or worktree goes.
        """
        self.get(session_id)

        def busy(pid: int | None) -> EngineError:
            return EngineError(
                f"another kill of {session_id} (process {pid or '?'}) has run for over "
                f"{_KILL_WAIT:.0f}s; see what it did with `ao-tui status {session_id}`"
            )

        lock = self.locations.session_dir(session_id) / "kill.lock"
        with hold(lock, timeout=_KILL_WAIT, on_timeout=busy), self._operation(session_id, "kill"):
            result = self._kill(session_id, discard=discard)
            fault_point("kill.recorded")
        return result

    @contextlib.contextmanager
    def _operation(self, session_id: str, operation: str) -> Iterator[OperationMark]:
        """Mark ``operation`` in the session's manifest while it runs (see core.manifest)."""
        session = self.get(session_id)
        with operation_mark(self.locations.session_dir(session_id), session, operation) as mark:
            fault_point(f"{operation}.marked")
            yield mark

    def _kill(self, session_id: str, *, discard: bool) -> tuple[Session, str | None]:
        session = self.get(session_id)
        if session.lifecycle is Lifecycle.KILLED:
            raise EngineError(_already_killed(session))
        closed = is_closed(session)
        worktree = Path(session.worktree)
        if closed and not worktree.exists() and session.tmux not in self.runtime.list_panes():
            raise EngineError(
                f"{session_id} is {closed_state(session)}; "
                "nothing to kill: its agent and its worktree are gone already"
            )
        self.runtime.kill(session.tmux)
        fault_point("kill.stopped")
        wip: str | None = None
        notes: list[str] = []
        if worktree.exists():
            if not discard:
                try:
                    notes += self.workspace.release_stale_locks(worktree)
                    wip = self.workspace.save_work(worktree, wip_message(session_id, "kill"))
                    fault_point("kill.saved")
                except SlotError as exc:
                    self._kill_failed(session, worktree, exc, closed=closed)
            self.workspace.remove(Path(self.project(session.project).path), worktree)
            fault_point("kill.removed")
        now = self.clock()
        record = {"wip_commit": wip, "discarded": discard, "branch": session.branch, "notes": notes}
        extra = {**session.extra, "kill": record}
        if closed:
            # The merge (or completion) stays the session's story; this only tidied up. A
            # PR merged on the host is recorded as merged now: a killed record would offer
            # a restore onto work that has landed.
            merged: dict[str, Any] = {}
            if session.lifecycle not in (Lifecycle.MERGED, Lifecycle.DONE):
                merged = {
                    "lifecycle": Lifecycle.MERGED,
                    "lifecycle_reason": closed_reason(session),
                    "activity": Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "merged"),
                }
            session = self.store.update_session(
                session_id, extra=extra, event=("leftovers-removed", record), **merged
            )
        else:
            session = self.store.update_session(
                session_id,
                lifecycle=Lifecycle.KILLED,
                lifecycle_reason="discarded" if discard else "killed by operator",
                activity=Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "killed"),
                extra=extra,
                event=("killed", record),
            )
        self._notify()
        return session, wip

    def _kill_failed(
        self, session: Session, worktree: Path, exc: SlotError, *, closed: bool
    ) -> NoReturn:
        """Record that the work could not be saved (the worktree stays) and say what to do."""
        if closed:
            self.store.append_event(session.id, "kill-failed", {"error": str(exc)})
        else:
            self.store.update_session(
                session.id,
                lifecycle=Lifecycle.EXITED,
                lifecycle_reason="kill stopped: work not saved",
                event=("kill-failed", {"error": str(exc)}),
            )
        if isinstance(exc, WorktreeBusyError):
            # The work can be saved, just not now: never suggest throwing it away.
            advice = f"retry `ao-tui kill {session.id}` when that git command has finished"
        else:
            advice = (
                f"commit it by hand and run `ao-tui kill {session.id}` again (--discard "
                "would throw the uncommitted work away)"
            )
        raise EngineError(
            f"could not save the work in {worktree}: {exc}; nothing was removed. {advice}"
        ) from exc

    def restore(self, session_id: str) -> Session:
        """Bring an exited or killed session back in place: same id, branch and worktree."""
        with self._operation(session_id, "restore"):
            session = self._restore(session_id)
            fault_point("restore.recorded")
        return session

    def _restore(self, session_id: str) -> Session:
        session = self.get(session_id)
        refused = restore_refusal(session)
        if refused:
            raise EngineError(refused)
        if self._live_pane(session) is not None:
            raise EngineError(f"{session_id} is running; attach with `ao-tui attach {session_id}`")
        project = self.project(session.project)
        worktree = Path(session.worktree)
        if not worktree.exists():
            self.workspace.reopen(project.path, worktree, session.branch)
            fault_point("restore.reopened")
        notes, extra = self._take_back_work(session, worktree)
        agent = self.agent(session.agent)
        ctx = self.context(session)
        self.workspace.exclude(worktree, agent.prepare(ctx))
        plan = agent.resume(ctx)
        self._check_binary(plan, session.project)
        self.runtime.kill(session.tmux)  # a dead pane left by remain-on-exit
        # Taken before the start: the agent's first signals (its session-start hook) may
        # come before a loaded machine returns from starting it, and must count as after.
        now = self.clock()
        pane = self._start_process(session, plan)
        fault_point("restore.started")
        session = self.store.update_session(
            session_id,
            pane_id=pane.pane_id,
            lifecycle=Lifecycle.RUNNING,
            lifecycle_reason="restored",
            attempt=session.attempt + 1,
            extra={
                **extra,
                "started_at": now,
                SIGNALS_FROM: now,  # what the killed process left behind never counts
                "starts_on_task": plan.starts_on_task,
                "restore": {"notes": notes},
            },
            activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now, "restarting"),
            event=(
                "restored",
                {"attempt": session.attempt + 1, "argv0": plan.argv[0], "notes": notes},
            ),
        )
        self._notify()
        return session

    def _take_back_work(
        self, session: Session, worktree: Path
    ) -> tuple[builtins.list[str], dict[str, Any]]:
        """Make the work the last kill committed uncommitted again (README: "back in place").

        Only the exact commit the kill recorded, and only while it is the branch tip; once
        taken back (or found moved on), the kill record says so and no later restore
        touches the branch. The notes say what happened; the extra is the session's, updated.
        """
        record = session.extra.get("kill")
        if not isinstance(record, dict) or not record.get("wip_commit") or "work_back" in record:
            return [], dict(session.extra)
        try:
            note = self.workspace.take_back_work(worktree, str(record["wip_commit"]))
        except SlotError as exc:
            # The work is safe in the commit; the agent may still start on top of it.
            note = f"the WIP commit {str(record['wip_commit'])[:10]} stays: {exc}"
        fault_point("restore.work-back")
        return [note], {**session.extra, "kill": {**record, "work_back": note}}

    def attach_argv(self, session_id: str) -> builtins.list[str]:
        """The command that puts the operator's terminal on the session's tmux session."""
        session = self.get(session_id)
        if session.tmux not in self.runtime.list_panes():
            raise EngineError(
                f"{session_id} has no tmux session; `ao-tui restore {session_id}` first"
            )
        return self.runtime.attach_argv(session.tmux, inside_tmux=bool(os.environ.get("TMUX")))

    def _live_pane(self, session: Session) -> PaneInfo | None:
        pane = self.runtime.list_panes().get(session.tmux)
        if pane is None or pane.dead:
            return None
        return pane

    # review, CI and merge ------------------------------------------------------------

    def _heads(self, session: Session) -> tuple[Scm, ScmTarget, str, str]:
        """The session's SCM plugin, target, branch head and base head (one git call)."""
        scm = self.scm(session.project)
        target = self.scm_target(session)
        heads = scm.heads(target.repo, [target.branch, target.base])
        head, base_head = heads.get(target.branch), heads.get(target.base)
        if head is None:
            raise EngineError(f"{session.id}: branch {target.branch!r} no longer exists")
        if base_head is None:
            raise EngineError(f"{session.id}: base branch {target.base!r} does not exist")
        return scm, target, head, base_head

    def _refresh_pr(self, session_id: str) -> Session:
        with self._reconcile_lock:
            events = self._reconciler.refresh_prs([self.get(session_id)], wait=True)
        if events:
            self._notify()
        return self.get(session_id)

    def ci(self, session_id: str, *, run: bool = False) -> dict[str, Any]:
        """The CI of the session's head: ``{"state", "checks", "head_sha", "ci_command"}``.

        CI starts once per head on its own (here or in a tick); ``run`` starts a new run of
        the current head even if one exists. Never waits for a run to finish.
        """
        session = self.get(session_id)
        scm, target, head, base_head = self._heads(session)
        if target.ci is None and target.host is None:
            return {"state": "none", "checks": [], "head_sha": head, "ci_command": None}
        try:
            scm.prefetch([target], self.store, wait=True)
            pr = scm.status(target, self.store, head, base_head)
            if pr is not None:
                head = pr.head_sha  # a host's PR head: what its checks ran on
            if run:
                if not scm.start_ci(target, self.store, head, rerun=True):
                    raise EngineError(f"{session_id}: no CI run to start at {head[:10]}")
                self.store.append_event(session_id, "ci-rerun", {"head_sha": head})
            elif pr is not None:
                scm.start_ci(target, self.store, head)
            if session.lifecycle not in _CLOSED_LIFECYCLES:
                self._refresh_pr(session_id)
            checks = scm.checks(target, self.store, head)
        except SlotError as exc:
            raise EngineError(f"CI of {session_id}: {exc}") from exc
        order = {"failing": 0, "running": 1, "passing": 2, "none": 3}
        checks.sort(key=lambda check: order[check.state])
        return {
            "state": checks[0].state if checks else "none",
            "checks": [check.to_json() for check in checks],
            "head_sha": head,
            # What a new run would run now (the config may have changed since a check ran).
            "ci_command": None if target.ci is None else redact_here(target.ci.command),
        }

    def approve(self, session_id: str) -> Session:
        """Record the operator's approval of the session's current head commit.

        The approval holds for that exact commit: a later push needs a new approval.
        """
        session = self.get(session_id)
        if session.lifecycle in (Lifecycle.MERGED, Lifecycle.DONE):
            raise EngineError(f"{session_id} is {session.lifecycle.value}; nothing to approve")
        scm, target, head, base_head = self._heads(session)
        try:
            scm.prefetch([target], self.store, wait=True)
            pr = scm.status(target, self.store, head, base_head)
            if pr is None:
                raise EngineError(
                    f"{session_id} has no commits ahead of {target.base}; nothing to approve"
                )
            head = pr.head_sha
            scm.approve(target, self.store, head)
        except SlotError as exc:
            raise EngineError(f"approval of {session_id} failed: {exc}") from exc
        self.store.append_event(session_id, "approved", {"head_sha": head})
        self._notify()
        return self._refresh_pr(session_id)

    def merge(
        self, session_id: str, *, method: str | None = None, force: bool = False
    ) -> tuple[Session, str]:
        """Land the session's branch on its base; the session and the merged commit sha.

        Refused with :class:`MergeBlockedError` while there are blockers, unless ``force``.
        The exact head that was checked is merged, so a push that lands meanwhile is never
        merged unseen. Afterwards the agent is stopped and the worktree removed (any
        uncommitted work saved on the branch first); the branch stays.
        """
        with self._operation(session_id, "merge") as mark:
            merged = self._merge(session_id, method, force, mark)
            fault_point("merge.recorded")
        return merged

    def _merge(
        self, session_id: str, method: str | None, force: bool, mark: OperationMark
    ) -> tuple[Session, str]:
        session = self.get(session_id)
        if session.lifecycle is Lifecycle.MERGED:
            raise EngineError(f"{session_id} is already merged")
        project = self.project(session.project)
        chosen = method or project.merge.method
        if chosen not in MERGE_METHODS:
            raise EngineError(
                f"unknown merge method {chosen!r} (allowed: {', '.join(MERGE_METHODS)})"
            )
        merge_method: MergeMethod = chosen
        scm, target, head, base_head = self._heads(session)
        try:
            scm.prefetch([target], self.store, wait=True)
            pr = scm.status(target, self.store, head, base_head)
        except SlotError as exc:
            raise EngineError(f"merge of {session_id}: {exc}") from exc
        if pr is None:
            raise EngineError(
                f"{session_id} has no commits ahead of {target.base}; nothing to merge"
            )
        # The head that was checked (and, on a host, reviewed) is the one merged: a host
        # refuses the merge if its PR moved since.
        head = pr.head_sha
        blockers = pr.blockers
        if pr.wip_head and force:
            # Work a kill saved was never meant to land: not even --force merges it.
            raise EngineError(f"{session_id} cannot be merged, even with --force: {WIP_BLOCKER}")
        if blockers and not force:
            raise MergeBlockedError(
                f"{session_id} cannot be merged: {'; '.join(blockers)} "
                "(fix them, or pass --force to merge anyway)",
                blockers,
            )
        try:
            result = scm.merge(target, merge_method, head)
        except SlotError as exc:
            raise EngineError(f"merge of {session_id} failed: {exc}") from exc
        fault_point("merge.landed")
        mark.note(merged_sha=result.sha)  # landed: a crash from here on is finished by doctor
        fault_point("merge.noted")
        notes = list(result.notes)
        self.runtime.kill(session.tmux)
        fault_point("merge.stopped")
        worktree = Path(session.worktree)
        wip: str | None = None
        if worktree.exists():
            try:
                notes += self.workspace.release_stale_locks(worktree)
                wip = self.workspace.save_work(worktree, wip_message(session_id, "merge"))
                fault_point("merge.saved")
                self.workspace.remove(project.path, worktree)
            except SlotError as exc:
                notes.append(f"the worktree {worktree} was kept: {exc}")
        if wip:
            notes.append(f"uncommitted work was saved as {wip[:10]} on {session.branch}")
        now = self.clock()
        merged_pr = pr.to_session_pr().as_merged(result.sha, notes)
        session = self.store.update_session(
            session_id,
            lifecycle=Lifecycle.MERGED,
            lifecycle_reason=f"merged into {target.base} as {result.sha[:10]}",
            activity=Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "merged"),
            pr=merged_pr,
            event=(
                "merged",
                {
                    "sha": result.sha,
                    "method": result.method,
                    "head_sha": head,
                    "base": target.base,
                    "forced": bool(blockers),
                    "overridden": blockers,
                    "notes": notes,
                    "wip_commit": wip,
                },
            ),
        )
        self._notify()
        return session, result.sha

    def diff(self, session_id: str, *, stat: bool = False) -> str:
        """The session branch's changes against its base, as ``git diff base...branch``."""
        session = self.get(session_id)
        scm = self.scm(session.project)
        try:
            return scm.diff(self.scm_target(session), stat=stat)
        except SlotError as exc:
            raise EngineError(f"diff of {session_id} failed: {exc}") from exc

    # reconcile and events ------------------------------------------------------------

    def reconcile(self, *, pr_interval: float = 0.0) -> builtins.list[Event]:
        """One tick: gather runtime facts in one call, fuse signals, record what changed.

        ``pr_interval`` lets a timer loop refresh PR state (git calls) less often.
        """
        with self._reconcile_lock:
            events = self._reconciler.tick(pr_interval=pr_interval)
        if events:
            self._notify()
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
            self._notify()
        return self.get(session_id)

    def active_sessions(self) -> builtins.list[Session]:
        """Sessions that own (or should own) a tmux session."""
        return [
            s
            for s in self.store.list_sessions()
            if s.lifecycle in ACTIVE_LIFECYCLES or s.lifecycle is Lifecycle.EXITED
        ]

    def _notify(self) -> None:
        self.feed.wake()


def _already_killed(session: Session) -> str:
    """What an earlier kill of ``session`` did, for the kill that came second."""
    record = session.extra.get("kill") or {}
    wip = record.get("wip_commit")
    if wip:
        kept = f"its uncommitted work was saved as {str(wip)[:10]} on {session.branch}"
    else:
        kept = f"its branch {session.branch} is kept"
    return f"{session.id} is already killed; {kept}. `ao-tui restore {session.id}` brings it back"


def _near_duplicate(a: str, b: str) -> bool:
    """Titles that differ only by typos or punctuation, never by a number.

    "fix the flaky login test" and "Fix the flakey login-test" are the same task; "fix
    issue 12" and "fix issue 13" are not, however similar the letters.
    """
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return False
    return difflib.SequenceMatcher(None, _normalize(a), _normalize(b)).ratio() > 0.92


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())
