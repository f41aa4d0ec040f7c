"""Slack through an incoming webhook, with Block Kit: a header, the detail, the command, and
a context line (priority, project, session, time); ``text`` is the fallback for
notifications and old clients.

Options: ``webhookUrl`` (required; a secret: anyone holding it can post to the channel),
``channel``, ``username``, ``iconEmoji`` (honoured by legacy webhooks only), ``timeout``.
A 429 carries Slack's ``Retry-After``, which the outbox honours.

Text is escaped for Slack's mrkdwn (``&``, ``<``, ``>``), so a test name or CI excerpt
cannot become a link or an ``@channel`` mention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.notify.model import Notification, NotifierError
from plugins.notifier.http import Receiver, post, timeout_of, timeout_problems, url_problems
from plugins.notifier.payloads import cut, iso_time, json_bytes, string_problems, text_option

_HEADER_MAX = 150  # Block Kit: a header's plain_text is at most 150 characters
_SECTION_MAX = 3000  # and a section's text at most 3000
PRIORITY_MARK = {"urgent": "🚨", "action": "👉", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001


def escape(text: str) -> str:
    """``text`` safe in Slack mrkdwn: the three characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(notification: Notification, options: Mapping[str, Any]) -> dict[str, Any]:
    """The incoming-webhook JSON for ``notification``."""
    n = notification
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(n.title, _HEADER_MAX), "emoji": True},
        }
    ]
    if n.detail:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(escape(n.detail), _SECTION_MAX)},
            }
        )
    if n.command:
        command = cut(escape(n.command), _SECTION_MAX - 2).replace("`", "'")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"`{command}`"}})
    context = [f"{PRIORITY_MARK.get(n.priority, '')} *{n.priority}*".strip()]
    context += [escape(part) for part in (n.project_id, n.session_id) if part]
    context.append(iso_time(n.timestamp))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    body: dict[str, Any] = {"text": escape(n.text()), "blocks": blocks}
    for option, field in (
        ("channel", "channel"),
        ("username", "username"),
        ("iconEmoji", "icon_emoji"),
    ):
        value = text_option(options, option)
        if value:
            body[field] = value
    return body


class SlackNotifier:
    """The ``slack`` notifier (see the module doc for its options)."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with the options; never quotes the webhook URL."""
        problems = url_problems("webhookUrl", options.get("webhookUrl"))
        problems += string_problems(options, "channel", "username", "iconEmoji")
        return problems + timeout_problems(options)

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """POST the Block Kit message to the incoming webhook."""
        problems = self.check(options)
        if problems:
            raise NotifierError(f"slack is misconfigured: {problems[0]}", retry=False)
        receiver = Receiver(
            name="Slack",
            url=str(options["webhookUrl"]).strip(),
            auth_fix="the webhook is no longer allowed to post; create a new incoming webhook "
            "and set webhookUrl to it",
            gone_fix="the webhook was removed or the channel archived; create a new incoming "
            "webhook and set webhookUrl to it",
        )
        body = json_bytes(payload(notification, options))
        post(receiver, key=key, timeout=timeout_of(options), json_body=body)
