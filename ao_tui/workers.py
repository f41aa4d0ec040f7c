"""How a failed worker reaches the cockpit's one error handler, from any screen.

Textual's ``Worker.StateChanged`` does not bubble: a screen's worker reports to the screen
only, and a worker left with the default ``exit_on_error=True`` ends the whole app. Every
worker in the cockpit therefore runs with ``exit_on_error=False`` (tests/tui check it), and
every screen that starts workers is a :class:`WorkerScreen`, which hands the failure to
:meth:`ao_tui.app.CockpitApp.worker_failed` — the one place failures are shown. The screen
gets it back through :meth:`WorkerScreen.show_worker_error` to clear its "busy" state and
say, in its own status line, what went wrong.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from textual import on
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from core.errors import AoError
from core.inert import inert
from core.plugin_failures import describe_failure


class FailureHandler(Protocol):
    """The app side: the one handler every worker failure goes to."""

    def worker_failed(self, worker: Worker[object]) -> None:
        """Show ``worker``'s failure and keep running."""


def error_text(error: BaseException | None) -> str:
    """One line for a worker's error: ao-tui's own message, or the error's type and text."""
    if error is None:
        return "failed without an error"
    # Inert: an error may quote tmux's, git's or a host's words, which quote anything.
    text = inert(describe_failure(error), one_line=True)
    if isinstance(error, AoError | OSError):
        return text
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"


_Result = TypeVar("_Result")


class WorkerScreen(ModalScreen[_Result]):
    """A dialog whose workers' failures go to the app's handler (and back to the screen)."""

    @on(Worker.StateChanged)
    def _report_worker_state(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        event.stop()
        app: object = self.app
        handler = getattr(app, "worker_failed", None)
        if callable(handler):
            handler(event.worker)
        else:  # a screen pushed on some other app (tests): still never silent
            self.show_worker_error(event.worker, error_text(event.worker.error))

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """Undo the screen's "busy" state for ``worker`` and show ``text``; override it."""
