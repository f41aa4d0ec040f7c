"""A private D-Bus session bus, and python-dbusmock's notification daemon on it.

The bus is a real ``dbus-daemon --session``; the notification server is python-dbusmock's
``notification_daemon`` template (it runs under the system python3, where Debian's
python3-dbus and python3-dbusmock live; .ci/run installs them). The mock records every call,
which the tests read back through its ``GetCalls`` method.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import unwrap_msg

SYSTEM_PYTHON = "/usr/bin/python3"
NOTIFICATIONS = "org.freedesktop.Notifications"
MOCK = DBusAddress(
    "/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface="org.freedesktop.DBus.Mock"
)


def require(what: str) -> None:
    """Skip for a missing system part, but fail in CI, which must have installed it."""
    message = f"{what} is missing (apt-get install dbus-daemon python3-dbus python3-dbusmock)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def session_bus(tmp_path: Path) -> Iterator[str]:
    """A fresh session bus; yields its address (stopped on exit)."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        require("dbus-daemon")
    listen = f"--address=unix:dir={tmp_path}"
    process = subprocess.Popen(
        [str(daemon), "--session", "--nofork", "--print-address=1", listen],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # it warns it cannot raise its fd limit
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        assert address, "dbus-daemon printed no address"
        yield address
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class NotificationDaemon:
    """The mock notification server on one bus."""

    address: str

    def calls(self) -> list[tuple[str, list[Any]]]:
        """Every method called on the server so far: (method, args)."""
        with bus_connection(self.address) as connection:
            reply = unwrap_msg(
                connection.send_and_get_reply(new_method_call(MOCK, "GetCalls"), timeout=5)
            )
        # The mock gives each argument as a variant: (signature, value).
        return [(method, [value for _sig, value in args]) for _stamp, method, args in reply[0]]

    def notifies(self) -> list[list[Any]]:
        """The arguments of every Notify call."""
        return [args for method, args in self.calls() if method == "Notify"]


@contextmanager
def bus_connection(address: str) -> Iterator[Any]:
    """A jeepney connection to the bus at ``address``."""
    connection = open_dbus_connection(bus=address)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def notification_daemon(
    address: str, *, logfile: Path | None = None
) -> Iterator[NotificationDaemon]:
    """python-dbusmock's notification daemon on the bus at ``address``; ``logfile`` gets
    one line per call, stamped with the wall clock to the millisecond."""
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import dbus, dbusmock"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        require("python3-dbusmock")
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
    log = ["--logfile", str(logfile)] if logfile is not None else []
    process = subprocess.Popen(
        [SYSTEM_PYTHON, "-m", "dbusmock", "--template", "notification_daemon", *log],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        with bus_connection(address) as connection:
            while True:
                question = message_bus.NameHasOwner(NOTIFICATIONS)
                owned = unwrap_msg(connection.send_and_get_reply(question, timeout=5))[0]
                if owned:
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    assert process.stderr is not None
                    why = process.stderr.read()
                    pytest.fail(f"the mock notification daemon did not start: {why!r}")
                time.sleep(0.05)
        yield NotificationDaemon(address)
    finally:
        process.terminate()
        process.wait(10)
