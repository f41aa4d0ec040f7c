"""The reactor run on the engine's change feed, in the process that holds the engine lease.

A change to a session (its activity, lifecycle, PR, a CI failure) has the session looked at
within milliseconds; a slow pass over every live session every :data:`PASS_INTERVAL`
catches what only time changes (an agent stuck for ten minutes, an episode older than its
``escalateAfter``, an agent idle on red CI). Each session is looked at by one thread at a
time; different sessions in parallel, so a slow send to one never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.models import ACTIVE_LIFECYCLES, Delivery, DeliveryMarker, Lifecycle, Role, Session
from core.reactions.agent_review import ReviewDeps
from core.reactions.events import on_changes
from core.reactions.reactor import Reactor, ReactorDeps
from core.role_launch import supports

if TYPE_CHECKING:
    from core.engine import Engine
    from core.feed import Change

PASS_INTERVAL = 5.0
"""Seconds between two passes over every live session (time-based conditions)."""
MAX_PARALLEL = 8
"""Sessions looked at at once; more wait for a free slot."""
_OWN_KINDS = frozenset({"reaction", "message", "notification"})
"""Events the reactor's own work writes: no reason to look at the session again."""


def build_reactor(engine: Engine) -> Reactor:
    """A reactor acting through ``engine``'s verbs."""

    def failing_checks(session: Session) -> list:  # type: ignore[type-arg]
        pr = session.pr
        if pr is None or not pr.head_sha:
            return []
        scm = engine.scm(session.project)
        checks = scm.checks(engine.scm_target(session), engine.store, pr.head_sha)
        return [check for check in checks if check.state == "failing"]

    def received(session: Session, text: str, since: float) -> bool | None:
        agent = engine.agent(session.agent)
        if not agent.confirms_delivery:
            return None
        marker = DeliveryMarker(at=since)
        pane = session.pane_id
        seen = agent.delivery(
            engine.context(session), marker, text, lambda: engine.runtime.capture(pane)
        )
        return seen in (Delivery.DELIVERED, Delivery.QUEUED)

    return Reactor(
        ReactorDeps(
            store=engine.store,
            clock=engine.clock,
            config=lambda: engine.config,
            send=lambda session_id, text: engine.send(session_id, text),
            restore=engine.restore,
            merge=lambda session_id, head: engine.merge(session_id, expect_head=head),
            failing_checks=failing_checks,
            last_signal=lambda session: engine.last_signal(session.id),
            received=received,
            wake=engine.feed.wake,
            reviews=ReviewDeps(
                spawn=lambda author, task, title: engine.spawn(
                    author.project, task, title=title, role=Role.REVIEWER, base=author.branch
                ),
                end=lambda session_id: engine.kill(session_id, discard=True),
                scm_name=lambda project: engine.scm(project).name,
                can_review=lambda project: supports(
                    engine.agent(engine.project(project).agent_name(engine.config.defaults)),
                    Role.REVIEWER,
                ),
            ),
        )
    )


async def reaction_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    interval: float = PASS_INTERVAL,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """React to every change until ``stop``; a failing look at one session is handed to
    ``on_error`` (else raised) and the others go on."""
    reactor = build_reactor(engine)
    after = await asyncio.to_thread(engine.feed.last_seq)
    await _guard(asyncio.to_thread(reactor.settle), on_error)
    busy: set[str] = set()
    slots = asyncio.Semaphore(MAX_PARALLEL)
    tasks: set[asyncio.Task[None]] = set()

    async def look(session_id: str, changes: list[Change]) -> None:
        async with slots:
            try:
                await _guard(
                    asyncio.to_thread(_react, engine, reactor, session_id, changes), on_error
                )
            finally:
                busy.discard(session_id)

    def schedule(session_id: str, changes: list[Change]) -> None:
        if session_id in busy:
            return  # being looked at: the next pass (or change) sees what this one missed
        busy.add(session_id)
        task = asyncio.create_task(look(session_id, changes))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def passes() -> None:
        while not stop.is_set():
            sessions = await asyncio.to_thread(engine.store.list_sessions)
            for session in sessions:
                if session.lifecycle in ACTIVE_LIFECYCLES or session.lifecycle is Lifecycle.EXITED:
                    schedule(session.id, [])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    timer = asyncio.create_task(passes())
    try:
        async for batch in engine.feed.batches(after, stop=stop):
            named: dict[str, list[Change]] = {}
            for change in batch.changes:
                if change.event.kind not in _OWN_KINDS:
                    named.setdefault(change.event.session_id, []).append(change)
            for session_id, changes in named.items():
                schedule(session_id, changes)
    finally:
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer
        for task in list(tasks):
            with contextlib.suppress(Exception):
                await task


def _react(engine: Engine, reactor: Reactor, session_id: str, changes: list[Change]) -> None:
    session = engine.store.get_session(session_id)
    if session is None:
        return
    if changes:
        on_changes(reactor, session, changes, engine.store.list_sessions)
    reactor.react(session)


async def _guard(work: object, on_error: Callable[[Exception], None] | None) -> None:
    try:
        await work  # type: ignore[misc]
    except Exception as exc:
        if on_error is None:
            raise
        on_error(exc)
