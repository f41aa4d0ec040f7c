"""Confirm a merge: whether the PR may merge, every blocker, and the merge method.

Enter merges only when nothing blocks; with blockers it says so and does nothing, and
only the explicit override key (``F``, "merge anyway") merges regardless, so a red PR is
never landed by a reflexive Enter. The merge runs in a thread; refusals and conflicts
(with the conflicting files) stay in the dialog, success dismisses it with the merged sha.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static
from textual.worker import Worker

from ao_tui.workers import WorkerScreen
from core.engine import Engine
from core.errors import EngineError
from core.models import Session, SessionPR
from core.scm import MERGE_METHODS, MergeBlockedError, MergeConflictError


def pr_blockers(pr: SessionPR | None) -> list[str]:
    """Every blocker of a session's PR (one saying there is none yet without a PR)."""
    if pr is None:
        return ["no PR: the branch has no commits ahead of its base"]
    return list(pr.blockers)


class MergeScreen(WorkerScreen[str | None]):
    """Mergeability, blockers and method; dismisses with the merged sha (None if not merged)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "merge(False)", "merge", id="merge.submit"),
        Binding("F", "merge(True)", "merge anyway", id="merge.force", tooltip="Ignore blockers"),
        Binding("m", "method('merge')", "merge commit", id="merge.method_merge", show=False),
        Binding("s", "method('squash')", "squash", id="merge.method_squash", show=False),
        Binding("r", "method('rebase')", "rebase", id="merge.method_rebase", show=False),
        Binding("escape", "cancel", "cancel", id="merge.cancel", tooltip="Do not merge"),
    ]

    DEFAULT_CSS = """
    #merge-dialog Button {
        width: auto;
    }
    #merge-method, #merge-status {
        height: auto;
        margin-top: 1;
    }
    """

    AUTO_FOCUS = "#merge-go"
    """Enter presses Merge, which refuses while anything blocks."""

    class Finished(Message):
        """The engine merged (``sha``) or refused (``error``, blockers or conflicting files)."""

        def __init__(
            self,
            sha: str = "",
            error: str = "",
            blockers: list[str] | None = None,
            files: list[str] | None = None,
        ) -> None:
            """Exactly one of ``sha`` and ``error`` is set."""
            super().__init__()
            self.sha = sha
            self.error = error
            self.blockers = blockers
            self.files = files or []

    def __init__(self, engine: Engine, session: Session, *, method: str = "merge") -> None:
        """A merge of ``session``; ``method`` is the project's default."""
        super().__init__(classes="dialog")
        self.engine = engine
        self.session = session
        self.method: str = method if method in MERGE_METHODS else "merge"
        self.blockers = pr_blockers(session.pr)
        self.merging = False
        self.refusal: Text | None = None

    def compose(self) -> ComposeResult:
        """Summary, blockers, method, result line, buttons."""
        with Vertical(id="merge-dialog", classes="dialog-box"):
            yield Static(self._summary(), id="merge-text")
            yield Static(self._method_line(), id="merge-method")
            yield Static(self._status_line(), id="merge-status")
            with Horizontal(classes="dialog-buttons"):
                # Text labels: a string label is markup, where "[F]" would vanish as a tag.
                yield Button(Text("Merge [⏎]"), id="merge-go", variant="primary")
                yield Button(Text("Merge anyway [F]"), id="merge-force", variant="error")
                yield Button(Text("Cancel [esc]"), id="merge-cancel")

    def _summary(self) -> Text:
        pr = self.session.pr
        colours = self.app.theme_variables
        error = colours.get("error", "red")
        text = Text()
        number = pr.number if pr else None
        text.append(f"Merge {self.session.id}", style="bold")
        text.append(f" ({self.session.title})")
        text.append(f" #{number}" if number else "")
        text.append(f"\n{self.session.branch} → {self.session.base_branch or 'base'}")
        text.append(f" · PR {pr.state if pr else 'unknown'}\n\n")
        if self.blockers:
            text.append("Not mergeable", style=f"bold {error}")
            text.append(f" — {len(self.blockers)} blocker(s):\n")
            for blocker in self.blockers:
                text.append("  ✗ ", style=error)
                text.append(f"{blocker}\n")
        else:
            text.append("Mergeable", style=f"bold {colours.get('success', 'green')}")
            text.append(" — nothing blocks it.\n")
        for note in pr.notes if pr else ():
            text.append(f"  · {note}\n", style="dim")
        text.rstrip()
        return text

    def _method_line(self) -> Text:
        text = Text("method: ")
        for method in MERGE_METHODS:
            chosen = method == self.method
            text.append(f"{'●' if chosen else '○'} {method}", style="bold" if chosen else "dim")
            text.append(f" [{method[0]}]  ")
        text.rstrip()
        return text

    def _status_line(self) -> Text:
        if self.refusal is not None:
            return self.refusal
        if self.blockers:
            return Text("Enter is refused while anything blocks; F merges anyway.", style="dim")
        return Text("Enter merges; the agent stops and the worktree is removed.", style="dim")

    def _show_status(self, text: Text) -> None:
        self.refusal = text
        self.query_one("#merge-status", Static).update(text)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "merge-cancel":
            self.action_cancel()
        else:
            self.action_merge(button == "merge-force")

    def action_method(self, method: str) -> None:
        """Pick the merge method (merge commit, squash, rebase)."""
        self.method = method
        self.query_one("#merge-method", Static).update(self._method_line())

    def action_merge(self, force: bool) -> None:
        """Merge, unless blocked and not forced; ``force`` is the explicit override."""
        if self.merging:
            return
        error = self.app.theme_variables.get("error", "red")
        if self.blockers and not force:
            self.app.bell()
            self._show_status(
                Text.assemble(
                    ("Not merged: ", f"bold {error}"),
                    f"{'; '.join(self.blockers)}. Press F to merge anyway.",
                )
            )
            return
        self.merging = True
        self._show_status(Text(f"merging {self.session.id} ({self.method})…"))
        self._merge(force)

    @work(thread=True, exclusive=True, group="merge", name="merge", exit_on_error=False)
    def _merge(self, force: bool) -> None:
        try:
            _, sha = self.engine.merge(self.session.id, method=self.method, force=force)
        except MergeConflictError as exc:
            self.post_message(self.Finished(error=str(exc), files=exc.files))
            return
        except MergeBlockedError as exc:
            self.post_message(self.Finished(error=str(exc), blockers=exc.blockers))
            return
        except EngineError as exc:
            self.post_message(self.Finished(error=str(exc)))
            return
        self.post_message(self.Finished(sha=sha))

    def on_merge_screen_finished(self, message: Finished) -> None:
        """Close with the sha, or keep the dialog open saying why not."""
        self.merging = False
        if message.sha:
            self.dismiss(message.sha)
            return
        error = self.app.theme_variables.get("error", "red")
        if message.blockers is not None:
            self.blockers = message.blockers
            self.query_one("#merge-text", Static).update(self._summary())
        text = Text.assemble(("Not merged: ", f"bold {error}"), message.error)
        if message.files:
            text.append("\nconflicting files:\n", style="bold")
            text.append("\n".join(f"  {path}" for path in message.files))
        self._show_status(text)

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """The merge broke before an answer: say so, nothing was merged by this dialog."""
        self.merging = False
        error = self.app.theme_variables.get("error", "red")
        self._show_status(Text.assemble(("Not merged: ", f"bold {error}"), text))

    def action_cancel(self) -> None:
        """Close without merging (a merge already running still completes)."""
        self.dismiss(None)
