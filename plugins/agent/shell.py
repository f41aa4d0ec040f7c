"""The shell agent: any command line, with no hooks, status file or transcript.

All it can know comes from the pane, so it claims little: a dead pane is exited, a screen
ending on a shell-like prompt is idle, a ``(Y)es/(N)o`` question is waiting for input, a
screen that changed since the last look is working, and anything else is unknown.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from core.activity.pane import generic_pane_signal
from core.models import (
    ActivitySignal,
    ActivityState,
    Delivery,
    DeliveryMarker,
    SignalSource,
    WaitingFor,
)
from core.slots import AgentContext, LaunchPlan, Observation, PaneInfo, SlotError


class ShellAgent:
    """Runs ``agentConfig.command`` as is; cannot confirm that a message arrived."""

    name = "shell"
    summary = "any command line of yours, as agentConfig.command"
    confirms_delivery = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` is injectable for tests."""
        self._clock = clock
        self._screens: dict[str, str] = {}

    def prepare(self, ctx: AgentContext) -> list[str]:
        """Nothing to install; only the private state dir is created."""
        ctx.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return []

    def _argv(self, ctx: AgentContext) -> list[str]:
        """The configured command split like a shell would, without running a shell."""
        command = ctx.settings.command
        argv = shlex.split(command) if command else []
        if not argv:
            raise SlotError(
                "the shell agent has no command to run: set projects.<id>.agentConfig.command"
            )
        return argv

    def launch(self, ctx: AgentContext) -> LaunchPlan:
        """The command as configured; the task prompt is pasted later, if at all."""
        return LaunchPlan(argv=self._argv(ctx))

    def resume(self, ctx: AgentContext) -> LaunchPlan:
        """A shell command has no conversation to restore: run it again."""
        return LaunchPlan(argv=self._argv(ctx))

    def observe(
        self, ctx: AgentContext, pane: PaneInfo | None, capture: Callable[[], str]
    ) -> Observation:
        """Exited when the pane is dead; otherwise a cautious reading of the screen."""
        now = self._clock()
        if pane is None or pane.dead:
            status = "" if pane is None or pane.dead_status is None else f" ({pane.dead_status})"
            detail = "no pane" if pane is None else f"command exited{status}"
            return Observation(
                [ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, now, detail)]
            )
        screen = capture()
        digest = hashlib.sha1(screen.encode("utf-8", errors="replace")).hexdigest()
        previous = self._screens.get(ctx.session_id)
        self._screens[ctx.session_id] = digest
        signal = generic_pane_signal(screen, now)
        if signal is None and previous is not None and previous != digest:
            signal = ActivitySignal(
                ActivityState.WORKING, SignalSource.PANE, now, "output changing"
            )
        return Observation([signal] if signal is not None else [])

    def ready_for_input(self, ctx: AgentContext) -> bool:
        """Always: the terminal buffers what is typed until the command reads it."""
        return True

    def signal_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """None: everything it knows comes from the pane."""
        return []

    def delivery_marker(self, ctx: AgentContext) -> DeliveryMarker:
        """No record to compare against."""
        return DeliveryMarker()

    def delivery(
        self, ctx: AgentContext, marker: DeliveryMarker, text: str, capture: Callable[[], str]
    ) -> Delivery:
        """A shell command leaves no proof of receipt: always pending."""
        return Delivery.PENDING

    def paste_delay(self, text: str) -> float:
        """Terminals take a bracketed paste at once; a short pause covers slow line editors."""
        return min(1.0, 0.1 + len(text) / 50_000)

    def answer_keys(self, yes: bool, asked: WaitingFor | None = None) -> list[str]:
        """A ``(Y)es/(N)o`` question answered with a letter and Enter."""
        return ["y", "Enter"] if yes else ["n", "Enter"]
