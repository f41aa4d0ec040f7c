"""Desktop notifications on Linux: ``org.freedesktop.Notifications.Notify`` on the session
bus, spoken with jeepney (pure-Python D-Bus: no libdbus, no compiler, blocking with a
timeout, and errors that say what failed instead of a logged warning).

The idempotency key travels in the hint ``x-ao-tui-key`` (servers ignore hints they do not
know); a resend of the same key while this process lives replaces the notification it
already showed (``replaces_id``) instead of stacking a second one.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from core.notify.model import NotifierError

NOTIFICATIONS = DBusAddress(
    "/org/freedesktop/Notifications",
    bus_name="org.freedesktop.Notifications",
    interface="org.freedesktop.Notifications",
)
CALL_TIMEOUT = 5.0
"""Seconds one D-Bus call may take (a hung notification server must not hang the outbox)."""
URGENCY = {"low": 0, "normal": 1, "critical": 2}
"""The spec's ``urgency`` hint (a byte)."""
URGENT_SOUND = "message-new-instant"
"""A sound name from the freedesktop sound naming spec, for critical notifications."""
IDS_KEPT = 512
NO_SERVICE = "org.freedesktop.DBus.Error.ServiceUnknown"


@dataclass(frozen=True)
class DesktopMessage:
    """What one Notify call shows."""

    app_name: str
    summary: str
    body: str
    urgency: str
    """low, normal or critical."""
    sound: bool
    """Ask for a sound (critical only, where the server plays sounds)."""
    key: str


def _escape_markup(text: str) -> str:
    # Servers with the body-markup capability read a small HTML subset: text someone else
    # wrote (a test name with <...>) must show as written.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DbusNotifications:
    """Sends notifications to the session bus's notification server."""

    def __init__(self) -> None:
        """No notification shown yet."""
        self._shown: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def send(self, message: DesktopMessage) -> int:
        """Show ``message``; the server's notification id. Raises NotifierError."""
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            raise NotifierError(
                "desktop: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set): run "
                "ao-tui inside a desktop session, or route to another notifier",
                retry=False,
            )
        try:
            connection = open_dbus_connection(bus="SESSION")
        except (OSError, RuntimeError) as exc:
            raise NotifierError(
                f"desktop: cannot reach the D-Bus session bus named by "
                f"DBUS_SESSION_BUS_ADDRESS ({type(exc).__name__}: {exc})",
                retry=False,
            ) from exc
        with connection:
            caps = self._call(connection, "GetCapabilities", "", ())[0]
            body = _escape_markup(message.body) if "body-markup" in caps else message.body
            hints: dict[str, tuple[str, Any]] = {
                "urgency": ("y", URGENCY[message.urgency]),
                "x-ao-tui-key": ("s", message.key),
            }
            if message.sound and message.urgency == "critical":
                hints["sound-name"] = ("s", URGENT_SOUND)
            with self._lock:
                replaces = self._shown.get(message.key, 0)
            reply = self._call(
                connection,
                "Notify",
                "susssasa{sv}i",
                (message.app_name, replaces, "", message.summary, body, [], hints, -1),
            )
        shown = int(reply[0])
        with self._lock:
            self._shown[message.key] = shown
            while len(self._shown) > IDS_KEPT:
                self._shown.popitem(last=False)
        return shown

    @staticmethod
    def _call(connection: Any, method: str, signature: str, args: tuple[Any, ...]) -> Any:
        call = new_method_call(NOTIFICATIONS, method, signature or None, args)
        try:
            return unwrap_msg(connection.send_and_get_reply(call, timeout=CALL_TIMEOUT))
        except DBusErrorResponse as exc:
            if exc.name == NO_SERVICE:
                raise NotifierError(
                    "desktop: no notification server on the session bus "
                    "(org.freedesktop.Notifications); start one (your desktop's, or dunst)",
                    retry=True,
                ) from exc
            raise NotifierError(
                f"desktop: the notification server refused {method}: {exc}", retry=False
            ) from exc
        except TimeoutError as exc:
            raise NotifierError(
                f"desktop: the notification server did not answer {method} within "
                f"{CALL_TIMEOUT:g}s",
                retry=True,
            ) from exc
        except OSError as exc:
            raise NotifierError(
                f"desktop: the D-Bus session bus failed: {exc}", retry=True
            ) from exc
