"""How sessions are named: ids, titles from prompts, branch slugs, branch names.

A title is shown everywhere (board, ``status``, ``spawn --json``) and a branch name is
pushed to hosts, so both are made from the prompt with its credentials masked first
(:func:`core.redact.redact_here`): cut or slugged first, a token would survive as a
fragment no pattern recognises (``ghp_AbC…`` becomes ``ghp-abc…`` in a branch).
"""

from __future__ import annotations

import re

from core.redact import redact_here

TITLE_MAX = 60
SLUG_MAX = 32
"""Longest branch slug: room for the id and the slug in a branch column."""

ORCHESTRATOR_TAIL = "orchestrator"
ID_TAIL = rf"(?:[0-9]{{1,9}}|{ORCHESTRATOR_TAIL})"
"""What follows ``<prefix>-`` in a session id: a number, or the orchestrator's fixed tail."""


def orchestrator_id(prefix: str) -> str:
    """The id of the orchestrator session of the project whose session prefix is ``prefix``."""
    return f"{prefix}-{ORCHESTRATOR_TAIL}"


def id_number(session_id: str) -> int:
    """The number ending a worker's or reviewer's id; 0 for the orchestrator's."""
    number = session_id.rpartition("-")[2]
    return int(number) if number.isdigit() else 0


def title_from(prompt: str) -> str:
    """The first line of the prompt, credentials masked, cut to fit a board row."""
    text = redact_here(prompt).strip()
    first = text.splitlines()[0] if text else "task"
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def slug(title: str) -> str:
    """Lowercase ASCII words of ``title`` (credentials masked) joined by dashes, at most
    :data:`SLUG_MAX` characters, cut between words.

    Only a first word longer than the limit is cut inside itself (a slug of nothing would
    say less than part of a word).
    """
    words: list[str] = re.findall(r"[a-z0-9]+", redact_here(title).lower())
    if not words:
        return "task"
    kept = words[0][:SLUG_MAX]
    for word in words[1:]:
        if len(kept) + 1 + len(word) > SLUG_MAX:
            break
        kept = f"{kept}-{word}"
    return kept


def branch_name(session_id: str, title: str) -> str:
    """The branch a session works on: ``ao/<id>-<slug>``."""
    return f"ao/{session_id}-{slug(title)}"
