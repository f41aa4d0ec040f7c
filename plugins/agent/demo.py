"""The demo agent: ao-tui's scripted stand-in for Claude Code, used by ``ao-tui demo``.

It launches :mod:`plugins.agent.demo_program`, which writes the same hooks, transcript and
status file as Claude Code. Only the process differs, so everything else — hook install,
observation, delivery confirmation, answer keys — is inherited from
:class:`~plugins.agent.claude_code.ClaudeCodeAgent`: the demo exercises the very detection
that real Claude sessions go through.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.slots import AgentContext, LaunchPlan, SlotError
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.demo_program import SCENARIOS, SPEED_ENV, scenario_from_prompt
from plugins.agent.demo_program.scenario import ROLE_SCENARIOS

PROGRAM_MODULE = "plugins.agent.demo_program"
SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The directory holding the ``plugins`` and ``core`` packages, put on the program's
``PYTHONPATH``: it runs in the worktree, where a source checkout would not be importable."""


def demo_scenario(ctx: AgentContext) -> str | None:
    """The scenario to play: the role's (the orchestrator, a reviewer), else
    ``extra["demo_scenario"]``, else the prompt's ``demo-scenario: NAME`` line; None lets
    the program derive one from the session id."""
    if ctx.role in ROLE_SCENARIOS:
        return ROLE_SCENARIOS[ctx.role]
    chosen = ctx.extra.get("demo_scenario")
    if isinstance(chosen, str) and chosen in SCENARIOS:
        return chosen
    return scenario_from_prompt(ctx.prompt)


class DemoAgent(ClaudeCodeAgent):
    """The ``demo`` agent: a scripted program that looks and writes like Claude Code."""

    name = "demo"
    summary = "the scripted agent of `ao-tui demo`"
    program = ""  # it ships with ao-tui: nothing to install

    def _program_argv(self, ctx: AgentContext) -> list[str]:
        """``python -m plugins.agent.demo_program`` with the scenario and speed to use."""
        argv = [sys.executable, "-m", PROGRAM_MODULE]
        scenario = demo_scenario(ctx)
        if scenario is not None:
            argv += ["--scenario", scenario]
        speed = ctx.env.get(SPEED_ENV)
        if speed:
            try:
                argv += ["--speed", repr(float(speed))]
            except ValueError:
                pass  # the program falls back to its default speed
        return argv

    def _plan(self, ctx: AgentContext, argv: list[str]) -> LaunchPlan:
        """The launch plan, with this package importable from the worktree (a session with a
        role gets its ``ao-tui`` launcher and actor from :mod:`core.role_launch`)."""
        paths = [
            str(SOURCE_ROOT),
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
        ]
        env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        return LaunchPlan(argv=argv, env=env)

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """Start the program on ``ctx.prompt`` with the session's pinned uuid."""
        if not ctx.agent_session_id:
            raise SlotError("the demo agent needs an agent session id (a uuid) to launch")
        argv = [*self._program_argv(ctx), "--session-id", ctx.agent_session_id]
        if ctx.prompt:
            argv += ["--", ctx.prompt]
        return self._plan(ctx, argv)

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """Continue the same conversation (and transcript) after an exit or a kill."""
        if not ctx.agent_session_id:
            raise SlotError("the demo agent cannot resume without the session's uuid")
        return self._plan(ctx, [*self._program_argv(ctx), "--resume", ctx.agent_session_id])

    def role_plan(self, ctx: AgentContext, plan: LaunchPlan, instructions: str) -> LaunchPlan:
        """The plan as it is: the scripted program plays its scenario and reads no
        instructions (its tool rules are written all the same, by ``apply_role``)."""
        return plan
