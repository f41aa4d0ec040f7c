"""Mask credentials before text reaches the database or the event log.

Agents echo commands and prompts that may carry tokens (``curl -H "Authorization: Bearer
…"``, ``export GITHUB_TOKEN=ghp_…``); the operator needs the command, never the secret.
Only well-known credential shapes are masked, so ordinary text is left alone.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}"),  # Anthropic API keys
    re.compile(r"sk-[A-Za-z0-9_-]{32,}"),  # OpenAI-style keys
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key ids
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/-]{16,}=*"),
    re.compile(
        r"(?i)(?<=[\w-])(?:(?<=token)|(?<=secret)|(?<=password)|(?<=passwd)|(?<=api_key)"
        r"|(?<=apikey)|(?<=api-key))(\s*[=:]\s*)([\"']?)[^\s\"']{6,}"
    ),
)


def redact(text: str) -> str:
    """``text`` with every recognised credential replaced by ``***``."""
    for pattern in _PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        else:
            text = pattern.sub(MASK, text)
    return text


def redact_value(value: Any) -> Any:
    """A JSON-like value with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    return value
