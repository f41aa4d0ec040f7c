"""A project's permission policy (``agentConfig.allow``), applied through its agent plugin.

The rules are agent-neutral config (their syntax is checked by :mod:`core.allow_rules`);
each agent plugin that can honour them offers :class:`~core.slots.PermissionRules` and
writes them into its agent's own permission settings. Nothing here answers a prompt: what
the rules do not cover still comes to the operator.

An agent plugin without the capability cannot honour a policy, and a spawn (or restore)
of such a project is refused, naming the setting and the fix, rather than started with
the rules dropped: an operator who wrote them expects the night to pass without those
prompts, and a warning printed by a spawn started from the cockpit or a script is easily
missed. Refusing grants nothing, so it fails safe. ``config check`` and ``doctor`` say the
same before any spawn.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ConfigError
from core.models import Role
from core.role_launch import prepare_role
from core.slots import Agent, AgentContext, PermissionRules


def allow_field(project_id: str) -> str:
    """The dotted config field of a project's rules."""
    return f"projects.{project_id}.agentConfig.allow"


def unsupported(agent: object, agent_name: str, rules: Sequence[str]) -> str:
    """Why ``rules`` cannot be applied by ``agent`` ("" when they can, or there are none)."""
    if not rules or isinstance(agent, PermissionRules):
        return ""
    return (
        f"the {agent_name} agent cannot apply permission rules (its plugin has no way to "
        "give them to the agent), so its sessions would still ask; remove allow from this "
        "project, or use an agent whose plugin supports it"
    )


def require_support(agent: object, agent_name: str, project_id: str, rules: Sequence[str]) -> None:
    """Raise :class:`ConfigError` naming the setting when ``agent`` cannot apply ``rules``."""
    problem = unsupported(agent, agent_name, rules)
    if problem:
        raise ConfigError.single(problem, field=allow_field(project_id))


def prepare_agent(
    agent: Agent, ctx: AgentContext, project_id: str, *, role: Role = Role.WORKER
) -> list[str]:
    """``agent.prepare`` plus the project's rules; the worktree paths to keep out of git.

    A capable plugin is asked even with no rules, so that rules dropped from the config
    since the last start are withdrawn from the worktree. A session with a ``role`` gets
    that role's rules instead (:mod:`core.role_launch`): the project's are the workers'.
    """
    if role is not Role.WORKER:
        excludes = list(agent.prepare(ctx))
        return excludes + [p for p in prepare_role(agent, ctx) if p not in excludes]
    require_support(agent, agent.name, project_id, ctx.settings.allow)
    excludes = list(agent.prepare(ctx))
    if isinstance(agent, PermissionRules):
        excludes += [path for path in agent.apply_allow(ctx) if path not in excludes]
    return excludes


def describe(agent: object, rules: Sequence[str]) -> str:
    """One line for ``config check`` and ``doctor``: what runs without asking, and where
    the rules are written ("" when there are no rules)."""
    if not rules:
        return ""
    where = agent.allow_target if isinstance(agent, PermissionRules) else "nowhere"
    return f"runs without asking: {', '.join(rules)} (written to {where}); the rest still asks"
