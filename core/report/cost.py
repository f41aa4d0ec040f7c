"""A session's tokens and what they cost, from what its agent plugin recorded.

Agent plugins keep usage in ``Session.extra``: ``tokens`` (a count, or a mapping
``{input, output, cache_read, cache_creation}``), optionally ``cost_usd`` (what the agent
itself reported) and ``model``. A reported cost is used as it is; otherwise the split
counts are priced by the config's table (:mod:`core.config_report`). A bare count with no
split and no reported cost has no honest price: its cost is left unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.config_report import CACHE_READ_SHARE, CACHE_WRITE_SHARE, ReportConfig

_MILLION = 1_000_000


@dataclass(frozen=True)
class Usage:
    """Tokens used and their cost in US dollars (None: unknown)."""

    tokens: int | None
    cost_usd: float | None
    estimated: bool
    """True when the cost was priced here, False when the agent reported it."""


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and value > 0 else 0


def usage_of(extra: Mapping[str, Any], config: ReportConfig) -> Usage:
    """The tokens and cost recorded in a session's ``extra``."""
    raw = extra.get("tokens")
    split = raw if isinstance(raw, Mapping) else None
    if split is not None:
        tokens: int | None = sum(_count(v) for v in split.values())
    elif isinstance(raw, int | float) and raw >= 0:
        tokens = int(raw)
    else:
        tokens = None
    reported = extra.get("cost_usd")
    if isinstance(reported, int | float) and reported >= 0:
        return Usage(tokens, float(reported), estimated=False)
    if split is None:
        return Usage(tokens, None, estimated=False)
    model = extra.get("model")
    price = config.price_of(model if isinstance(model, str) else "")
    cost = (
        _count(split.get("input")) * price.input
        + _count(split.get("output")) * price.output
        + _count(split.get("cache_read")) * price.input * CACHE_READ_SHARE
        + _count(split.get("cache_creation")) * price.input * CACHE_WRITE_SHARE
    ) / _MILLION
    return Usage(tokens, cost, estimated=True)
