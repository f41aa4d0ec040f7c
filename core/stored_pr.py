"""How a session's PR (:class:`core.models.SessionPR`) is kept in the store's ``pr`` column.

JSON with sorted keys, masked like every other stored text. Rows written by older versions
carry fewer keys; they read with defaults, and :func:`canonical_pr_text` (registered with
SQLite as ``ao_pr``) lets a compare-and-set guard match such a row by meaning, not by text.
"""

from __future__ import annotations

import json

from core.models import SessionPR
from core.redact import redact_value

SQL_FUNCTION = "ao_pr"
"""The name :func:`canonical_pr_text` has inside SQL (one argument, deterministic)."""


def pr_text(pr: SessionPR) -> str:
    """The column text of ``pr``: what a guard on the PR compares with."""
    return json.dumps(redact_value(pr.to_json()), sort_keys=True)


def pr_from_text(text: str) -> SessionPR:
    """The record in a ``pr`` column; ``ValueError`` naming what is wrong if it is damaged."""
    try:
        data = json.loads(text)
    except RecursionError:
        # A hostile row nested deeper than the parser goes is damaged, not a crash.
        raise ValueError("pr: nested too deeply") from None
    return SessionPR.from_json(data)


SqlValue = str | bytes | int | float | None
"""What SQLite hands a function and takes back."""


def canonical_pr_text(text: SqlValue) -> SqlValue:
    """A ``pr`` column's text as this version would write it; anything that does not
    decode is returned as it is, so it never equals a record's text (the guard fails)."""
    if not isinstance(text, str):
        return text
    try:
        return pr_text(pr_from_text(text))
    except (ValueError, TypeError):
        return text
