"""When Claude Code's last observation of a session still stands, and when it must be redone.

Each tick the plugin reads a session again only if a file it reads changed (a stat of each,
see :func:`observation_inputs`) or a time rule could now answer differently (a silence
reaching its threshold, the start-up grace ending, a capture throttle running out: see
:func:`rework_at`). The per-session readers live in :class:`SessionWatch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.activity.tailer import FileTailer
from core.models import ActivitySignal, SignalSource
from core.slots import AgentContext, Observation, PaneInfo
from plugins.agent.claude_code.hooks import HookState
from plugins.agent.claude_code.paths import status_dir
from plugins.agent.claude_code.transcript import TranscriptState

HOOK_SILENCE = 2.0
"""Seconds without a hook while a tool call is pending before the pane is checked: a
permission prompt may be up that no hook reported."""
TRANSCRIPT_SILENCE = 5.0
"""Seconds a hook-less transcript may say "working" before the pane is checked for a
turn end nobody logged."""
STATUS_RESCAN = 10.0
"""Minimum seconds between two scans of every status file for a session not found by pid."""
TRANSCRIPT_RESCAN = 3.0
"""Minimum seconds between two searches for a transcript that was not found."""
TRANSCRIPT_SCAN_MAX = 30.0
"""Longest a search for a missing transcript goes without scanning every project dir (it
does so sooner when a project dir is added)."""
STALE_WORKING = 10.0
"""Seconds a "working" reading may go without any new evidence before the pane is checked."""
PANE_RECHECK = 5.0
"""Minimum seconds between two captures of an unchanged session (each capture forks tmux)."""
REUSE_LIMIT = STATUS_RESCAN
"""Longest a session's last observation is reused while none of its files changed: what no
file shows (a status file's pid now naming another process) is re-checked this often."""

STARTUP_GRACE = 15.0
"""Seconds after launch during which an empty input box means "not started yet"."""
READY_AFTER = 60.0
"""Seconds after a start past which the REPL is taken to be up without asking the log."""


HOOK_BACKSCAN = 64 * 1024
"""How much of an existing hook log a fresh process reads: the last few dozen events decide
the state, and a one-shot ``status`` reads every session's log, so this bounds its cost."""


@dataclass
class SessionWatch:
    """The incremental readers of one session, kept between ticks."""

    hook_tailer: FileTailer
    hooks: HookState = field(default_factory=HookState)
    transcript_path: Path | None = None
    transcript_tailer: FileTailer | None = None
    transcript: TranscriptState = field(default_factory=TranscriptState)
    status_path: Path | None = None
    status_scanned_at: float = float("-inf")
    transcript_searched_at: float = float("-inf")
    transcript_scanned_at: float = float("-inf")
    projects_scanned: tuple[int, int, int] | None = None
    """The projects dir as it was at the last full scan for the transcript."""
    worktree_real: tuple[Path, str] | None = None
    """The worktree and its realpath, as resolved at the last scan."""
    pane_signal: ActivitySignal | None = None
    pane_captured_at: float = 0.0
    pane_fingerprint: tuple[Any, ...] = ()
    state_dir: Path | None = None
    inputs: tuple[Any, ...] = ()
    """What the last full observation read: pane facts and the stat of every file."""
    pid_status: tuple[Path, int, str] | None = None
    """(config dir, pane pid, path): where a status file named after the pane's pid is."""
    observation: Observation | None = None
    reuse_until: float = float("-inf")
    """Until when ``observation`` stands if ``inputs`` are unchanged: the first moment a
    time rule (a silence, a grace, a throttle) could change what observe returns."""
    rework_at: float = float("-inf")
    """The first such moment other than a due search (searches are re-run on their own)."""
    transcript_missing: bool = True
    hook_checkpoint: int | None = None
    """The hook log offset of the last checkpoint resumed from or tried (see
    :func:`plugins.agent.claude_code.checkpoint.save_if_due`)."""


def stat_key(path: str | Path | None) -> tuple[int, int, int] | None:
    """What a file's change would alter: inode, size and mtime; None when it is absent."""
    if not path:
        return None
    try:
        # os.stat, not Path.stat: this runs for every file of every session each tick.
        st = os.stat(path)  # noqa: PTH116
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def observation_inputs(
    ctx: AgentContext, watch: SessionWatch, pane: PaneInfo, config_dir: Path
) -> tuple[Any, ...]:
    """Everything :meth:`ClaudeCodeAgent.observe` reads, cheaply: pane facts, the session's
    identity and a stat of each file (hook log, status file, transcript candidates)."""
    known = watch.pid_status
    if known is None or known[0] != config_dir or known[1] != pane.pane_pid:
        path = str(status_dir(config_dir) / f"{pane.pane_pid}.json")
        known = watch.pid_status = (config_dir, pane.pane_pid, path)
    return (
        pane.pane_id,
        pane.pane_pid,
        pane.current_command,
        ctx.agent_session_id,
        ctx.started_at,
        config_dir,
        stat_key(watch.hook_tailer.path),
        stat_key(watch.status_path),
        stat_key(known[2]),
        stat_key(watch.hooks.transcript_path),
        stat_key(watch.transcript_path),
        stat_key(ctx.extra.get("transcript_path")),
    )


def rework_at(
    ctx: AgentContext, watch: SessionWatch, signals: list[ActivitySignal], now: float
) -> float:
    """The first moment after ``now`` at which observe could answer differently with every
    file unchanged, searches aside: a capture throttle running out, a silence reaching its
    threshold in :meth:`ClaudeCodeAgent._needs_pane`, the startup grace ending, or
    :data:`REUSE_LIMIT`.

    Each rule compares ``now`` minus some signal's time with a constant, so its outcome
    can only change once, at that sum; every such sum still ahead is a deadline. Listing a
    deadline that turns out not to matter only costs one full observation.
    """
    deadlines = [now + REUSE_LIMIT]
    if watch.pane_signal is not None:
        deadlines.append(watch.pane_captured_at + PANE_RECHECK)
    if ctx.started_at:
        deadlines.append(ctx.started_at + STARTUP_GRACE)
    times = [s.at for s in signals if s.source is not SignalSource.PANE]
    if watch.hooks.last_at is not None:
        times.append(watch.hooks.last_at)
    for at in times:
        deadlines += [at + HOOK_SILENCE, at + TRANSCRIPT_SILENCE, at + STALE_WORKING]
    return min(d for d in deadlines if d > now)


def next_search(watch: SessionWatch, now: float) -> float:
    """When the throttled search for a missing status file or transcript is next due."""
    due = [float("inf")]
    if watch.status_path is None:
        due.append(watch.status_scanned_at + STATUS_RESCAN)
    if watch.transcript_missing:
        due.append(watch.transcript_searched_at + TRANSCRIPT_RESCAN)
    return max(min(due), now)
