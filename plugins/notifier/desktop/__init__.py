"""The ``desktop`` notifier: a notification on the operator's desktop. Linux over D-Bus
(:mod:`plugins.notifier.desktop.dbus`), macOS through its notification centre
(:mod:`plugins.notifier.desktop.macos`).

Priority is urgency: ``urgent`` is critical (and plays a sound where the platform has one,
unless ``sound: false``), ``action`` and ``warning`` are normal, ``info`` is low.

```yaml
notifiers:
  desk: {plugin: desktop, sound: false}     # or route to the built-in name `desktop`
notificationRouting:
  urgent: [desktop]
```
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from core.notify.model import Notification, NotifierError, Priority
from plugins.notifier.desktop.dbus import DbusNotifications, DesktopMessage
from plugins.notifier.desktop.macos import MacNotifications

URGENCY_OF: dict[Priority, str] = {
    "urgent": "critical",
    "action": "normal",
    "warning": "normal",
    "info": "low",
}
OPTIONS = ("appName", "sound")
APP_NAME = "ao-tui"


def desktop_message(
    notification: Notification, options: Mapping[str, Any], key: str
) -> DesktopMessage:
    """The notification as the desktop shows it: the title as summary, then the detail and
    the command as body."""
    body = "\n".join(
        part
        for part in (notification.detail, notification.command and f"→ {notification.command}")
        if part
    )
    return DesktopMessage(
        app_name=str(options.get("appName") or APP_NAME),
        summary=notification.title,
        body=body,
        urgency=URGENCY_OF.get(notification.priority, "normal"),
        sound=bool(options.get("sound", True)),
        key=key,
    )


class DesktopNotifier:
    """Shows notifications on the desktop this process runs in."""

    def __init__(self, platform: str | None = None) -> None:
        """``platform`` as ``sys.platform`` says it (tests may pass another)."""
        self.platform = platform or sys.platform
        self._dbus = DbusNotifications()
        self._mac = MacNotifications()

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """Known options with the right types, on a platform with a desktop to notify."""
        problems: list[str] = []
        if not self.platform.startswith(("linux", "darwin")):
            problems.append(
                f"desktop notifications need Linux (D-Bus) or macOS; this is {self.platform}"
            )
        app = options.get("appName", APP_NAME)
        if not isinstance(app, str) or not app.strip():
            problems.append("appName: must be a non-empty text; write appName: ao-tui")
        sound = options.get("sound", True)
        if not isinstance(sound, bool):
            problems.append(f"sound: {sound!r} is not true or false; write sound: true")
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            problems.append(
                f"unknown option(s) {', '.join(unknown)}; the desktop takes {', '.join(OPTIONS)}"
            )
        return problems

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """Show ``notification`` on the desktop. Raises NotifierError."""
        problems = self.check(options)
        if problems:
            raise NotifierError("desktop: " + "; ".join(problems), retry=False)
        message = desktop_message(notification, options, key)
        if self.platform.startswith("darwin"):
            self._mac.send(message)
        else:
            self._dbus.send(message)


__all__ = ["DesktopNotifier", "desktop_message"]
