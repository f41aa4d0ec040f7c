"""Stand-in notifiers and a local HTTP receiver for the outbox tests.

The real HTTP notifiers (webhook, Slack, ...) are another piece of work; these stand-ins
fill the ``notifier`` slot so the outbox can be tested on its own:

- :class:`RecordingNotifier` records every send in memory and can be told to fail (with a
  retry, a ``Retry-After``, or fatally) — a stand-in, for the unit tests.
- :class:`HttpNotifier` POSTs JSON to ``options["url"]`` with the idempotency key in a
  header and in the body, mapping the receiver's status as a real notifier must (429/503:
  retry after ``Retry-After``; other 5xx: retry; other 4xx: fail fast). It is installed as
  an entry point for the daemon subprocess tests (see :func:`install_entry_point`).
- :class:`Receiver` is a real HTTP server on 127.0.0.1 that logs every request and answers
  from a script of statuses.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.notify.model import Notification, NotifierError


@dataclass
class RecordingNotifier:
    """Records each send; ``failures`` are raised, one per send, before any is recorded."""

    sent: list[tuple[Notification, dict[str, Any], str]] = field(default_factory=list)
    failures: list[NotifierError] = field(default_factory=list)
    calls: int = 0

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """A ``bad`` option is wrong (to test that checks stop a send)."""
        return ["option 'bad' is set; remove it"] if options.get("bad") else []

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """Record it, or raise the next scripted failure."""
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((notification, dict(options), key))


class HttpNotifier:
    """POST the notification as JSON to ``options["url"]``; the key in ``Idempotency-Key``."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """The url must be an http(s) URL (named, never quoted)."""
        url = str(options.get("url", ""))
        return [] if url.startswith(("http://", "https://")) else ["option 'url' is not a URL"]

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """One POST; the status decides retry or not."""
        body = json.dumps({"key": key, "event": asdict(notification)}).encode()
        request = urllib.request.Request(
            str(options["url"]),
            data=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=float(options.get("timeout", 5))):
                return
        except urllib.error.HTTPError as exc:
            status = exc.code
            after = exc.headers.get("Retry-After")
            if status in (429, 503):
                wait = float(after) if after else None
                raise NotifierError(
                    f"receiver answered {status}", retry=True, retry_after=wait
                ) from None
            raise NotifierError(f"receiver answered {status}", retry=status >= 500) from None
        except (urllib.error.URLError, OSError) as exc:
            raise NotifierError(f"could not reach the receiver: {exc}", retry=True) from None


@dataclass
class Request:
    """One request the receiver got."""

    at: float
    key: str
    body: dict[str, Any]
    status: int


class Receiver:
    """A local HTTP server that logs requests and answers with scripted statuses (then 200)."""

    def __init__(self) -> None:
        """Listen on a free port of 127.0.0.1 (call :meth:`close` when done)."""
        self.requests: list[Request] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                    receiver.requests.append(
                        Request(time.time(), self.headers.get("Idempotency-Key", ""), body, status)
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cr3t-path-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[Request]:
        """The requests answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


def install_entry_point(directory: Path) -> Path:
    """Make :class:`HttpNotifier` an installed ``notifier:http-test`` plugin for any Python
    that has ``directory`` on its path (a dist-info folder, as pip would write): the
    daemon subprocess finds it the way it finds every plugin."""
    info = directory / "ao_tui_test_notifiers-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ao-tui-test-notifiers\nVersion: 0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[ao_tui.plugins]\nnotifier:http-test = tests.support.notifiers:HttpNotifier\n",
        encoding="utf-8",
    )
    return directory
