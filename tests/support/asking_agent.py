"""A stand-in "agent" for tests: asks an Aider-style yes/no question and records the answer."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    """Ask, record each answer line in argv[1], then ask again."""
    out = Path(sys.argv[1])
    while True:
        answer = input("Run `rm -rf build`? (Y)es/(N)o [Yes]: ")
        with out.open("a", encoding="utf-8") as fh:
            fh.write(answer + "\n")
        print("ok, thinking...")
        input("> ")


if __name__ == "__main__":
    main()
