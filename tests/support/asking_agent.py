"""A stand-in "agent" for tests: asks Aider-style yes/no questions and records the answers.

``asking_agent.py OUT [COMMAND ...]`` asks ``Run `COMMAND`? (Y)es/(N)o [Yes]:`` for each
command in turn, back to back (so answering one puts the next on screen at once, as an
agent moving on to its next tool call does), records every answer line in OUT, then
waits at a ``>`` prompt for a message before asking them all again. Without commands it
asks about ``rm -rf build``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    """Ask, record each answer line in argv[1], then wait for a message and ask again."""
    out = Path(sys.argv[1])
    commands = sys.argv[2:] or ["rm -rf build"]
    while True:
        for command in commands:
            answer = input(f"Run `{command}`? (Y)es/(N)o [Yes]: ")
            with out.open("a", encoding="utf-8") as fh:
                fh.write(answer + "\n")
        print("ok, thinking...")
        input("> ")


if __name__ == "__main__":
    main()
