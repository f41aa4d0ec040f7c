"""Discord through a channel webhook, with an embed coloured by priority.

Options: ``webhookUrl`` (required; a secret), ``threadId`` (post into that thread: the
``thread_id`` query parameter), ``username``, ``avatarUrl``, ``timeout``. A 429 gives the
wait in ``Retry-After`` and in the JSON body's ``retry_after`` (seconds, fractional), read
when the header is missing. ``allowed_mentions`` is empty, so text quoted from elsewhere
cannot ping ``@everyone``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from core.notify.model import Notification, NotifierError
from plugins.notifier.http import Receiver, post, timeout_of, timeout_problems, url_problems
from plugins.notifier.payloads import cut, iso_time, json_bytes, string_problems, text_option

COLOURS = {"urgent": 0xE01E5A, "action": 0xF2A100, "warning": 0xECB22E, "info": 0x3B88C3}
"""Embed colours: red, orange, yellow, blue."""
_CONTENT_MAX = 2000
_TITLE_MAX = 256
_DESCRIPTION_MAX = 4096
_FIELD_MAX = 1024


def payload(notification: Notification, options: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook JSON for ``notification``."""
    n = notification
    fields = [
        {"name": name, "value": cut(value, _FIELD_MAX), "inline": inline}
        for name, value, inline in (
            ("Session", n.session_id, True),
            ("Project", n.project_id, True),
            ("Priority", n.priority, True),
            ("Do", f"`{n.command}`" if n.command else "", False),
        )
        if value
    ]
    embed: dict[str, Any] = {
        "title": cut(n.title, _TITLE_MAX),
        "color": COLOURS.get(n.priority, COLOURS["info"]),
        "timestamp": iso_time(n.timestamp),
        "fields": fields,
        "footer": {"text": "ao-tui"},
    }
    if n.detail:
        embed["description"] = cut(n.detail, _DESCRIPTION_MAX)
    body: dict[str, Any] = {
        "content": cut(n.title, _CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }
    for option, field in (("username", "username"), ("avatarUrl", "avatar_url")):
        value = text_option(options, option)
        if value:
            body[field] = value
    return body


def retry_after_body(response: httpx.Response) -> float | None:
    """Discord's ``retry_after`` (seconds) from a 429 body, if it is there."""
    try:
        value = json.loads(response.content[:4096]).get("retry_after")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0.0, float(value))


class DiscordNotifier:
    """The ``discord`` notifier (see the module doc for its options)."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with the options; never quotes the webhook URL."""
        problems = url_problems("webhookUrl", options.get("webhookUrl"))
        problems += url_problems("avatarUrl", options.get("avatarUrl"), required=False)
        problems += string_problems(options, "username")
        thread = options.get("threadId")
        if thread is not None and not str(thread).strip().isdigit():
            problems.append("threadId must be the thread's numeric id (copy it from Discord)")
        return problems + timeout_problems(options)

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """POST the embed to the webhook (into ``threadId`` when set)."""
        problems = self.check(options)
        if problems:
            raise NotifierError(f"discord is misconfigured: {problems[0]}", retry=False)
        receiver = Receiver(
            name="Discord",
            url=str(options["webhookUrl"]).strip(),
            auth_fix="the webhook token is wrong; copy the webhook URL again from the "
            "channel's Integrations settings into webhookUrl",
            gone_fix="the webhook or the thread was deleted; create a new webhook, or fix threadId",
            retry_after_body=retry_after_body,
        )
        thread = options.get("threadId")
        params = {"thread_id": str(thread).strip()} if thread is not None else None
        body = json_bytes(payload(notification, options))
        post(receiver, key=key, timeout=timeout_of(options), json_body=body, params=params)
