"""The program's command line and entry point (``python -m plugins.agent.demo_program``)."""

from __future__ import annotations

import argparse
import os
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path

from plugins.agent.claude_code.paths import claude_config_dir
from plugins.agent.demo_program.agent import Options, ScriptedAgent
from plugins.agent.demo_program.scenario import BANNER_TITLE, SCENARIOS, SPEED_ENV, derive_scenario
from plugins.agent.demo_program.signals import SignalWriter
from plugins.agent.demo_program.terminal import Terminal

# -- command line ------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line (``claude``-like flags plus ``--scenario`` and ``--speed``)."""
    parser = argparse.ArgumentParser(
        prog="python -m plugins.agent.demo_program",
        description=f"{BANNER_TITLE}: plays a scripted coding session in the current directory.",
    )
    parser.add_argument("--session-id", help="the conversation's uuid (a new one if absent)")
    parser.add_argument("--resume", metavar="UUID", help="continue this conversation")
    parser.add_argument("--scenario", choices=SCENARIOS, help="what to play")
    parser.add_argument("--speed", type=float, help=f"time factor (default ${SPEED_ENV} or 1)")
    parser.add_argument("prompt", nargs="?", default="", help="the task")
    args = parser.parse_args(argv)
    session_id = args.resume or args.session_id or str(uuid.uuid4())
    speed = args.speed
    if speed is None:
        try:
            speed = float(os.environ.get(SPEED_ENV, "1") or "1")
        except ValueError:
            speed = 1.0
    return Options(
        session_id=session_id,
        resume=bool(args.resume),
        scenario=args.scenario or derive_scenario(session_id, args.prompt),
        speed=max(0.05, speed),
        prompt=args.prompt,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Play the demo session in the current directory; 0 when it ends, whatever the reason."""
    options = parse_options(argv)
    cwd = Path.cwd()
    writer = SignalWriter(options.session_id, cwd, claude_config_dir(), resume=options.resume)
    with Terminal() as terminal:
        agent = ScriptedAgent(options, terminal, writer)
        # tmux kill-session hangs up the pane; a hang-up or TERM ends the session cleanly.
        signal.signal(signal.SIGHUP, agent.request_stop)
        signal.signal(signal.SIGTERM, agent.request_stop)
        try:
            return agent.run()
        except KeyboardInterrupt:  # only when stdin is not a terminal (no raw mode)
            writer.hook("SessionEnd", reason="prompt_input_exit")
            writer.remove_status()
            return 0
        except Exception:
            # A bug in the script must still end the session the way Claude would.
            writer.hook("SessionEnd", reason="other")
            writer.remove_status()
            raise
