"""The Claude Code agent: launch with a pinned session id, log hooks, read every signal.

Per session the plugin keeps incremental readers (hook log, transcript) in the instance, so
a long-running engine pays only for appended bytes each tick; a fresh instance (a one-shot
CLI call) rebuilds them with one bounded backward read per file. The pane is captured only
when the cheaper signals leave a question open (see :meth:`ClaudeCodeAgent.observe`).
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.activity.fusion import fuse
from core.activity.received import prompt_matches
from core.activity.starts import at_or_after, of_this_start, signals_from
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
from core.slots import AgentContext, LaunchPlan, Observation, PaneInfo, SlotError
from plugins.agent.claude_code.checkpoint import note_fold, session_watch
from plugins.agent.claude_code.freshness import (
    HOOK_SILENCE,
    PANE_RECHECK,
    READY_AFTER,
    STALE_WORKING,
    STARTUP_GRACE,
    STATUS_RESCAN,
    TRANSCRIPT_RESCAN,
    TRANSCRIPT_SCAN_MAX,
    TRANSCRIPT_SILENCE,
    SessionWatch,
    next_search,
    observation_inputs,
    rework_at,
    stat_key,
)
from plugins.agent.claude_code.hooks import HookState, parse_hook_log
from plugins.agent.claude_code.paths import (
    claude_config_dir,
    find_transcript,
    holds_conversation,
    project_dir_name,
    status_dir,
)
from plugins.agent.claude_code.roles import RoleRules
from plugins.agent.claude_code.screen import claude_pane_signal, shows_queued_message
from plugins.agent.claude_code.settings import (
    ALLOW_TARGET,
    SETTINGS_FILE,
    apply_allow,
    install_hooks,
)
from plugins.agent.claude_code.status import ClaudeStatus, find_status, is_current, read_status_file
from plugins.agent.claude_code.transcript import TranscriptState
from plugins.agent.claude_code.trust import claude_json_path, forget_folder, trust_folder
from plugins.agent.claude_code.turns import read_turns

HOOK_LOG = "hooks.jsonl"
"""The hook log's name inside the session's private state dir."""

CLAUDE_ENV: tuple[str, ...] = (
    "ANTHROPIC_*",
    "CLAUDE_*",
    "DISABLE_*",
    "MCP_*",
    "MAX_THINKING_TOKENS",
    "MAX_MCP_OUTPUT_TOKENS",
    "BASH_DEFAULT_TIMEOUT_MS",
    "BASH_MAX_TIMEOUT_MS",
    "BASH_MAX_OUTPUT_LENGTH",
    "USE_BUILTIN_RIPGREP",
    "CLOUD_ML_REGION",
    "VERTEX_REGION_*",
)
"""The operator's variables Claude Code reads: its API key or auth token, base URL, model
and behaviour settings."""
CLAUDE_CLOUD_ENV: dict[str, tuple[str, ...]] = {
    "CLAUDE_CODE_USE_BEDROCK": ("AWS_*",),
    "CLAUDE_CODE_USE_VERTEX": ("GOOGLE_*", "GCLOUD_*", "CLOUDSDK_*"),
}
"""Cloud credentials Claude Code needs only when told to use that cloud."""

PERMISSION_MODES = {"skip": "bypassPermissions"}
"""Agent Orchestrator's ``permissions`` values that differ from Claude's mode names."""


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A Claude session id, which names its transcript file."""


class ClaudeCodeAgent(RoleRules):
    """Claude Code (``claude``): hooks, status file, transcript and pane, fused by the engine;
    with a role, its guardrails (:mod:`.roles`)."""

    name = "claude-code"
    summary = "Claude Code"
    speaker = "claude"
    program = "claude"
    install_hint = "npm install -g @anthropic-ai/claude-code"
    confirms_delivery = True
    allow_target = ALLOW_TARGET

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` is injectable so tests can age signals without sleeping."""
        self._clock = clock
        self._watches: dict[str, SessionWatch] = {}
        self._config_dirs: dict[tuple[str | None, ...], Path] = {}

    # -- setup -----------------------------------------------------------------------------

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Install our hooks in ``<worktree>/.claude/settings.local.json``, keeping the user's.

        Entries we wrote earlier (recognised by the ``ao_ts`` stamp in their command) are
        replaced, so re-preparing a worktree never duplicates hooks.
        """
        ctx.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        install_hooks(ctx.worktree, ctx.state_dir / HOOK_LOG)
        trust_folder(claude_json_path(ctx.env), ctx.worktree)
        return [SETTINGS_FILE]

    def forget_worktree(self, worktree: Path, env: Mapping[str, str]) -> list[str]:
        """The removed worktree's entry in Claude's config (its trust and Claude's notes on
        it) goes with it."""
        config = claude_json_path(env)
        if forget_folder(config, worktree):
            return [f"removed {worktree} from {config}"]
        return []

    def apply_allow(self, ctx: AgentContext) -> list[str]:
        """``agentConfig.allow`` into Claude's own ``permissions.allow`` in the worktree's
        local settings (see :mod:`.settings`); nothing is answered on Claude's behalf."""
        apply_allow(ctx.worktree, ctx.state_dir, ctx.settings.allow)
        return [SETTINGS_FILE]

    def inherited_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The operator's variables Claude Code reads (cloud credentials only when the
        operator told Claude to use that cloud)."""
        names = list(CLAUDE_ENV)
        for switch, extra in CLAUDE_CLOUD_ENV.items():
            if environ.get(switch, "").strip().lower() not in ("", "0", "false"):
                names += extra
        return matching(environ, names)

    def _base_argv(self, ctx: AgentContext) -> list[str]:
        """The configured command (may carry its own flags), ``claude`` by default."""
        command = ctx.settings.command
        argv = shlex.split(command) if command else []
        return argv or [self.program]

    def _option_argv(self, ctx: AgentContext) -> list[str]:
        """``--permission-mode`` and ``--model`` from the project's agentConfig."""
        argv: list[str] = []
        if ctx.settings.permissions:
            mode = PERMISSION_MODES.get(ctx.settings.permissions, ctx.settings.permissions)
            argv += ["--permission-mode", mode]
        if ctx.settings.model:
            argv += ["--model", ctx.settings.model]
        return argv

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """``claude --session-id <uuid> [...] "<prompt>"``: the task is submitted at start."""
        if not ctx.agent_session_id:
            raise SlotError("claude-code needs an agent session id (a uuid) to launch")
        argv = [*self._base_argv(ctx), "--session-id", ctx.agent_session_id]
        argv += self._option_argv(ctx)
        if ctx.prompt:
            if ctx.prompt.startswith("-"):
                # A task starting like a markdown list ("- fix …") would be read as an option.
                argv.append("--")
            argv.append(ctx.prompt)
        return LaunchPlan(argv=argv)

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """``claude --resume <uuid> [...]``: the same conversation, after a crash or exit."""
        if not ctx.agent_session_id:
            raise SlotError("claude-code cannot resume without the session's uuid")
        config_dir = claude_config_dir(ctx.env)
        transcript = find_transcript(config_dir, ctx.agent_session_id, ctx.worktree)
        if transcript is not None and not holds_conversation(transcript):
            # Killed before its messages reached the file: kept aside, or Claude would
            # refuse the uuid as already in use (see holds_conversation).
            set_aside(transcript, ctx.session_id)
            transcript = None
        if transcript is None:
            # It died before writing anything: there is no conversation to resume, and
            # `--resume` would fail. Start the task afresh under the same uuid.
            return self.launch(ctx)
        argv = [*self._base_argv(ctx), "--resume", ctx.agent_session_id]
        return LaunchPlan(argv=argv + self._option_argv(ctx), starts_on_task=False)

    # -- observation -----------------------------------------------------------------------

    def _watch(self, ctx: AgentContext) -> SessionWatch:
        """The session's readers, created on first use."""
        watch = self._watches.get(ctx.session_id)
        if watch is None or watch.state_dir != ctx.state_dir:
            log = ctx.state_dir / HOOK_LOG
            watch = session_watch(log)
            watch.state_dir = ctx.state_dir
            self._watches[ctx.session_id] = watch
        return watch

    def _config_dir(self, env: Mapping[str, str]) -> Path:
        """:func:`claude_config_dir`, remembered by the variables it reads (every tick
        asks it for every session, and building the path costs more than the lookup)."""
        key = tuple(
            source.get(name)
            for name in ("CLAUDE_CONFIG_DIR", "HOME")
            for source in (env, os.environ)
        )
        found = self._config_dirs.get(key)
        if found is None:
            found = self._config_dirs[key] = claude_config_dir(env)
        return found

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """Signals from hooks, status file, transcript and, only when needed, the pane.

        The pane is captured when nothing else is known; when a tool call is pending and no
        hook came for :data:`HOOK_SILENCE` s (a prompt nobody reported); when a hook says a
        permission prompt waits and no status file confirms it (it may have been answered);
        when only the transcript says "working" and it has been quiet for
        :data:`TRANSCRIPT_SILENCE` s; or when "working" has had no new evidence for
        :data:`STALE_WORKING` s. Captures of an unchanged session are throttled.
        """
        now = self._clock()
        if pane is None or pane.dead:
            detail = "no pane" if pane is None else pane.exit_detail
            signal = ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, now, detail)
            return Observation(signals=[signal])
        watch = self._watch(ctx)
        config_dir = self._config_dir(ctx.env)
        # Taken before anything is read, so a write landing during this observation makes
        # the next one differ and read again rather than be skipped.
        inputs = observation_inputs(ctx, watch, pane, config_dir)
        if watch.observation is not None and inputs == watch.inputs:
            # Nothing this session's signals come from has changed and no time rule is due:
            # the same files would yield the same signals. This is what keeps an idle fleet
            # cheap (one stat per file per tick instead of reads, scans and parses).
            if now < watch.reuse_until:
                return watch.observation
            # Only a search for a file not found yet is due: if it still finds nothing,
            # nothing changed either.
            if now < watch.rework_at and not self._search_finds(ctx, watch, config_dir, pane):
                watch.reuse_until = min(watch.rework_at, next_search(watch, now))
                return watch.observation
        extra: dict[str, Any] = {}

        read = watch.hook_tailer.read()
        if read.restarted:
            watch.hooks = HookState()
        watch.hooks.fold_lines(read.lines)
        note_fold(watch)

        status = self._status(ctx, watch, config_dir, pane)

        path = self._transcript_path(ctx, watch, config_dir, throttle=True)
        if path is not None and path != watch.transcript_path:
            watch.transcript_path = path
            watch.transcript_tailer = FileTailer(path)
            watch.transcript = TranscriptState()
        if path is not None and str(path) != ctx.extra.get("transcript_path"):
            extra["transcript_path"] = str(path)
        if watch.transcript_tailer is not None:
            tread = watch.transcript_tailer.read()
            if tread.restarted:
                watch.transcript = TranscriptState()
            watch.transcript.fold_lines(tread.lines)
        # Tokens and model, kept on the session for the morning report's cost.
        for key, value in watch.transcript.usage_facts().items():
            if ctx.extra.get(key) != value:
                extra[key] = value

        signals = [
            s
            for s in (
                _of_this_start(watch.hooks, ctx),
                status.signal() if status else None,
                watch.transcript.signal(),
            )
            if s is not None
        ]
        signals = of_this_start(signals, ctx.extra)
        fingerprint = (
            watch.hook_tailer.offset,
            watch.transcript_tailer.offset if watch.transcript_tailer else None,
            status.updated_at if status else None,
        )
        if self._needs_pane(watch, signals, status, now):
            if (
                watch.pane_signal is None
                or fingerprint != watch.pane_fingerprint
                or now - watch.pane_captured_at >= PANE_RECHECK
            ):
                watch.pane_signal = claude_pane_signal(capture(), now)
                watch.pane_captured_at = now
                watch.pane_fingerprint = fingerprint
            if watch.pane_signal is not None:
                signals.append(_starting(watch.pane_signal, signals, ctx, now))
        else:
            watch.pane_signal = None
        observation = Observation(signals=signals, extra=extra)
        watch.inputs = inputs
        watch.observation = observation
        watch.transcript_missing = path is None
        watch.rework_at = rework_at(ctx, watch, signals, now)
        watch.reuse_until = min(watch.rework_at, next_search(watch, now))
        return observation

    def _search_finds(
        self, ctx: AgentContext, watch: SessionWatch, config_dir: Path, pane: PaneInfo
    ) -> bool:
        """Run the searches that are due for a status file or transcript not found yet;
        whether one of them found it (then the session is observed in full)."""
        found = False
        if watch.status_path is None and self._status(ctx, watch, config_dir, pane) is not None:
            found = True
        if (
            watch.transcript_missing
            and self._transcript_path(ctx, watch, config_dir, throttle=True) is not None
        ):
            # The full observation that follows must not be held back by the throttle.
            watch.transcript_searched_at = float("-inf")
            found = True
        return found

    def _status(
        self, ctx: AgentContext, watch: SessionWatch, config_dir: Path, pane: PaneInfo
    ) -> ClaudeStatus | None:
        """The session's status file: the remembered one if still ours, else a fresh search."""
        if watch.status_path is not None:
            status = read_status_file(watch.status_path)
            if (
                status is not None
                and status.session_id == ctx.agent_session_id
                and is_current(status)
            ):
                return status
            watch.status_path = None
        now = self._clock()
        if now - watch.status_scanned_at < STATUS_RESCAN:
            # Only the pane's own pid is cheap to try; the full scan reads every file.
            found = read_status_file(status_dir(config_dir) / f"{pane.pane_pid}.json")
            if found is None or found.session_id != ctx.agent_session_id or not is_current(found):
                return None
        else:
            watch.status_scanned_at = now
            found = find_status(config_dir, ctx.agent_session_id, (pane.pane_pid,))
        if found is not None:
            watch.status_path = found.path
        return found

    def _transcript_path(
        self, ctx: AgentContext, watch: SessionWatch, config_dir: Path, *, throttle: bool = False
    ) -> Path | None:
        """Where the transcript is: the hooks' ``transcript_path`` (it follows ``/clear``),
        the remembered path, the one persisted on the session, or a search by uuid."""
        reported = watch.hooks.transcript_path
        if reported and Path(reported).is_file():
            return Path(reported)
        if watch.transcript_path is not None and watch.transcript_path.is_file():
            return watch.transcript_path
        persisted = ctx.extra.get("transcript_path")
        if isinstance(persisted, str) and persisted and Path(persisted).is_file():
            return Path(persisted)
        now = self._clock()
        if throttle and now - watch.transcript_searched_at < TRANSCRIPT_RESCAN:
            return None  # searched a moment ago: a search walks directories, every tick
        watch.transcript_searched_at = now
        scan = True
        if throttle:
            # The computed locations are tried every time; the scan of every project dir
            # only when one was added (Claude makes a new one for a new working directory)
            # or, as a safety net, every TRANSCRIPT_SCAN_MAX seconds.
            projects = stat_key(config_dir / "projects")
            scan = (
                projects != watch.projects_scanned
                or now - watch.transcript_scanned_at >= TRANSCRIPT_SCAN_MAX
            )
            if scan or watch.worktree_real is None or watch.worktree_real[0] != ctx.worktree:
                # Resolved again with each scan: a symlink in the path may have moved.
                watch.worktree_real = (ctx.worktree, os.path.realpath(ctx.worktree))
            if scan:
                watch.projects_scanned = projects
                watch.transcript_scanned_at = now
            return find_transcript(
                config_dir,
                ctx.agent_session_id,
                ctx.worktree,
                scan=scan,
                resolved=watch.worktree_real[1],
            )
        return find_transcript(config_dir, ctx.agent_session_id, ctx.worktree)

    def _needs_pane(
        self,
        watch: SessionWatch,
        signals: list[ActivitySignal],
        status: ClaudeStatus | None,
        now: float,
    ) -> bool:
        """Whether the cheaper signals leave a question only the screen can answer."""
        if not signals:
            return True
        fused = fuse(signals, None, now)
        if fused.source is SignalSource.STATUS_FILE:
            # Claude's own state, rewritten on every change: nothing to reconcile, except
            # that it stays "busy" through minutes of API retries, which only the screen
            # shows. Quiet that long, busy is worth a look.
            newest = max(signal.at for signal in signals)
            return fused.state is ActivityState.WORKING and now - newest >= STALE_WORKING
        if fused.state is ActivityState.WORKING:
            tool_pending = bool(watch.transcript.pending_tools or watch.hooks.current_tool)
            last_hook = watch.hooks.last_at
            if tool_pending and (last_hook is None or now - last_hook >= HOOK_SILENCE):
                return True
            if fused.source is SignalSource.TRANSCRIPT and now - fused.since >= TRANSCRIPT_SILENCE:
                return True
            newest = max(signal.at for signal in signals)
            if now - newest >= STALE_WORKING:
                # e.g. Escape before the first token: the prompt goes back to the input box
                # and neither hooks nor transcript say so.
                return True
        return (
            fused.state is ActivityState.WAITING_INPUT
            and status is None
            and now - fused.since >= HOOK_SILENCE
        )

    # -- delivery --------------------------------------------------------------------------

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Whether Claude's REPL is up: its SessionStart hook for this start has fired.

        Keys typed while Claude starts are lost (measured: a send right after spawn got no
        receipt), so a send waits for this. Long after the start the answer is yes
        without reading the log, which then may be large.
        """
        if not ctx.started_at or self._clock() - ctx.started_at > READY_AFTER:
            return True
        try:
            with (ctx.state_dir / HOOK_LOG).open("r", encoding="utf-8", errors="replace") as log:
                records = parse_hook_log(log)
        except OSError:
            return False
        return any(r.event == "SessionStart" and at_or_after(r.at, ctx.started_at) for r in records)

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """The transcript and status dirs of the config dir ``env`` points Claude at."""
        config_dir = claude_config_dir(env)
        return [config_dir / "projects", config_dir / "sessions"]

    def read_turns(self, path: Path, problems: list[str] | None = None) -> list[Turn]:
        """The latest turns of the transcript at ``path`` (see :mod:`.turns`)."""
        return read_turns(path, problems)

    def latest_conversation(self, worktree: Path, env: Mapping[str, str]) -> str:
        """The uuid of the newest transcript in ``worktree``'s project folder ("" if none)."""
        folder = claude_config_dir(env) / "projects" / project_dir_name(str(worktree))
        try:
            transcripts = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return ""
        named = [p.stem for p in transcripts if _UUID.fullmatch(p.stem)]
        return named[-1] if named else ""

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """Where the hook log and transcript end now, and the time."""
        log = ctx.state_dir / HOOK_LOG
        watch = self._watch(ctx)
        transcript = self._transcript_path(ctx, watch, claude_config_dir(ctx.env))
        offsets = [(str(log), file_size(log))]
        if transcript is not None:
            offsets.append((str(transcript), file_size(transcript)))
        return DeliveryMarker(at=self._clock(), offsets=tuple(offsets))

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """Delivered once the hooks or the transcript show ``text``; queued while Claude's
        screen says it holds a message for after the current turn."""
        if self.delivery_confirmed(ctx, marker, text):
            return Delivery.DELIVERED
        if shows_queued_message(capture()):
            return Delivery.QUEUED
        return Delivery.PENDING

    def delivery_confirmed(self, ctx: AgentContext, marker: DeliveryMarker, text: str) -> bool:
        """True once a UserPromptSubmit hook or a new transcript user entry shows ``text``."""
        since = marker.at - 2.0
        log = ctx.state_dir / HOOK_LOG
        hook_lines = FileTailer.at_offset(log, marker.offset(log)).read().lines
        for record in parse_hook_log(hook_lines):
            if record.event != "UserPromptSubmit":
                continue
            prompt = record.payload.get("prompt")
            if isinstance(prompt, str) and prompt_matches(text, prompt):
                return True
        path = self._transcript_path(ctx, self._watch(ctx), claude_config_dir(ctx.env))
        if path is None:
            return False
        state = TranscriptState()
        state.fold_lines(FileTailer.at_offset(path, marker.offset(path)).read().lines)
        return any(
            prompt_matches(text, prompt.text) and (prompt.at is None or prompt.at >= since)
            for prompt in state.prompts
        )

    def paste_delay(self, text: str) -> float:
        """0.3 s, plus 0.1 s per 1000 characters, at most 3 s: Claude renders big pastes slowly."""
        return min(3.0, 0.3 + len(text) / 10_000)

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """``1`` picks "Yes" in the permission menu; Escape declines."""
        return ["1"] if yes else ["Escape"]


def _starting(
    pane: ActivitySignal, others: list[ActivitySignal], ctx: AgentContext, now: float
) -> ActivitySignal:
    """Read an idle-looking screen at launch as the start of work.

    Claude draws its input box before it submits the task prompt it was launched with, so
    for a moment, before any hook or transcript line exists, the screen alone says "idle".
    Reporting that would flash a brand-new session into "Needs you". A resumed
    conversation starts on no task: its idle screen is real.
    """
    started = ctx.started_at
    if (
        others
        or pane.state is not ActivityState.IDLE
        or not started
        or now - started > STARTUP_GRACE
        or ctx.extra.get("starts_on_task") is False
    ):
        return pane
    return ActivitySignal(ActivityState.WORKING, pane.source, pane.at, "starting on the task")


def _of_this_start(hooks: HookState, ctx: AgentContext) -> ActivitySignal | None:
    """The hooks' signal, unless it is the killed process's last word after a restore.

    Claude fires ``SessionEnd`` as it dies, and on a loaded machine the hook may run after
    the restore began: stamped after it, it is still the old process's. The new process's
    first hook is its ``SessionStart``; an end seen before that start is not this one's.
    """
    signal = hooks.signal()
    started = signals_from(ctx.extra)
    if signal is None or started is None or hooks.state_event != "SessionEnd":
        return signal
    start = hooks.start_at
    return signal if start is not None and at_or_after(start, started) else None
