"""A scripted stand-in for the OpenAI Chat Completions API, served on 127.0.0.1 offline.

The real Aider CLI is pointed at it with ``--openai-api-base <base_url>`` and a model named
``openai/<anything>``. Each reply is chosen from the text of the conversation's last user
message, so a test drives the agent into a state by what it types:

``WRITE_FILE <path> <content>``
    a reply in Aider's ``whole`` edit format: the file name, then the whole file (the
    content is the rest of that line) in a fence.
    Aider asks "Create new file?" before it writes a file that does not exist.
``SLOW <seconds>``
    a text reply streamed evenly over that many seconds (to interrupt it mid-stream).
``STALL <seconds>``
    nothing at all for that long (Aider shows its "Waiting for" spinner), then a short reply.
``FAIL400`` / ``FAIL500``
    that HTTP status (Aider gives up at once on a 400, and retries a 500 with back-off).
anything else
    a short text reply.

Requests whose system prompt asks for a commit message (Aider's auto-commit) get a
one-line message. Replies stream as ``chat.completion.chunk`` server-sent events when the
request asks for a stream. Every request is recorded for assertions.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

_WRITE_FILE = re.compile(r"\bWRITE_FILE[ \t]+(\S+)[ \t]+(.*)")
_SLOW = re.compile(r"\bSLOW[ \t]+(\d+(?:\.\d+)?)")
_STALL = re.compile(r"\bSTALL[ \t]+(\d+(?:\.\d+)?)")
_FAIL = re.compile(r"\bFAIL(400|500)\b")

DEFAULT_TEXT = "Hello from the stand-in."
COMMIT_TEXT = "chore: change made through the stand-in"


@dataclass
class ChatRequest:
    """One HTTP request the stand-in received (``body`` parsed when it is JSON)."""

    method: str
    path: str
    body: Any
    at: float


@dataclass
class _Reply:
    """What the script decided to send back for one request."""

    text: str = ""
    error_status: int | None = None
    stream_seconds: float = 0.0
    stall_seconds: float = 0.0


def message_text(content: Any) -> str:
    """The plain text of one message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        str(part.get("text", ""))
        for part in content
        if isinstance(part, dict) and part.get("type") == "text"
    )


def _messages(body: Any) -> list[dict[str, Any]]:
    messages = body.get("messages") if isinstance(body, dict) else None
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def last_user_text(body: Any) -> str:
    """The text of the conversation's last ``user`` message ("" if none)."""
    for message in reversed(_messages(body)):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def is_commit_request(body: Any) -> bool:
    """Whether this is Aider's request for a commit message (not a chat turn)."""
    system = " ".join(
        message_text(m.get("content")) for m in _messages(body) if m.get("role") == "system"
    )
    return "commit message" in system.lower()


def decide(body: Any) -> _Reply:
    """The reply for one chat-completions request."""
    if is_commit_request(body):
        return _Reply(COMMIT_TEXT)
    text = last_user_text(body)
    fail = _FAIL.search(text)
    if fail:
        return _Reply(error_status=int(fail.group(1)))
    write = _WRITE_FILE.search(text)
    if write:
        path, content = write.group(1), write.group(2).strip()
        return _Reply(f"Creating the file.\n\n{path}\n```\n{content}\n```\n")
    slow = _SLOW.search(text)
    if slow:
        words = " ".join(f"word{i}" for i in range(40))
        return _Reply(f"Slow reply: {words}.", stream_seconds=float(slow.group(1)))
    stall = _STALL.search(text)
    if stall:
        return _Reply(DEFAULT_TEXT, stall_seconds=float(stall.group(1)))
    return _Reply(DEFAULT_TEXT)


def chunks(reply: _Reply, model: str) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of one streamed reply, about a word each."""
    ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S*\s*", reply.text):
        if piece:
            yield chunk({"content": piece})
    yield chunk({}, "stop")


def completion(reply: _Reply, model: str) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class OpenAIChatStandin:
    """The scripted server; use as a context manager, read ``base_url`` and ``requests``."""

    def __init__(self) -> None:
        """Prepare the server; nothing listens until ``start`` (or ``__enter__``)."""
        self._lock = threading.Lock()
        self._requests: list[ChatRequest] = []
        self._chunks_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and serve on a daemon thread."""
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="openai-chat-standin", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIChatStandin:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the value for ``--openai-api-base``."""
        if self._server is None:
            raise RuntimeError("stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[ChatRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[ChatRequest]:
        """The chat turns (commit-message requests left out)."""
        return [
            r
            for r in self.requests
            if r.path.endswith("/chat/completions") and not is_commit_request(r.body)
        ]

    @property
    def chunks_sent(self) -> int:
        """How many content chunks were written, over all streams so far."""
        with self._lock:
            return self._chunks_sent

    def record(self, request: ChatRequest) -> None:
        """Append one request to the log (called from handler threads)."""
        with self._lock:
            self._requests.append(request)

    def count_chunk(self) -> None:
        """Note one chunk written (called from handler threads)."""
        with self._lock:
            self._chunks_sent += 1


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; ``owner`` is bound to the running stand-in by a subclass."""

    owner: OpenAIChatStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request log is the record

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """Answer ``/v1/chat/completions``; anything else is a logged 404."""
        body = self._read_body()
        self.owner.record(ChatRequest("POST", self.path, body, time.time()))
        try:
            self._respond(body)
        except ConnectionError:
            self.close_connection = True  # the CLI gave up on this request (^C)

    def do_GET(self) -> None:
        """A logged 404 (Aider asks for nothing else of its API)."""
        self.owner.record(ChatRequest("GET", self.path, None, time.time()))
        self._send_json(404, {"error": {"message": f"GET {self.path}", "type": "not_found"}})

    def _respond(self, body: Any) -> None:
        if not self.path.endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": self.path, "type": "not_found"}})
            return
        reply = decide(body)
        if reply.stall_seconds:
            time.sleep(reply.stall_seconds)
        if reply.error_status is not None:
            message = f"Stand-in error {reply.error_status}"
            kind = "invalid_request_error" if reply.error_status == 400 else "server_error"
            self._send_json(reply.error_status, {"error": {"message": message, "type": kind}})
            return
        model = str(body.get("model") or "standin") if isinstance(body, dict) else "standin"
        if not (isinstance(body, dict) and body.get("stream")):
            self._send_json(200, completion(reply, model))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        parts = list(chunks(reply, model))
        pause = reply.stream_seconds / len(parts) if reply.stream_seconds else 0.0
        for part in parts:
            self.wfile.write(f"data: {json.dumps(part)}\n\n".encode())
            self.wfile.flush()
            self.owner.count_chunk()
            if pause:
                time.sleep(pause)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
