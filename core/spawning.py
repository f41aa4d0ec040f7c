"""Spawn: a new session from a prompt or an issue, every step undone if a later one fails."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.agent_env import agent_environment
from core.artifacts import ids_in_use
from core.errors import DuplicateTaskError, EngineError
from core.faults import fault_point
from core.inert import refusal
from core.launcher import PlanError, hand_over, make_pipe
from core.manifest import Manifest, abandon_operation, write_manifest
from core.models import (
    ENDED_LIFECYCLES,
    Activity,
    ActivityState,
    Lifecycle,
    Role,
    Session,
    SignalSource,
)
from core.naming import branch_name, title_from
from core.permission_policy import prepare_agent, require_support
from core.plugin_access import PluginAccess, live_pane
from core.project_checks import usable_base
from core.provenance import stamp_worktree
from core.redact import redact_here
from core.role_launch import require_role_support, role_plan
from core.session_cap import session_slot
from core.slots import LaunchPlan, PaneInfo, SlotError
from core.tracker import TrackerError, normalize_key, task_prompt, task_title

if TYPE_CHECKING:
    from core.engine import Engine

MAX_PROMPT_BYTES = 100_000
"""Linux caps one argv element at 128 KiB; the task prompt is one argv element."""


def spawn(
    engine: Engine,
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
    """The work of :meth:`core.engine.Engine.spawn` (which documents it)."""
    project = engine.project(project_id)
    # The operator's own text, before an issue's (already inert) text is added to it: a
    # NUL would kill the agent at exec, an escape would act on the terminal showing it.
    for what, text in (("prompt", prompt), ("title", title or "")):
        problem = refusal(text, what, "pass --clean to use the cleaned text")
        if problem:
            raise EngineError(problem)
    if issue:
        prompt, title, issue = _issue_task(engine, project_id, issue, prompt, title, force)
    prompt = prompt.strip()
    if not prompt:
        raise EngineError("the task prompt is empty; pass --prompt with what the agent should do")
    if len(prompt.encode()) > MAX_PROMPT_BYTES:
        raise EngineError(
            f"the task prompt is {len(prompt.encode())} bytes (max {MAX_PROMPT_BYTES}); "
            "put the details in a file in the repo and point the agent at it"
        )
    # The prompt stays verbatim (the agent needs the task as given); the title is shown.
    title = redact_here((title or title_from(prompt)).strip())
    agent_name = agent_name or project.agent_name(engine.config.defaults)
    agent = engine.agent(agent_name)
    require_support(agent, agent_name, project_id, project.agent_config.allow)
    require_role_support(engine.registry, agent, agent_name, role)
    # The cap is no duplicate check: --force does not lift it (the orchestrator must not
    # talk its way past it). Under its lock, the duplicate check cannot race either.
    start = Start(prompt, title, agent_name, issue, role, session_id, base)
    if role is not Role.WORKER:
        # Only workers hold slots, and only a task can be a duplicate of another.
        return _start(engine, project_id, start)
    with session_slot(engine, project_id):
        if not force:
            _refuse_duplicate(engine, project_id, prompt, title, issue)
        return _start(engine, project_id, start)


@dataclass(frozen=True)
class Start:
    """What one spawn starts: the task, its agent, and what the session is for."""

    prompt: str
    title: str
    agent_name: str
    issue: str
    role: Role
    session_id: str
    """A fixed id, or "" for the project's next free one."""
    base: str
    """The branch to start from, or "" for the project's base."""


def _start(engine: Engine, project_id: str, start: Start) -> Session:
    """Allocate, make the worktree, launch the agent and store the row (or undo it all)."""
    project = engine.project(project_id)
    prompt, title, agent_name, issue = start.prompt, start.title, start.agent_name, start.issue
    agent = engine.agent(agent_name)
    repo = project.path
    base = start.base or usable_base(project_id, project, engine.workspace)

    # An id already carried by a worktree, branch, tmux session or state folder (a
    # database reset or restored from a backup) is skipped, never shared.
    in_use = ids_in_use(engine, project.session_prefix)
    if start.session_id:
        session_id = _fixed_id(engine, start.session_id, in_use)
    else:
        session_id = engine.store.allocate_id(project.session_prefix, in_use=in_use.__contains__)
    fault_point("spawn.allocated")
    branch = branch_name(session_id, title)
    worktree = engine.locations.worktree(project_id, session_id)
    now = engine.clock()
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
        role=start.role,
    )
    state_dir = engine.locations.session_dir(session_id)
    try:
        state_dir.mkdir(mode=0o700)
    except OSError as exc:
        # Never adopt a folder this spawn did not make: it may be another session's.
        engine.store.append_event(session_id, "spawn-failed", {"error": str(exc)})
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
        engine.workspace.create(repo, worktree, branch, base)
        undo.append(lambda: _undo_worktree(engine, session, repo, branch))
        fault_point("spawn.worktree")
        stamp_worktree(engine, session)  # its commits name the session (core.provenance)
        ctx = engine.context(session)
        excludes = prepare_agent(agent, ctx, project_id, role=start.role)
        engine.workspace.exclude(worktree, excludes)
        plan = role_plan(engine, agent, ctx, session, agent.launch(ctx))
        check_binary(plan, project_id)
        pane = start_process(engine, session, plan)
        undo.append(lambda: engine.runtime.kill(session.tmux))
        fault_point("spawn.started")
        session = replace(session, pane_id=pane.pane_id, lifecycle=Lifecycle.RUNNING)
        engine.store.insert_session(
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
        engine.store.append_event(session_id, "spawn-failed", {"error": str(exc)})
        if isinstance(exc, SlotError):
            raise EngineError(f"spawn {session_id} failed: {exc}") from exc
        raise
    fault_point("spawn.recorded")
    try:
        write_manifest(state_dir, Manifest.of(session))
    except OSError:
        pass  # the row is the record now; the mark alone does not mislead anyone
    engine.feed.wake()
    return session


def _fixed_id(engine: Engine, session_id: str, in_use: set[str]) -> str:
    """``session_id`` when nothing carries it yet; refused otherwise (never shared)."""
    if engine.store.get_session(session_id) is not None or session_id in in_use:
        raise EngineError(
            f"spawn {session_id} refused: a session or what one left (worktree, branch, "
            f"tmux session, state folder) already has that id; `ao-tui restore {session_id}` "
            "brings a stopped one back, `ao-tui doctor` lists what is there"
        )
    return session_id


def _issue_task(
    engine: Engine, project_id: str, ref: str, note: str, title: str | None, force: bool
) -> tuple[str, str | None, str]:
    """Prompt, title and normalised key for a spawn on issue ``ref``."""
    try:
        key = normalize_key(ref)
    except TrackerError as exc:
        raise EngineError(str(exc)) from exc
    if engine.project(project_id).tracker is None:
        if note.strip():
            return note, title, key  # no tracker: the id is a label on the session
        engine.tracker(project_id)  # raises, saying how to configure one
    found = engine.issue(project_id, key)
    if found.state != "open" and not force:
        raise EngineError(
            f"issue #{found.key} ({found.where or found.url}) is {found.state}; "
            "pass --force to work on it anyway"
        )
    return task_prompt(found, note), title or task_title(found), found.key


def _refuse_duplicate(engine: Engine, project_id: str, prompt: str, title: str, issue: str) -> None:
    wanted = _normalize(prompt)
    for other in engine.store.list_sessions():
        if other.project != project_id or other.lifecycle in ENDED_LIFECYCLES:
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


def check_binary(plan: LaunchPlan, project_id: str) -> None:
    """Refuse a plan whose program is not on the PATH it will run with."""
    binary = plan.argv[0]
    path_env = {**os.environ, **plan.env}.get("PATH")
    if shutil.which(binary, path=path_env) is None:
        raise EngineError(
            f"agent command {binary!r} not found on PATH; install it or set "
            f"projects.{project_id}.agentConfig.command in the config"
        )


def start_process(plugins: PluginAccess, session: Session, plan: LaunchPlan) -> PaneInfo:
    """Start the agent of ``plan`` in a new tmux session; its pane."""
    # The agent gets what it needs of the operator's environment, never all of it
    # (core.agent_env); tmux itself would hand it the environment of whichever process
    # started the tmux server. The plan goes through a FIFO, so no secret rests on disk.
    env = agent_environment(
        os.environ,
        agent=plugins.agent(session.agent),
        project_env=plugins.context(session).env,
        plan_env=plan.env,
        session_id=session.id,
    )
    try:
        pipe = make_pipe(plugins.locations.session_dir(session.id))
    except OSError as exc:
        raise EngineError(
            f"{session.id}: cannot make the launch pipe in "
            f"{plugins.locations.session_dir(session.id)}: {exc.strerror or exc}; "
            "AO_TUI_HOME must be writable and on a local file system"
        ) from None
    try:
        pane = plugins.runtime.create(
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
                launcher_gone=lambda: live_pane(plugins.runtime, session) is None,
            )
        except BaseException as exc:
            plugins.runtime.kill(session.tmux)
            if isinstance(exc, PlanError):
                raise EngineError(f"{session.id}: {exc}") from None
            raise
        return pane
    finally:
        pipe.unlink(missing_ok=True)


def _undo_worktree(engine: Engine, session: Session, repo: Path, branch: str) -> None:
    engine.remove_worktree(session, repo)
    engine.workspace.delete_branch(repo, branch)


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
