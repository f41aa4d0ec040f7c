"""The Claude Code agent plugin and the readers of everything Claude Code writes.

:mod:`.plugin` is the agent (launch, observe, deliver); :mod:`.hooks`, :mod:`.status`,
:mod:`.transcript` and :mod:`.screen` read its hook log, status file, transcript and pane;
:mod:`.paths` says where those files are, :mod:`.trust` pre-trusts a worktree.
"""

from plugins.agent.claude_code.plugin import ClaudeCodeAgent

__all__ = ["ClaudeCodeAgent"]
