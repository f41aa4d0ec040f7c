"""The ``backlog`` section of a project: which tracker issues the lease holder picks up.

::

    projects:
      app:
        tracker: github
        maxConcurrentSessions: 3
        backlog: {label: ao-ready, every: 2m}

Every ``every``, the process that holds the engine lease lists the project's open issues
carrying ``label`` and spawns one session per issue, up to the project's session cap, never
twice for one issue (:mod:`core.backlog`). Where the tracker can label issues, each one
picked up gets ``inProgressLabel``.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.config_base import _Model
from core.config_reactions import parse_duration

MIN_BACKLOG_EVERY = 10.0
"""Seconds: a tracker (GitHub's rate limit) is not asked more often than this."""


class BacklogConfig(_Model):
    """Issues the lease holder spawns sessions for, on its own."""

    label: str
    """The label an issue must carry to be picked up (e.g. ``ao-ready``)."""
    every: str = "1m"
    """How often the tracker is asked, as a duration (``30s``, ``2m``); at least 10s."""
    in_progress_label: str = "ao-in-progress"
    """The label added to an issue once a session works on it (trackers that support
    labels); an issue already carrying it is never picked up."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `backlog: ao-ready` is short for `backlog: {label: ao-ready}`.
        return {"label": value} if isinstance(value, str) else value

    @field_validator("label", "in_progress_label")
    @classmethod
    def _a_label(cls, value: str) -> str:
        text = value.strip()
        if not text or not text.isprintable() or len(text) > 50:
            raise PydanticCustomError(
                "backlog_label",
                "label {label} must be 1-50 printable characters (e.g. 'ao-ready')",
                {"label": repr(value)},
            )
        return text

    @field_validator("every")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        seconds = parse_duration(value)
        if seconds is None or seconds < MIN_BACKLOG_EVERY:
            raise PydanticCustomError(
                "backlog_every",
                "every {value} must be a duration of at least 10s (e.g. '1m', '90s')",
                {"value": repr(value)},
            )
        return value

    @property
    def seconds(self) -> float:
        """``every`` in seconds."""
        return parse_duration(self.every) or 60.0
