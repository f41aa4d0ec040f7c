"""How a session with a role (the orchestrator, a reviewer) is started, and a worker is not.

A session with a role is an agent that drives ao-tui itself, so three things differ from a
worker's start, all done here for both spawn and restore:

- Its agent plugin must offer :class:`core.slots.RoleSupport` for that role; otherwise the
  start is refused before anything is made, naming the agents that can.
- The plugin writes the role's tool rules into the agent's own settings (in place of the
  project's ``agentConfig.allow``, which are the workers' rules) and makes the launch plan
  carry the role's standing instructions (:mod:`core.orchestrator.instructions`).
- Its environment: ``ao-tui`` on its ``PATH`` is this very ao-tui, with no set-up by the
  operator: a launcher in the session's private ``bin`` folder runs the same Python on the
  same package with the same config file (the state dir and tmux server come with the
  ``AO_TUI_*`` and ``TMUX_TMPDIR`` variables every agent gets, :mod:`core.agent_env`).
  And :data:`core.provenance.ACTOR_ENV` names the session, so every event its ``ao-tui``
  calls log says "by <id>".

A worker started by such an agent (``ao-tui spawn`` run by the orchestrator) inherits that
process's environment; :func:`core.agent_env.agent_environment` drops the actor and the
launcher folder from it, so nothing of the role leaks into the worker.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import core
from core.agent_env import ROLE_BIN_ENV, without_role
from core.errors import EngineError
from core.models import Role, Session
from core.provenance import ACTOR_ENV
from core.slots import Agent, AgentContext, LaunchPlan, RoleSupport

if TYPE_CHECKING:
    from core.engine import Engine
    from core.registry import Registry

CLI_MODULE = "ao_tui"
"""The module ``python -m`` runs for the ``ao-tui`` command (the front end's name only:
core imports nothing of it)."""
LAUNCHER = "ao-tui"
SOURCE_ROOT = Path(core.__file__).resolve().parent.parent
"""The directory holding this ao-tui's packages: the launcher puts it first on
``PYTHONPATH``, so the agent's ``ao-tui`` is this checkout even where another is installed."""


def supports(agent: object, role: Role) -> bool:
    """Whether ``agent`` can run a session with ``role`` (every agent can run a worker)."""
    if role is Role.WORKER:
        return True
    return isinstance(agent, RoleSupport) and role.value in agent.roles


def require_role_support(registry: Registry, agent: object, agent_name: str, role: Role) -> None:
    """Refuse, naming the agents that can, when ``agent`` cannot run ``role``."""
    if supports(agent, role):
        return
    able = [name for name in registry.names("agent") if supports(registry.get("agent", name), role)]
    choice = f"one of: {', '.join(sorted(able))}" if able else "an agent plugin that can"
    raise EngineError(
        f"the {agent_name} agent cannot run the {role.value}: its plugin cannot give it "
        "standing instructions and tool rules it enforces itself, and a session that drives "
        f"ao-tui must not run without them; use {choice} (--agent NAME, or the project's "
        "agent)"
    )


def prepare_role(agent: Agent, ctx: AgentContext) -> list[str]:
    """The role's tool rules into the agent's settings; the worktree paths to keep out of git."""
    if not isinstance(agent, RoleSupport):  # require_role_support refused it already
        raise EngineError(f"{ctx.session_id}: the {agent.name} agent cannot run a role")
    return list(agent.apply_role(ctx))


def role_plan(
    engine: Engine, agent: Agent, ctx: AgentContext, session: Session, plan: LaunchPlan
) -> LaunchPlan:
    """``plan`` with the role's instructions, its ``ao-tui`` launcher on PATH and the actor
    set; a worker's plan unchanged."""
    if session.role is Role.WORKER or not isinstance(agent, RoleSupport):
        return plan
    instructions = role_instructions(engine, session)
    plan = agent.role_plan(ctx, plan, instructions)
    bin_dir = write_launcher(ctx.state_dir, engine.config_file)
    # The PATH the agent would get (core.agent_env: the plan's, the project's, the
    # operator's), never with the launcher folder of a session whose `ao-tui` runs this.
    path = (
        plan.env.get("PATH")
        or ctx.env.get("PATH")
        or without_role(dict(os.environ)).get("PATH", "")
    )
    env = {
        **plan.env,
        "PATH": f"{bin_dir}:{path}" if path else str(bin_dir),
        ROLE_BIN_ENV: str(bin_dir),
        ACTOR_ENV: session.id,
    }
    return replace(plan, env=env)


def role_instructions(engine: Engine, session: Session) -> str:
    """The standing instructions of ``session``'s role, with its project's specifics."""
    from core.orchestrator.instructions import render

    if session.role is Role.ORCHESTRATOR:
        return render(engine.config, session.project)
    return ""


def write_launcher(state_dir: Path, config_file: Path | None) -> Path:
    """Write ``<state_dir>/bin/ao-tui`` (owner-only) and return the folder.

    The script runs this Python on this ao-tui's packages with this config file pinned.
    Every value in it is a path of ours, each quoted for the shell as one word; the agent's
    arguments pass through as ``"$@"``, never re-parsed.
    """
    bin_dir = state_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = ["#!/bin/sh", "# Written by ao-tui: the ao-tui of the session this folder is in."]
    if config_file is not None:
        lines.append(f"AO_TUI_CONFIG={shlex.quote(str(config_file))}; export AO_TUI_CONFIG")
    lines += [
        f'PYTHONPATH={shlex.quote(str(SOURCE_ROOT))}"${{PYTHONPATH:+:$PYTHONPATH}}"',
        "export PYTHONPATH",
        f'exec {shlex.quote(sys.executable)} -m {CLI_MODULE} "$@"',
    ]
    launcher = bin_dir / LAUNCHER
    temp = bin_dir / f".{LAUNCHER}.tmp"
    temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temp.chmod(0o700)
    temp.replace(launcher)
    return bin_dir
