"""The cockpit's reaction keys: pause or resume them for the selected session or for all,
and send the message suggest mode prepared, as it is or edited in the send dialog, or
drop it.

The app's actions are one-line calls into here; every engine call runs in a thread
worker, as the app's other actions do, and the app reads whether reactions run
(:func:`read_reactions`) with the sessions, so the header and the preview never wait on
the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_tui.messages import ActionDone, deliver_suggestion
from ao_tui.screens.send import SendScreen
from ao_tui.widgets.reaction_mark import ReactionsView
from core.closed import is_closed
from core.engine import Engine
from core.feed import Batch
from core.models import DeliveryResult, Lifecycle, Session
from core.reactions import verbs
from core.reactions.ledger import ALL, Ledger
from core.reactions.rules import switched_off

if TYPE_CHECKING:
    from ao_tui.app import CockpitApp

SESSION_ACTIONS = frozenset(
    {"pause_reactions", "send_suggestion", "edit_suggestion", "drop_suggestion"}
)
"""The reaction actions that act on the selected session (the footer hides them when moot)."""


def read_reactions(engine: Engine) -> ReactionsView:
    """Whether reactions run, and which sessions are paused (blocking: reads the store)."""
    paused = Ledger(engine.store).paused()  # one read: verbs.state would make a second
    off = switched_off(engine.config)
    state = f"off ({off})" if off is not None else "paused" if ALL in paused else "on"
    return ReactionsView(state, frozenset(paused - {ALL}))


def pauses_in(batch: Batch) -> bool:
    """Whether a batch of changes paused or resumed reactions (the header and preview say
    so: the app reads them again)."""
    return any(
        change.event.kind == "reaction" and change.event.data.get("key") == "*"
        for change in batch.changes
    )


def applies(action: str, session: Session) -> bool:
    """Whether a reaction action makes sense for ``session``."""
    if action == "pause_reactions":
        return not is_closed(session) and session.lifecycle is not Lifecycle.KILLED
    mark = session.reaction
    suggested = mark is not None and mark.status == "suggested"
    return suggested and session.lifecycle in (Lifecycle.RUNNING, Lifecycle.PAUSED)


def toggle_session(app: CockpitApp) -> None:
    """Pause reactions for the selected session, or resume them if they are paused; on a
    session escalated by hand (``ao-tui escalate``), take the escalation back instead."""
    session = app.selected_session()
    if session is None:
        return
    engine, session_id = app.engine, session.id

    def call() -> str:
        if session_id in Ledger(engine.store).paused():
            verbs.resume(engine, session_id)
            return "reactions resumed for this session"
        if verbs.take_back(engine, session_id):
            return "the escalation is taken back: this session is the reactions' again"
        verbs.pause(engine, session_id)
        return "reactions paused for this session"

    app.run_engine_action("reactions", session_id, call)


def toggle_all(app: CockpitApp) -> None:
    """Pause reactions for every session, or resume them if they are paused."""
    engine = app.engine

    def call() -> str:
        if ALL in Ledger(engine.store).paused():
            verbs.resume(engine)
            off = verbs.state(engine)
            return "reactions resumed" + (f", but {off}" if off != "on" else "")
        verbs.pause(engine)
        return "reactions paused for every session"

    app.run_engine_action("reactions", "all sessions", call)


def send_suggestion(app: CockpitApp) -> None:
    """Send the selected session's suggested message as it is."""
    session = app.selected_session()
    if session is None:
        return
    engine, session_id = app.engine, session.id

    def run() -> None:
        delivered = deliver_suggestion(engine, session_id)
        if delivered.result is None:
            summary, severity = f"not sent: {delivered.detail}", "warning"
        else:
            failed = delivered.result is DeliveryResult.FAILED
            summary = f"suggested message {delivered.result.value}: {delivered.detail}"
            severity = "warning" if failed else "information"
        app.post_message(ActionDone("send suggestion", session_id, summary, severity))

    app.run_worker(
        run, name=f"send suggestion {session_id}", group="action", thread=True, exit_on_error=False
    )


def drop_suggestion(app: CockpitApp) -> None:
    """Drop the selected session's suggested message: the operator handles it instead."""
    session = app.selected_session()
    if session is None:
        return
    engine, session_id = app.engine, session.id

    def call() -> str:
        verbs.drop_suggestion(engine, session_id)
        return "suggested message dropped: the session is yours to handle"

    app.run_engine_action("drop", session_id, call)


def edit_suggestion(app: CockpitApp) -> None:
    """Open the send dialog on the selected session's suggested message."""
    session = app.selected_session()
    if session is None:
        return
    engine = app.engine

    def run() -> None:
        suggestion = Ledger(engine.store).suggestion(session.id)
        if suggestion is None:
            app.post_message(
                ActionDone("edit", session.id, "no suggested message any more", "warning")
            )
            return
        app.call_from_thread(_open_editor, app, session, suggestion.text)

    app.run_worker(
        run, name=f"edit suggestion {session.id}", group="action", thread=True, exit_on_error=False
    )


def _open_editor(app: CockpitApp, session: Session, text: str) -> None:
    screen = SendScreen(app.engine, session, cursor_blink=app.cursor_blink, suggestion=text)
    app.push_screen(screen, callback=lambda _: app.request_reload())
