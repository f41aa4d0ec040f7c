"""The HTTP notifiers against real local receivers: the exact request each one sends, and
what every failure of one send means (retry, when, or never), with no secret in a message.

The receivers (tests/support/notify_receivers.py) are real HTTP servers on 127.0.0.1 that
check each service's documented request shape. Retrying is the outbox's job: these tests
send once and read the :class:`NotifierError`.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.notify.model import Notification, NotifierError
from core.slots import Notifier
from plugins.notifier.discord import DiscordNotifier
from plugins.notifier.ntfy import NtfyNotifier
from plugins.notifier.openclaw import OpenClawNotifier
from plugins.notifier.slack import SlackNotifier
from plugins.notifier.webhook import WebhookNotifier
from tests.support.notify_receivers import (
    DISCORD_PATH,
    NTFY_PATH,
    OPENCLAW_TOKEN,
    SLACK_PATH,
    Fault,
    NotifyReceiver,
    refused_url,
)

KINDS = ("webhook", "slack", "discord", "openclaw", "ntfy")
KEY = "evt-42:team"
WEBHOOK_SECRET = "whsec-signing-secret-7c1e"
HEADER_VALUE = "Bearer custom-header-credential-93ab"
NTFY_TOKEN = "tk_ntfyaccesstoken0123456789ab"
SECRETS = (
    WEBHOOK_SECRET,
    HEADER_VALUE,
    "custom-header-credential-93ab",
    NTFY_TOKEN,
    OPENCLAW_TOKEN,
    SLACK_PATH,
    "slackSecretPart0123456789",
    DISCORD_PATH,
    "discordSecretToken-abcdefABCDEF0123",
    NTFY_PATH,
    "ao-secret-topic-8f2c41",
)
KNOWN = {
    "webhook": (WEBHOOK_SECRET, HEADER_VALUE, "custom-header-credential-93ab", "/hooks/ao"),
    "slack": (SLACK_PATH, "slackSecretPart0123456789"),
    "discord": (DISCORD_PATH, "discordSecretToken-abcdefABCDEF0123"),
    "openclaw": (OPENCLAW_TOKEN,),
    "ntfy": (NTFY_PATH, "ao-secret-topic-8f2c41", NTFY_TOKEN),
}
"""The secrets each notifier is configured with (and so can keep out of its messages)."""

NOTE = Notification(
    id="evt-42",
    type="reaction.escalated",
    priority="urgent",
    session_id="app-7",
    project_id="app",
    timestamp=1764667800.25,
    title="app-7 needs you: CI still failing after 2 fixes (test_login_timeout)",
    detail="Failed: test_login_timeout <!channel> @everyone & more",
    command="ao-tui attach app-7",
    data={"key": "ci-failed", "attempt": 2},
)


def plugin_for(kind: str) -> Notifier:
    """A fresh plugin instance of ``kind``."""
    plugins: dict[str, Notifier] = {
        "webhook": WebhookNotifier(),
        "slack": SlackNotifier(),
        "discord": DiscordNotifier(),
        "openclaw": OpenClawNotifier(environ={}),
        "ntfy": NtfyNotifier(),
    }
    return plugins[kind]


def options_for(kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """The ``notifiers:`` options of ``kind`` pointing at ``url``, each with its secrets."""
    by_kind: dict[str, dict[str, Any]] = {
        "webhook": {
            "url": url,
            "secret": WEBHOOK_SECRET,
            "headers": {"Authorization": HEADER_VALUE},
        },
        "slack": {"webhookUrl": url},
        "discord": {"webhookUrl": url, "threadId": "998877"},
        "openclaw": {"url": url, "token": OPENCLAW_TOKEN},
        "ntfy": {"url": url, "token": NTFY_TOKEN},
    }
    options = by_kind[kind]
    return {**options, **extra}


def send_error(kind: str, options: Mapping[str, Any], note: Notification = NOTE) -> NotifierError:
    """The error one send raises (the test fails if it delivers)."""
    with pytest.raises(NotifierError) as caught:
        plugin_for(kind).send(note, options, key=KEY)
    assert_no_secret(str(caught.value))
    return caught.value


def assert_no_secret(text: str) -> None:
    """No token, secret, header value or webhook path in ``text``."""
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"secret in message: {text!r}"


@pytest.fixture(params=KINDS)
def receiver(request: pytest.FixtureRequest) -> Iterator[NotifyReceiver]:
    """A running receiver of each kind in turn (the webhook one verifies signatures)."""
    kind = str(request.param)
    with NotifyReceiver(kind, secret=WEBHOOK_SECRET if kind == "webhook" else "") as running:
        yield running


# --- each notifier's request -------------------------------------------------------------


def test_webhook_posts_aos_shape_signed_with_the_key() -> None:
    with NotifyReceiver("webhook", secret=WEBHOOK_SECRET) as hook:
        WebhookNotifier().send(NOTE, options_for("webhook", hook.url), key=KEY)
    [request] = hook.requests
    assert request.json() == {
        "type": "notification",
        "idempotencyKey": KEY,
        "event": {
            "id": "evt-42",
            "type": "reaction.escalated",
            "priority": "urgent",
            "sessionId": "app-7",
            "projectId": "app",
            "timestamp": "2025-12-02T09:30:00.250Z",
            "message": NOTE.text(),
            "data": {"key": "ci-failed", "attempt": 2},
        },
    }
    digest = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-ao-signature-256"] == f"sha256={digest}"
    assert request.headers["idempotency-key"] == KEY
    assert request.headers["x-ao-idempotency-key"] == KEY
    assert request.headers["authorization"] == HEADER_VALUE
    assert request.headers["content-type"] == "application/json"


def test_webhook_without_a_secret_is_unsigned_and_a_wrong_secret_fails_fast() -> None:
    with NotifyReceiver("webhook") as hook:
        WebhookNotifier().send(NOTE, {"url": hook.url}, key=KEY)
    assert "x-ao-signature-256" not in hook.requests[0].headers
    with NotifyReceiver("webhook", secret="the-receivers-other-secret") as hook:
        error = send_error("webhook", options_for("webhook", hook.url))
    assert error.retry is False
    assert "HTTP 401" in error.args[0]


def test_webhook_custom_headers_cannot_replace_the_signature_or_key() -> None:
    options = options_for("webhook", "http://x", headers={"X-Ao-Signature-256": "forged"})
    assert WebhookNotifier().check(options) == [
        "headers.X-Ao-Signature-256 is set by ao-tui itself; remove it"
    ]


def test_slack_posts_block_kit_with_a_text_fallback_and_escaped_text() -> None:
    with NotifyReceiver("slack") as slack:
        SlackNotifier().send(NOTE, options_for("slack", slack.url, channel="#ops"), key=KEY)
    [request] = slack.requests
    body = request.json()
    assert body["channel"] == "#ops"
    assert body["text"].startswith("app-7 needs you: CI still failing")
    assert body["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": NOTE.title, "emoji": True}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Failed: test_login_timeout &lt;!channel&gt; @everyone &amp; more",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "`ao-tui attach app-7`"}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "🚨 *urgent* · app · app-7 · 2025-12-02T09:30:00.250Z"}
            ],
        },
    ]
    assert "<!channel>" not in request.body.decode()
    assert request.headers["idempotency-key"] == KEY


def test_discord_posts_an_embed_coloured_by_priority_into_the_thread() -> None:
    colours = {}
    with NotifyReceiver("discord") as discord:
        for priority in ("urgent", "action", "warning", "info"):
            note = Notification(**{**NOTE.__dict__, "priority": priority})
            DiscordNotifier().send(note, options_for("discord", discord.url), key=KEY)
            colours[priority] = discord.requests[-1].json()["embeds"][0]["color"]
    request = discord.requests[0]
    assert request.query == {"thread_id": ["998877"]}
    body = request.json()
    assert body["content"] == NOTE.title
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert embed["title"] == NOTE.title
    assert embed["description"] == NOTE.detail
    assert embed["timestamp"] == "2025-12-02T09:30:00.250Z"
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Session": "app-7",
        "Project": "app",
        "Priority": "urgent",
        "Do": "`ao-tui attach app-7`",
    }
    assert colours == {
        "urgent": 0xE01E5A,
        "action": 0xF2A100,
        "warning": 0xECB22E,
        "info": 0x3B88C3,
    }


def test_discord_reads_retry_after_from_the_429_body() -> None:
    with NotifyReceiver("discord") as discord:
        discord.fault(Fault(429, {"content-type": "application/json"}, b'{"retry_after": 1.5}'))
        error = send_error("discord", options_for("discord", discord.url))
    assert (error.retry, error.retry_after) == (True, 1.5)


def test_openclaw_posts_the_agent_hook_with_the_bearer_token() -> None:
    with NotifyReceiver("openclaw") as gateway:
        OpenClawNotifier(environ={}).send(NOTE, options_for("openclaw", gateway.url), key=KEY)
        # An AO config writes the whole hook URL; it is used as is.
        aos = options_for("openclaw", gateway.url + "/hooks/agent", wakeMode="next-heartbeat")
        OpenClawNotifier(environ={}).send(NOTE, aos, key=KEY)
    first, second = gateway.requests
    assert first.path == second.path == "/hooks/agent"
    assert first.headers["authorization"] == f"Bearer {OPENCLAW_TOKEN}"
    assert first.headers["idempotency-key"] == KEY
    assert first.json() == {
        "message": NOTE.text(),
        "name": "AO",
        "sessionKey": "hook:ao:app-7",
        "wakeMode": "now",
        "deliver": True,
    }
    assert second.json()["wakeMode"] == "next-heartbeat"


def test_openclaw_token_comes_from_the_option_then_the_env_then_openclaw_json() -> None:
    config = Path.home() / ".openclaw" / "openclaw.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"hooks": {"enabled": True, "token": "from-file-token-1"}}))
    env = {"OPENCLAW_HOOKS_TOKEN": "from-env-token-2"}
    accepted = ("opt-3", "from-env-token-2", "from-file-token-1")
    with NotifyReceiver("openclaw", tokens=accepted) as gateway:
        OpenClawNotifier(environ=env).send(NOTE, {"url": gateway.url, "token": "opt-3"}, key=KEY)
        OpenClawNotifier(environ=env).send(NOTE, {"url": gateway.url}, key=KEY)
        OpenClawNotifier(environ={}).send(NOTE, {"url": gateway.url}, key=KEY)
    assert [r.headers["authorization"] for r in gateway.requests] == [
        "Bearer opt-3",
        "Bearer from-env-token-2",
        "Bearer from-file-token-1",
    ]
    assert OpenClawNotifier(environ={}).check({}) == []
    config.write_text('{hooks: {token: "json5"},}')
    [problem] = OpenClawNotifier(environ={}).check({})
    assert "not plain JSON" in problem and "OPENCLAW_HOOKS_TOKEN" in problem
    config.unlink()
    assert OpenClawNotifier(environ={}).check({}) == [
        "no OpenClaw hooks token: set the token option, OPENCLAW_HOOKS_TOKEN, or hooks.token "
        "in ~/.openclaw/openclaw.json"
    ]


def test_openclaw_rejected_token_fails_fast_naming_where_it_came_from() -> None:
    with NotifyReceiver("openclaw") as gateway:
        env = {"OPENCLAW_HOOKS_TOKEN": "wrong-token-abcdef123"}
        with pytest.raises(NotifierError) as caught:
            OpenClawNotifier(environ=env).send(NOTE, {"url": gateway.url}, key=KEY)
        tokenless = send_error("openclaw", {"url": gateway.url})
    message = str(caught.value)
    assert caught.value.retry is False
    assert "wrong-token-abcdef123" not in message
    assert "HTTP 403" in message and "OPENCLAW_HOOKS_TOKEN" in message
    assert "hooks.token in ~/.openclaw/openclaw.json" in message
    assert tokenless.retry is False and "HTTP 401" in tokenless.args[0]
    assert "no OpenClaw hooks token" in tokenless.args[0]


def test_openclaw_refused_connection_says_the_gateway_is_not_running() -> None:
    url = refused_url()
    port = url.rsplit(":", 1)[1].rstrip("/")
    error = send_error("openclaw", {"url": url, "token": OPENCLAW_TOKEN})
    assert error.retry is True
    assert error.args[0].startswith(f"the OpenClaw gateway is not running at 127.0.0.1:{port}")


def test_ntfy_posts_to_the_topic_with_its_priority_title_and_tags() -> None:
    with NotifyReceiver("ntfy") as ntfy:
        for priority in ("urgent", "action", "warning", "info"):
            note = Notification(**{**NOTE.__dict__, "priority": priority, "title": "ünïcode ✓"})
            NtfyNotifier().send(note, options_for("ntfy", ntfy.url, tags=["ao"]), key=KEY)
        # AO's shape: the server in url, the topic apart.
        aos = {"url": ntfy.origin, "topic": NTFY_PATH.lstrip("/")}
        NtfyNotifier().send(NOTE, aos, key=KEY)
    assert [r.headers["priority"] for r in ntfy.requests] == ["5", "4", "3", "2", "5"]
    first = ntfy.requests[0]
    assert first.path == NTFY_PATH
    assert first.headers["tags"] == "rotating_light,ao"
    assert first.headers["x-ao-idempotency-key"] == KEY
    assert first.headers["authorization"] == f"Bearer {NTFY_TOKEN}"
    encoded = first.headers["title"]
    assert encoded.startswith("=?UTF-8?B?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[10:-2]).decode() == "ünïcode ✓"
    assert first.body.decode() == f"{NOTE.detail}\n→ ao-tui attach app-7"
    assert ntfy.requests[-1].headers["title"] == NOTE.title


# --- what each failure of one send means, for every notifier ------------------------------


def test_a_2xx_answer_delivers(receiver: NotifyReceiver) -> None:
    plugin_for(receiver.kind).send(NOTE, options_for(receiver.kind, receiver.url), key=KEY)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["x-ao-idempotency-key"] == KEY


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(429, "7", 7.0), (503, "12", 12.0), (429, None, None), (503, "soon", None)],
)
def test_429_and_503_retry_after_the_receivers_delay(
    receiver: NotifyReceiver, status: int, retry_after: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    receiver.fault(Fault(status, headers, b"slow down"))
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url))
    assert (error.retry, error.retry_after) == (True, expected)


def test_retry_after_as_an_http_date(receiver: NotifyReceiver) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    receiver.fault(Fault(429, {"Retry-After": when}))
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url))
    assert error.retry is True
    assert error.retry_after is not None and 27 <= error.retry_after <= 31


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (500, True),
        (502, True),
        (401, False),
        (403, False),
        (404, False),
        (400, False),
        (422, False),
        (301, False),
    ],
)
def test_status_maps_to_retry_or_fail_fast(
    receiver: NotifyReceiver, status: int, retry: bool
) -> None:
    # The body echoes what a careless receiver might: the URL, its path and the notifier's
    # own secrets (a receiver cannot know another notifier's).
    echo = " ".join((receiver.url, *KNOWN[receiver.kind])).encode()
    receiver.fault(Fault(status, {"Location": receiver.url}, b"bad: " + echo))
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url))
    assert error.retry is retry
    assert error.retry_after is None
    assert f"HTTP {status}" in error.args[0]
    assert "127.0.0.1:" in error.args[0]


def test_401_names_the_fix(receiver: NotifyReceiver) -> None:
    receiver.fault(Fault(401, {}, b"unauthorized"))
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url))
    fixes = {
        "webhook": "check the notifier's headers and secret",
        "slack": "set webhookUrl",
        "discord": "into webhookUrl",
        "openclaw": "hooks.token in ~/.openclaw/openclaw.json",
        "ntfy": "set token to an access token",
    }
    assert fixes[receiver.kind] in error.args[0]


def test_a_timeout_retries(receiver: NotifyReceiver) -> None:
    receiver.fault(Fault(delay=1.5))
    started = time.monotonic()
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url, timeout=0.3))
    assert time.monotonic() - started < 1.2
    assert error.retry is True
    assert "took longer than 0.3s to answer" in error.args[0]


def test_a_slow_receiver_within_the_timeout_delivers(receiver: NotifyReceiver) -> None:
    receiver.fault(Fault(delay=0.4))
    options = options_for(receiver.kind, receiver.url, timeout=3)
    plugin_for(receiver.kind).send(NOTE, options, key=KEY)
    assert len(receiver.requests) == 1


def test_a_dropped_connection_retries(receiver: NotifyReceiver) -> None:
    receiver.fault(Fault(drop=True))
    error = send_error(receiver.kind, options_for(receiver.kind, receiver.url))
    assert error.retry is True
    assert "dropped the connection" in error.args[0]


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_connection_retries_and_names_only_host_and_port(kind: str) -> None:
    url = refused_url(
        {"slack": SLACK_PATH, "discord": DISCORD_PATH, "ntfy": NTFY_PATH}.get(kind, "/")
    )
    error = send_error(kind, options_for(kind, url))
    assert error.retry is True
    assert url.split("/")[2] in error.args[0]
    assert "not running" in error.args[0] or "connection refused" in error.args[0]


# --- check(): the options, never their secrets ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_good_options_have_no_problems(kind: str) -> None:
    assert plugin_for(kind).check(options_for(kind, "https://hooks.example.com" + NTFY_PATH)) == []


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("webhook", {}, "url is missing"),
        ("webhook", {"url": "ftp://h/" + WEBHOOK_SECRET}, "url must start with https://"),
        ("webhook", {"url": "https://h", "headers": ["x"]}, "headers must be a mapping"),
        ("slack", {"webhookUrl": "hooks.slack.com" + SLACK_PATH}, "webhookUrl must start with"),
        ("slack", {}, "webhookUrl is missing"),
        ("discord", {"webhookUrl": "https://d" + DISCORD_PATH, "threadId": "general"}, "threadId"),
        ("openclaw", {"token": OPENCLAW_TOKEN, "wakeMode": "later"}, "wakeMode must be one of"),
        ("openclaw", {"token": OPENCLAW_TOKEN, "url": "127.0.0.1:18789"}, "url must start with"),
        ("ntfy", {"url": "https://ntfy.sh"}, "url has no topic"),
        ("ntfy", {"url": "https://ntfy.sh" + NTFY_PATH, "tags": "a,b"}, "tags must be a list"),
        ("ntfy", {"url": "https://ntfy.sh" + NTFY_PATH, "timeout": 600}, "timeout must be"),
    ],
)
def test_bad_options_are_named_without_their_values(
    kind: str, options: dict[str, Any], expected: str
) -> None:
    problems = plugin_for(kind).check(options)
    assert problems and expected in problems[0], problems
    assert_no_secret(" ".join(problems))
    error = send_error(kind, options)
    assert error.retry is False and expected in error.args[0]
