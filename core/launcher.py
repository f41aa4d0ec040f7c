"""The first process of every agent pane: read a launch plan file, then exec the agent.

tmux is given ``python -m core.launcher PLAN`` (two or more argv elements, so tmux execs it
without a shell). The plan holds the agent's argv, environment and working directory, so
the task prompt reaches the agent as one argv element — nothing is ever typed at spawn and
no shell ever sees the text. The plan file may hold environment secrets, so it is 0600 and
deleted as soon as it has been read.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def write_plan(path: Path, argv: list[str], env: dict[str, str], cwd: Path) -> None:
    """Write a plan file readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"argv": argv, "env": env, "cwd": str(cwd)}, fh)


def main(args: list[str] | None = None) -> int:
    """Exec the plan's argv; on failure say why in the pane and exit 127."""
    argv = sys.argv[1:] if args is None else args
    if len(argv) != 1:
        print("usage: python -m core.launcher PLAN.json", file=sys.stderr)
        return 2
    plan_path = Path(argv[0])
    try:
        plan: dict[str, Any] = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"ao-tui launcher: cannot read {plan_path}: {exc}", file=sys.stderr)
        return 127
    finally:
        try:
            plan_path.unlink()
        except OSError:
            pass
    env = dict(plan.get("env") or os.environ)
    command = [str(part) for part in plan["argv"]]
    try:
        os.chdir(plan["cwd"])
        os.execvpe(command[0], command, env)
    except OSError as exc:
        print(f"ao-tui launcher: cannot start {command[0]!r}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    raise SystemExit(main())
