"""Desktop notifications on macOS: the notification centre (UNUserNotificationCenter),
through the desktop-notifier library (its rubicon-objc bridge), not ``osascript``.

desktop-notifier logs a failed send instead of raising, so delivery is known from its
``on_dispatched`` callback, which it calls only once the centre took the notification.
Not exercised by the tests on Linux (there is no notification centre to stand in for); the
Linux path is (:mod:`plugins.notifier.desktop.dbus`).
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from core.notify.model import NotifierError
from plugins.notifier.desktop.dbus import DesktopMessage


class MacNotifications:
    """Sends notifications to the macOS notification centre."""

    def __init__(self) -> None:
        """The library is loaded on first use (it is installed on macOS only)."""
        self._notifier: Any = None
        self._api: Any = None
        # One event loop belongs to the synchronous notifier: one send at a time.
        self._lock = threading.Lock()

    def send(self, message: DesktopMessage) -> None:
        """Show ``message``. Raises NotifierError when the centre did not take it."""
        with self._lock:
            if self._notifier is None:
                try:
                    self._api = import_module("desktop_notifier")
                except ImportError as exc:
                    raise NotifierError(
                        "desktop: the desktop-notifier package is missing; reinstall ao-tui "
                        "on this Mac (pip install ao-tui pulls it in on macOS)",
                        retry=False,
                    ) from exc
                self._notifier = self._api.DesktopNotifierSync(app_name=message.app_name)
            api = self._api
            urgency = {
                "low": api.Urgency.Low,
                "normal": api.Urgency.Normal,
                "critical": api.Urgency.Critical,
            }[message.urgency]
            taken = threading.Event()
            self._notifier.send(
                title=message.summary,
                message=message.body,
                urgency=urgency,
                sound=api.DEFAULT_SOUND
                if message.sound and message.urgency == "critical"
                else None,
                thread=message.key,
                on_dispatched=taken.set,
            )
        if not taken.is_set():
            raise NotifierError(
                "desktop: the macOS notification centre did not take the notification; allow "
                "notifications for your terminal or Python in System Settings > Notifications",
                retry=False,
            )
