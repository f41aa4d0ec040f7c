"""What every scripted API stand-in shares: a threaded HTTP server on 127.0.0.1 with a
request log, and a handler that reads JSON bodies and answers JSON or server-sent events.

Each stand-in (Anthropic Messages, OpenAI Responses and chat, Gemini) keeps only what its
API says: which paths it serves, how it decides a reply, how the events look.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar


@dataclass
class RecordedRequest:
    """One HTTP request a stand-in received (``at``: its arrival time)."""

    method: str
    path: str
    body: Any
    at: float
    status: int = 0


@dataclass
class ScriptedReply:
    """What a stand-in's script decided to answer one conversation request with."""

    text: str = ""
    tool_name: str | None = None
    tool_arguments: dict[str, Any] | None = None
    error_status: int | None = None
    stream_seconds: float = 0.0


R = TypeVar("R")
"""The stand-in's record of one request."""


class StandinServer(Generic[R]):
    """A server bound to a free port on 127.0.0.1 at creation, serving from :meth:`start`
    (or as a context manager) in a background thread; handler threads log requests with
    :meth:`record`."""

    def __init__(self, handler: type[JsonHandler]) -> None:
        """Bind the port; ``handler`` answers, with ``owner`` set to this stand-in."""
        self._lock = threading.Lock()
        self._requests: list[R] = []
        self._failures: dict[str, int] = {}
        bound = type("Handler", (handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[R]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def record(self, request: R) -> None:
        """Remember one request (called from handler threads)."""
        with self._lock:
            self._requests.append(request)

    def fails_now(self, prompt: str, times: int | None) -> bool:
        """Whether a request scripted to fail with ``prompt`` fails this time: always
        (``times`` None), or only the first ``times`` times it is asked."""
        with self._lock:
            seen = self._failures.get(prompt, 0)
            self._failures[prompt] = seen + 1
        return times is None or seen < times


class JsonHandler(BaseHTTPRequestHandler):
    """Reads JSON request bodies; answers one JSON document, or a stream of events."""

    owner: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def read_json(self) -> Any:
        """The request body, parsed as JSON (``None`` if empty or not JSON)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def send_json(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        """Answer with one JSON document."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_events(self, events: Iterable[tuple[bytes, float]]) -> None:
        """Answer 200 with server-sent events, each written after its pause; the
        connection closes after the last. An agent hanging up mid-stream (an interrupt)
        ends it quietly."""
        import time

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for event, pause in events:
                if pause:
                    time.sleep(pause)
                self.wfile.write(event)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        self.close_connection = True
