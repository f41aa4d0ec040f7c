"""Every notification channel at once, as a person away from the screen has them: the five
HTTP receivers of :mod:`tests.support.notify_receivers` (the webhook one verifying its
HMAC) and a desktop (a private D-Bus session bus with python-dbusmock's notification
daemon), with the ``notifiers:`` config that points ao-tui at each of them.

What each channel got is read back as :class:`Sighting` s: the idempotency key, the title
as the person sees it, and when it arrived (wall-clock seconds, so it compares with an
event's ``ts``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.dbus_session import NotificationDaemon, notification_daemon, session_bus
from tests.support.notify_receivers import OPENCLAW_TOKEN, Fault, NotifyReceiver, Request

WEBHOOK_SECRET = "whsec-channels-signing-7f3a9c"
WEBHOOK_PATH = "/hooks/ao-private-path-5d1e8b"
"""A webhook's URL is its secret too: this path must show nowhere."""
NTFY_TOKEN = "tk_channelsntfytoken0123456789"
ENV = {"AO_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET}
"""Variables the config reads with ``${VAR}`` (set in the daemon's environment)."""

NOTIFIERS = {
    "hook": "webhook",
    "team": "slack",
    "chat": "discord",
    "claw": "openclaw",
    "phone": "ntfy",
    "desk": "desktop",
}
"""Each configured notifier's name and the channel (plugin) it is."""


@dataclass(frozen=True)
class Sighting:
    """One notification as a channel received it."""

    key: str
    title: str
    at: float
    """Wall-clock seconds (``time.time()``) of its arrival."""


@dataclass
class Channels:
    """The running receivers (by channel) and the desktop."""

    receivers: dict[str, NotifyReceiver]
    desktop: NotificationDaemon
    bus: str
    desktop_log: Path

    def notifier_yaml(self, *, first: str = "") -> str:
        """``notifiers:`` for every channel, all routed ``urgent`` (``first``'s name leads
        the route: its rows are made, and so dispatched, first)."""
        hook, slack = self.receivers["webhook"], self.receivers["slack"]
        chat, claw, phone = (self.receivers[k] for k in ("discord", "openclaw", "ntfy"))
        url = json.dumps
        lines = [
            "notifiers:",
            f"  hook: {{plugin: webhook, url: {url(hook.origin + WEBHOOK_PATH)},"
            " secret: '${AO_TEST_WEBHOOK_SECRET}'}",
            f"  team: {{plugin: slack, webhookUrl: {url(slack.url)}}}",
            f"  chat: {{plugin: discord, webhookUrl: {url(chat.url)}}}",
            f"  claw: {{plugin: openclaw, url: {url(claw.url)}, token: {OPENCLAW_TOKEN}}}",
            f"  phone: {{plugin: ntfy, url: {url(phone.url)}, token: {NTFY_TOKEN}}}",
            "  desk: {plugin: desktop}",
        ]
        names = sorted(NOTIFIERS, key=lambda name: name != first)
        lines += ["notificationRouting:", f"  urgent: [{', '.join(names)}]"]
        return "\n".join(lines) + "\n"

    def seen(self) -> dict[str, list[Sighting]]:
        """What every channel received so far, by channel, oldest first."""
        offset = time.time() - time.monotonic()  # receivers stamp with the monotonic clock
        found = {
            kind: [_http_sighting(kind, r, offset) for r in receiver.requests]
            for kind, receiver in self.receivers.items()
        }
        found["desktop"] = self._desktop_seen()
        return found

    def _desktop_seen(self) -> list[Sighting]:
        # The mock's call log stamps whole seconds; its log file has milliseconds.
        lines = [
            line
            for line in self.desktop_log.read_text(encoding="utf-8").splitlines()
            if line.split(" ", 2)[1:2] == ["Notify"]
        ]
        seen = []
        for args, line in zip(self.desktop.notifies(), lines, strict=False):
            hints = args[6]
            seen.append(Sighting(hints["x-ao-tui-key"][1], args[3], float(line.split(" ", 1)[0])))
        return seen

    def secrets(self) -> tuple[str, ...]:
        """Every value of the config that must show nowhere: URLs' secret paths, tokens."""
        paths = [urlpath(self.receivers[k].url) for k in ("slack", "discord", "ntfy")]
        parts = [p.rsplit("/", 1)[-1] for p in paths]
        return (WEBHOOK_SECRET, WEBHOOK_PATH, NTFY_TOKEN, OPENCLAW_TOKEN, *paths, *parts)


def urlpath(url: str) -> str:
    """The path of ``url`` (``http://host:port/path`` → ``/path``)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@contextlib.contextmanager
def channels(tmp_path: Path, *, slow: str = "", delay: float = 0.0) -> Iterator[Channels]:
    """Every channel running; ``slow`` (a channel) answers its first request after
    ``delay`` seconds."""
    with contextlib.ExitStack() as stack:
        receivers = {
            kind: stack.enter_context(
                NotifyReceiver(kind, secret=WEBHOOK_SECRET if kind == "webhook" else "")
            )
            for kind in ("webhook", "slack", "discord", "openclaw", "ntfy")
        }
        if slow:
            receivers[slow].fault(Fault(delay=delay))
        bus_dir = tmp_path / "bus"
        bus_dir.mkdir()
        address = stack.enter_context(session_bus(bus_dir))
        log = tmp_path / "desktop.log"
        desktop = stack.enter_context(notification_daemon(address, logfile=log))
        yield Channels(receivers, desktop, address, log)


def _http_sighting(kind: str, request: Request, offset: float) -> Sighting:
    return Sighting(
        request.headers.get("idempotency-key", ""), title_of(kind, request), request.at + offset
    )


def title_of(kind: str, request: Request) -> str:
    """The title a person reads first on ``kind``, from its request."""
    if kind == "ntfy":
        title = request.headers.get("title", "")
        encoded = re.fullmatch(r"=\?UTF-8\?B\?(.*)\?=", title)
        return base64.b64decode(encoded.group(1)).decode() if encoded else title
    body = request.json()
    if kind == "slack":
        return str(body["blocks"][0]["text"]["text"])
    if kind == "discord":
        return str(body["embeds"][0]["title"])
    if kind == "openclaw":
        return str(body["message"]).split("\n", 1)[0]
    return str(body["event"]["message"]).split("\n", 1)[0]
