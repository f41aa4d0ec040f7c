"""The ``report:`` section of the config: how the morning report prices tokens, and when
the lease holder sends it through the notifiers.

``report: {every: 24h, at: "08:00"}`` sends the report at 08:00 (the daemon's local time)
and every 24 hours from there, as an ``info`` notification (``notificationRouting`` says
where). With no ``every`` nothing is sent on a schedule.

``report: {pricing: {MODEL: {input: 3.0, output: 15.0}}}`` gives US dollars per million
tokens. A model is priced by its own entry, else by the longest entry whose name is part of
the model's (``sonnet`` prices ``x-sonnet-4-5``), else by ``default``. Entries given in
the config are added to :data:`DEFAULT_PRICING` (one of the same name replaces it). Cache
reads and cache writes cost a fixed share of the input price, as the providers bill them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from core.config_base import _Model
from core.config_reactions import MAX_DURATION, parse_duration

_AT = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
MIN_EVERY = 60.0
"""The shortest ``every``: a report a minute is already more than anyone reads."""

CACHE_READ_SHARE = 0.1
"""A cached input token read back costs a tenth of a fresh one."""
CACHE_WRITE_SHARE = 1.25
"""Writing a token to the cache costs a quarter more than a fresh one."""


class Price(_Model):
    """US dollars per million tokens of one model."""

    input: float = Field(ge=0)
    """Per million input tokens."""
    output: float = Field(ge=0)
    """Per million output tokens."""


DEFAULT_PRICING: dict[str, Price] = {
    "opus": Price(input=15.0, output=75.0),
    "sonnet": Price(input=3.0, output=15.0),
    "haiku": Price(input=0.8, output=4.0),
    "gpt-5": Price(input=1.25, output=10.0),
    "default": Price(input=3.0, output=15.0),
}
"""Public list prices at the time of writing; ``default`` prices a model none names."""


class ReportConfig(_Model):
    """The morning report's settings."""

    pricing: dict[str, Price] = Field(default_factory=dict)
    """Prices by model name (or part of one), added to the defaults."""
    every: str | None = None
    """Send the report this often (``24h``, ``12h``); unset: never on a schedule."""
    at: str = "00:00"
    """The local time of day (``HH:MM``) the schedule starts from."""

    @field_validator("every")
    @classmethod
    def _a_duration(cls, value: str | None) -> str | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds is None or not MIN_EVERY <= seconds <= MAX_DURATION:
            raise PydanticCustomError(
                "report_every",
                "report.every {value} is not a duration between 1m and 365d; write e.g. '24h'",
                {"value": repr(value)},
            )
        return value

    @field_validator("at")
    @classmethod
    def _a_time_of_day(cls, value: str) -> str:
        if not _AT.fullmatch(value.strip()):
            raise PydanticCustomError(
                "report_at",
                "report.at {value} is not a time of day; write HH:MM, e.g. '08:00'",
                {"value": repr(value)},
            )
        return value.strip()

    @property
    def every_seconds(self) -> float | None:
        """``every`` in seconds (None: no schedule)."""
        return None if self.every is None else parse_duration(self.every)

    @property
    def at_minutes(self) -> int:
        """``at`` as minutes after midnight."""
        hours, minutes = self.at.split(":")
        return int(hours) * 60 + int(minutes)

    @field_validator("pricing", mode="before")
    @classmethod
    def _lower_names(cls, value: Any) -> Any:
        # Model names are matched case-blind: "Sonnet" in a config prices "x-sonnet-…".
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
        return value

    def price_of(self, model: str) -> Price:
        """The price of ``model``: its own entry, the longest entry inside its name, else
        ``default``."""
        table = {**DEFAULT_PRICING, **self.pricing}
        name = model.lower()
        if name in table:
            return table[name]
        inside = [key for key in table if key != "default" and key in name]
        return table[max(inside, key=len)] if inside else table["default"]
