"""The shell agent able to run a role (reviewer, orchestrator), for the agent-review and
tier-2 tests.

ao-tui refuses a session with a role on an agent that cannot enforce the role's rules
(:class:`core.slots.RoleSupport`, :mod:`core.role_launch`); the shell agent is not one. The
agent-review tests still want the reviewer to be a real process in a real tmux pane whose
"review" is the test calling the real CLI as it (``AO_TUI_ACTOR``). This is the shell agent
with the role accepted and nothing to enforce (a scripted process runs no tools), installed
in place of ``shell`` in the test's own engine only (:func:`role_shell_registry`).
"""

from __future__ import annotations

from importlib.metadata import entry_points

from core.registry import ENTRY_POINT_GROUP, Registry
from core.slots import AgentContext, LaunchPlan
from plugins.agent.shell import ShellAgent


class RoleShellAgent(ShellAgent):
    """:class:`ShellAgent` that accepts the roles (its command runs as it is)."""

    roles = frozenset({"reviewer", "orchestrator"})

    def apply_role(self, ctx: AgentContext) -> list[str]:
        """No tool rules: the scripted command runs no tools."""
        return []

    def role_plan(self, ctx: AgentContext, plan: LaunchPlan, instructions: str) -> LaunchPlan:
        """The plan as it is (the command reads no instructions)."""
        return plan


def role_shell_registry() -> Registry:
    """The installed plugins, with :class:`RoleShellAgent` as ``shell``."""
    entries = [
        (ep.name, f"{__name__}:RoleShellAgent" if ep.name == "agent:shell" else ep.value)
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    ]
    return Registry(entries=entries)
