"""How sessions are named: titles from prompts, branch slugs, branch names."""

from __future__ import annotations

import re

TITLE_MAX = 60


def title_from(prompt: str) -> str:
    """The first line of the prompt, cut to fit a board row."""
    first = prompt.strip().splitlines()[0] if prompt.strip() else "task"
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def slug(title: str) -> str:
    """Lowercase ASCII words of ``title`` joined by dashes, at most 32 characters."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:32].strip("-") or "task"


def branch_name(session_id: str, title: str) -> str:
    """The branch a session works on: ``ao/<id>-<slug>``."""
    return f"ao/{session_id}-{slug(title)}"
