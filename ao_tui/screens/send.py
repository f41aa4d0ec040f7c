"""Send a message into a session: a multi-line editor, Ctrl+S sends, the result shows.

The engine pastes the text as one bracketed paste and presses Enter, then waits for a
receipt (up to several seconds), so the send runs in a thread and the dialog says
"sending…" meanwhile. A failed send keeps the dialog and its text open for another try.
Text holding control characters (other than newline and tab), e.g. pasted terminal
output, is refused with the one-line reason; Ctrl+L cleans it in the editor, so what is
sent is what shows. Opened on a message a reaction prepared (suggest mode), it starts with
that text and sends it as the reaction's send, edited or not.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.notifications import SeverityLevel
from textual.widgets import Static, TextArea
from textual.worker import Worker

from ao_tui.messages import Delivered, deliver, deliver_suggestion
from ao_tui.workers import WorkerScreen
from core.engine import Engine
from core.inert import clean, find_control, refusal
from core.models import DeliveryResult, Session

_SEVERITY: dict[DeliveryResult, SeverityLevel] = {
    DeliveryResult.DELIVERED: "information",
    DeliveryResult.QUEUED: "information",
    DeliveryResult.SENT: "warning",
    DeliveryResult.FAILED: "error",
}


class SendScreen(WorkerScreen[DeliveryResult | None]):
    """The message editor; dismisses with the delivery result once sent."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s", "send", "send", id="send.submit", priority=True, tooltip="Send the message"
        ),
        Binding("escape", "cancel", "cancel", id="send.cancel", tooltip="Close without sending"),
        Binding(
            "ctrl+l",
            "clean",
            "clean",
            id="send.clean",
            priority=True,
            tooltip="Remove escape sequences and control characters from the message",
        ),
    ]

    def __init__(
        self,
        engine: Engine,
        session: Session,
        *,
        cursor_blink: bool = True,
        suggestion: str | None = None,
    ) -> None:
        """A dialog sending to ``session``; ``suggestion``: the message a reaction prepared
        (suggest mode), in the editor to start with and sent as that reaction's send."""
        super().__init__(classes="dialog")
        self.engine = engine
        self.session = session
        self.cursor_blink = cursor_blink
        self.suggestion = suggestion
        self.sending = False

    def compose(self) -> ComposeResult:
        """Title, editor, status line."""
        with Vertical(id="send-dialog", classes="dialog-box"):
            yield Static(
                Text.assemble(
                    ("Suggested message to " if self.suggestion is not None else "Message to ", ""),
                    (self.session.id, "bold"),
                    f"  {self.session.title}",
                ),
                classes="dialog-title",
            )
            area = TextArea(
                self.suggestion or "", id="send-text", soft_wrap=True, show_line_numbers=False
            )
            area.cursor_blink = self.cursor_blink
            yield area
            yield Static("Ctrl+S sends · Esc cancels · Enter is a new line", id="send-status")

    def on_mount(self) -> None:
        """Type straight away (at the end of a prepared message)."""
        area = self.query_one(TextArea)
        area.focus()
        if self.suggestion:
            area.move_cursor(area.document.end)

    @property
    def text(self) -> str:
        """The message as typed."""
        return self.query_one(TextArea).text

    def action_send(self) -> None:
        """Send the text (once at a time)."""
        if self.sending:
            return
        if not self.text.strip():
            self._status("Nothing to send yet.")
            return
        problem = refusal(self.text, "message", "press Ctrl+L to clean it")
        if problem:
            self._status(f"not sent: {problem}")
            return
        self.sending = True
        self._status(f"sending to {self.session.id}…")
        self._send(self.text)

    @work(thread=True, exclusive=True, group="send", name="send", exit_on_error=False)
    def _send(self, text: str) -> None:
        if self.suggestion is not None:
            # The reaction's own send: its ledger row records what went out (and the edit).
            self.post_message(deliver_suggestion(self.engine, self.session.id, text))
            return
        self.post_message(deliver(self.engine, self.session.id, text))

    def on_delivered(self, message: Delivered) -> None:
        """Show the result; close unless it failed."""
        self.sending = False
        if message.result is None:
            self._status(f"not sent: {message.detail}")
            self.notify(
                message.detail, title=f"{self.session.id}: not sent", severity="error", markup=False
            )
            return
        summary = f"{message.result.value}: {message.detail}"
        self._status(summary)
        self.notify(
            summary,
            title=f"{self.session.id}: message {message.result.value}",
            severity=_SEVERITY[message.result],
            markup=False,
        )
        if message.result is not DeliveryResult.FAILED:
            self.dismiss(message.result)

    def action_clean(self) -> None:
        """Replace the text by its cleaned version (what ``send --clean`` would send)."""
        found = find_control(self.text)
        if found is None:
            self._status("Nothing to clean: the message has no control characters.")
            return
        self.query_one(TextArea).text = clean(self.text)
        self._status(f"Removed {found.count} control character(s); Ctrl+S sends.")

    def _status(self, text: str) -> None:
        # Text, not markup: the detail may quote the agent's screen, where "[/x]" would raise.
        self.query_one("#send-status", Static).update(Text(text))

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """The send broke before a result: the text stays for another try."""
        self.sending = False
        self._status(f"not sent: {text}")

    def action_cancel(self) -> None:
        """Close without sending (a send in flight still completes and is recorded)."""
        self.dismiss(None)
