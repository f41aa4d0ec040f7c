"""A scripted stand-in for the Anthropic Messages API, served on 127.0.0.1 for offline tests.

The real Claude Code CLI is pointed at it with ``ANTHROPIC_BASE_URL``. Each reply is chosen
from the text of the conversation's last user message (system reminders stripped), so a test
drives the agent into any state by what it types:

``RUN_BASH <command>``
    a ``Bash`` tool_use (needs permission in the default mode).
``WRITE_FILE <path> <content>``
    a ``Write`` tool_use (give an absolute path: the Write tool rejects relative ones).
``SLOW <seconds>``
    a text reply streamed evenly over that many seconds (to interrupt it mid-stream).
``STALL <seconds>``
    nothing at all for that long (slow time-to-first-token), then a short text reply.
``FAIL500`` / ``FAIL500 <n>``
    HTTP 500 for that prompt: every time, or only the first ``n`` times.
``FAIL429`` / ``FAIL429 <n>``
    the same with HTTP 429 (rate limited).
anything else
    a short text reply, ``end_turn``.

A last user message carrying a ``tool_result`` is answered ``done`` (end_turn). Requests
without ``tools`` are the CLI's side calls (session titles, ...) and get a short text.

A test can also :meth:`~AnthropicStandin.script` a multi-step turn: a prompt containing a
trigger is answered with the script's tool calls one after the other (each next one once
the previous tool's result is in), then ``done``; a step whose tool failed ends the turn
with a text naming the error, so a broken script shows in the transcript.
Every request is recorded (path, parsed body, time) for assertions; all state is guarded by
one lock because the server answers on many threads.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
_FAIL = re.compile(r"\bFAIL(500|429)(?:[ \t]+(\d+))?")
_SLOW = re.compile(r"\bSLOW[ \t]+(\d+(?:\.\d+)?)")
_STALL = re.compile(r"\bSTALL[ \t]+(\d+(?:\.\d+)?)")
_RUN_BASH = re.compile(r"\bRUN_BASH[ \t]+(.+)", re.DOTALL)
_WRITE_FILE = re.compile(r"\bWRITE_FILE[ \t]+(\S+)[ \t]+(.*)", re.DOTALL)

SIDE_CALL_TEXT = "Stand-in title"
DEFAULT_TEXT = "Hello from the stand-in."
TOOL_DONE_TEXT = "done"


@dataclass
class RecordedRequest:
    """One HTTP request the stand-in received, as the CLI sent it.

    Recorded on arrival (``at`` is the arrival time, so retry gaps can be measured);
    ``status`` stays 0 until the answer's status line has been sent.
    """

    method: str
    path: str
    query: str
    body: Any
    at: float
    status: int = 0

    @property
    def has_tools(self) -> bool:
        """True for the agent's main-loop calls, False for side calls (titles, quota)."""
        return isinstance(self.body, dict) and bool(self.body.get("tools"))


ToolStep = Callable[[], tuple[str, dict[str, Any]]]
"""One scripted tool call: (tool name, tool input), built when the call is made (so it may
name a path only known once the session exists)."""


@dataclass
class _Reply:
    """What the script decided to send back for one /v1/messages request."""

    text: str = ""
    tool_name: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)
    error_status: int | None = None
    stream_seconds: float = 0.0
    stall_seconds: float = 0.0


def message_text(content: Any) -> str:
    """The plain text of one message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [
        str(block.get("text", ""))
        for block in content
        if isinstance(block, dict) and block.get("type") == "text"
    ]
    return "\n".join(parts)


def last_user_message(body: Any) -> dict[str, Any] | None:
    """The conversation's last ``user`` message, or None if there is none."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message
    return None


def strip_reminders(text: str) -> str:
    """Drop the ``<system-reminder>`` blocks the CLI injects around the user's words."""
    return _REMINDER.sub("", text).strip()


def side_call_text(body: Any) -> str:
    """Short text for a side call; JSON filling the schema when one is demanded.

    The CLI asks for session titles with ``output_config.format`` = json_schema and
    ignores a reply that does not parse, so every string property gets a short value.
    """
    config = body.get("output_config") if isinstance(body, dict) else None
    fmt = config.get("format") if isinstance(config, dict) else None
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    if not isinstance(schema, dict):
        return SIDE_CALL_TEXT
    properties = schema.get("properties")
    filled: dict[str, Any] = {}
    if isinstance(properties, dict):
        for name, spec in properties.items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            filled[name] = {"boolean": False, "integer": 0, "number": 0, "array": []}.get(
                str(kind), SIDE_CALL_TEXT
            )
    return json.dumps(filled)


def _has_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def _tool_error(message: dict[str, Any]) -> str:
    """The text of a failed tool_result in ``message`` ("" when every tool succeeded)."""
    for block in message.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error"):
            content = block.get("content")
            return message_text(content) if not isinstance(content, str) else content
    return ""


def scripted_turn(body: Any) -> tuple[str, int, dict[str, Any] | None]:
    """The prompt of the turn under way, how many tool results came back since it, and the
    message carrying the last of them (None when none has yet)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return "", 0, None
    results = 0
    last: dict[str, Any] | None = None
    for message in reversed(messages):
        if not (isinstance(message, dict) and message.get("role") == "user"):
            continue
        if not _has_tool_result(message):
            return strip_reminders(message_text(message.get("content"))), results, last
        results += 1
        last = last or message
    return "", results, last


class AnthropicStandin:
    """The scripted server; use as a context manager, read ``base_url`` and ``requests``.

    ``fail_times`` is how many times a ``FAIL500``/``FAIL429`` prompt without its own count
    fails before it is answered normally; None (the default) means it fails every time.
    """

    def __init__(
        self, *, fail_times: int | None = None, retry_after: int = 1, model: str = "claude-standin"
    ) -> None:
        """Prepare the server; nothing listens until ``start`` (or ``__enter__``)."""
        self.fail_times = fail_times
        self.retry_after = retry_after
        self.model = model
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: dict[str, int] = {}
        self._deltas_sent = 0
        self._scripts: list[tuple[str, tuple[ToolStep, ...], bool]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and serve on a daemon thread."""
        standin = self

        class Handler(_Handler):
            owner = standin

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="anthropic-standin", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; streams still open are cut off."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> AnthropicStandin:
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
        """``http://127.0.0.1:<port>``, the value for ANTHROPIC_BASE_URL."""
        if self._server is None:
            raise RuntimeError("stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- recording -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def message_requests(self) -> list[RecordedRequest]:
        """The agent's main-loop ``/v1/messages`` calls (those carrying tools)."""
        return [r for r in self.requests if r.path == "/v1/messages" and r.has_tools]

    def record(self, request: RecordedRequest) -> None:
        """Append one request to the log (called from handler threads)."""
        with self._lock:
            self._requests.append(request)

    @property
    def deltas_sent(self) -> int:
        """How many ``content_block_delta`` events were written, over all streams so far.

        A test that must interrupt *during* a reply waits on this: an Escape that lands
        before the first token takes the prompt back into the input box instead.
        """
        with self._lock:
            return self._deltas_sent

    def count_delta(self) -> None:
        """Note one delta written (called from handler threads)."""
        with self._lock:
            self._deltas_sent += 1

    def reset(self) -> None:
        """Forget recorded requests and failure counters."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._deltas_sent = 0

    # -- the script ------------------------------------------------------------------

    def script(self, trigger: str, steps: Sequence[ToolStep], *, past_errors: bool = False) -> None:
        """Answer a prompt containing ``trigger`` with ``steps``' tool calls, in order.

        Scripts are tried in the order they were added, before the keywords above.
        ``past_errors``: a failed step does not end the turn (a script that expects some
        calls to be refused goes on to the next one).
        """
        with self._lock:
            self._scripts.append((trigger, tuple(steps), past_errors))

    def _scripted(self, body: Any) -> _Reply | None:
        prompt, done, last = scripted_turn(body)
        with self._lock:
            scripts = list(self._scripts)
        for trigger, steps, past_errors in scripts:
            if trigger not in prompt:
                continue
            error = _tool_error(last) if last is not None else ""
            if error and not past_errors:
                return _Reply(text=f"scripted step {done} failed: {error}")
            if done >= len(steps):
                return _Reply(text=TOOL_DONE_TEXT)
            name, tool_input = steps[done]()
            return _Reply(tool_name=name, tool_input=tool_input)
        return None

    def decide(self, body: Any) -> _Reply:
        """Pick the reply for one /v1/messages body from its last user message."""
        if not (isinstance(body, dict) and body.get("tools")):
            return _Reply(text=side_call_text(body))
        scripted = self._scripted(body)
        if scripted is not None:
            return scripted
        message = last_user_message(body)
        if message is None:
            return _Reply(text=DEFAULT_TEXT)
        if _has_tool_result(message):
            return _Reply(text=TOOL_DONE_TEXT)
        text = strip_reminders(message_text(message.get("content")))
        fail = _FAIL.search(text)
        if fail is not None:
            limit = int(fail.group(2)) if fail.group(2) else self.fail_times
            with self._lock:
                count = self._failures.get(text, 0)
                if limit is None or count < limit:
                    self._failures[text] = count + 1
                    return _Reply(error_status=int(fail.group(1)))
            return _Reply(text=f"recovered after {count} failures")
        slow = _SLOW.search(text)
        if slow is not None:
            seconds = float(slow.group(1))
            words = " ".join(f"word{i}" for i in range(max(4, int(seconds * 4))))
            return _Reply(text=words, stream_seconds=seconds)
        stall = _STALL.search(text)
        if stall is not None:
            return _Reply(text=DEFAULT_TEXT, stall_seconds=float(stall.group(1)))
        bash = _RUN_BASH.search(text)
        if bash is not None:
            command = bash.group(1).strip().splitlines()[0]
            return _Reply(
                tool_name="Bash",
                tool_input={"command": command, "description": "Run the requested command"},
            )
        write = _WRITE_FILE.search(text)
        if write is not None:
            return _Reply(
                tool_name="Write",
                tool_input={"file_path": write.group(1), "content": write.group(2)},
            )
        return _Reply(text=DEFAULT_TEXT)


def sse_events(reply: _Reply, model: str, input_tokens: int) -> Iterator[tuple[str, Any]]:
    """The (event name, data) pairs of one streamed Messages API reply."""
    message_id = f"msg_{uuid.uuid4().hex[:24]}"
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        },
    )
    output_tokens = 1
    if reply.tool_name is not None:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": reply.tool_name,
                    "input": {},
                },
            },
        )
        payload = json.dumps(reply.tool_input)
        # Two fragments, as the real API splits tool input JSON across deltas.
        half = len(payload) // 2
        for fragment in (payload[:half], payload[half:]):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": fragment},
                },
            )
        output_tokens += len(payload) // 4
        stop_reason = "tool_use"
    else:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        words = reply.text.split(" ")
        for i, word in enumerate(words):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                },
            )
        output_tokens += len(words)
        stop_reason = "end_turn"
    yield ("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    )
    yield ("message_stop", {"type": "message_stop"})


def json_message(reply: _Reply, model: str, input_tokens: int) -> dict[str, Any]:
    """The non-streamed Messages API body for the same reply."""
    content: list[dict[str, Any]]
    if reply.tool_name is not None:
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:24]}",
                "name": reply.tool_name,
                "input": reply.tool_input,
            }
        ]
        stop_reason = "tool_use"
    else:
        content = [{"type": "text", "text": reply.text}]
        stop_reason = "end_turn"
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 5},
    }


def _error_body(status: int) -> dict[str, Any]:
    kind = "rate_limit_error" if status == 429 else "api_error"
    message = "Rate limited by the stand-in" if status == 429 else "Internal server error"
    return {"type": "error", "error": {"type": kind, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; ``owner`` is bound to the running stand-in by a subclass."""

    owner: AnthropicStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # The request log is the record; stderr noise would drown pytest output.
        return

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        body = self._read_body() if self.command in ("POST", "PUT", "PATCH") else None
        record = RecordedRequest(
            method=self.command, path=split.path, query=split.query, body=body, at=time.time()
        )
        self.owner.record(record)
        try:
            self._respond(split.path, body, record)
        except ConnectionError:
            # The CLI gave up on this request (user interrupt, its own timeout).
            self.close_connection = True

    def _respond(self, path: str, body: Any, record: RecordedRequest) -> None:
        input_tokens = max(1, len(json.dumps(body)) // 4) if body is not None else 1
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            record.status = 200
            self._send_json(200, {"input_tokens": input_tokens})
            return
        if self.command != "POST" or path != "/v1/messages":
            record.status = 404
            error = {"type": "not_found_error", "message": f"{self.command} {path}"}
            self._send_json(404, {"type": "error", "error": error})
            return
        reply = self.owner.decide(body)
        if reply.stall_seconds:
            time.sleep(reply.stall_seconds)
        if reply.error_status is not None:
            # Only 429 carries retry-after, as the real API's rate-limit answers do; a 500
            # leaves the back-off entirely to the CLI's own retry policy.
            extra = {}
            if reply.error_status == 429:
                extra["retry-after"] = str(self.owner.retry_after)
            record.status = reply.error_status
            self._send_json(reply.error_status, _error_body(reply.error_status), extra)
            return
        model = self.owner.model
        if isinstance(body, dict) and body.get("model"):
            model = str(body["model"])
        record.status = 200
        if isinstance(body, dict) and body.get("stream"):
            self._stream(reply, model, input_tokens)
        else:
            self._send_json(200, json_message(reply, model, input_tokens))

    def _stream(self, reply: _Reply, model: str, input_tokens: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        self.end_headers()
        self.close_connection = True
        events = list(sse_events(reply, model, input_tokens))
        deltas = sum(1 for name, _ in events if name == "content_block_delta")
        pause = reply.stream_seconds / deltas if deltas else 0.0
        for name, data in events:
            chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            self.wfile.write(chunk)
            self.wfile.flush()
            if name == "content_block_delta":
                self.owner.count_delta()
                if pause:
                    time.sleep(pause)

    def do_POST(self) -> None:
        """Answer a POST (messages, count_tokens, or a logged 404)."""
        self._handle()

    def do_GET(self) -> None:
        """Answer a GET with a logged 404."""
        self._handle()

    def do_HEAD(self) -> None:
        """Answer a HEAD with a logged 404."""
        self._handle()
