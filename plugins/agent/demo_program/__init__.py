"""The ao-tui demo agent: a scripted stand-in for Claude Code, used by ``ao-tui demo``.

It is not an AI. It draws a Claude-like screen, edits and commits a small sample project in
its worktree, asks permission before a "dangerous" command, goes idle and answers messages,
all from a script. It writes the same signals Claude Code writes — the hooks configured in
``.claude/settings.local.json``, a transcript under ``$CLAUDE_CONFIG_DIR/projects`` and the
status file ``$CLAUDE_CONFIG_DIR/sessions/<pid>.json`` — so the cockpit detects it exactly
as it detects the real agent. Run in its worktree as::

    python -m plugins.agent.demo_program --session-id UUID [--resume UUID]
        [--scenario NAME] [--speed X] PROMPT

Scenarios (``--scenario``, else a ``demo-scenario: NAME`` line in the prompt, else derived
from the session id): ``permission``, ``commit-and-idle``, ``long-work``, ``failing-test``,
``error`` and ``exit``; and the small night's (``ao-tui demo --night``): ``orchestrate`` and
``review`` (the plugin picks them for the orchestrator's and a reviewer's role; they drive
the fleet through ``ao-tui``), ``night-ci``, ``night-review`` and ``night-stuck``. Every
pause is divided by ``--speed``. Standard library only, plus ao-tui's own path helpers: it
must run on a fresh machine with no network.

One module per part: :mod:`.scenario` (texts and the choice of scenario), :mod:`.keys`,
:mod:`.screen`, :mod:`.terminal`, :mod:`.signals` (the files Claude Code writes),
:mod:`.changes` and :mod:`.tools` (the scripted work), :mod:`.interrupts`, :mod:`.agent`
(the script itself), :mod:`.program` (the command line), and for the night :mod:`.night`
(its scenarios), :mod:`.night_changes` (its workers' edits) and :mod:`.fleet` (``ao-tui``
calls and reading their output).
"""

from plugins.agent.demo_program.scenario import SCENARIOS, SPEED_ENV, scenario_from_prompt

__all__ = ["SCENARIOS", "SPEED_ENV", "scenario_from_prompt"]
