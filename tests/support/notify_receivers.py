"""Local stand-ins for the HTTP notifiers' receivers, served on 127.0.0.1 for tests.

One :class:`NotifyReceiver` is a real HTTP server (``http.server`` on a thread, port 0) that
answers as one kind of receiver does, checking the documented request shape first:

- ``webhook``: any JSON object; ``200 ok``. With ``secret`` it checks
  ``X-Ao-Signature-256`` and answers 401 on a bad signature, as a verifying receiver would;
- ``slack``: an incoming webhook (``/services/T…/B…/…``): JSON with ``text`` or ``blocks``,
  ``200 ok``; else ``400 invalid_payload``;
- ``discord``: ``/api/webhooks/{id}/{token}``: JSON with ``content`` or ``embeds``,
  ``204``; else ``400`` with Discord's JSON error;
- ``openclaw``: ``POST /hooks/agent`` with ``Authorization: Bearer <token>`` (401 when
  missing, 403 when wrong) and JSON with ``message``: ``202 {"ok": true}``;
- ``ntfy``: ``POST /{topic}`` with a non-empty body: ``200`` and the message as JSON.

Faults are scripted (:meth:`NotifyReceiver.fault`) and consumed in order, one per request:
a status with headers and body, a delay before answering (past the client's timeout = a
timeout; under it = a slow receiver), or a dropped connection (the request read, the socket
closed with no answer). Every request is logged with its headers and body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SLACK_PATH = "/services/T0AOTUI01/B0AOTUI02/slackSecretPart0123456789"
DISCORD_PATH = "/api/webhooks/112233445566778899/discordSecretToken-abcdefABCDEF0123"
NTFY_PATH = "/ao-secret-topic-8f2c41"
OPENCLAW_TOKEN = "oc-hooks-token-5a7d9e2b1c3f"


@dataclass
class Fault:
    """One scripted answer: a status (with headers and body), a delay, or a dropped
    connection."""

    status: int = 0
    """0 answers normally (after ``delay``)."""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False


@dataclass(frozen=True)
class Request:
    """One request as the receiver saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes
    at: float

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class NotifyReceiver:
    """A receiver of one ``kind`` (see the module doc); use as a context manager."""

    def __init__(
        self, kind: str, *, secret: str = "", tokens: tuple[str, ...] = (OPENCLAW_TOKEN,)
    ) -> None:
        """Prepare a ``kind`` receiver; ``secret`` for the webhook, ``tokens`` (those it
        accepts) for OpenClaw."""
        self.kind = kind
        self.secret = secret
        self.tokens = tokens
        self.requests: list[Request] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for one, and every test stops a receiver.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The URL a notifier is configured with for this kind."""
        paths = {"slack": SLACK_PATH, "discord": DISCORD_PATH, "ntfy": NTFY_PATH}
        if self.kind == "openclaw":
            return self.origin
        return self.origin + paths.get(self.kind, "/hooks/ao")

    def fault(self, *faults: Fault) -> None:
        """Answer the next requests with ``faults``, in order."""
        with self._lock:
            self._faults.extend(faults)

    def __enter__(self) -> NotifyReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """The documented answer of this kind to ``request``."""
        if self.kind == "webhook":
            return self._webhook(request)
        if self.kind == "slack":
            data = _json(request.body)
            if request.path != SLACK_PATH:
                return 404, {}, b"no_service"
            if not isinstance(data, dict) or not (data.get("text") or data.get("blocks")):
                return 400, {}, b"invalid_payload"
            return 200, {"content-type": "text/html"}, b"ok"
        if self.kind == "discord":
            data = _json(request.body)
            if request.path != DISCORD_PATH:
                return 401, {}, b'{"message": "Invalid Webhook Token", "code": 50027}'
            if not isinstance(data, dict) or not (data.get("content") or data.get("embeds")):
                return 400, {}, b'{"message": "Cannot send an empty message", "code": 50006}'
            return 204, {}, b""
        if self.kind == "openclaw":
            return self._openclaw(request)
        if request.path != NTFY_PATH or not request.body:
            return 400, {}, b'{"code":40001,"http":400,"error":"invalid request"}'
        answer = {"id": "abc", "topic": NTFY_PATH[1:], "message": request.body.decode()}
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()

    def _webhook(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(_json(request.body), dict):
            return 400, {}, b"not JSON"
        if self.secret:
            expected = hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
            given = request.headers.get("x-ao-signature-256", "")
            if not hmac.compare_digest(given, f"sha256={expected}"):
                return 401, {}, b"bad signature"
        return 200, {}, b"ok"

    def _openclaw(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path != "/hooks/agent":
            return 404, {}, b"Not Found"
        auth = request.headers.get("authorization", "")
        if not auth:
            return 401, {}, b'{"ok":false,"error":"Unauthorized"}'
        if auth not in {f"Bearer {token}" for token in self.tokens}:
            return 403, {}, b'{"ok":false,"error":"Forbidden"}'
        data = _json(request.body)
        if not isinstance(data, dict) or not data.get("message"):
            return 400, {}, b'{"ok":false,"error":"message required"}'
        return 202, {"content-type": "application/json"}, b'{"ok":true,"runId":"r1"}'

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died between its headers and the end of its body (a daemon
                    # SIGKILLed mid-send): a real server drops such a request unanswered.
                    self.close_connection = True
                    return
                parts = urlsplit(self.path)
                request = Request(
                    method="POST",
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
                with receiver._lock:
                    receiver.requests.append(request)
                fault = receiver._next_fault()
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                if fault is not None and fault.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.status:
                    status, headers, answer = fault.status, fault.headers, fault.body
                else:
                    status, headers, answer = receiver._answer(request)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) first

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    """The HTTP server, quiet when a client goes away mid-connection (a daemon SIGKILLed
    with a kept-alive connection open): that is a test's scenario, not a failure."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def refused_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (a port just bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
