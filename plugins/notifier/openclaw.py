"""OpenClaw: wake an agent of the local OpenClaw gateway, which forwards the message to the
person's chat apps (Telegram, WhatsApp, ...).

``POST {url}/hooks/agent`` (``url`` defaults to ``http://127.0.0.1:18789``; a ``url`` that
already ends in ``/hooks/agent``, as AO configs write it, is used as is) with
``Authorization: Bearer <token>`` and ``{message, name, sessionKey: "hook:ao:<session>",
wakeMode, deliver}`` (plus ``channel`` and ``to`` when set). The token comes, in order, from
the ``token`` option, ``OPENCLAW_HOOKS_TOKEN``, or ``hooks.token`` in
``~/.openclaw/openclaw.json``. Other options: ``name`` (default ``AO``), ``sessionKeyPrefix``
(default ``hook:ao:``), ``wakeMode`` (``now`` or ``next-heartbeat``), ``deliver`` (default
true), ``timeout``.

A refused connection says the gateway is not running (host and port only); 401 and 403
fail at once, naming where the token came from and how to fix it, never the token.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.notify.model import Notification, NotifierError
from plugins.notifier.http import Receiver, post, timeout_of, timeout_problems, url_problems, where
from plugins.notifier.payloads import json_bytes, string_problems, text_option

DEFAULT_URL = "http://127.0.0.1:18789"
HOOK_PATH = "/hooks/agent"
TOKEN_VARIABLE = "OPENCLAW_HOOKS_TOKEN"
WAKE_MODES = ("now", "next-heartbeat")
_CONFIG_MAX = 1 << 20
_SESSION_UNSAFE = re.compile(r"[^A-Za-z0-9:_-]")


@dataclass(frozen=True)
class Token:
    """The bearer token and where it was found (the source is safe to show; the value not)."""

    value: str
    source: str


def hook_url(options: Mapping[str, Any]) -> str:
    """Where to POST: ``{url}/hooks/agent``."""
    base = text_option(options, "url", DEFAULT_URL).rstrip("/")
    return base if urlsplit(base).path.endswith(HOOK_PATH) else base + HOOK_PATH


def config_path() -> Path:
    """``~/.openclaw/openclaw.json``, the gateway's own config."""
    return Path.home() / ".openclaw" / "openclaw.json"


def find_token(options: Mapping[str, Any], environ: Mapping[str, str]) -> Token | str:
    """The token, or why none was found (a sentence naming the fix, never a value)."""
    option = options.get("token")
    if isinstance(option, str) and option.strip():
        return Token(option.strip(), "the token option")
    if environ.get(TOKEN_VARIABLE, "").strip():
        return Token(environ[TOKEN_VARIABLE].strip(), TOKEN_VARIABLE)
    path = config_path()
    shown = f"~/.openclaw/{path.name}"
    fix = f"set the token option, {TOKEN_VARIABLE}, or hooks.token in {shown}"
    try:
        with path.open("rb") as handle:
            raw = handle.read(_CONFIG_MAX + 1)
    except FileNotFoundError:
        return f"no OpenClaw hooks token: {fix}"
    except OSError as exc:
        return f"cannot read {shown} ({exc.strerror or type(exc).__name__}): {fix}"
    try:
        if len(raw) > _CONFIG_MAX:
            raise ValueError("too big")
        hooks = json.loads(raw).get("hooks")
        token = hooks.get("token") if isinstance(hooks, dict) else None
    except (ValueError, AttributeError):
        # OpenClaw reads JSON5; comments or trailing commas make it unreadable here.
        return f"{shown} is not plain JSON, so hooks.token cannot be read: set {TOKEN_VARIABLE}"
    if isinstance(token, str) and token.strip():
        return Token(token.strip(), f"hooks.token in {shown}")
    return f"no OpenClaw hooks token ({shown} has no hooks.token): {fix}"


def payload(notification: Notification, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/hooks/agent`` JSON for ``notification``."""
    session = _SESSION_UNSAFE.sub("-", notification.session_id) or "default"
    body: dict[str, Any] = {
        "message": notification.text(),
        "name": text_option(options, "name", "AO"),
        "sessionKey": text_option(options, "sessionKeyPrefix", "hook:ao:") + session,
        "wakeMode": text_option(options, "wakeMode", "now"),
        "deliver": options.get("deliver", True) is not False,
    }
    for option in ("channel", "to"):
        value = text_option(options, option)
        if value:
            body[option] = value
    return body


class OpenClawNotifier:
    """The ``openclaw`` notifier (see the module doc for its options)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Read the token variable from ``environ`` (the process environment by default)."""
        self._environ = environ

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with the options, and whether a token source is present (never the
        token)."""
        problems = url_problems("url", options.get("url"), required=False)
        problems += string_problems(options, "name", "sessionKeyPrefix", "channel", "to", "token")
        wake = options.get("wakeMode")
        if wake is not None and wake not in WAKE_MODES:
            problems.append(f"wakeMode must be one of {', '.join(WAKE_MODES)}")
        if "deliver" in options and not isinstance(options["deliver"], bool):
            problems.append("deliver must be true or false")
        token = find_token(options, self._env())
        if isinstance(token, str):
            problems.append(token)
        return problems + timeout_problems(options)

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """POST the message to the gateway's agent hook."""
        token = find_token(options, self._env())
        problems = [p for p in self.check(options) if not isinstance(token, str) or p != token]
        if problems:
            raise NotifierError(f"openclaw is misconfigured: {problems[0]}", retry=False)
        url = hook_url(options)
        headers: dict[str, str] = {}
        if isinstance(token, Token):
            headers["Authorization"] = f"Bearer {token.value}"
            auth_fix = (
                f"the gateway refused the token from {token.source}; make it equal to "
                "hooks.token in ~/.openclaw/openclaw.json (and hooks.enabled true)"
            )
        else:
            auth_fix = f"the gateway wants a token; {token}"
        receiver = Receiver(
            name="the OpenClaw gateway",
            url=url,
            auth_fix=auth_fix,
            gone_fix="the gateway has no agent hook there; enable hooks in its config "
            "(hooks.enabled) or fix url",
            not_running=f"the OpenClaw gateway is not running at {where(url)} (connection "
            "refused): start it, or set url to where it listens",
            secrets=(token.value,) if isinstance(token, Token) else (),
        )
        body = json_bytes(payload(notification, options))
        post(receiver, key=key, timeout=timeout_of(options), json_body=body, headers=headers)

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ
