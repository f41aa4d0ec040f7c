"""Start a session: project, issue or task, and agent, showing the branch it will create.

The branch follows the engine's naming (``ao/<id>-<slug of the title>``); the id number
is predicted from the sessions on the board, since the real one is only allocated by the
spawn itself. An issue id is looked up in the project's tracker as it is typed (in a
thread, after a short pause) and its title names the branch. Spawning runs in a thread
(worktree, tmux, agent start) and a refusal (a duplicate task, a missing binary) stays in
the dialog with the text kept.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Select, Static, TextArea
from textual.widgets._select import SelectCurrent
from textual.worker import Worker

from ao_tui.workers import WorkerScreen
from core.engine import Engine
from core.errors import ConfigError, EngineError
from core.inert import inert, refusal
from core.models import Session
from core.naming import title_from
from core.redact import redact_here
from core.slots import SlotError
from core.tracker import Issue, task_title

_HINT = "Ctrl+S spawns · Tab next field · Esc cancels"

_LOOKUP_PAUSE = 0.3
"""Seconds of no typing before an issue id is looked up (a GitHub tracker is a request)."""


class NewSessionScreen(WorkerScreen[Session | None]):
    """The spawn form; dismisses with the new session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s", "spawn", "spawn", id="new.submit", priority=True, tooltip="Start the session"
        ),
        Binding("escape", "cancel", "cancel", id="new.cancel", tooltip="Close without spawning"),
    ]

    class Spawned(Message):
        """The spawn finished: a session, or the engine's reason for refusing."""

        def __init__(self, session: Session | None, error: str) -> None:
            """One of the two is set."""
            super().__init__()
            self.session = session
            self.error = error

    class IssueLooked(Message):
        """The tracker answered for the issue id typed: the issue, or why not."""

        def __init__(self, ref: str, issue: Issue | None, error: str) -> None:
            """``ref`` is the text that was looked up."""
            super().__init__()
            self.ref = ref
            self.issue = issue
            self.error = error

    def __init__(
        self, engine: Engine, sessions: list[Session], *, cursor_blink: bool = True
    ) -> None:
        """A form spawning through ``engine``; ``sessions`` predicts the next id."""
        super().__init__(classes="dialog")
        self.engine = engine
        self.sessions = sessions
        self.cursor_blink = cursor_blink
        self.spawning = False
        self.issue: Issue | None = None
        """The looked-up issue matching the issue field's current text."""

    def compose(self) -> ComposeResult:
        """Project and agent, issue and title, task, force, branch preview, status.

        Every field is bordered with its name in the border (a bright border when it has
        the focus), so an empty field reads as a field, not as a line of text.
        """
        projects = sorted(self.engine.config.projects)
        agents = self.engine.registry.names("agent")
        with Vertical(id="new-dialog", classes="dialog-box"):
            yield Static("New session", classes="dialog-title")
            with Horizontal(classes="new-row"):
                project = Select(
                    [(p, p) for p in projects],
                    value=projects[0],
                    allow_blank=False,
                    id="new-project",
                )
                yield project
                agent = Select(
                    [(a, a) for a in agents],
                    value=self._default_agent(projects[0]),
                    allow_blank=False,
                    id="new-agent",
                )
                yield agent
            with Horizontal(classes="new-row"):
                issue = Input(placeholder="e.g. 42 or #42", id="new-issue")
                issue.border_title = "issue (optional)"
                issue.cursor_blink = self.cursor_blink
                yield issue
                title = Input(placeholder="default: the task's first line", id="new-title")
                title.border_title = "title"
                title.cursor_blink = self.cursor_blink
                yield title
            task = TextArea(id="new-task", soft_wrap=True, show_line_numbers=False)
            task.cursor_blink = self.cursor_blink
            task.border_title = "task (with an issue: a note added to it)"
            yield task
            yield Checkbox("spawn even if a similar session exists", id="new-force", compact=True)
            yield Static(id="new-branch")
            yield Static(_HINT, id="new-status")

    def _default_agent(self, project_id: str) -> str:
        return self.engine.project(project_id).agent_name(self.engine.config.defaults)

    def on_mount(self) -> None:
        """Name the choices in their borders, focus the task and show the branch."""
        # A Select draws its border on the part showing the current choice.
        for select_id, name in (("#new-project", "project"), ("#new-agent", "agent")):
            self.query_one(select_id, Select).query_one(SelectCurrent).border_title = name
        self.query_one("#new-task", TextArea).focus()
        self._update_branch()

    @on(Select.Changed, "#new-project")
    def _project_changed(self, event: Select.Changed) -> None:
        self.query_one("#new-agent", Select).value = self._default_agent(str(event.value))
        self._update_branch()

    @on(TextArea.Changed)
    @on(Input.Changed)
    def _text_changed(self) -> None:
        self._update_branch()

    @on(Input.Changed, "#new-issue")
    def _issue_changed(self, event: Input.Changed) -> None:
        self.issue = None
        ref = event.value.strip()
        status = self.query_one("#new-status", Static)
        if not ref:
            status.update(_HINT)
            return
        status.update(Text(f"looking up issue {ref}…"))  # typed text, not markup
        self._lookup_issue(str(self.query_one("#new-project", Select).value), ref)

    @work(thread=True, exclusive=True, group="issue", name="issue lookup", exit_on_error=False)
    def _lookup_issue(self, project: str, ref: str) -> None:
        time.sleep(_LOOKUP_PAUSE)  # a newer keystroke cancels this worker meanwhile
        try:
            found = self.engine.issue(project, ref)
        except EngineError as exc:
            self.post_message(self.IssueLooked(ref, None, str(exc)))
            return
        self.post_message(self.IssueLooked(ref, found, ""))

    def on_new_session_screen_issue_looked(self, message: IssueLooked) -> None:
        """Show what the issue id names (if it is still the one typed)."""
        if message.ref != self.query_one("#new-issue", Input).value.strip():
            return
        status = self.query_one("#new-status", Static)
        # Text, not markup: an issue title holding "[/x]" would raise and take the app down.
        if message.issue is None:
            status.update(Text(f"issue {message.ref}: {message.error}"))
            return
        self.issue = message.issue
        where = inert(message.issue.url or message.issue.where, one_line=True)
        title = redact_here(inert(message.issue.title, one_line=True))
        status.update(Text(f"#{message.issue.key} {title} · {message.issue.state} · {where}"))
        self._update_branch()

    def _form(self) -> tuple[str, str, str, str, bool, str]:
        project = str(self.query_one("#new-project", Select).value)
        prompt = self.query_one("#new-task", TextArea).text
        title = self.query_one("#new-title", Input).value.strip()
        agent = str(self.query_one("#new-agent", Select).value)
        force = self.query_one("#new-force", Checkbox).value
        issue = self.query_one("#new-issue", Input).value.strip()
        return project, prompt, title, agent, force, issue

    def _update_branch(self) -> None:
        project, prompt, title, _, _, _ = self._form()
        if not title and self.issue is not None:
            title = task_title(self.issue)
        title = title or (title_from(prompt) if prompt.strip() else "")
        # A store read on every keystroke is cheap (one indexed SELECT).
        branch = self.engine.predict_branch(project, title)
        self.query_one("#new-branch", Static).update(f"will create branch {branch}")

    def action_spawn(self) -> None:
        """Spawn with the form's values."""
        project, prompt, title, agent, force, issue = self._form()
        if self.spawning:
            return
        if not prompt.strip() and not issue:
            self.query_one("#new-status", Static).update("Write the task or give an issue first.")
            return
        problem = refusal(prompt, "task") or refusal(title, "title")
        if problem:
            self.query_one("#new-status", Static).update(Text(f"not spawned: {problem}"))
            return
        self.spawning = True
        self.query_one("#new-status", Static).update(f"spawning in {project}…")
        self._spawn(project, prompt, title or None, agent, force, issue)

    @work(thread=True, exclusive=True, group="spawn", name="spawn", exit_on_error=False)
    def _spawn(
        self, project: str, prompt: str, title: str | None, agent: str, force: bool, issue: str
    ) -> None:
        try:
            session = self.engine.spawn(
                project, prompt, title=title, agent_name=agent, force=force, issue=issue
            )
        except (EngineError, SlotError, ConfigError) as exc:
            self.post_message(self.Spawned(None, str(exc)))
            return
        self.post_message(self.Spawned(session, ""))

    def on_new_session_screen_spawned(self, message: Spawned) -> None:
        """Close with the session, or keep the form open with the reason."""
        self.spawning = False
        if message.session is None:
            self.query_one("#new-status", Static).update(Text(f"not spawned: {message.error}"))
            return
        self.dismiss(message.session)

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """The lookup or the spawn broke: the form stays, with the reason."""
        status = self.query_one("#new-status", Static)
        if worker.group == "spawn":
            self.spawning = False
            status.update(f"not spawned: {text}")
        else:
            status.update(f"issue lookup failed: {text}")

    def action_cancel(self) -> None:
        """Close without spawning."""
        self.dismiss(None)
