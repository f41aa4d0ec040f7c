"""Knowing what an agent is doing: readers for every signal source, and their fusion.

Sources, strongest first: agent hooks, Claude Code's status file, the
transcript (Claude JSONL, Codex rollout, Aider history) read incrementally, and the pane.
Each reader turns its source into an :class:`~core.models.ActivitySignal`;
:func:`~core.activity.fusion.fuse` turns this tick's signals into one
:class:`~core.models.Activity`.
"""

from core.activity.claude_hooks import (
    HookLogParser,
    HookRecord,
    HookState,
    hook_command,
    hooks_settings,
    parse_hook_line,
    parse_hook_log,
)
from core.activity.claude_paths import claude_config_dir, find_transcript, project_dir_name
from core.activity.claude_status import ClaudeStatus, find_status, read_status_file
from core.activity.claude_transcript import TranscriptState
from core.activity.fusion import fuse
from core.activity.inspect import inspect_signals
from core.activity.pane import claude_pane_signal, generic_pane_signal
from core.activity.tailer import FileTailer, TailRead

__all__ = [
    "ClaudeStatus",
    "FileTailer",
    "HookLogParser",
    "HookRecord",
    "HookState",
    "TailRead",
    "TranscriptState",
    "claude_config_dir",
    "claude_pane_signal",
    "find_status",
    "find_transcript",
    "fuse",
    "generic_pane_signal",
    "hook_command",
    "hooks_settings",
    "inspect_signals",
    "parse_hook_line",
    "parse_hook_log",
    "project_dir_name",
    "read_status_file",
]
