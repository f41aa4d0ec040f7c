"""Start a session: project, task and agent, showing the branch it will create.

The branch follows the engine's naming (``ao/<id>-<slug of the title>``); the id number
is predicted from the sessions on the board, since the real one is only allocated by the
spawn itself. Spawning runs in a thread (worktree, tmux, agent start) and a refusal (a
duplicate task, a missing binary) stays in the dialog with the text kept.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from core.engine import Engine
from core.errors import EngineError
from core.models import Session
from core.naming import title_from
from core.slots import SlotError


class NewSessionScreen(ModalScreen[Session | None]):
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

    def __init__(
        self, engine: Engine, sessions: list[Session], *, cursor_blink: bool = True
    ) -> None:
        """A form spawning through ``engine``; ``sessions`` predicts the next id."""
        super().__init__(classes="dialog")
        self.engine = engine
        self.sessions = sessions
        self.cursor_blink = cursor_blink
        self.spawning = False

    def compose(self) -> ComposeResult:
        """Project, task, title, agent, force, branch preview, status."""
        projects = sorted(self.engine.config.projects)
        agents = self.engine.registry.names("agent")
        with Vertical(id="new-dialog", classes="dialog-box"):
            yield Static("New session", classes="dialog-title")
            yield Select(
                [(f"project {p}", p) for p in projects],
                value=projects[0],
                allow_blank=False,
                id="new-project",
                compact=True,
            )
            task = TextArea(id="new-task", soft_wrap=True, show_line_numbers=False)
            task.cursor_blink = self.cursor_blink
            task.border_title = "task"
            yield task
            title = Input(
                placeholder="title (default: the task's first line)", id="new-title", compact=True
            )
            title.cursor_blink = self.cursor_blink
            yield title
            yield Select(
                [(f"agent {a}", a) for a in agents],
                value=self._default_agent(projects[0]),
                allow_blank=False,
                id="new-agent",
                compact=True,
            )
            yield Checkbox("spawn even if a similar session exists", id="new-force", compact=True)
            yield Static(id="new-branch")
            yield Static("Ctrl+S spawns · Esc cancels", id="new-status")

    def _default_agent(self, project_id: str) -> str:
        return self.engine.project(project_id).agent_name(self.engine.config.defaults)

    def on_mount(self) -> None:
        """Focus the task and show the branch."""
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

    def _form(self) -> tuple[str, str, str, str, bool]:
        project = str(self.query_one("#new-project", Select).value)
        prompt = self.query_one("#new-task", TextArea).text
        title = self.query_one("#new-title", Input).value.strip()
        agent = str(self.query_one("#new-agent", Select).value)
        force = self.query_one("#new-force", Checkbox).value
        return project, prompt, title, agent, force

    def _update_branch(self) -> None:
        project, prompt, title, _, _ = self._form()
        title = title or (title_from(prompt) if prompt.strip() else "")
        # A store read on every keystroke is cheap (one indexed SELECT).
        branch = self.engine.predict_branch(project, title)
        self.query_one("#new-branch", Static).update(f"will create branch {branch}")

    def action_spawn(self) -> None:
        """Spawn with the form's values."""
        project, prompt, title, agent, force = self._form()
        if self.spawning:
            return
        if not prompt.strip():
            self.query_one("#new-status", Static).update("Write the task first.")
            return
        self.spawning = True
        self.query_one("#new-status", Static).update(f"spawning in {project}…")
        self._spawn(project, prompt, title or None, agent, force)

    @work(thread=True, exclusive=True, group="spawn")
    def _spawn(self, project: str, prompt: str, title: str | None, agent: str, force: bool) -> None:
        try:
            session = self.engine.spawn(project, prompt, title=title, agent_name=agent, force=force)
        except (EngineError, SlotError) as exc:
            self.post_message(self.Spawned(None, str(exc)))
            return
        self.post_message(self.Spawned(session, ""))

    def on_new_session_screen_spawned(self, message: Spawned) -> None:
        """Close with the session, or keep the form open with the reason."""
        self.spawning = False
        if message.session is None:
            self.query_one("#new-status", Static).update(f"not spawned: {message.error}")
            return
        self.dismiss(message.session)

    def action_cancel(self) -> None:
        """Close without spawning."""
        self.dismiss(None)
