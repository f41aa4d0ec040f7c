"""The reconcile loop run by whichever process holds the engine lease.

A file watch over a few roots (the hook logs under AO_TUI_HOME, the agent transcript
and status dirs, and the branch refs of SCMs that declare them; see
:mod:`core.activity.watch`) wakes a tick within milliseconds of a hook line or a commit
and costs nothing while the agents are quiet. An SCM that polls a host (see
:class:`~core.slots.HostNews`) wakes a tick when a poll brought news, never on one that
brought nothing. The runtime's watch (when it has one, see
:class:`~core.slots.RuntimeWatch`) wakes a tick the moment an agent exits or the tmux
server goes away. A timer tick every ``interval`` runs only while something can change
unreported (:mod:`core.tick_policy`); otherwise the loop sleeps until the safety tick, and
an idle fleet starts no process at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from core.activity.watch import watch_dirs
from core.engine import Engine
from core.errors import AoError
from core.lifecycle import PR_INTERVAL
from core.models import Event
from core.notify.worker import wanted
from core.reactions.rules import switched_off
from core.slots import CACHE_SUFFIX, RuntimeWatch
from core.tick_policy import SAFETY_TICK, needs_timer, news_sources, ref_roots

MIN_GAP = 0.02
"""Shortest time between the starts of two ticks, so a burst of writes is read at once."""
PR_NOW = 1e-6
"""The ``pr_interval`` of a tick that must refresh PR state at once without waiting on a
host (0 would make it wait: an explicit call's meaning)."""


def watch_roots(engine: Engine) -> list[Path]:
    """Directories whose changes mean an agent did something (existing ones only).

    Each project's agents may run with their own ``HOME`` or config dir (its env), so each
    installed agent plugin names the dirs it writes to under each project's env: the same
    ones it reads. A session may run any installed agent (``spawn --agent``), hence all.
    """
    dirs: set[Path] = set()
    for name in engine.registry.names("agent"):
        try:
            agent = engine.agent(name)
        except (AoError, ImportError):
            continue  # a plugin that cannot load runs no session to watch
        for project in engine.config.projects.values():
            dirs.update(agent.signal_dirs(project.env))
    candidates = [engine.locations.sessions_root, *sorted(dirs)]
    return [p for p in candidates if p.is_dir()]


def watched_refs(engine: Engine) -> list[Path]:
    """The SCMs' ref directories that exist (see :func:`core.tick_policy.ref_roots`)."""
    return [p for p in ref_roots(engine) if p.is_dir()]


def is_signal(name: str) -> bool:
    """Whether a change to the file ``name`` under the watched roots may be an agent's.

    A session's state dir also holds the logs of the CI runs ao-tui starts itself, which a
    test suite writes to continuously; waking a tick for each write would spin the loop.
    A run's spec (``ci-*.json``) is written when it starts and removed once its result is
    in the store, which is the wake that shows the result. A plugin's own cache there
    (:data:`core.slots.CACHE_SUFFIX`) is no agent's doing either.
    """
    return not (name.startswith("ci-") and name.endswith(".log")) and not name.endswith(
        CACHE_SUFFIX
    )


def is_ci_result(name: str) -> bool:
    """Whether a change to ``name`` is a local CI run's spec coming or going: its result is
    in the store once the spec is removed (:mod:`core.ci_runner`)."""
    return name.startswith("ci-") and name.endswith(".json")


async def reconcile_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    interval: float = 1.0,
    safety_interval: float = SAFETY_TICK,
    on_events: Callable[[list[Event]], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    react: bool = False,
) -> None:
    """Tick on every watched change until ``stop``: every ``interval`` seconds while
    something can change unreported, else every ``safety_interval`` seconds.

    A tick that fails (tmux gone, the database locked past its timeout) is handed to
    ``on_error`` (else raised) and the loop carries on: the next tick may well succeed, and
    a cockpit that stopped reconciling for good would show a frozen board.

    ``react`` runs the reactions beside the ticks (:mod:`core.reactions.loop`), the
    backlog's pick-ups (:mod:`core.backlog`), and the
    notification outbox (:mod:`core.notify.worker`) when the config routes any: only the
    process that holds the engine lease may, so each fires once.
    """
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    # A CI result is a fact reactions act on (ci-failed, approved-and-green): the PR state
    # is refreshed in the tick it wakes, not up to PR_INTERVAL later. Runs are few, so
    # this costs little; hook bursts still wait for PR_INTERVAL.
    ci_landed = False

    def accept(name: str) -> bool:
        nonlocal ci_landed
        if is_ci_result(name):
            ci_landed = True
        return is_signal(name)

    # A branch that moved (an agent's commit) is a fact too: its CI starts, and the
    # reactions waiting on a new head see it, in the tick it wakes.
    refs_moved = False

    def on_refs() -> None:
        nonlocal refs_moved
        refs_moved = True
        wake.set()

    # News from a host (a PR's checks, review or threads changed) is a fact as well: the
    # tick it wakes reads the poll's answer, instead of up to PR_INTERVAL later.
    host_news = False

    def on_news() -> None:
        nonlocal host_news
        host_news = True
        wake.set()

    news = [asyncio.create_task(scm.watch_news(on_news, stop)) for scm in news_sources(engine)]
    watcher = asyncio.create_task(
        watch_dirs(lambda: watch_roots(engine), wake.set, stop, recursive=True, accept=accept)
    )
    refs = asyncio.create_task(
        watch_dirs(lambda: watched_refs(engine), on_refs, stop, recursive=True)
    )
    runtime = engine.runtime
    exits = (
        asyncio.create_task(runtime.watch(lambda _name: wake.set(), stop))
        if isinstance(runtime, RuntimeWatch)
        else None
    )
    reactions = None
    if react and switched_off(engine.config) is None:
        from core.reactions.loop import reaction_loop

        reactions = asyncio.create_task(reaction_loop(engine, stop, on_error=on_error))
    # Tracker issues picked up on their own (core.backlog): the lease holder's work too.
    backlog = None
    if react:
        from core.backlog import backlog_loop

        backlog = asyncio.create_task(backlog_loop(engine, stop, on_error=on_error))
    outbox = None
    if react and wanted(engine.config):  # the notifications reactions raise, delivered
        from core.notify.worker import outbox_loop

        outbox = asyncio.create_task(outbox_loop(engine, stop, on_error=on_error))
    # A PR refresh is due PR_INTERVAL after a woken tick: the branch or CI run that woke it
    # may have moved within PR_INTERVAL of the last refresh, which the tick then skipped.
    pr_due: float | None = None
    try:
        while not stop.is_set():
            # Cleared before the tick, not after: a line written while the tick runs may
            # come after its file was read, and must bring the next tick at once.
            woken = wake.is_set()
            wake.clear()
            pr_interval = PR_NOW if ci_landed or refs_moved or host_news else PR_INTERVAL
            ci_landed = refs_moved = host_news = False
            started = loop.time()
            try:
                events = await asyncio.to_thread(engine.reconcile, pr_interval=pr_interval)
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(exc)
                events = []
            if events and on_events is not None:
                on_events(events)
            if pr_due is not None and started >= pr_due:
                pr_due = None
            if woken and pr_due is None:
                pr_due = started + PR_INTERVAL
            timeout = interval
            watching = exits is not None and not exits.done()
            if watching and not await asyncio.to_thread(_needs_timer, engine):
                timeout = safety_interval
            if pr_due is not None:
                timeout = min(timeout, max(0.0, pr_due - loop.time()))
            stop_wait = asyncio.create_task(stop.wait())
            wake_wait = asyncio.create_task(wake.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()
            # One tool call writes a hook line, a transcript line and a status file within
            # milliseconds: ticks closer than MIN_GAP would read them one by one.
            rest = started + MIN_GAP - loop.time()
            if rest > 0 and not stop.is_set():
                await asyncio.sleep(rest)
    finally:
        for task in (watcher, refs, exits, reactions, backlog, outbox, *news):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _needs_timer(engine: Engine) -> bool:
    """:func:`core.tick_policy.needs_timer` over the stored sessions; True if unreadable."""
    try:
        return needs_timer(engine, engine.store.list_sessions(), engine.clock())
    except Exception:
        return True  # the next tick reports what is wrong; meanwhile keep looking
