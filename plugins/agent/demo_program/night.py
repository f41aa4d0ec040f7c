"""The small night (``ao-tui demo --night``): the scripted orchestrator, the scripted
reviewer and the night workers.

The orchestrator and the reviewer work through ``ao-tui`` itself (:mod:`.fleet`), each call
a Bash tool call on the screen and in the transcript, as Claude Code would make it, and run
for real. A scripted orchestrator has no judgment: it spawns a worker for every open issue
nobody works on, up to the cap, and hands whatever a reaction gives up on to the human.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from plugins.agent.demo_program.changes import Change
from plugins.agent.demo_program.fleet import (
    TODO_MARKER,
    CliRun,
    added_lines,
    command_line,
    handoff,
    is_cap_refusal,
    review_author,
    run_ao,
    spawned_id,
    unworked_issues,
)
from plugins.agent.demo_program.night_changes import (
    ADD_TAX,
    BUGGY_ITEM_COUNT,
    FIX_ITEM_COUNT,
    PRICE_WITH_TODO,
    RESOLVE_TODO,
    TAX_FILE,
    tax_retry,
)
from plugins.agent.demo_program.scenario import STEP_SECONDS, scripted_reply
from plugins.agent.demo_program.tools import ToolOutcome

if TYPE_CHECKING:
    from plugins.agent.demo_program.agent import ScriptedAgent

SESSION_ENV = "AO_TUI_SESSION"
"""The session id ao-tui gives every agent it starts (core.agent_env)."""
WATCHING = "Watching the fleet."


def own_id() -> str:
    """This agent's session id ("" when not started by ao-tui)."""
    return os.environ.get(SESSION_ENV, "")


def ao(agent: ScriptedAgent, args: Sequence[str], description: str) -> CliRun:
    """One ``ao-tui`` call as a Bash tool call: shown, recorded, and run for real."""
    done: list[CliRun] = []

    def run() -> ToolOutcome:
        result = run_ao(args)
        done.append(result)
        output = "\n".join(part for part in (result.stdout.strip(), result.stderr.strip()) if part)
        shown = output or "(No output)"
        if result.code:
            shown = f"Error: Exit code {result.code}\n{shown}"
        response = {"stdout": result.stdout[-4000:], "stderr": result.stderr[-4000:]}
        return ToolOutcome(shown, shown[-4000:], is_error=result.code != 0, response=response)

    agent.bash(command_line(args), description, run, step="bash")
    return done[0]


# -- the orchestrator ----------------------------------------------------------------------------


def play_orchestrate(agent: ScriptedAgent, prompt: str, first: bool) -> None:
    """First turn: read the fleet and the backlog, spawn a worker per free issue up to the
    cap, then watch. Later: hand a tier-2 hand-off to the human; any other message gets
    the scripted reply."""
    if first:
        agent.think(STEP_SECONDS["think"], "Thinking", "Let me look at the fleet and the backlog.")
        _spawn_backlog(agent)
        return
    found = handoff(prompt, own_id())
    if found is None:
        agent.think(STEP_SECONDS["think"], "Thinking", scripted_reply(prompt))
        agent.finish(WATCHING)
        return
    agent.think(
        STEP_SECONDS["think"],
        "Thinking",
        f"A reaction gave up on {found.session_id}. Let me look at it.",
    )
    ao(agent, ["status", found.session_id, "--json"], f"Show {found.session_id}")
    escalated = ao(
        agent, ["escalate", found.session_id, found.why()], "Hand the session to the human"
    )
    if escalated.code:
        agent.finish(f"I could not escalate {found.session_id} (exit {escalated.code}).")
    else:
        agent.finish(
            f"I have no judgment to add, so I escalated {found.session_id} to the human. "
            + WATCHING
        )


def _spawn_backlog(agent: ScriptedAgent) -> None:
    status = ao(agent, ["status", "--json"], "List the sessions")
    issues = ao(agent, ["issues", "--json"], "List the open issues")
    if status.code or issues.code or status.json() is None or issues.json() is None:
        agent.finish("I could not read the fleet or the backlog (see the output above).")
        return
    free = unworked_issues(status.json(), issues.json())
    if not free:
        agent.finish("Every open issue has a session already. " + WATCHING)
        return
    agent.say(f"Open issues nobody works on: {', '.join('#' + key for key in free)}.")
    started: list[str] = []
    notes: list[str] = []
    for key in free:
        run = ao(agent, ["spawn", "--issue", key, "--json"], f"Start a worker on issue #{key}")
        if run.code == 0:
            started.append(f"{spawned_id(run)} on #{key}")
        elif is_cap_refusal(run):
            left = [f"#{k}" for k in free[free.index(key) :]]
            notes.append(f"The project is at its session cap, so {', '.join(left)} wait.")
            break
        else:
            notes.append(f"#{key} was refused (exit {run.code}).")
    summary = f"Started {', '.join(started)}." if started else "Started no worker."
    agent.finish(" ".join([summary, *notes, WATCHING]))


# -- the reviewer --------------------------------------------------------------------------------


def play_review(agent: ScriptedAgent, prompt: str, first: bool) -> None:
    """Review the author's diff once: comments and changes requested for a ``TODO(demo)``
    it adds, else an approval; then stay idle (the engine ends a reviewer)."""
    if not first:
        agent.think(STEP_SECONDS["think"], "Thinking", scripted_reply(prompt))
        agent.finish("My review is recorded.")
        return
    author = review_author(prompt, own_id())
    if not author:
        agent.finish("The task names no session to review, so there is nothing I can do.")
        return
    agent.think(STEP_SECONDS["think"], "Thinking", f"I'll read {author}'s diff.")
    diff = ao(agent, ["diff", author], f"Show {author}'s changes")
    if diff.code:
        agent.finish(f"I could not read {author}'s diff (exit {diff.code}).")
        return
    added = added_lines(diff.stdout)
    todos = [line for line in added if TODO_MARKER in line.text]
    if not todos:
        verdict = ao(agent, ["review", "approve", author], "Approve the change")
        agent.finish(_verdict(verdict, f"Approved {author}: the change is small and tested."))
        return
    todo = todos[0]
    agent.say(f"{todo.path}:{todo.line} leaves a {TODO_MARKER} behind.")
    _comment(
        agent,
        author,
        todo.path,
        todo.line,
        f"{TODO_MARKER} left in: resolve it (and test it) before this merges.",
    )
    other = next((line for line in added if line.path != todo.path), todo)
    ask = "Please add a test for the case the TODO names."
    _comment(agent, author, other.path, other.line, ask)
    verdict = ao(agent, ["review", "request-changes", author], "Request changes")
    agent.finish(_verdict(verdict, f"Requested changes on {author}: 2 comments."))


def _comment(agent: ScriptedAgent, author: str, path: str, line: int, text: str) -> None:
    args = ["review", "comment", author, "--file", path, "--line", str(line), text]
    ao(agent, args, f"Comment on {path}:{line}")


def _verdict(run: CliRun, done: str) -> str:
    return done if run.code == 0 else f"Recording my verdict failed (exit {run.code})."


# -- the workers ---------------------------------------------------------------------------------


def play_night_ci(agent: ScriptedAgent, prompt: str, first: bool) -> None:
    """First turn: a change whose test fails. Then any message while it fails fixes it."""
    if first:
        agent.open_turn(prompt, first, "I'll add the cart badge's item count.")
        agent.cycle(*agent.pick(BUGGY_ITEM_COUNT))
        agent.finish("Committed item_count(); its test fails, I'll look at it when CI reports.")
        return
    _follow_up(agent, prompt, FIX_ITEM_COUNT, "Tests pass again.")


def play_night_review(agent: ScriptedAgent, prompt: str, first: bool) -> None:
    """First turn: a green change that leaves a ``TODO(demo)``; review findings naming it
    get it resolved."""
    if first:
        agent.open_turn(prompt, first, "I'll add format_price() for the product pages.")
        agent.cycle(*agent.pick(PRICE_WITH_TODO))
        agent.finish(f"{agent.commits_summary()} Tests pass.")
        return
    _follow_up(agent, prompt, None, "Ready for another review.")


def play_night_stuck(agent: ScriptedAgent, prompt: str, first: bool) -> None:
    """First turn: a change whose test fails. Every later message: another try that fails
    too, until it has no idea left."""
    if first:
        agent.open_turn(prompt, first, "I'll add add_tax() for checkout.")
        agent.cycle(*agent.pick(ADD_TAX))
        agent.finish("Committed add_tax(); its test fails by a cent, I'll look when CI says.")
        return
    retry = tax_retry(_read(agent, TAX_FILE))
    planned = retry.plan(agent.root) if retry is not None else None
    if retry is None or planned is None:
        agent.open_turn(prompt, False, "")
        agent.finish("I have run out of ideas for add_tax(); someone needs to look at it.")
        return
    agent.cycle(retry, planned)
    agent.finish(f"{agent.commits_summary()} The test still fails by a cent.")


def _follow_up(agent: ScriptedAgent, prompt: str, fix: Change | None, done: str) -> None:
    """A message to a night worker: review findings naming the marker get it resolved; the
    worker's own fix is made while it still fits; anything else gets the scripted reply."""
    candidates = [RESOLVE_TODO] if TODO_MARKER in prompt else []
    candidates += [fix] if fix is not None else []
    for change in candidates:
        planned = change.plan(agent.root)
        if planned is not None:
            agent.cycle(change, planned)
            agent.finish(f"{agent.commits_summary()} {done}")
            return
    agent.open_turn(prompt, False, "")
    agent.finish("Nothing of mine is left to fix.")


def _read(agent: ScriptedAgent, path: str) -> str | None:
    try:
        return (agent.root / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


NIGHT_PLAYS: dict[str, Callable[[ScriptedAgent, str, bool], None]] = {
    "orchestrate": play_orchestrate,
    "review": play_review,
    "night-ci": play_night_ci,
    "night-review": play_night_review,
    "night-stuck": play_night_stuck,
}
"""The night's scenarios, by name (:data:`.scenario.NIGHT_SCENARIOS`)."""
