"""A scripted stand-in for the Gemini API (``v1beta``), on 127.0.0.1, for offline tests.

The real Gemini CLI is pointed at it with ``GOOGLE_GEMINI_BASE_URL`` (plain HTTP is allowed
for 127.0.0.1) and any ``GEMINI_API_KEY`` (sent as the ``x-goog-api-key`` header). It calls:

``POST /v1beta/models/<model>:streamGenerateContent?alt=sse``
    the conversation. Answered with server-sent events, one ``data: <GenerateContentResponse
    JSON>`` line each, separated by blank lines: ``candidates[0].content`` is ``{"role":
    "model", "parts": [...]}`` with text parts or one ``functionCall`` part; the last chunk
    carries ``finishReason: "STOP"`` and ``usageMetadata``.
``POST /v1beta/models/<model>:generateContent``
    side calls (a model-router classifier, a next-speaker or loop check, a session summary).
    One JSON ``GenerateContentResponse``: when the request asks for JSON
    (``generationConfig.responseJsonSchema`` / ``responseSchema``) its text is an instance of
    that schema, made up so the CLI reads it as "no change": the ``user`` speaks next, no
    loop, the ``flash`` model; otherwise a short text.
``POST /v1beta/models/<model>:countTokens``
    ``{"totalTokens": …}`` (a rough count of the body).

Anything else is recorded and answered 404. The conversation reply is chosen from the text
parts of the newest ``user`` content (not the ``<session_context>`` preamble the CLI puts
first), so a test steers the agent by what it types:

``RUN_SHELL <command>``
    a call of the shell tool the request declares (``run_shell_command`` with ``command``
    and ``description``), which the CLI puts to the operator in its default approval mode.
``WRITE_FILE <path> <text>``
    a call of the file-writing tool (``write_file`` with ``file_path`` and ``content``).
``SLOW <seconds>``
    a text reply streamed evenly over that many seconds (to interrupt it mid-stream).
``FAIL500`` / ``FAIL500 <n>``
    HTTP 500 ``INTERNAL`` for that prompt: every time, or only the first ``n`` times.
    ``FAIL400`` (``INVALID_ARGUMENT``, not retried) and ``FAIL429`` (``RESOURCE_EXHAUSTED``)
    work the same way.
anything else
    a short text reply.

A request whose newest content is a tool result (a ``functionResponse`` part) is answered
``done``. Every request is recorded (method, path, parsed body, time, status); all state is
guarded by one lock because the server answers on many threads.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from tests.e2e.standin_server import JsonHandler, RecordedRequest, ScriptedReply, StandinServer

_FAIL = re.compile(r"\bFAIL(400|429|500)(?:[ \t]+(\d+))?")
_SLOW = re.compile(r"\bSLOW[ \t]+(\d+(?:\.\d+)?)")
_RUN_SHELL = re.compile(r"\bRUN_SHELL[ \t]+(.+)", re.DOTALL)
_WRITE_FILE = re.compile(r"\bWRITE_FILE[ \t]+(\S+)[ \t]*(.*)", re.DOTALL)
_METHOD = re.compile(r"^/v1[a-z0-9]*/models/([^/:?]+):([A-Za-z]+)")

DEFAULT_TEXT = "Hello from the stand-in."
TOOL_DONE_TEXT = "done"
SIDE_TEXT = "Stand-in summary."
"""The text of a side call (``generateContent`` without a JSON schema)."""

ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}
"""The Google RPC status name of each HTTP status the stand-in answers with."""

_PREFERRED_ENUM = ("user", "flash", "false", "no")
"""Enum values a made-up side-call answer picks when offered: the user speaks next (next
speaker check), the flash model will do (router classifier), nothing is wrong."""


def _contents(body: Any) -> list[dict[str, Any]]:
    """The ``contents`` of a request (``[]`` if none)."""
    contents = body.get("contents") if isinstance(body, dict) else None
    if not isinstance(contents, list):
        return []
    return [content for content in contents if isinstance(content, dict)]


def _parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of one content."""
    parts = content.get("parts")
    if not isinstance(parts, list):
        return []
    return [part for part in parts if isinstance(part, dict)]


def last_user_text(body: Any) -> str:
    """The text of the newest user content of a request ("" if none).

    The CLI's own preamble (``<session_context>`` and the like) is skipped, both as a whole
    content and as a leading text part of the prompt's content.
    """
    for content in reversed(_contents(body)):
        if content.get("role", "user") != "user":
            continue
        texts = [
            str(part["text"])
            for part in _parts(content)
            if isinstance(part.get("text"), str) and not str(part["text"]).lstrip().startswith("<")
        ]
        if texts:
            return "\n".join(texts)
    return ""


def ends_on_tool_result(body: Any) -> bool:
    """True when the newest content answers a tool call (holds a ``functionResponse``)."""
    contents = _contents(body)
    if not contents:
        return False
    return any("functionResponse" in part for part in _parts(contents[-1]))


def model_of(path: str) -> str:
    """The model named in a request path ("" if none)."""
    match = _METHOD.match(path)
    return match.group(1) if match else ""


def method_of(path: str) -> str:
    """The API method of a request path (``streamGenerateContent`` …; "" if none)."""
    match = _METHOD.match(path)
    return match.group(2) if match else ""


def _declarations(body: Any) -> dict[str, dict[str, Any]]:
    """The function declarations a request offers, by name."""
    found: dict[str, dict[str, Any]] = {}
    tools = body.get("tools") if isinstance(body, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        for declaration in declarations if isinstance(declarations, list) else []:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                found[declaration["name"]] = declaration
    return found


def _properties(declaration: dict[str, Any]) -> list[str]:
    """The parameter names of one function declaration."""
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return list(properties) if isinstance(properties, dict) else []


def _pick(names: list[str], wanted: tuple[str, ...], fallback: str) -> str:
    """The first of ``wanted`` that is in ``names``, else ``fallback``."""
    return next((name for name in wanted if name in names), fallback)


def shell_call(body: Any, command: str) -> tuple[str, dict[str, Any]]:
    """A call of the shell tool the request declares."""
    declarations = _declarations(body)
    name = "run_shell_command"
    if name not in declarations:
        name = next((n for n in declarations if "shell" in n), name)
    params = _properties(declarations.get(name, {}))
    arguments: dict[str, Any] = {_pick(params, ("command", "cmd"), "command"): command}
    if not params or "description" in params:
        arguments["description"] = "Run the command the test asked for."
    return name, arguments


def write_call(body: Any, path: str, text: str) -> tuple[str, dict[str, Any]]:
    """A call of the file-writing tool the request declares."""
    declarations = _declarations(body)
    name = "write_file"
    if name not in declarations:
        name = next((n for n in declarations if "write" in n and "file" in n), name)
    params = _properties(declarations.get(name, {}))
    path_key = _pick(params, ("file_path", "absolute_path", "path"), "file_path")
    content_key = _pick(params, ("content", "contents", "text"), "content")
    return name, {path_key: path, content_key: text}


def schema_instance(schema: Any) -> Any:
    """A value matching a JSON schema (or the API's upper-case ``Schema``), made up."""
    if not isinstance(schema, dict):
        return "stand-in"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return next((value for value in _PREFERRED_ENUM if value in enum), enum[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    kind = str(kind or ("object" if "properties" in schema else "string")).lower()
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {key: schema_instance(value) for key, value in properties.items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind in ("number", "integer"):
        # A confidence (number) of 0 means nothing is wrong; a score (integer) of 1 is the
        # lowest complexity the numerical router accepts (1-100).
        minimum = schema.get("minimum")
        if isinstance(minimum, int | float):
            return minimum
        return 1 if kind == "integer" else 0
    return "stand-in"


def side_reply(body: Any, model: str) -> dict[str, Any]:
    """The ``GenerateContentResponse`` of one ``generateContent`` side call."""
    config = body.get("generationConfig") if isinstance(body, dict) else None
    config = config if isinstance(config, dict) else {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None or config.get("responseMimeType") == "application/json":
        text = json.dumps(schema_instance(schema) if schema is not None else {})
    else:
        text = SIDE_TEXT
    return response_chunk([{"text": text}], model, finish=True)


def response_chunk(parts: list[dict[str, Any]], model: str, *, finish: bool) -> dict[str, Any]:
    """One ``GenerateContentResponse`` from ``model``; the last one of a reply carries the
    finish reason and the token usage."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model or "stand-in"}
    if finish:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {
            "promptTokenCount": 120,
            "candidatesTokenCount": 12,
            "totalTokenCount": 132,
        }
    return chunk


def stream_chunks(reply: ScriptedReply, model: str) -> Iterator[tuple[dict[str, Any], float]]:
    """The chunks of one streamed reply, each with the pause before it."""
    if reply.tool_name is not None:
        call = {"name": reply.tool_name, "args": reply.tool_arguments or {}}
        yield response_chunk([{"functionCall": call}], model, finish=True), 0.0
        return
    pieces = reply.text.split(" ")
    pause = reply.stream_seconds / max(1, len(pieces))
    for index, piece in enumerate(pieces):
        text = piece if index == 0 else " " + piece
        last = index == len(pieces) - 1
        yield response_chunk([{"text": text}], model, finish=last), pause


def error_payload(status: int) -> dict[str, Any]:
    """A Google-style error body for one HTTP status."""
    name = ERROR_STATUS.get(status, "UNKNOWN")
    return {"error": {"code": status, "message": f"stand-in failure ({name})", "status": name}}


class GeminiStandin(StandinServer[RecordedRequest]):
    """The server: start it (or use it as a context manager), point the Gemini CLI at
    :attr:`base_url`."""

    def __init__(self) -> None:
        """Bind a free port on 127.0.0.1; nothing is served until :meth:`start`."""
        super().__init__(_Handler)

    @property
    def base_url(self) -> str:
        """The value of ``GOOGLE_GEMINI_BASE_URL`` (the SDK appends ``/v1beta/models/…``)."""
        return self.origin

    def requests_after(self, text: str) -> float | None:
        """When the first ``streamGenerateContent`` request whose body holds ``text``
        arrived."""
        for request in self.requests:
            if method_of(request.path) == "streamGenerateContent" and text in json.dumps(
                request.body
            ):
                return request.at
        return None

    def decide(self, body: Any) -> ScriptedReply:
        """The reply for one conversation request, from its newest user content."""
        if ends_on_tool_result(body):
            return ScriptedReply(text=TOOL_DONE_TEXT)
        text = last_user_text(body)
        fail = _FAIL.search(text)
        times = fail.group(2) if fail else None
        if fail and self.fails_now(text, None if times is None else int(times)):
            return ScriptedReply(error_status=int(fail.group(1)))
        run = _RUN_SHELL.search(text)
        if run:
            name, arguments = shell_call(body, run.group(1).strip().splitlines()[0])
            return ScriptedReply(tool_name=name, tool_arguments=arguments)
        write = _WRITE_FILE.search(text)
        if write:
            name, arguments = write_call(body, write.group(1), write.group(2).strip())
            return ScriptedReply(tool_name=name, tool_arguments=arguments)
        slow = _SLOW.search(text)
        if slow:
            seconds = float(slow.group(1))
            words = " ".join(f"word{i}" for i in range(max(4, int(seconds * 4))))
            return ScriptedReply(text=words, stream_seconds=seconds)
        return ScriptedReply(text=DEFAULT_TEXT)


class _Handler(JsonHandler):
    """Answers the ``v1beta/models/<model>:<method>`` calls; anything else gets a 404."""

    owner: GeminiStandin

    def _answer(self, record: RecordedRequest, status: int, payload: Any) -> None:
        """Answer with one JSON document, and note its status on the record."""
        record.status = status
        self.send_json(status, payload, "application/json; charset=UTF-8")

    def do_POST(self) -> None:
        """Serve one API call."""
        body = self.read_json()
        record = RecordedRequest("POST", self.path, body, time.time())
        self.owner.record(record)
        method = method_of(self.path)
        if method == "countTokens":
            self._answer(record, 200, {"totalTokens": max(1, len(json.dumps(body)) // 4)})
            return
        if method == "generateContent":
            self._answer(record, 200, side_reply(body, model_of(self.path)))
            return
        if method != "streamGenerateContent":
            self._answer(record, 404, error_payload(404))
            return
        reply = self.owner.decide(body)
        if reply.error_status is not None:
            self._answer(record, reply.error_status, error_payload(reply.error_status))
            return
        record.status = 200
        chunks = stream_chunks(reply, model_of(self.path))
        self.send_events((f"data: {json.dumps(chunk)}\n\n".encode(), p) for chunk, p in chunks)

    def do_GET(self) -> None:
        """Nothing is served by GET: recorded and answered 404."""
        record = RecordedRequest("GET", self.path, None, time.time())
        self.owner.record(record)
        self._answer(record, 404, error_payload(404))
