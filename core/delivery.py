"""Send and respond: text typed into one session's agent, and its receipt confirmed."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import EngineError
from core.inert import refusal
from core.models import ActivityState, Delivery, DeliveryResult, Session
from core.plugin_access import live_pane
from core.plugin_failures import PLUGIN_FAILURES, describe_failure
from core.prompts import Prompt, PromptChangedError, doing, not_waiting
from core.redact import redact_here
from core.slots import Agent, AgentContext

if TYPE_CHECKING:
    from core.engine import Engine


def send(
    engine: Engine,
    session_id: str,
    text: str,
    *,
    confirm_timeout: float = 8.0,
    ready_timeout: float = 20.0,
    observe: Callable[[str], Session],
) -> tuple[DeliveryResult, str]:
    """The work of :meth:`core.engine.Engine.send` (which documents it)."""
    session = engine.get(session_id)
    # Only newline and tab among control characters: an escape could end the bracketed
    # paste, and whatever follows would be typed (CR as Enter). Third-party text comes
    # here already inert (core.inert); the operator's own is refused, not altered.
    problem = refusal(text, "message", "pass --clean to send the cleaned text")
    if problem:
        raise EngineError(problem)
    pane = live_pane(engine.runtime, session)
    if pane is None:
        return _record_send(
            engine, session, DeliveryResult.FAILED, "the agent is not running", text
        )
    if not text.strip():
        raise EngineError("the message is empty")
    session = observe(session_id)
    if session.activity.state is ActivityState.WAITING_INPUT:
        # Typed into a permission menu, the text would be read as key presses ("1"
        # approves): the prompt must be answered first.
        return _record_send(
            engine,
            session,
            DeliveryResult.FAILED,
            f"it waits on a prompt ({session.activity.detail}); answer it first with "
            f"`ao-tui respond {session_id} yes|no`",
            text,
        )
    agent = engine.agent(session.agent)
    ctx = engine.context(session)
    if not _wait_ready(agent, ctx, ready_timeout):
        return _record_send(
            engine,
            session,
            DeliveryResult.FAILED,
            f"the agent did not get ready for input within {ready_timeout:.0f}s; "
            f"look at it with `ao-tui attach {session_id}`",
            text,
        )
    marker = agent.delivery_marker(ctx)
    try:
        engine.runtime.paste(pane.pane_id, text)
        time.sleep(agent.paste_delay(text))
        engine.runtime.send_keys(pane.pane_id, "Enter")
    except PLUGIN_FAILURES as exc:
        return _record_send(
            engine,
            session,
            DeliveryResult.FAILED,
            f"typing it failed: {describe_failure(exc)}",
            text,
        )
    if not agent.confirms_delivery:
        return _record_send(
            engine, session, DeliveryResult.SENT, "pasted; this agent gives no receipt", text
        )
    deadline = time.monotonic() + confirm_timeout
    retry_at = [1.5, 3.5, 6.0]  # Enter again if the paste swallowed it
    started = time.monotonic()
    screen = functools.partial(engine.runtime.capture, pane.pane_id)
    while time.monotonic() < deadline:
        delivery = agent.delivery(ctx, marker, text, screen)
        if delivery is Delivery.DELIVERED:
            return _record_send(
                engine, session, DeliveryResult.DELIVERED, "seen in the transcript", text
            )
        if delivery is Delivery.QUEUED:
            return _record_send(
                engine,
                session,
                DeliveryResult.QUEUED,
                "the agent is busy; it will read it next",
                text,
            )
        if retry_at and time.monotonic() - started >= retry_at[0]:
            retry_at.pop(0)
            engine.runtime.send_keys(pane.pane_id, "Enter")
        time.sleep(0.1)
    return _record_send(
        engine,
        session,
        DeliveryResult.FAILED,
        f"no receipt from the agent within {confirm_timeout:.0f}s",
        text,
    )


def _wait_ready(agent: Agent, ctx: AgentContext, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not agent.ready_for_input(ctx):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _record_send(
    engine: Engine, session: Session, result: DeliveryResult, detail: str, text: str
) -> tuple[DeliveryResult, str]:
    # The event keeps the size and a short preview only: messages may carry secrets.
    # Masked whole, then cut: a cut token keeps no shape the masking could recognise.
    engine.store.append_event(
        session.id,
        "message",
        {
            "result": result.value,
            "detail": detail,
            "bytes": len(text.encode()),
            "preview": redact_here(text)[:60],
        },
    )
    engine.feed.wake()
    return result, detail


def respond(
    engine: Engine,
    session_id: str,
    yes: bool,
    *,
    expect: str | None = None,
    timeout: float = 10.0,
    observe: Callable[[str], Session],
) -> Session:
    """The work of :meth:`core.engine.Engine.respond` (which documents it)."""
    session = observe(session_id)
    prompt = Prompt.of(session)
    if expect is not None and (prompt is None or not prompt.matches(expect)):
        raise PromptChangedError(session_id, expect, prompt, doing(session))
    if prompt is None:
        raise EngineError(not_waiting(session))
    pane = live_pane(engine.runtime, session)
    if pane is None:
        raise EngineError(
            f"{session_id} has no live pane; restore it with `ao-tui restore {session_id}`"
        )
    asked = session.activity.waiting_for
    keys = engine.agent(session.agent).answer_keys(yes, asked)
    engine.runtime.send_keys(pane.pane_id, *keys)
    engine.store.append_event(
        session_id,
        "responded",
        {
            "answer": "yes" if yes else "no",
            "waiting_for": {} if asked is None else asked.to_json(),
            "expected": expect,
        },
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        session = observe(session_id)
        # Answered once the prompt is gone or another one is asked (agents often ask
        # for their next tool call at once).
        if Prompt.of(session) != prompt:
            break
    engine.feed.wake()
    return session
