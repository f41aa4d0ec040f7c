"""Claude Code with a role (:class:`core.slots.RoleSupport`): the orchestrator's guardrails.

A session with a role drives ao-tui and must not be able to go around it. Its rules are
Claude Code's own permission rules, in the worktree's ``.claude/settings.local.json``
(:mod:`.settings`), which the model cannot change by asking:

- ``permissions.allow``: ``ao-tui`` commands (a reviewer's: its review verbs and what it
  reads) and read-only tools (Read, Grep, Glob, LS and read-only git) run without a prompt;
- ``permissions.deny``: starting an agent (``claude``, ``codex``, ``aider``, ``gemini``),
  a tmux session, a git worktree, pushing or committing, and editing files. A deny rule beats
  every allow rule and every permission mode, ``bypassPermissions`` included;
- the session runs in the ``dontAsk`` permission mode: anything no allow rule covers is
  refused at once rather than left waiting on a prompt nobody answers at night.

Its standing instructions go in as ``--append-system-prompt``, at every start (a resumed
conversation does not keep them). A worker's session never gets any of this: only
sessions with a role are asked (:mod:`core.role_launch`).
"""

from __future__ import annotations

from dataclasses import replace

from core.slots import AgentContext, LaunchPlan, SlotError
from plugins.agent.claude_code.settings import SETTINGS_FILE, apply_allow, apply_deny

ORCHESTRATOR = "orchestrator"

READ_ONLY_TOOLS: tuple[str, ...] = (
    "Read",
    "Grep",
    "Glob",
    "LS",
    "Bash(git status:*)",
    "Bash(git log:*)",
    "Bash(git diff:*)",
    "Bash(git show:*)",
)
"""Tools that only read (Claude lets Read rules cover Grep, Glob and LS too)."""

REVIEWER = "reviewer"

NEVER: tuple[str, ...] = (
    "Bash(claude:*)",
    "Bash(codex:*)",
    "Bash(aider:*)",
    "Bash(gemini:*)",
    "Bash(tmux:*)",
    "Bash(git worktree:*)",
    "Bash(git push:*)",
    "Bash(git commit:*)",
    "Edit",
    "Write",
    "NotebookEdit",
)
"""What no session with a role runs: agents start only through ``ao-tui spawn`` (an agent
started by hand is never tracked), and the user's checkout is never changed."""

ROLE_ALLOW: dict[str, tuple[str, ...]] = {
    ORCHESTRATOR: ("Bash(ao-tui:*)", *READ_ONLY_TOOLS),
    REVIEWER: (
        "Bash(ao-tui review:*)",
        "Bash(ao-tui diff:*)",
        "Bash(ao-tui status:*)",
        "Bash(ao-tui ci:*)",
        *READ_ONLY_TOOLS,
    ),
}
"""Per role, what runs without a prompt (a reviewer reads and records its review only)."""

ROLE_DENY: dict[str, tuple[str, ...]] = {ORCHESTRATOR: NEVER, REVIEWER: NEVER}
"""Per role, what never runs, whatever the mode or another rule says."""

ROLE_MODE = "dontAsk"
"""The permission mode of a session with a role: what no rule allows is refused."""


class RoleRules:
    """The :class:`core.slots.RoleSupport` half of the Claude Code plugin."""

    roles = frozenset(ROLE_ALLOW)

    def _base_argv(self, ctx: AgentContext) -> list[str]:
        """The command the plan starts with (the plugin defines it)."""
        raise NotImplementedError

    def apply_role(self, ctx: AgentContext) -> list[str]:
        """The role's allow and deny rules into the worktree's local settings, in place of
        the project's ``agentConfig.allow`` (the workers' rules)."""
        if ctx.role not in ROLE_ALLOW:
            raise SlotError(f"{ctx.session_id}: Claude Code has no rules for role {ctx.role!r}")
        doing = f"the {ctx.role}'s deny rules"
        apply_allow(ctx.worktree, ctx.state_dir, ROLE_ALLOW[ctx.role])
        apply_deny(ctx.worktree, ctx.state_dir, ROLE_DENY.get(ctx.role, ()), doing)
        return [SETTINGS_FILE]

    def role_plan(self, ctx: AgentContext, plan: LaunchPlan, instructions: str) -> LaunchPlan:
        """``plan`` in the ``dontAsk`` mode (the project's ``permissions`` are the workers')
        with ``instructions`` appended to Claude's system prompt."""
        base = len(self._base_argv(ctx))
        head, options = list(plan.argv[:base]), _without_mode(plan.argv[base:])
        added = ["--permission-mode", ROLE_MODE]
        if instructions:
            added += ["--append-system-prompt", instructions]
        return replace(plan, argv=[*head, *added, *options])


def _without_mode(argv: list[str]) -> list[str]:
    """``argv`` without its ``--permission-mode X`` options (up to a ``--``)."""
    kept: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            kept += argv[index:]
            break
        if word == "--permission-mode":
            index += 2
            continue
        kept.append(word)
        index += 1
    return kept
