"""The scripted agent itself: turns of thinking, tool calls, permission prompts and replies."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from plugins.agent.demo_program.changes import (
    BREAK_TOTAL,
    CLAMP_DISCOUNT,
    FIX_TOTAL,
    FORMAT_PRICE,
    GENERAL_CHANGES,
    ITEM_COUNT,
    README_USAGE,
    Change,
    PlannedEdit,
    review_note,
)
from plugins.agent.demo_program.interrupts import Quit, TurnInterrupted, permission_answer
from plugins.agent.demo_program.keys import Key
from plugins.agent.demo_program.night import NIGHT_PLAYS
from plugins.agent.demo_program.scenario import (
    API_ERROR_TEXT,
    FRAME,
    IDLE_NOTIFY,
    INTERRUPTED_SHOWN,
    MAX_WIDTH,
    MODEL,
    PERMISSION_NOTIFY,
    REJECTED_TEXT,
    STEP_SECONDS,
    scripted_reply,
)
from plugins.agent.demo_program.screen import (
    Entry,
    PermissionAsk,
    Screen,
    _left_fit,
    prompt_entry,
    render,
    result_entry,
)
from plugins.agent.demo_program.signals import SignalWriter, earlier_conversation
from plugins.agent.demo_program.terminal import Terminal
from plugins.agent.demo_program.tools import (
    ToolOutcome,
    _git,
    _plural,
    commit,
    diff_counts,
    run_tests,
)


@dataclass(frozen=True)
class Options:
    """The command line."""

    session_id: str
    resume: bool
    scenario: str
    speed: float
    prompt: str


_SPINNER_GLYPHS = "·✢✳✶✻✽"


class ScriptedAgent:
    """Plays one scenario in the worktree: turns of thinking, tool calls and commits."""

    def __init__(self, options: Options, terminal: Terminal, writer: SignalWriter) -> None:
        """Play ``options.scenario`` on ``terminal``, recording through ``writer``."""
        self.options = options
        self.terminal = terminal
        self.writer = writer
        self.root = writer.cwd
        self.screen = Screen(
            about=[
                "No model and no network: a script edits and commits in this worktree,",
                "so you can try ao-tui. Keys: Enter sends, Esc interrupts, Ctrl-C quits.",
                f"session {options.session_id[:8]} · scenario {options.scenario} · "
                f"speed {options.speed:g}x",
                _left_fit(str(self.root), MAX_WIDTH - 4),
            ]
        )
        self.stop_reason: str | None = None
        self.pace = 1.0
        """Multiplies every step's duration (the quick scenario halves it and more)."""
        self.queue: list[str] = []
        self.notes = 0
        self._turn_started = time.monotonic()
        self._turn_commits: list[str] = []
        self._tokens = 0
        self._pending_tool: str | None = None
        self._last_turn_failed = False

    # -- the main loop ---------------------------------------------------------------------

    def run(self) -> int:
        """Start (or resume), play the first turn, then answer messages until told to stop."""
        source = "resume" if self.options.resume else "startup"
        try:
            self.writer.hook("SessionStart", source=source, model=MODEL)
            self.writer.status("idle")
            if self.options.resume:
                self.screen.history += earlier_conversation(self.writer.transcript)
                self.screen.history.append(result_entry("Resumed this conversation."))
            elif self.options.prompt.strip():
                self.turn(self.options.prompt, source="typed", first=True)
            while True:
                if self.queue:
                    message = self.queue.pop(0)
                    self.screen.queued = list(self.queue)
                    self.writer.queue("dequeue")
                    self.turn(message, source="queued", first=False)
                else:
                    self.turn(self.wait_for_message(), source="typed", first=False)
        except Quit as stop:
            self.writer.hook("SessionEnd", reason=stop.reason)
            self.writer.remove_status()
        return 0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler (SIGTERM, SIGHUP): end at the next check, with SessionEnd."""
        self.stop_reason = "other"

    def check_stop(self) -> None:
        """Raise :class:`Quit` once a stop was requested."""
        if self.stop_reason is not None:
            raise Quit(self.stop_reason)

    def redraw(self) -> None:
        """Paint the screen at the terminal's size."""
        columns, lines = self.terminal.size()
        self.terminal.draw(render(self.screen, columns, lines))

    # -- turns -----------------------------------------------------------------------------

    def turn(self, prompt: str, *, source: str, first: bool) -> None:
        """Accept ``prompt`` and play the scenario's turn for it."""
        self._turn_started = time.monotonic()
        self._turn_commits = []
        self._tokens = 0
        self.screen.history.append(prompt_entry(prompt))
        self.writer.user_prompt(prompt, source)
        self.writer.hook("UserPromptSubmit", prompt=prompt)
        self.writer.status("busy")
        play: dict[str, Callable[[str, bool], None]] = {
            "permission": self.play_permission,
            "commit-and-idle": self.play_commits,
            "long-work": self.play_long_work,
            "failing-test": self.play_failing_test,
            "error": self.play_error,
            "exit": self.play_exit,
        }
        try:
            if self.options.scenario in NIGHT_PLAYS:
                NIGHT_PLAYS[self.options.scenario](self, prompt, first)
            else:
                play[self.options.scenario](prompt, first)
        except TurnInterrupted:
            self.interrupted()

    def play_permission(self, prompt: str, first: bool) -> None:
        """Work, then wait on a permission prompt for a "dangerous" command."""
        self.open_turn(prompt, first, "I'll fix the discount bounds, then tidy the build output.")
        self.cycle(*self.pick(CLAMP_DISCOUNT))
        target = "build" if first else "dist"
        self.say(f"Stale artifacts in {target}/ can shadow the package; removing them.")
        self.bash(
            f"rm -rf {target}",
            f"Remove stale {target} output",
            lambda: self._remove_dir(target),
            ask=PermissionAsk(
                "Bash command", f"rm -rf {target}", f"Remove stale {target} output", "rm"
            ),
        )
        self.cycle(*self.pick(ITEM_COUNT))
        self.finish(f"{self.commits_summary()} {target}/ is gone.")

    def play_commits(self, prompt: str, first: bool) -> None:
        """Edit and commit, then go idle."""
        self.open_turn(prompt, first, "I'll add the helper first, then document it.")
        self.cycle(*self.pick(FORMAT_PRICE))
        if first:
            self.cycle(*self.pick(README_USAGE))
        self.finish(f"{self.commits_summary()} Tests pass.")

    def play_long_work(self, prompt: str, first: bool) -> None:
        """Keep working in cycles, committing now and then, reading queued messages between."""
        self.open_turn(prompt, first, "This is a long one; I'll work through it piece by piece.")
        while True:
            self.cycle(*self.pick())
            self.take_queued()
            self.think(STEP_SECONDS["think"] * 1.5, "Planning the next step")

    def play_failing_test(self, prompt: str, first: bool) -> None:
        """First turn: commit a change that breaks the tests. Later: fix it."""
        if first:
            self.open_turn(prompt, first, "I'll speed up the cart total.")
            self.cycle(*self.pick(BREAK_TOTAL))
            self.finish(
                "Committed the faster Cart.total_cents(), but `python -m unittest` now fails "
                "(test_total_counts_quantities). Tell me how to proceed."
            )
            return
        change, planned = self.pick(FIX_TOTAL)
        if change is FIX_TOTAL:
            # Any message while its breaking change is still there gets it fixed, whatever
            # the words: ao-tui's ci-failed reaction (the failing excerpt), or a person's.
            self.think(
                STEP_SECONDS["think"],
                "Thinking",
                "My change still breaks test_total_counts_quantities: fixing that first.",
            )
        else:
            self.open_turn(prompt, first, "On it.")
        self.cycle(change, planned)
        self.finish(f"{self.commits_summary()} Tests pass again.")

    def play_error(self, prompt: str, first: bool) -> None:
        """First turn: the API fails and the turn ends in an error. Later: work normally."""
        if not first:
            self.play_commits(prompt, first)
            return
        self.think(STEP_SECONDS["think"], "Thinking")
        self.read("shop/__init__.py")
        # Backing off as Claude does, long enough for the cockpit to tell "retrying" from
        # work: only the screen says so, while the status file goes on saying "busy".
        delays = (1, 2, 4, 8, 8)
        for attempt, delay in enumerate(delays, start=1):
            verb = f"API error · Retrying in {delay}s · attempt {attempt}/{len(delays)}"
            self.work(float(delay), verb)
        self.fail_with_api_error()

    def play_exit(self, prompt: str, first: bool) -> None:
        """Do one quick change, finish the turn, then exit on its own (status 0)."""
        self.pace = 0.4
        self.think(0.5, "Thinking", "Quick one: the README needs a usage section.")
        self.cycle(*self.pick(README_USAGE))
        self.finish(f"{self.commits_summary()} Nothing else to do, so I'm exiting.")
        self.pause(1.0)
        raise Quit("other")

    # -- turn building blocks --------------------------------------------------------------

    def open_turn(self, prompt: str, first: bool, plan: str) -> None:
        """Think, then say what comes next (a scripted reply to a message)."""
        if first:
            self.think(STEP_SECONDS["think"], "Thinking", plan)
        else:
            self.think(STEP_SECONDS["think"], "Thinking", scripted_reply(prompt))

    def pick(self, *preferred: Change) -> tuple[Change, list[PlannedEdit]]:
        """The first change (``preferred`` ones first) that still fits the worktree."""
        for change in (*preferred, *GENERAL_CHANGES):
            planned = change.plan(self.root)
            if planned is not None:
                return change, planned
        self.notes += 1
        note = review_note(self.notes)
        return note, note.plan(self.root) or []

    def cycle(self, change: Change, planned: list[PlannedEdit]) -> None:
        """Say it, read, edit, test and commit one change — each step a tool call."""
        self.think(STEP_SECONDS["think"] / 2, "Thinking", change.intent)
        if planned and planned[0].old is not None:
            self.read(planned[0].path)
        for edit in planned:
            self.edit(edit)
        if change.run_tests and not change.test_after_commit:
            self.run_tests_tool()
        paths = [edit.path for edit in planned]
        command = f"git add {' '.join(paths)} && git commit -m {json.dumps(change.message)}"
        outcome = self.bash(
            command,
            "Commit the change",
            lambda: commit(self.root, paths, change.message),
            step="commit",
        )
        if not outcome.is_error:
            self._turn_commits.append(change.message)
        if change.run_tests and change.test_after_commit:
            self.run_tests_tool()

    def run_tests_tool(self) -> ToolOutcome:
        """The Bash tool running the project's tests."""
        return self.bash(
            "python -m unittest -q", "Run the tests", lambda: run_tests(self.root), step="test"
        )

    def take_queued(self) -> None:
        """Read the messages queued while working, and answer each."""
        while self.queue:
            message = self.queue.pop(0)
            self.screen.queued = list(self.queue)
            self.writer.queue("dequeue")
            self.screen.history.append(prompt_entry(message))
            self.writer.user_prompt(message, "queued")
            self.writer.hook("UserPromptSubmit", prompt=message)
            self.say(scripted_reply(message))

    def finish(self, text: str) -> None:
        """End the turn normally: last words, Stop hook, idle."""
        self.say(text, final=True)
        self.writer.hook(
            "Stop", stop_hook_active=False, last_assistant_message=text, background_tasks=[]
        )
        self.writer.status("idle")
        self.writer.turn_end(self._turn_ms(), after_stop_hook=True)
        self.screen.history.append(Entry(f"Worked for {self._turn_ms() // 1000}s", "✻ "))
        self._last_turn_failed = False

    def fail_with_api_error(self) -> None:
        """End the turn on a (scripted) API error, as Claude does when it gives up."""
        self.screen.history.append(Entry(API_ERROR_TEXT))
        self.writer.api_error(API_ERROR_TEXT)
        self.writer.hook("StopFailure", error="server_error", last_assistant_message=API_ERROR_TEXT)
        self.writer.status("idle")
        self.writer.turn_end(self._turn_ms(), after_stop_hook=False)
        self.screen.history.append(Entry(f"Worked for {self._turn_ms() // 1000}s", "✻ "))
        self._last_turn_failed = True

    def interrupted(self) -> None:
        """The turn was stopped: Claude writes the interrupt, fires no Stop hook, goes idle."""
        if self._pending_tool is not None:
            self.writer.tool_result(
                self._pending_tool, REJECTED_TEXT, is_error=True, result=("User rejected tool use")
            )
        self.writer.interrupt(for_tool=self._pending_tool is not None)
        self._pending_tool = None
        self.screen.history.append(result_entry(INTERRUPTED_SHOWN))
        self.screen.permission = None
        self.writer.status("idle")

    def commits_summary(self) -> str:
        """One sentence about this turn's commits."""
        if not self._turn_commits:
            return "No commit this time."
        branch = _git(self.root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        return f"Committed on {branch or 'this branch'}: " + "; ".join(self._turn_commits) + "."

    def _turn_ms(self) -> int:
        """Milliseconds since the turn started."""
        return int((time.monotonic() - self._turn_started) * 1000)

    def _remove_dir(self, name: str) -> ToolOutcome:
        """``rm -rf NAME`` inside the worktree, done in Python."""
        shutil.rmtree(self.root / name, ignore_errors=True)
        return ToolOutcome("(No output)", "(Bash completed with no output)")

    # -- tools -----------------------------------------------------------------------------

    def say(self, text: str, *, final: bool = False) -> None:
        """Show and record something the agent says."""
        self.screen.history.append(Entry(text))
        self.writer.assistant_text(text, final=final)

    def think(self, seconds: float, verb: str, text: str = "") -> None:
        """Spin for a while, then say ``text`` if given."""
        self.work(seconds, verb)
        if text:
            self.say(text)

    def read(self, path: str) -> ToolOutcome:
        """The Read tool on a worktree file."""
        target = self.root / path

        def run() -> ToolOutcome:
            try:
                text = target.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                return ToolOutcome(f"Error: {exc.strerror}", str(exc), is_error=True)
            count = len(text.splitlines())
            return ToolOutcome(
                f"Read {_plural(count, 'line')}",
                text[:4000],
                response={"type": "text", "file": {"filePath": str(target), "numLines": count}},
            )

        return self.call_tool(
            "Read", f"Read({path})", {"file_path": str(target)}, "read", "Reading", run
        )

    def edit(self, edit: PlannedEdit) -> ToolOutcome:
        """The Edit (or, for a new file, Write) tool: writes the planned text for real."""
        target = self.root / edit.path
        added, removed = diff_counts(edit.old or "", edit.new)

        def run() -> ToolOutcome:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(edit.new, encoding="utf-8")
            except OSError as exc:
                return ToolOutcome(f"Error: {exc.strerror}", str(exc), is_error=True)
            if edit.old is None:
                shown = f"Wrote {_plural(len(added), 'line')} to {edit.path}"
            else:
                shown = (
                    f"Updated {edit.path} with {_plural(len(added), 'addition')} and "
                    f"{_plural(len(removed), 'removal')}"
                )
            return ToolOutcome(shown, shown, response={"filePath": str(target)})

        if edit.old is None:
            name, label = "Write", f"Write({edit.path})"
            tool_input: dict[str, Any] = {"file_path": str(target), "content": edit.new}
        else:
            name, label = "Edit", f"Update({edit.path})"
            tool_input = {
                "file_path": str(target),
                "old_string": "\n".join(removed),
                "new_string": "\n".join(added),
            }
        return self.call_tool(name, label, tool_input, "edit", "Editing", run)

    def bash(
        self,
        command: str,
        description: str,
        run: Callable[[], ToolOutcome],
        *,
        step: str = "bash",
        ask: PermissionAsk | None = None,
    ) -> ToolOutcome:
        """The Bash tool: ``command`` is what the screen and hooks show, ``run`` does the work
        in Python or with argv lists (never a shell); ``step`` sets how long it seems to take."""
        tool_input = {"command": command, "description": description}
        return self.call_tool("Bash", f"Bash({command})", tool_input, step, "Running", run, ask)

    def call_tool(
        self,
        name: str,
        label: str,
        tool_input: dict[str, Any],
        step: str,
        verb: str,
        run: Callable[[], ToolOutcome],
        ask: PermissionAsk | None = None,
    ) -> ToolOutcome:
        """One tool call as Claude makes it: transcript, hooks, permission, screen."""
        self.check_stop()
        tool_id = self.writer.tool_use(name, tool_input)
        self._pending_tool = tool_id
        self.screen.history.append(Entry(label))
        self.writer.hook("PreToolUse", tool_name=name, tool_input=tool_input, tool_use_id=tool_id)
        if ask is not None and not self.ask_permission(ask, name, tool_input):
            raise TurnInterrupted
        self.work(STEP_SECONDS[step], verb)
        outcome = run()
        self.screen.history.append(result_entry(outcome.shown))
        self.writer.tool_result(
            tool_id, outcome.content, is_error=outcome.is_error, result=outcome.response
        )
        self._pending_tool = None
        self.writer.hook(
            "PostToolUse",
            tool_name=name,
            tool_input=tool_input,
            tool_response=outcome.response,
            tool_use_id=tool_id,
        )
        return outcome

    # -- waiting on the operator -----------------------------------------------------------

    def work(self, seconds: float, verb: str) -> None:
        """Show the spinner for ``seconds`` (divided by the speed), taking keys meanwhile."""
        self.screen.mode = "working"
        deadline = time.monotonic() + seconds * self.pace / self.options.speed
        while True:
            self.check_stop()
            self.screen.spinner = self.spinner(verb)
            self.redraw()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            for key in self.terminal.read_keys(min(remaining, FRAME)):
                self.on_working_key(key)

    def pause(self, seconds: float) -> None:
        """Sit idle for ``seconds`` (divided by the speed) without taking input."""
        self.screen.mode = "idle"
        self.redraw()
        deadline = time.monotonic() + seconds / self.options.speed
        while time.monotonic() < deadline:
            self.check_stop()
            time.sleep(min(FRAME, max(0.0, deadline - time.monotonic())))

    def spinner(self, verb: str) -> str:
        """The spinner line: ``✻ Thinking… (3s · ↓ 42 tokens)``."""
        elapsed = int(time.monotonic() - self._turn_started)
        self._tokens += 7
        glyph = _SPINNER_GLYPHS[int(time.monotonic() * 4) % len(_SPINNER_GLYPHS)]
        if verb.startswith("API error"):
            return f"{glyph} {verb}"
        return f"{glyph} {verb}… ({elapsed}s · ↓ {self._tokens} tokens)"

    def on_working_key(self, key: Key) -> None:
        """Keys while working: type or paste a message (Enter queues it), Esc interrupts."""
        if key.kind == "interrupt":
            raise Quit("prompt_input_exit")
        if key.kind == "escape":
            raise TurnInterrupted
        if key.kind == "enter" and self.screen.draft.strip():
            self.queue.append(self.screen.draft)
            self.screen.queued = list(self.queue)
            self.writer.queue("enqueue", self.screen.draft)
            self.screen.draft = ""
        else:
            self.edit_draft(key)

    def edit_draft(self, key: Key) -> None:
        """Typing, pasting and backspace in the input box."""
        if key.kind in ("text", "paste"):
            self.screen.draft += key.text
        elif key.kind == "backspace":
            self.screen.draft = self.screen.draft[:-1]

    def ask_permission(self, ask: PermissionAsk, name: str, tool_input: dict[str, Any]) -> bool:
        """Show the permission dialog and wait: ``1``/``2``/Enter allow, ``3``/Esc refuse."""
        self.screen.history.append(result_entry("Waiting…"))
        self.writer.hook(
            "PermissionRequest", tool_name=name, tool_input=tool_input, permission_suggestions=[]
        )
        self.writer.status("waiting", "permission prompt")
        self.screen.mode = "permission"
        self.screen.permission = ask
        self.redraw()
        asked_at = time.monotonic()
        notified = False
        answer: bool | None = None
        while answer is None:
            self.check_stop()
            if (
                not notified
                and time.monotonic() - asked_at >= PERMISSION_NOTIFY / self.options.speed
            ):
                self.writer.hook(
                    "Notification",
                    message=f"Claude needs your permission to use {name}",
                    notification_type="permission_prompt",
                )
                notified = True
            for key in self.terminal.read_keys(FRAME):
                answer = permission_answer(key)
                if answer is not None:
                    break
        self.screen.history.pop()  # the "Waiting…" line
        self.screen.permission = None
        self.screen.mode = "working"
        if answer:
            self.writer.status("busy")
        return answer

    def wait_for_message(self) -> str:
        """Idle with an empty input box until a message is typed or pasted and sent."""
        self.screen.mode = "idle"
        self.screen.spinner = ""
        self.redraw()
        idle_since = time.monotonic()
        notified = self._last_turn_failed  # after an API error the error must stay on show
        while True:
            self.check_stop()
            if not notified and time.monotonic() - idle_since >= IDLE_NOTIFY / self.options.speed:
                self.writer.hook(
                    "Notification",
                    message="Claude is waiting for your input",
                    notification_type="idle_prompt",
                )
                notified = True
            keys = self.terminal.read_keys(FRAME)
            for key in keys:
                if key.kind == "interrupt":
                    raise Quit("prompt_input_exit")
                if key.kind == "enter" and self.screen.draft.strip():
                    message, self.screen.draft = self.screen.draft, ""
                    return message
                if key.kind == "escape":
                    self.screen.draft = ""
                self.edit_draft(key)
            if keys:
                self.redraw()
