"""The generic webhook: POST the notification as JSON in AO's shape, optionally signed.

The body is ``{"type": "notification", "idempotencyKey": key, "event": {id, type,
priority, sessionId, projectId, timestamp, message, data}}``, where ``message`` is the whole
text (title, detail, command) and ``timestamp`` ISO 8601 UTC. Options:

- ``url`` (required): where to POST;
- ``secret``: sign the exact body bytes with HMAC-SHA256 and send
  ``X-Ao-Signature-256: sha256=<hex digest>``, so the receiver can check the sender;
- ``headers``: extra headers (``Authorization`` for instance); they cannot replace the
  signature, idempotency or content-type headers;
- ``timeout``: seconds (default 10).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from core.notify.model import Notification, NotifierError
from plugins.notifier.http import KEY_HEADERS, Receiver, post, timeout_of, timeout_problems
from plugins.notifier.http import url_problems as _url_problems
from plugins.notifier.payloads import iso_time, json_bytes, string_problems

SIGNATURE_HEADER = "X-Ao-Signature-256"
_RESERVED = {h.lower() for h in (SIGNATURE_HEADER, "Content-Type", "Content-Length", *KEY_HEADERS)}


def signature(secret: str, body: bytes) -> str:
    """The ``X-Ao-Signature-256`` value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload(notification: Notification, key: str) -> dict[str, Any]:
    """The JSON the webhook receives (AO's ``notification`` shape plus the key)."""
    return {
        "type": "notification",
        "idempotencyKey": key,
        "event": {
            "id": notification.id,
            "type": notification.type,
            "priority": notification.priority,
            "sessionId": notification.session_id,
            "projectId": notification.project_id,
            "timestamp": iso_time(notification.timestamp),
            "message": notification.text(),
            "data": notification.data,
        },
    }


def _secret_values(secret: object, header_values: Iterable[str]) -> tuple[str, ...]:
    """The secret and every header value, and the credential part of ``Bearer <token>``."""
    found = [secret] if isinstance(secret, str) and secret else []
    for value in header_values:
        found += [value, value.split()[-1]] if value.split() else []
    return tuple(found)


class WebhookNotifier:
    """The ``webhook`` notifier (see the module doc for its options)."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with the options; never quotes the URL, secret or a header value."""
        problems = _url_problems("url", options.get("url"))
        problems += string_problems(options, "secret")
        problems += timeout_problems(options)
        headers = options.get("headers")
        if headers is not None:
            if not isinstance(headers, Mapping):
                problems.append("headers must be a mapping of header name to value")
            else:
                for name, value in headers.items():
                    if not isinstance(name, str) or not name.strip() or not isinstance(value, str):
                        problems.append(f"headers.{name}: names and values must be strings")
                    elif name.lower() in _RESERVED:
                        problems.append(f"headers.{name} is set by ao-tui itself; remove it")
        return problems

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """POST the notification, signed when a ``secret`` is set."""
        problems = self.check(options)
        if problems:
            raise NotifierError(f"webhook is misconfigured: {problems[0]}", retry=False)
        body = json_bytes(payload(notification, key))
        custom = options.get("headers") or {}
        headers = {k: v for k, v in custom.items() if k.lower() not in _RESERVED}
        secret = options.get("secret")
        if isinstance(secret, str) and secret:
            headers[SIGNATURE_HEADER] = signature(secret, body)
        receiver = Receiver(
            name="the webhook",
            url=str(options["url"]).strip(),
            auth_fix="the receiver wants other credentials; check the notifier's headers "
            "and secret",
            gone_fix="the receiver has no such path; check the notifier's url",
            secrets=_secret_values(secret, headers.values()),
        )
        post(receiver, key=key, timeout=timeout_of(options), json_body=body, headers=headers)
