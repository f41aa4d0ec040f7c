"""Mask credentials before text reaches the database, the event log or an output.

Agents echo commands and prompts that may carry tokens (``curl -H "Authorization: Bearer
…"``, ``export GITHUB_TOKEN=ghp_…``) and CI logs print whatever a test dumps; the operator
needs the command and the rest of the line, never the secret. Two kinds of masking:

- well-known credential shapes (provider token prefixes, JWTs, private key blocks,
  ``name=value`` pairs whose name says secret, credentials in URLs), so ordinary text is
  left alone;
- the literal values of the environment variables whose *name* says secret
  (:func:`env_secrets`): a process knows the environment it was given, and that catches
  secrets with no recognisable shape.

Mask the whole text first, then cut it: a cut token no longer has a recognisable shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "***"

SECRET_MIN_LENGTH = 8
"""Shorter values of secret-named variables are not masked literally: too many false hits."""

_Replace = Callable[[re.Match[str]], str]


def _whole(_match: re.Match[str]) -> str:
    return MASK


def _keep_prefix(match: re.Match[str]) -> str:
    """Keep what the first group matched (the name, ``=``, a quote), mask the rest."""
    return f"{match.group(1)}{MASK}"


_KEYWORDS = (
    r"token|secret|password|passwd|passphrase|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|auth[_-]?key|credentials?"
)

_PATTERNS: tuple[tuple[re.Pattern[str], _Replace], ...] = (
    # Private key blocks: the header, every base64 body line and the footer.
    (
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:[\r\n\t ]+[A-Za-z0-9+/=]{8,})*"
            r"(?:[\r\n\t ]*-----END[A-Z0-9 ]*PRIVATE KEY-----)?"
        ),
        _whole,
    ),
    (re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}"), _whole),  # Anthropic API keys
    (re.compile(r"sk-[A-Za-z0-9_-]{32,}"), _whole),  # OpenAI-style keys
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"), _whole),  # GitHub tokens
    (re.compile(r"github_pat_[A-Za-z0-9_]{20,}"), _whole),
    (re.compile(r"glpat-[A-Za-z0-9_-]{20,}"), _whole),  # GitLab
    (re.compile(r"npm_[A-Za-z0-9]{36,}"), _whole),
    (re.compile(r"xox[abprse]-[A-Za-z0-9-]{10,}"), _whole),  # Slack tokens
    (re.compile(r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), _whole),  # Stripe
    (re.compile(r"AIza[0-9A-Za-z_-]{35}"), _whole),  # Google API keys
    (re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"), _whole),  # AWS access key ids
    # JSON web tokens: header.payload.signature, the first two base64url JSON objects.
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), _whole),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*"), _keep_prefix),
    (re.compile(r"(?i)(\bauthorization\s*[:=]\s*basic\s+)[A-Za-z0-9+/]{8,}=*"), _keep_prefix),
    # user:password@ in a URL keeps the user.
    (re.compile(r"(://[^/\s:@\"']+:)[^/\s@\"']{3,}(?=@)"), _keep_prefix),
    # NAME=value, "name": "value", name: value where the name says secret.
    (
        re.compile(rf"(?i)((?:{_KEYWORDS})[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)[^\s\"']{{6,}}"),
        _keep_prefix,
    ),
    # --password VALUE, -token VALUE
    (
        re.compile(rf"(?i)((?<![\w-])--?[\w-]*(?:{_KEYWORDS})\s+[\"']?)[^\s\"'-][^\s\"']{{5,}}"),
        _keep_prefix,
    ),
)

_SECRET_NAME = re.compile(
    r"(?i)(TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|CREDENTIAL|API_?KEY|ACCESS_?KEY"
    r"|PRIVATE_?KEY|AUTH_?KEY|(?:^|_)PAT(?:$|_)|(?:^|_)KEY(?:$|_)|(?:^|_)AUTH(?:$|_))"
)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable called ``name`` holds a secret, judging by its name."""
    return bool(_SECRET_NAME.search(name))


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of secret-named variables of ``environ`` (default: this process's), longest
    first, so a value containing another is masked whole."""
    env = os.environ if environ is None else environ
    found = {
        value
        for name, value in env.items()
        if len(value) >= SECRET_MIN_LENGTH and value.strip() == value and is_secret_name(name)
    }
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and every recognised credential replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    for pattern, replace in _PATTERNS:
        text = pattern.sub(replace, text)
    return text


def redact_here(text: str) -> str:
    """:func:`redact` with the secret values of this process's environment."""
    return redact(text, env_secrets())


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-like value with every string in it redacted."""
    literals = tuple(secrets)
    if isinstance(value, str):
        return redact(value, literals)
    if isinstance(value, dict):
        return {key: redact_value(item, literals) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item, literals) for item in value]
    return value
