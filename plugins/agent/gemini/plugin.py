"""The Gemini CLI agent: launch on the task under a session id ao-tui chooses, read its
hooks, transcript and pane, resume its session.

Gemini CLI takes the session id it is given (``--session-id``) and resumes by it
(``--resume <id>``), so the transcript is found by that id (or named by the hooks, which
pass its path). Hooks (:mod:`.hooks`) say when a turn starts and ends and when an approval
waits; the transcript (:mod:`.reader`) says what was asked and answered, with usage; the
pane (:mod:`.screen`) says what neither does: an interrupted turn and an API error.

The worktree is trusted for the session through ``GEMINI_CLI_TRUST_WORKSPACE`` (nothing is
added to the operator's ``trustedFolders.json``).
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
from core.activity.unresumable import set_aside
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
from plugins.agent.gemini.hooks import SETTINGS_FILE, GeminiHookState, install_hooks
from plugins.agent.gemini.paths import (
    find_transcript,
    holds_conversation,
    latest_session,
    temp_root,
)
from plugins.agent.gemini.reader import GeminiState
from plugins.agent.gemini.screen import KEEP_TRYING, gemini_pane_signal, shows_prompt
from plugins.agent.gemini.sources import agreed, until_drawn
from plugins.agent.gemini.turns import read_turns

HOOK_LOG = "hooks.jsonl"
"""The hook log's name inside the session's private state dir."""
TRANSCRIPT_KEY = "transcript_path"
"""The ``Session.extra`` key holding the transcript's path."""

PANE_QUIET = 1.0
"""Seconds a running turn's records must be silent before the pane is read."""
PANE_RECHECK = 1.0
"""Seconds between two captures while the records did not change."""
BOX_WAIT = 0.6
"""Seconds after an approval hook within which the screen is looked at again until the box
is drawn (see :meth:`GeminiAgent._await_box`)."""
BOX_POLL = 0.05
"""Seconds between two of those looks."""
SEARCH_EVERY = 1.0
"""Seconds between two searches for a transcript not found yet."""
INPUT_SETTLE = 1.0
"""Seconds after the ``SessionStart`` hook before typed keys reach the input box (measured
on 0.61.0: lost at once, taken from half a second on)."""
READY_AFTER = 6.0
"""Seconds after a start after which the TUI surely takes keys."""
STARTUP_GRACE = 20.0
"""Seconds after a launch during which a screen with nothing known means "starting"."""

GEMINI_ENV: tuple[str, ...] = ("GEMINI_*", "GOOGLE_*", "CLOUDSDK_*")
"""The operator's variables Gemini CLI reads: its API key and base URL, Vertex AI's project,
location and credentials, its home."""
LAUNCH_ENV = {"GEMINI_CLI_TRUST_WORKSPACE": "true", "GEMINI_CLI_NO_RELAUNCH": "true"}
"""Trust the worktree for this process only (Gemini would otherwise ask, or run it in a
restricted mode where trusted-folder checks are on), and keep the CLI in the launched
process: it otherwise restarts itself as a child node, which a kill of the pane's process
would leave running."""

APPROVAL_MODES: dict[str, list[str]] = {
    "default": [],
    "acceptEdits": ["--approval-mode", "auto_edit"],
    "plan": ["--approval-mode", "plan"],
    "bypassPermissions": ["--approval-mode", "yolo"],
}
"""ao-tui's permission modes in Gemini's terms (``default``: ask before every tool that
changes something)."""


@dataclass
class _Watch:
    """One session's readers, kept between ticks."""

    hooks: FileTailer | None = None
    hook_state: GeminiHookState = field(default_factory=GeminiHookState)
    transcript: Path | None = None
    tailer: FileTailer | None = None
    state: GeminiState = field(default_factory=GeminiState)
    searched_at: float = float("-inf")
    pane_signal: ActivitySignal | None = None
    pane_at: float = float("-inf")
    pane_mark: tuple[int, int] = (-1, -1)


class GeminiAgent:
    """Google's Gemini CLI (``gemini``): hooks, transcript and pane, fused by the engine."""

    name = "gemini"
    summary = "Google Gemini CLI"
    speaker = "gemini"
    program = "gemini"
    install_hint = "npm install -g @google/gemini-cli"
    confirms_delivery = True

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` is injectable so tests can age signals without sleeping."""
        self._clock = clock
        self._watches: dict[str, _Watch] = {}

    # -- setup -----------------------------------------------------------------------------

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Install the hooks in the worktree's project settings (git-excluded), unless the
        project has settings of its own (then the session runs without hooks)."""
        ctx.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        installed = install_hooks(ctx.worktree, ctx.state_dir / HOOK_LOG)
        return [SETTINGS_FILE] if installed else []

    def inherited_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The operator's variables Gemini CLI reads (:data:`GEMINI_ENV`)."""
        return matching(environ, GEMINI_ENV)

    def _argv(self, ctx: AgentContext) -> list[str]:
        """The configured command (may carry its own flags), ``gemini`` by default, with
        the approval mode and model of the project's agentConfig."""
        command = ctx.settings.command
        argv = shlex.split(command) if command else []
        argv = argv or [self.program]
        argv += APPROVAL_MODES.get(ctx.settings.permissions or "default", [])
        if ctx.settings.model:
            argv += ["--model", ctx.settings.model]
        return argv

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """``gemini [...] --session-id <id> --prompt-interactive=<task>``: the task is
        submitted at start and the TUI stays up (``=`` keeps a task starting with ``-``
        from reading as an option)."""
        argv = [*self._argv(ctx), "--session-id", ctx.agent_session_id]
        if ctx.prompt:
            argv.append(f"--prompt-interactive={ctx.prompt}")
        return LaunchPlan(argv=argv, env=dict(LAUNCH_ENV), starts_on_task=bool(ctx.prompt))

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """``gemini [...] --resume <id>``: the same session, after an exit.

        A session that died before its first message was written cannot be resumed
        (Gemini does not list it, and refuses its id as taken): its transcript is set aside,
        kept, and the task started afresh under the same id.
        """
        path = find_transcript(temp_root(ctx.env), ctx.agent_session_id)
        if path is None:
            return self.launch(ctx)
        if not holds_conversation(path):
            set_aside(path, ctx.session_id)
            self._watches.pop(ctx.session_id, None)
            return self.launch(ctx)
        argv = [*self._argv(ctx), "--resume", ctx.agent_session_id]
        return LaunchPlan(argv=argv, env=dict(LAUNCH_ENV), starts_on_task=False)

    def latest_conversation(self, worktree: Path, env: Mapping[str, str]) -> str:
        """The id of the newest session recorded for ``worktree`` ("" if none)."""
        return latest_session(temp_root(env), worktree)

    def read_turns(self, path: Path, problems: list[str] | None = None) -> list[Turn]:
        """The latest turns of the transcript at ``path`` (see :mod:`.turns`)."""
        return read_turns(path, problems)

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Gemini's per-project folders (the transcripts are two levels below)."""
        return [temp_root(env)]

    # -- observation -----------------------------------------------------------------------

    def _watch(self, ctx: AgentContext) -> _Watch:
        """The session's readers, created on first use."""
        watch = self._watches.get(ctx.session_id)
        if watch is None:
            watch = self._watches[ctx.session_id] = _Watch()
            watch.hooks = FileTailer(ctx.state_dir / HOOK_LOG)
        return watch

    def _transcript(self, ctx: AgentContext, watch: _Watch, *, throttle: bool) -> Path | None:
        """The session's transcript: named by a hook, remembered, or found by its id."""
        named = watch.hook_state.transcript_path
        if named and Path(named).is_file():
            return Path(named)
        if watch.transcript is not None and watch.transcript.is_file():
            return watch.transcript
        now = self._clock()
        if throttle and now - watch.searched_at < SEARCH_EVERY:
            return None
        watch.searched_at = now
        return find_transcript(temp_root(ctx.env), ctx.agent_session_id)

    def _read(self, ctx: AgentContext, watch: _Watch) -> dict[str, Any]:
        """Fold what the hook log and the transcript gained; facts to persist."""
        assert watch.hooks is not None
        read = watch.hooks.read()
        if read.restarted:
            watch.hook_state = GeminiHookState()
        watch.hook_state.fold_lines(read.lines)
        extra: dict[str, Any] = {}
        path = self._transcript(ctx, watch, throttle=True)
        if path is not None and path != watch.transcript:
            watch.transcript, watch.tailer, watch.state = path, FileTailer(path), GeminiState()
        if watch.tailer is not None:
            tread = watch.tailer.read()
            if tread.restarted:
                watch.state = GeminiState()
            watch.state.fold_lines(tread.lines)
        if path is not None and str(path) != ctx.extra.get(TRANSCRIPT_KEY):
            extra[TRANSCRIPT_KEY] = str(path)
        for key, value in watch.state.usage_facts().items():
            if ctx.extra.get(key) != value:
                extra[key] = value
        return extra

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """Signals from the hooks and the transcript and, when they leave the turn open
        and went quiet (or say nothing yet), the pane."""
        now = self._clock()
        if pane is None or pane.dead:
            detail = "no pane" if pane is None else pane.exit_detail
            signal = ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, now, detail)
            return Observation(signals=[signal])
        watch = self._watch(ctx)
        extra = self._read(ctx, watch)
        transcript = watch.state.signal()
        found = [agreed(watch.hook_state.signal(), transcript), transcript]
        signals = of_this_start([s for s in found if s is not None], ctx.extra)
        asking = any(s.state is ActivityState.WAITING_INPUT for s in signals)
        if asking or self._needs_pane(signals, now):
            mark = (_offset(watch.hooks), _offset(watch.tailer))
            stale = now - watch.pane_at >= PANE_RECHECK
            if watch.pane_signal is None or mark != watch.pane_mark or stale:
                watch.pane_signal = _pane_signal(capture(), now, ctx, bool(signals))
                watch.pane_at, watch.pane_mark = now, mark
            if asking:
                watch.pane_signal = self._await_box(watch.pane_signal, signals, capture, ctx)
                signals = [until_drawn(s, watch.pane_signal) for s in signals]
            if watch.pane_signal is not None:
                signals.append(watch.pane_signal)
        else:
            watch.pane_signal = None
        return Observation(signals=signals, extra=extra)

    def _await_box(
        self,
        screen: ActivitySignal | None,
        signals: list[ActivitySignal],
        capture: Callable[[], str],
        ctx: AgentContext,
    ) -> ActivitySignal | None:
        """The screen once the approval box a hook just announced is drawn: Gemini draws it
        about a tenth of a second after the hook, and nothing else would wake the next look
        before the next tick. Waits at most :data:`BOX_WAIT` seconds, only right after the
        hook."""
        asked = max(s.at for s in signals if s.state is ActivityState.WAITING_INPUT)
        deadline = asked + BOX_WAIT
        while (screen is None or screen.state is not ActivityState.WAITING_INPUT) and (
            self._clock() < deadline
        ):
            time.sleep(BOX_POLL)
            screen = _pane_signal(capture(), self._clock(), ctx, True)
        return screen

    def _needs_pane(self, signals: list[ActivitySignal], now: float) -> bool:
        """Whether only the screen can answer: nothing known yet, or a turn open whose
        records went quiet (an interrupt, an API error, a retry)."""
        if not signals:
            return True
        newest = max(signals, key=lambda s: s.at)
        return newest.state is ActivityState.WORKING and now - newest.at >= PANE_QUIET

    # -- delivery --------------------------------------------------------------------------

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Whether the TUI takes keys: it took a prompt since this start, or its
        ``SessionStart`` hook fired :data:`INPUT_SETTLE` seconds ago (keys typed at once
        are lost), or the start is :data:`READY_AFTER` seconds old (no hooks)."""
        now = self._clock()
        if not ctx.started_at or now - ctx.started_at >= READY_AFTER:
            return True
        watch = self._watch(ctx)
        self._read(ctx, watch)
        hooks = watch.hook_state
        if any(p.at is not None and at_or_after(p.at, ctx.started_at) for p in hooks.prompts):
            return True
        started = hooks.start_at
        return (
            started is not None
            and at_or_after(started, ctx.started_at)
            and now - started >= INPUT_SETTLE
        )

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """Where the hook log and the transcript end now, and the time."""
        watch = self._watch(ctx)
        paths = [ctx.state_dir / HOOK_LOG]
        transcript = self._transcript(ctx, watch, throttle=False)
        if transcript is not None:
            paths.append(transcript)
        return DeliveryMarker(
            at=self._clock(), offsets=tuple((str(p), file_size(p)) for p in paths)
        )

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """Delivered once a ``BeforeAgent`` hook or the transcript records ``text`` as a
        prompt after ``marker``; pending until then (nothing on Gemini's screen tells a
        message waiting in its input box from one being typed)."""
        since = marker.at - 2.0
        hooks = GeminiHookState()
        log = ctx.state_dir / HOOK_LOG
        hooks.fold_lines(FileTailer.at_offset(log, marker.offset(log)).read().lines)
        prompts = list(hooks.prompts)
        transcript = self._transcript(ctx, self._watch(ctx), throttle=False)
        if transcript is not None:
            state = GeminiState()
            offset = marker.offset(transcript)
            state.fold_lines(FileTailer.at_offset(transcript, offset).read().lines)
            prompts += state.prompts
        if any(prompt_matches(text, p.text) and (p.at is None or p.at >= since) for p in prompts):
            return Delivery.DELIVERED
        return Delivery.PENDING

    def paste_delay(self, text: str) -> float:
        """0.3 s, plus 0.1 s per 1000 characters, at most 3 s: a long paste takes a moment
        to land in the input box, and an early Enter would be part of it."""
        return min(3.0, 0.3 + len(text) / 10_000)

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """An approval box: Enter takes the highlighted "1. Allow once", Escape declines.
        The "keep trying or stop?" dialog: ``1`` or ``2`` (Escape cancels the request but
        leaves the dialog up)."""
        if asked is not None and asked.command == KEEP_TRYING:
            return ["1"] if yes else ["2"]
        return ["Enter"] if yes else ["Escape"]

    def at_prompt(self, screen: str) -> bool:
        """Whether ``screen`` shows Gemini's input box (for tests and tools)."""
        return shows_prompt(screen)


def _pane_signal(
    screen: str, now: float, ctx: AgentContext, records_say: bool
) -> ActivitySignal | None:
    """The screen's reading, completed for a start the records say nothing of yet."""
    return untold_start_reading(
        gemini_pane_signal(screen, now),
        now,
        records_say=records_say,
        starting=launching(ctx.started_at, ctx.extra, now, STARTUP_GRACE),
        input_shown=shows_prompt(screen),
    )


def _offset(tailer: FileTailer | None) -> int:
    """How far a reader has read (-1 before it read anything)."""
    offset = tailer.offset if tailer is not None else None
    return offset if offset is not None else -1
