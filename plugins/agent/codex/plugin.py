"""The Codex CLI agent: launch on the task, find its rollout, read turns there and prompts
on the pane, resume its thread.

Codex chooses its thread id itself, so the plugin finds the session's rollout by the
worktree it runs in (``session_meta.cwd``) and the launch time, then remembers the path
and the thread (``Session.extra``). The rollout says when a turn starts, ends, is
interrupted or fails; approval prompts are never written there, so the pane is captured
while a turn is open and the rollout has been quiet for :data:`PANE_QUIET` seconds, or
while nothing else is known.

Codex 0.17x runs its agent loop in a shared background server by default, which outlives
the terminal (closing the TUI leaves the turn running). ao-tui owns the process of each
session (kill, restore, exit), so the plugin starts Codex with ``--no-daemon``.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.activity.pane import untold_start_reading
from core.activity.received import prompt_matches
from core.activity.starts import at_or_after, launching, of_this_start
from core.activity.tailer import FileTailer, file_size
from core.agent_env import matching
from core.models import (
    ActivitySignal,
    ActivityState,
    Delivery,
    DeliveryMarker,
    SignalSource,
    Turn,
    WaitingFor,
)
from core.slots import AgentContext, LaunchPlan, Observation, PaneInfo
from plugins.agent.codex.paths import (
    codex_home,
    find_rollout,
    forget_folder,
    rollouts_of,
    sessions_dir,
    thread_of,
    trust_folder,
)
from plugins.agent.codex.reader import CodexState
from plugins.agent.codex.screen import codex_pane_signal, shows_composer
from plugins.agent.codex.turns import read_turns

THREAD_KEY = "codex_thread"
"""The ``Session.extra`` key holding Codex's own thread id (what ``codex resume`` takes)."""
TRANSCRIPT_KEY = "transcript_path"
"""The ``Session.extra`` key holding the rollout's path."""

PANE_QUIET = 1.0
"""Seconds a running turn's rollout must be silent before the pane is read for a prompt."""
PANE_RECHECK = 1.0
"""Seconds between two captures of a screen whose rollout did not change."""
SEARCH_EVERY = 1.0
"""Seconds between two searches for a rollout not found yet."""
READY_AFTER = 4.0
"""Seconds after a start after which the TUI surely takes keys (it draws in about one)."""
STARTUP_GRACE = 20.0
"""Seconds after a launch during which an empty screen means "starting", not "idle"."""

CODEX_ENV: tuple[str, ...] = ("OPENAI_*", "CODEX_*", "AZURE_OPENAI_*")
"""The operator's variables Codex reads: its API key and base URL, its home. A custom
provider's own ``env_key`` is named in the project's ``env:``."""

NO_DAEMON = "--no-daemon"

APPROVAL_MODES: dict[str, list[str]] = {
    "default": [],
    "acceptEdits": ["--ask-for-approval", "on-request", "--sandbox", "workspace-write"],
    "plan": ["--ask-for-approval", "on-request", "--sandbox", "read-only"],
    "bypassPermissions": ["--dangerously-bypass-approvals-and-sandbox"],
}
"""ao-tui's permission modes in Codex's terms. ``default`` keeps what the operator's
Codex config says (on a trusted folder: ask on request, write inside the workspace)."""


@dataclass
class _Watch:
    """One session's readers, kept between ticks."""

    rollout: Path | None = None
    tailer: FileTailer | None = None
    state: CodexState = field(default_factory=CodexState)
    searched_at: float = float("-inf")
    pane_signal: ActivitySignal | None = None
    pane_at: float = float("-inf")
    pane_offset: int = -1


class CodexAgent:
    """OpenAI's Codex CLI (``codex``): rollout and pane, fused by the engine."""

    name = "codex"
    summary = "OpenAI Codex CLI"
    speaker = "codex"
    program = "codex"
    install_hint = "npm install -g @openai/codex"
    confirms_delivery = True

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` is injectable so tests can age signals without sleeping."""
        self._clock = clock
        self._watches: dict[str, _Watch] = {}

    # -- setup -----------------------------------------------------------------------------

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Trust the worktree in Codex's config (else it asks before reading the task).

        Nothing is written into the worktree, so nothing needs excluding from git.
        """
        ctx.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        trust_folder(codex_home(ctx.env), ctx.worktree)
        return []

    def forget_worktree(self, worktree: Path, env: Mapping[str, str]) -> list[str]:
        """The removed worktree's trust table in Codex's config goes with it."""
        home = codex_home(env)
        if forget_folder(home, worktree):
            return [f"removed {worktree} from {home / 'config.toml'}"]
        return []

    def inherited_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The operator's variables Codex reads (:data:`CODEX_ENV`)."""
        return matching(environ, CODEX_ENV)

    def _base_argv(self, ctx: AgentContext) -> list[str]:
        """The configured command (may carry its own flags), ``codex`` by default, always
        with ``--no-daemon`` so the agent lives and dies in its pane."""
        command = ctx.settings.command
        argv = shlex.split(command) if command else []
        argv = argv or [self.program]
        if NO_DAEMON not in argv:
            argv.insert(1, NO_DAEMON)
        return argv

    def _option_argv(self, ctx: AgentContext) -> list[str]:
        """Approval and sandbox modes, and ``--model``, from the project's agentConfig."""
        argv = list(APPROVAL_MODES.get(ctx.settings.permissions or "default", []))
        if ctx.settings.model:
            argv += ["--model", ctx.settings.model]
        return argv

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """``codex --no-daemon [...] -- "<prompt>"``: the task is submitted at start."""
        argv = [*self._base_argv(ctx), *self._option_argv(ctx)]
        if ctx.prompt:
            argv += ["--", ctx.prompt]
        return LaunchPlan(argv=argv)

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """``codex --no-daemon [...] resume <thread>``: the same thread, after an exit.

        With no thread recorded yet (it died before its first turn), the task is started
        afresh.
        """
        thread = self._thread(ctx)
        if not thread:
            return self.launch(ctx)
        argv = [*self._base_argv(ctx), *self._option_argv(ctx), "resume", thread]
        return LaunchPlan(argv=argv, starts_on_task=False)

    def _thread(self, ctx: AgentContext) -> str:
        """The session's Codex thread: remembered, or the newest rollout of its worktree."""
        known = ctx.extra.get(THREAD_KEY)
        if isinstance(known, str) and known:
            return known
        return self.latest_conversation(ctx.worktree, ctx.env)

    def latest_conversation(self, worktree: Path, env: Mapping[str, str]) -> str:
        """The thread id of the newest rollout written in ``worktree`` ("" if none)."""
        heads = rollouts_of(codex_home(env), worktree)
        return heads[0].thread_id if heads else ""

    def read_turns(self, path: Path, problems: list[str] | None = None) -> list[Turn]:
        """The latest turns of the rollout at ``path`` (see :mod:`.turns`)."""
        return read_turns(path, problems)

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Codex's dated rollout folders."""
        return [sessions_dir(codex_home(env))]

    # -- observation -----------------------------------------------------------------------

    def _watch(self, ctx: AgentContext) -> _Watch:
        """The session's readers, created on first use."""
        watch = self._watches.get(ctx.session_id)
        if watch is None:
            watch = self._watches[ctx.session_id] = _Watch()
        return watch

    def _rollout(self, ctx: AgentContext, watch: _Watch, *, throttle: bool) -> Path | None:
        """The session's rollout: remembered, persisted, or searched by worktree and start."""
        if watch.rollout is not None and watch.rollout.is_file():
            return watch.rollout
        persisted = ctx.extra.get(TRANSCRIPT_KEY)
        if isinstance(persisted, str) and persisted and Path(persisted).is_file():
            return Path(persisted)
        now = self._clock()
        if throttle and now - watch.searched_at < SEARCH_EVERY:
            return None
        watch.searched_at = now
        home = codex_home(ctx.env)
        thread = ctx.extra.get(THREAD_KEY)
        if isinstance(thread, str) and thread:
            found = find_rollout(home, thread)
            if found is not None:
                return found
        since = ctx.started_at - 5.0 if ctx.started_at else 0.0
        heads = rollouts_of(home, ctx.worktree, since)
        return heads[0].path if heads else None

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """Signals from the rollout and, when it leaves a question open, the pane."""
        now = self._clock()
        if pane is None or pane.dead:
            detail = "no pane" if pane is None else pane.exit_detail
            signal = ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, now, detail)
            return Observation(signals=[signal])
        watch = self._watch(ctx)
        extra: dict[str, Any] = {}
        path = self._rollout(ctx, watch, throttle=True)
        if path is not None and path != watch.rollout:
            watch.rollout = path
            watch.tailer = FileTailer(path)
            watch.state = CodexState()
        if path is not None:
            if str(path) != ctx.extra.get(TRANSCRIPT_KEY):
                extra[TRANSCRIPT_KEY] = str(path)
            thread = watch.state.session_id or thread_of(path)
            if thread and thread != ctx.extra.get(THREAD_KEY):
                extra[THREAD_KEY] = thread
        if watch.tailer is not None:
            read = watch.tailer.read()
            if read.restarted:
                watch.state = CodexState()
            watch.state.fold_lines(read.lines)
            if watch.state.session_id and watch.state.session_id != ctx.extra.get(THREAD_KEY):
                extra[THREAD_KEY] = watch.state.session_id
        rollout_signal = watch.state.signal()
        signals = of_this_start([rollout_signal] if rollout_signal else [], ctx.extra)
        if self._needs_pane(watch, signals, now):
            offset = (watch.tailer.offset if watch.tailer is not None else None) or -1
            if (
                watch.pane_signal is None
                or offset != watch.pane_offset
                or now - watch.pane_at >= PANE_RECHECK
            ):
                watch.pane_signal = _pane_signal(capture(), now, ctx, bool(signals))
                watch.pane_at, watch.pane_offset = now, offset
            if watch.pane_signal is not None:
                signals.append(watch.pane_signal)
        else:
            watch.pane_signal = None
        return Observation(signals=signals, extra=extra)

    def _needs_pane(self, watch: _Watch, signals: list[ActivitySignal], now: float) -> bool:
        """Whether only the screen can answer: nothing known yet, or a turn open whose
        rollout went quiet (an approval prompt, the trust question)."""
        if not signals:
            return True
        newest = max(signal.at for signal in signals)
        return signals[-1].state is ActivityState.WORKING and now - newest >= PANE_QUIET

    # -- delivery --------------------------------------------------------------------------

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Whether the TUI takes keys: its rollout was written since this start, or the
        start is :data:`READY_AFTER` seconds old."""
        if not ctx.started_at or self._clock() - ctx.started_at >= READY_AFTER:
            return True
        path = self._rollout(ctx, self._watch(ctx), throttle=False)
        if path is None:
            return False
        try:
            return at_or_after(path.stat().st_mtime, ctx.started_at)
        except OSError:
            return False

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """Where the rollout ends now, and the time."""
        path = self._rollout(ctx, self._watch(ctx), throttle=False)
        offsets = ((str(path), file_size(path)),) if path is not None else ()
        return DeliveryMarker(at=self._clock(), offsets=offsets)

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """Delivered once the rollout records ``text`` as a user message. Codex takes a
        message typed mid-turn into the running turn at once, so nothing is ever queued."""
        path = self._rollout(ctx, self._watch(ctx), throttle=False)
        if path is None:
            return Delivery.PENDING
        state = CodexState()
        state.fold_lines(FileTailer.at_offset(path, marker.offset(path)).read().lines)
        since = marker.at - 2.0
        if any(
            prompt_matches(text, prompt.text) and (prompt.at is None or prompt.at >= since)
            for prompt in state.prompts
        ):
            return Delivery.DELIVERED
        return Delivery.PENDING

    def paste_delay(self, text: str) -> float:
        """0.3 s, plus 0.1 s per 1000 characters, at most 3 s: a long paste takes a moment
        to land in the composer, and an early Enter would be part of it."""
        return min(3.0, 0.3 + len(text) / 10_000)

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """``y`` picks "Yes, proceed" in the approval menu; Escape declines."""
        return ["y"] if yes else ["Escape"]


def _pane_signal(
    screen: str, now: float, ctx: AgentContext, rollout_says: bool
) -> ActivitySignal | None:
    """The screen's reading, completed for a start the records say nothing of yet."""
    return untold_start_reading(
        codex_pane_signal(screen, now),
        now,
        records_say=rollout_says,
        starting=launching(ctx.started_at, ctx.extra, now, STARTUP_GRACE),
        input_shown=shows_composer(screen),
    )
