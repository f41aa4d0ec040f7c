"""The Aider agent: launch with the task typed at its first prompt, read history and pane.

Aider keeps one record, ``.aider.chat.history.md`` in the worktree, written when something
is finished: an input, a reply, an answered question, an error. What it never shows
(generating, a question waiting for an answer) is on the screen, so the pane is read too,
and fused with the history by the engine. Per session the plugin keeps an incremental
reader of the history, so a long-running engine pays only for appended bytes.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.activity.received import prompt_matches
from core.activity.tailer import FileTailer
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
from plugins.agent.aider.reader import AiderState
from plugins.agent.aider.screen import aider_pane_signal, shows_prompt
from plugins.agent.aider.turns import read_turns

HISTORY_FILE = ".aider.chat.history.md"
"""Aider's chat history, in the worktree (``--chat-history-file``)."""
EXCLUDES = [".aider*"]
"""Aider's files in the worktree (history, input history, tags cache): never committed."""
TYPEAHEAD = Path(__file__).with_name("typeahead.py")
"""The relay that types the task at Aider's first prompt (run by path, stdlib only)."""
STARTUP_GRACE = 60.0
"""Seconds after a launch on a task during which an idle screen means "not started yet"."""

AIDER_ENV: tuple[str, ...] = (
    "AIDER_*",
    "OPENAI_*",
    "ANTHROPIC_*",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "XAI_API_KEY",
    "COHERE_API_KEY",
    "AZURE_*",
    "OLLAMA_API_BASE",
    "LITELLM_*",
)
"""The operator's variables Aider reads: its options (``AIDER_*``), provider keys and bases."""

YES_ALWAYS_MODES = frozenset({"acceptEdits", "bypassPermissions"})
"""Permission modes in which Aider answers its own questions (``--yes-always``: files are
created and added; shell commands, which need an explicit yes, are declined)."""


@dataclass
class _Watch:
    """One session's history reader and last pane reading."""

    tailer: FileTailer
    state: AiderState = field(default_factory=AiderState)
    pane: ActivitySignal | None = None
    pane_at: float = float("-inf")
    history_size: int = -1


class AiderAgent:
    """Aider (``aider``): its chat history and its screen, fused by the engine."""

    name = "aider"
    summary = "Aider, from PyPI aider-chat"
    speaker = "aider"
    program = "aider"
    install_hint = "python -m pip install aider-chat"
    confirms_delivery = True

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` is injectable so tests can age signals without sleeping."""
        self._clock = clock
        self._watches: dict[str, _Watch] = {}

    # -- setup -----------------------------------------------------------------------------

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Nothing to install; Aider's own files are kept out of git."""
        ctx.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return list(EXCLUDES)

    def inherited_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The operator's variables Aider reads (its options and the providers' keys)."""
        return matching(environ, AIDER_ENV)

    def _aider_argv(self, ctx: AgentContext) -> list[str]:
        """The configured command and the options ao-tui relies on."""
        command = ctx.settings.command
        argv = shlex.split(command) if command else []
        argv = argv or [self.program]
        # The history is where turns and sends are confirmed, so it is named, not assumed;
        # .aider* is excluded through git's own exclude file, not the user's .gitignore;
        # the update and release-notes questions would stop a session nobody watches.
        argv += [
            "--chat-history-file",
            str(ctx.worktree / HISTORY_FILE),
            "--no-gitignore",
            "--no-check-update",
            "--no-show-release-notes",
        ]
        mode = ctx.settings.permissions
        if mode in YES_ALWAYS_MODES:
            argv.append("--yes-always")
        elif mode == "plan":
            argv += ["--chat-mode", "ask"]
        if ctx.settings.model:
            argv += ["--model", ctx.settings.model]
        return argv

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """Aider under the typeahead relay, which enters the task at its first prompt."""
        argv = self._aider_argv(ctx)
        if not ctx.prompt:
            return LaunchPlan(argv=argv, starts_on_task=False)
        return LaunchPlan(argv=[sys.executable, str(TYPEAHEAD), ctx.prompt, "--", *argv])

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """Aider with ``--restore-chat-history``: the conversation so far, then the prompt."""
        if not (ctx.worktree / HISTORY_FILE).is_file():
            return self.launch(ctx)  # it never started: begin the task afresh
        argv = [*self._aider_argv(ctx), "--restore-chat-history"]
        return LaunchPlan(argv=argv, starts_on_task=False)

    # -- observation -----------------------------------------------------------------------

    def _watch(self, ctx: AgentContext) -> _Watch:
        """The session's reader, created on first use."""
        path = ctx.worktree / HISTORY_FILE
        watch = self._watches.get(ctx.session_id)
        if watch is None or watch.tailer.path != path:
            watch = self._watches[ctx.session_id] = _Watch(FileTailer(path))
        return watch

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """The history's signal and the screen's (captured when the history changed, or
        at most once a second otherwise)."""
        now = self._clock()
        if pane is None or pane.dead:
            detail = "no pane" if pane is None else pane.exit_detail
            signal = ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, now, detail)
            return Observation(signals=[signal])
        watch = self._watch(ctx)
        read = watch.tailer.read()
        if read.restarted:
            watch.state = AiderState()
        watch.state.fold_lines(read.lines)
        path = watch.tailer.path
        size, mtime = _stat(path)
        signals: list[ActivitySignal] = []
        history = watch.state.signal(mtime) if mtime is not None else None
        if (
            history is not None
            and ctx.started_at
            and mtime is not None
            and (mtime < ctx.started_at - 1.0 or watch.state.run_inputs == 0)
        ):
            history = None  # the previous process's last word, or only its banner
        if history is not None:
            signals.append(history)
        if size != watch.history_size or now - watch.pane_at >= 1.0:
            watch.history_size = size
            watch.pane_at = now
            watch.pane = aider_pane_signal(capture(), now)
        if watch.pane is not None:
            signals.append(self._pane_reading(ctx, watch, watch.pane, history, now))
        extra: dict[str, object] = {}
        if mtime is not None and ctx.extra.get("transcript_path") != str(path):
            extra["transcript_path"] = str(path)
        return Observation(signals=signals, extra=dict(extra))

    def _pane_reading(
        self,
        ctx: AgentContext,
        watch: _Watch,
        pane: ActivitySignal,
        history: ActivitySignal | None,
        now: float,
    ) -> ActivitySignal:
        """The screen's signal, with the moments it misleads corrected.

        Right after an input Aider prints nothing until its spinner starts: the prompt
        with the text just entered is on the last line, yet it is working. At launch the
        prompt is up before the relay has typed the task.
        """
        if pane.state is not ActivityState.IDLE:
            return pane
        if history is not None and watch.state.last_kind == "input":
            return ActivitySignal(ActivityState.WORKING, pane.source, now, "input taken")
        starting = ctx.extra.get("starts_on_task") is not False and bool(ctx.prompt)
        if history is None and starting and ctx.started_at and now - ctx.started_at < STARTUP_GRACE:
            return ActivitySignal(ActivityState.WORKING, pane.source, now, "starting on the task")
        return pane

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """None outside the worktree: the history lives there, and the screen is polled."""
        return []

    def read_turns(self, path: Path, problems: list[str] | None = None) -> list[Turn]:
        """The latest turns of the chat history at ``path`` (see :mod:`.turns`)."""
        return read_turns(path, problems)

    # -- delivery --------------------------------------------------------------------------

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Whether Aider took its task (a send before would be typed into the same line)."""
        if not ctx.prompt or not ctx.started_at or ctx.extra.get("starts_on_task") is False:
            return True
        if self._clock() - ctx.started_at > STARTUP_GRACE:
            return True
        watch = self._watch(ctx)
        watch.state.fold_lines(watch.tailer.read().lines)
        return watch.state.run_inputs > 0

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """Where the history ends now, and the time."""
        path = ctx.worktree / HISTORY_FILE
        return DeliveryMarker(at=self._clock(), offsets=((str(path), _stat(path)[0]),))

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """Delivered once the history holds ``text`` as an input after ``marker``.

        Aider reads no input while it works: text typed then waits on the screen and is
        taken at the next prompt, which is "queued" only in the sense that the terminal
        holds it; that is reported as pending until the history shows it.
        """
        path = ctx.worktree / HISTORY_FILE
        state = AiderState()
        state.fold_lines(FileTailer.at_offset(path, marker.offset(path)).read().lines)
        if any(prompt_matches(text, prompt.text) for prompt in state.prompts):
            return Delivery.DELIVERED
        return Delivery.PENDING

    def paste_delay(self, text: str) -> float:
        """0.3 s, plus 0.1 s per 1000 characters, at most 3 s."""
        return min(3.0, 0.3 + len(text) / 10_000)

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """Aider's questions take a letter and Enter."""
        return ["y", "Enter"] if yes else ["n", "Enter"]

    def at_prompt(self, screen: str) -> bool:
        """Whether ``screen`` shows Aider's input prompt (for tests and tools)."""
        return shows_prompt(screen)


def _stat(path: Path) -> tuple[int, float | None]:
    """A file's size and mtime; (0, None) when it does not exist yet."""
    try:
        st = path.stat()
    except OSError:
        return 0, None
    return st.st_size, st.st_mtime
