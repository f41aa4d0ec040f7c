"""A scripted stand-in for the OpenAI Responses API (streaming), on 127.0.0.1, for offline tests.

The real Codex CLI is pointed at it through a custom model provider (``base_url`` in its
``config.toml``, ``wire_api = "responses"``). Codex POSTs ``<base_url>/responses`` with
``stream: true`` and reads server-sent events: ``response.created``,
``response.output_item.added``, ``response.output_text.delta``, ``response.output_item.done``
and ``response.completed`` (with ``usage``). Each reply is chosen from the text of the last
user message, so a test steers the agent by what it types:

``RUN_SHELL <command>``
    a call of the shell tool the request offers, asking for escalated permissions (outside
    the sandbox), which Codex puts to the operator under ``--ask-for-approval on-request``.
``SLOW <seconds>``
    a text reply streamed evenly over that many seconds (to interrupt it mid-stream).
``FAIL500`` / ``FAIL500 <n>``
    HTTP 500 for that prompt: every time, or only the first ``n`` times.
anything else
    a short text reply.

A request whose newest input item is a tool result is answered ``done``. Every request is
recorded (path, parsed body, time); all state is guarded by one lock because the server
answers on many threads.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from tests.e2e.standin_server import JsonHandler, RecordedRequest, ScriptedReply, StandinServer

_FAIL = re.compile(r"\bFAIL500(?:[ \t]+(\d+))?")
_SLOW = re.compile(r"\bSLOW[ \t]+(\d+(?:\.\d+)?)")
_RUN_SHELL = re.compile(r"\bRUN_SHELL[ \t]+(.+)", re.DOTALL)

DEFAULT_TEXT = "Hello from the stand-in."
TOOL_DONE_TEXT = "done"


def _item_text(item: dict[str, Any]) -> str:
    """The plain text of one input message item."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        str(part.get("text", ""))
        for part in content
        if isinstance(part, dict) and part.get("type") in ("input_text", "text")
    )


def last_user_text(body: Any) -> str:
    """The text of the newest user message of a request ("" if none)."""
    items = body.get("input") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return ""
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user":
            text = _item_text(item)
            # Codex sends its environment context and instructions as user messages too.
            if text.lstrip().startswith("<"):
                continue
            return text
    return ""


def ends_on_tool_result(body: Any) -> bool:
    """True when the newest input item answers a tool call."""
    items = body.get("input") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return False
    last = items[-1]
    return isinstance(last, dict) and str(last.get("type", "")).endswith("_call_output")


def shell_call(body: Any, command: str) -> tuple[str, dict[str, Any]]:
    """A call of whichever shell tool the request offers, run outside the sandbox."""
    names: list[str] = []
    tools = body.get("tools") if isinstance(body, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            names.append(tool["name"])
    escalate = {"sandbox_permissions": "require_escalated", "justification": "stand-in test"}
    if "exec_command" in names:
        return "exec_command", {"cmd": command, **escalate}
    if "shell_command" in names:
        return "shell_command", {"command": command, **escalate}
    return "shell", {"command": ["bash", "-lc", command], **escalate}


class ResponsesStandin(StandinServer[RecordedRequest]):
    """The server: start it (or use it as a context manager), point Codex at :attr:`base_url`."""

    def __init__(self) -> None:
        """Bind a free port on 127.0.0.1; nothing is served until :meth:`start`."""
        super().__init__(_Handler)

    @property
    def base_url(self) -> str:
        """The provider ``base_url`` (Codex appends ``/responses``)."""
        return f"{self.origin}/v1"

    def requests_after(self, text: str) -> float | None:
        """When the first ``/responses`` request whose body holds ``text`` arrived."""
        for request in self.requests:
            if request.path.endswith("/responses") and text in json.dumps(request.body):
                return request.at
        return None

    def decide(self, body: Any) -> ScriptedReply:
        """The reply for one request, from its newest user message."""
        if ends_on_tool_result(body):
            return ScriptedReply(text=TOOL_DONE_TEXT)
        text = last_user_text(body)
        fail = _FAIL.search(text)
        times = fail.group(1) if fail else None
        if fail and self.fails_now(text, None if times is None else int(times)):
            return ScriptedReply(error_status=500)
        run = _RUN_SHELL.search(text)
        if run:
            name, arguments = shell_call(body, run.group(1).strip().splitlines()[0])
            return ScriptedReply(tool_name=name, tool_arguments=arguments)
        slow = _SLOW.search(text)
        if slow:
            seconds = float(slow.group(1))
            words = " ".join(f"word{i}" for i in range(max(4, int(seconds * 4))))
            return ScriptedReply(text=words, stream_seconds=seconds)
        return ScriptedReply(text=DEFAULT_TEXT)


def sse_events(reply: ScriptedReply, model: str) -> Iterator[tuple[str, dict[str, Any], float]]:
    """The events of one streamed response, each with the pause before it."""
    response_id = f"resp_{uuid.uuid4().hex[:20]}"
    base = {"id": response_id, "object": "response", "model": model, "status": "in_progress"}
    yield "response.created", {"response": {**base, "output": []}}, 0.0
    output: list[dict[str, Any]] = []
    if reply.tool_name is not None:
        item = {
            "type": "function_call",
            "id": f"fc_{uuid.uuid4().hex[:20]}",
            "call_id": f"call_{uuid.uuid4().hex[:20]}",
            "name": reply.tool_name,
            "arguments": json.dumps(reply.tool_arguments or {}),
            "status": "completed",
        }
        yield "response.output_item.added", {"output_index": 0, "item": item}, 0.0
        yield "response.output_item.done", {"output_index": 0, "item": item}, 0.0
        output.append(item)
    else:
        message_id = f"msg_{uuid.uuid4().hex[:20]}"
        empty = {"type": "message", "id": message_id, "role": "assistant", "content": []}
        yield "response.output_item.added", {"output_index": 0, "item": empty}, 0.0
        pieces = reply.text.split(" ")
        pause = reply.stream_seconds / max(1, len(pieces))
        for index, piece in enumerate(pieces):
            delta = piece if index == 0 else " " + piece
            event = {"item_id": message_id, "output_index": 0, "content_index": 0, "delta": delta}
            yield "response.output_text.delta", event, pause
        done = {
            **empty,
            "status": "completed",
            "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
        }
        yield "response.output_item.done", {"output_index": 0, "item": done}, 0.0
        output.append(done)
    usage = {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 132,
    }
    completed = {**base, "status": "completed", "output": output, "usage": usage}
    yield "response.completed", {"response": completed}, 0.0


class _Handler(JsonHandler):
    """Answers ``POST …/responses``; anything else gets an empty JSON object."""

    owner: ResponsesStandin

    def do_POST(self) -> None:
        """Serve one API call."""
        body = self.read_json()
        record = RecordedRequest("POST", self.path, body, time.time())
        self.owner.record(record)
        if not self.path.rstrip("/").endswith("/responses"):
            record.status = 200
            self.send_json(200, {})
            return
        reply = self.owner.decide(body)
        if reply.error_status is not None:
            record.status = reply.error_status
            error = {"message": "stand-in failure", "type": "server_error", "code": None}
            self.send_json(reply.error_status, {"error": error})
            return
        record.status = 200
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        self.send_events(
            (f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode(), pause)
            for name, data, pause in sse_events(reply, model)
        )

    def do_GET(self) -> None:
        """Recorded, and answered with empty model lists."""
        self.owner.record(RecordedRequest("GET", self.path, None, time.time()))
        self.send_json(200, {"models": [], "data": []})
