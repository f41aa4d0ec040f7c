"""Small pieces every notifier's payload uses: the ISO time, the JSON bytes, option reads.

Kept apart from the HTTP helper so each notifier module holds only its own shape.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any


def iso_time(epoch: float) -> str:
    """``2026-12-02T09:30:00.123Z`` (UTC, milliseconds), as AO's events carry it."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))
    return f"{whole}.{int((epoch % 1) * 1000):03d}Z"


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON: the exact bytes sent (and signed)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def text_option(options: Mapping[str, Any], name: str, default: str = "") -> str:
    """A string option, stripped; ``default`` when absent or not a string."""
    value = options.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else default


def string_problems(options: Mapping[str, Any], *names: str) -> list[str]:
    """Each of ``names`` that is present but is not a non-empty string."""
    return [
        f"{name} must be a non-empty string"
        for name in names
        if name in options and not (isinstance(options[name], str) and options[name].strip())
    ]


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
