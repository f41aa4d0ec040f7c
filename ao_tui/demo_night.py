"""``ao-tui demo --night``: a small night on the demo sandbox, with no human keys pressed.

The sample project gets a task file of three issues, and the demo agent plays every part:
the orchestrator reads the backlog and spawns one worker per issue through ``ao-tui``
itself; one worker's CI fails and it fixes it when the ``ci-failed`` reaction tells it; one
leaves a ``TODO(demo)`` that the agent reviewer finds, so changes are requested, made and
approved; one never gets its CI green, so its budget is spent, the orchestrator is handed
the session (tier 2) and, having no judgment, escalates it to the human. Approved green
work merges on its own (``approved-and-green: auto-merge``, an agent's approval counting).

Settings that other parts of ao-tui add (an agent approval counting for merge) are written
only when this ao-tui knows them, so the sandbox always loads; :func:`night_config_text`
says which.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ao_tui.demo import (
    _ENV_KEYS,
    DEMO_AGENT,
    PROJECT_ID,
    SESSION_PREFIX,
    SPEED_ENV,
    DemoError,
    DemoSandbox,
    _prepare,
    _remove_tree,
    _restore_env,
    _sandbox_root,
    ci_command,
)
from core.engine import Engine
from core.models import Session
from core.orchestrator.control import ensure_orchestrator

NIGHT_CAP = 3
"""``maxConcurrentSessions``: one slot per issue (the orchestrator and reviewers take none)."""

TASK_FILE = "TASKS.md"
NIGHT_TASKS = """\
# Tasks

The backlog of the ao-tui demo's small night. Each task's last line tells the scripted
demo agent which part it plays.

## 1. Show how many items are in the cart
The header's cart badge needs item_count(cart), counting quantities, with a test.

demo-scenario: night-ci

## 2. Show prices as dollars
The product pages need format_price(cents) -> "$12.34", with a test.

demo-scenario: night-review

## 3. Add sales tax at checkout
Checkout needs add_tax(cents, rate_percent), rounded half up, with a test.

demo-scenario: night-stuck
"""
"""One issue per worker behaviour: CI fixed, a review round trip, CI never fixed."""


def night_config_text(repo: Path, claude_dir: Path, speed: float) -> str:
    """The night sandbox's ``ao.config.yaml``: the local tracker's task file, the demo
    agent, the CI command, reactions that fix, review and merge, and a cap of three.

    Agent review is on by default with the local SCM; ``merge.agentApprovalCounts`` lets
    the agent reviewer's approval count for the merge (nobody is there to approve).
    """
    return (
        "# ao-tui demo --night: the demo agent as orchestrator, workers and reviewer.\n"
        "projects:\n"
        f"  {PROJECT_ID}:\n"
        f"    path: {json.dumps(str(repo))}\n"
        "    defaultBranch: main\n"
        f"    sessionPrefix: {SESSION_PREFIX}\n"
        f"    agent: {DEMO_AGENT}\n"
        "    scm: local\n"
        f"    tracker: {{plugin: local, path: {TASK_FILE}}}\n"
        f"    maxConcurrentSessions: {NIGHT_CAP}\n"
        f"    ci: {{command: {json.dumps(ci_command())}, timeout: 120}}\n"
        "    merge: {agentApprovalCounts: true}\n"
        "    env:\n"
        f"      CLAUDE_CONFIG_DIR: {json.dumps(str(claude_dir))}\n"
        f"      {SPEED_ENV}: {json.dumps(repr(float(speed)))}\n"
        "# A failing CI goes back to its agent twice, then to the orchestrator (tier 2) and\n"
        "# the human; review findings go back to their author; approved green work merges.\n"
        "reactions:\n"
        "  ci-failed: {auto: true, action: send-to-agent, retries: 2, escalateAfter: 2}\n"
        "  changes-requested: {auto: true, action: send-to-agent}\n"
        "  approved-and-green: {auto: true, action: auto-merge}\n"
        "  agent-exited: {action: notify}\n"
    )


def build_night(root: Path | None = None, *, speed: float = 1.0) -> DemoSandbox:
    """Build the night sandbox in ``root`` (default: a new temp dir) and start its
    orchestrator, which spawns the workers itself. Nothing watches yet: the cockpit does
    (or :meth:`DemoSandbox.watch`), and no scripted operator is started: nobody presses a
    key. Anything that fails halfway is undone before the error propagates."""
    if speed <= 0:
        raise DemoError("the demo speed must be positive")
    root = _sandbox_root(root)
    saved: dict[str, str | None] = {key: os.environ.get(key) for key in _ENV_KEYS}
    extra_dirs: list[Path] = []
    try:
        sandbox = _prepare(
            root,
            speed,
            saved,
            extra_dirs,
            config=night_config_text,
            files={TASK_FILE: NIGHT_TASKS},
        )
    except BaseException:
        _restore_env(saved)
        for directory in (root, *extra_dirs):
            _remove_tree(directory)
        raise
    try:
        start_orchestrator(sandbox.engine)
    except BaseException:
        sandbox.close()
        raise
    return sandbox


# -- what `ao-tui start` does ----------------------------------------------------------------
# LEAD: this is the one place to point at the `ao-tui start` machinery once it is merged
# (its orchestrator instructions, PATH and actor mark). The daemon's part (the lease, the
# reactions) is the cockpit's here, or DemoSandbox.watch()'s.


def start_orchestrator(engine: Engine) -> Session:
    """Start the project's orchestrator session as ``ao-tui start`` does
    (:func:`core.orchestrator.control.ensure_orchestrator`): ``<prefix>-orchestrator``,
    role orchestrator, the project's agent."""
    outcome = ensure_orchestrator(engine, PROJECT_ID)
    if outcome.session is None:
        raise DemoError(f"the orchestrator {outcome.session_id} did not start")
    return outcome.session
