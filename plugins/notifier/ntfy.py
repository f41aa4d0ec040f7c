"""ntfy: a push to the person's phone through an ntfy topic (ntfy.sh or a self-hosted server).

POST the detail and command as the body to the topic URL, with ntfy's headers: ``Title``
(RFC 2047-encoded when not ASCII, which ntfy decodes), ``Priority`` (urgent 5, action 4,
warning 3, info 2), ``Tags`` (an emoji tag for the priority, then the ``tags`` option), and
``Click`` when set. ntfy has no dedupe of its own, so the idempotency key travels in
``X-Ao-Idempotency-Key`` for a proxy or a subscriber that cares.

Options: ``url`` (required): the topic URL (``https://ntfy.sh/my-topic``), or, as AO writes
it, the server in ``url`` and the topic in ``topic``; ``token`` (an access token, sent as a
bearer token); ``tags`` (a list); ``click`` (a URL to open); ``timeout``. Anyone who knows a
public topic's name can read it: the topic is treated as a secret like a webhook URL.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from core.notify.model import Notification, NotifierError
from plugins.notifier.http import Receiver, post, timeout_of, timeout_problems, url_problems
from plugins.notifier.payloads import cut, string_problems, text_option

PRIORITY = {"urgent": "5", "action": "4", "warning": "3", "info": "2"}
"""ao-tui's priority to ntfy's (1 min ... 5 max)."""
TAGS = {
    "urgent": "rotating_light",
    "action": "point_right",
    "warning": "warning",
    "info": "information_source",
}
_TITLE_MAX = 250
_BODY_MAX = 4000  # ntfy turns longer messages into attachments


def topic_url(options: Mapping[str, Any]) -> str:
    """The topic URL: ``url`` itself, or ``url`` + ``/`` + ``topic``."""
    base = text_option(options, "url")
    topic = text_option(options, "topic")
    return f"{base.rstrip('/')}/{quote(topic, safe='')}" if topic else base


def header_text(text: str) -> str:
    """``text`` as a header value: as is when ASCII, else RFC 2047 (``=?UTF-8?B?...?=``)."""
    flat = " ".join(text.split())
    if flat.isascii():
        return flat
    return "=?UTF-8?B?" + base64.b64encode(flat.encode("utf-8")).decode("ascii") + "?="


def headers_for(notification: Notification, options: Mapping[str, Any]) -> dict[str, str]:
    """ntfy's headers for ``notification`` (not the idempotency key, added on sending)."""
    tags = [TAGS.get(notification.priority, "information_source")]
    extra = options.get("tags")
    if isinstance(extra, list):
        tags += [str(tag).strip() for tag in extra if str(tag).strip()]
    headers = {
        "Title": header_text(cut(notification.title, _TITLE_MAX)),
        "Priority": PRIORITY.get(notification.priority, "3"),
        "Tags": header_text(",".join(tags)),
    }
    click = text_option(options, "click")
    if click:
        headers["Click"] = click
    token = text_option(options, "token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def body_for(notification: Notification) -> bytes:
    """The message under the title: the detail, then the command (the title if both are
    empty, since ntfy refuses an empty message)."""
    lines = [
        part
        for part in (notification.detail, notification.command and f"→ {notification.command}")
        if part
    ]
    return cut("\n".join(lines) or notification.title, _BODY_MAX).encode("utf-8")


class NtfyNotifier:
    """The ``ntfy`` notifier (see the module doc for its options)."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with the options; never quotes the topic or the token."""
        problems = url_problems("url", options.get("url"))
        problems += string_problems(options, "topic", "token")
        problems += url_problems("click", options.get("click"), required=False)
        if not problems and not urlsplit(topic_url(options)).path.strip("/"):
            problems.append(
                "url has no topic; write the topic URL (https://ntfy.sh/<topic>) or set topic"
            )
        tags = options.get("tags")
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            problems.append("tags must be a list of words (ntfy tags or emoji short codes)")
        return problems + timeout_problems(options)

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """POST the push to the topic."""
        problems = self.check(options)
        if problems:
            raise NotifierError(f"ntfy is misconfigured: {problems[0]}", retry=False)
        token = text_option(options, "token")
        receiver = Receiver(
            name="ntfy",
            url=topic_url(options),
            auth_fix="the server refused access to the topic; set token to an access token "
            "with write permission on it",
            gone_fix="the server has no such topic path; check url and topic",
            secrets=(token,) if token else (),
        )
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            **headers_for(notification, options),
        }
        post(
            receiver,
            key=key,
            timeout=timeout_of(options),
            text_body=body_for(notification),
            headers=headers,
        )
