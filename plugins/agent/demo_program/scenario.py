"""What the demo agent plays: its name and texts, the scenarios and how one is chosen."""

from __future__ import annotations

import hashlib
import re

BANNER_TITLE = "ao-tui DEMO agent — scripted, not an AI"
VERSION = "demo"
"""What the status file and transcript give as the agent's version."""
MODEL = "ao-tui-demo-script"
SPEED_ENV = "AO_TUI_DEMO_SPEED"
"""Environment variable giving the default ``--speed`` (the sandbox sets it per project)."""

DERIVED_SCENARIOS: tuple[str, ...] = (
    "permission",
    "commit-and-idle",
    "long-work",
    "failing-test",
    "error",
)
"""Scenarios picked when none is asked for: a demo agent never quits unless told to."""
NIGHT_SCENARIOS: tuple[str, ...] = (
    "orchestrate",
    "review",
    "night-ci",
    "night-review",
    "night-stuck",
)
"""The small night of ``ao-tui demo --night``: the orchestrator, the reviewer, and workers
whose CI is fixed, whose review goes round once, and whose CI is never fixed."""
SCENARIOS: tuple[str, ...] = (*DERIVED_SCENARIOS, "exit", *NIGHT_SCENARIOS)
ROLE_SCENARIOS: dict[str, str] = {"orchestrator": "orchestrate", "reviewer": "review"}
"""The scenario a session plays for its role, whatever its prompt says (a reviewer's task
may quote the author's, scenario tag included)."""
_SCENARIO_TAG = re.compile(r"^[ \t]*demo-scenario:[ \t]*([a-z-]+)[ \t]*$", re.MULTILINE)

MAX_WIDTH = 80
MIN_WIDTH = 40
FRAME = 0.25
"""Seconds between two screen refreshes while working (the spinner counts seconds)."""
ESCAPE_WAIT = 0.05
"""How long a lone ESC byte waits for the rest of an escape sequence."""
IDLE_NOTIFY = 60.0
"""Seconds idle before the ``idle_prompt`` notification, as Claude Code sends it."""
PERMISSION_NOTIFY = 6.0
"""Seconds a permission prompt waits before the ``permission_prompt`` notification."""
HOOK_TIMEOUT = 10.0

STEP_SECONDS = {"think": 2.0, "read": 0.6, "edit": 0.9, "test": 1.2, "commit": 0.7, "bash": 0.8}
"""How long each kind of step pretends to take at speed 1."""

API_ERROR_TEXT = (
    "API Error: 500 Internal server error. This is a server-side issue, usually temporary "
    "— try again in a moment. (Scripted by the ao-tui demo: no API was called.)"
)
REJECTED_TEXT = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected. "
    "STOP what you are doing and wait for the user to tell you how to proceed."
)
INTERRUPTED_SHOWN = "Interrupted · What should Claude do instead?"
GIT_IDENTITY = (
    "-c",
    "user.name=ao-tui demo agent",
    "-c",
    "user.email=demo-agent@ao-tui.invalid",
    "-c",
    "commit.gpgsign=false",
)
"""So commits work on a machine where git has no identity configured."""


# -- scenario choice -------------------------------------------------------------------------


def scenario_from_prompt(prompt: str) -> str | None:
    """The scenario a ``demo-scenario: NAME`` line of the prompt asks for, if it is known."""
    match = _SCENARIO_TAG.search(prompt)
    if match and match.group(1) in SCENARIOS:
        return match.group(1)
    return None


def derive_scenario(session_id: str, prompt: str) -> str:
    """The prompt's scenario tag, else one picked deterministically from the session id."""
    tagged = scenario_from_prompt(prompt)
    if tagged is not None:
        return tagged
    digest = hashlib.sha1(session_id.encode()).digest()
    return DERIVED_SCENARIOS[digest[0] % len(DERIVED_SCENARIOS)]


def scripted_reply(message: str) -> str:
    """The demo's answer to any message: it is a script, and says so."""
    first = " ".join(message.split())
    quoted = first if len(first) <= 60 else first[:59] + "…"
    return f'(scripted reply) Noted: "{quoted}". I only follow my script, so I\'ll carry on.'
