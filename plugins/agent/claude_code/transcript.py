"""Tolerant reader of Claude Code transcripts (``projects/<enc>/<uuid>.jsonl``).

Anthropic calls the format internal, so every line is parsed defensively: a malformed line
or an unknown record type is counted, never raised. Lines are folded one at a time into a
:class:`TranscriptState`, which is what the incremental tailer needs: the state after
``fold(a); fold(b)`` equals the state after reading ``a`` and ``b`` together.

What the state tracks, and why:

- tool calls not yet answered by a ``tool_result`` (while a permission prompt waits the
  transcript ends on the ``tool_use`` and nothing more is written);
- user interrupts (``[Request interrupted by user…]``), which fire no hook;
- API errors: ``system``/``api_error`` lines while retrying (still working; 2.1.197 writes
  none), then a synthetic assistant line (``isApiErrorMessage: true`` / model
  ``<synthetic>``), followed by a turn marker, when Claude gives up (an error);
- turn ends (``system`` ``turn_duration`` / ``stop_hook_summary``), since ``stop_reason``
  is null on most assistant lines; and a Stop hook starting (``progress``/``hook_progress``,
  2.1.x), since those markers are written only once the hooks finish;
- the recent user prompts with their times, the proof that an injected message arrived;
- token usage, deduplicated per API message (each content block is its own line and
  repeats the message's usage).

Sidechain lines (``isSidechain: true``: subagents) are counted but do not move the main state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.activity.jsonl import ConversationFold
from core.activity.received import UserPrompt, parse_timestamp
from core.activity.retries import retrying_detail
from core.activity.run_start import RunStart
from core.models import ActivitySignal, ActivityState, SignalSource

KNOWN_TYPES = frozenset(
    {
        "user",
        "assistant",
        "system",
        "attachment",
        "progress",
        "file-history-snapshot",
        "queue-operation",
        "summary",
        "last-prompt",
        "permission-mode",
        "mode",
        "ai-title",
        "custom-title",
        "agent-name",
    }
)
"""Record types understood or knowingly ignored; anything else is counted as unknown."""

TURN_END_SUBTYPES = frozenset({"turn_duration", "stop_hook_summary"})
"""``system`` subtypes Claude writes when a turn is over."""

API_ERROR_SUBTYPES = frozenset({"api_error", "error"})
"""``system`` subtypes that report a failed API call Claude is retrying."""

INTERRUPT_PREFIX = "[Request interrupted by user"
LOCAL_COMMAND_OUTPUT = ("<local-command-stdout>", "<local-command-stderr>")
"""How the output of a finished slash command starts."""
MAX_PROMPTS = 20
"""How many recent user prompts to keep for delivery confirmation."""
MAX_TEXT = 2000
"""Longest assistant text kept (the detail view shows the start of it)."""

_COMMAND_NAME = re.compile(r"<command-name>(.*?)</command-name>", re.DOTALL)
_COMMAND_ARGS = re.compile(r"<command-args>(.*?)</command-args>", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    """One ``tool_use`` block: which tool, on what, and when it was requested."""

    id: str
    name: str
    command: str = ""
    """The command (Bash), file path (Read/Edit/Write) or other main argument, shortened."""
    at: float | None = None

    def describe(self) -> str:
        """``Bash: rm -rf build`` — what the detail view shows."""
        return f"{self.name}: {self.command}" if self.command else self.name


@dataclass(frozen=True)
class ApiError:
    """An API failure: retrying (``final`` False) or given up (``final`` True)."""

    message: str
    at: float | None
    final: bool
    retry_attempt: int | None = None
    max_retries: int | None = None

    def describe(self) -> str:
        """``API error (retry 3/10): overloaded`` or ``API error: overloaded``."""
        if self.final and self.message.lower().startswith("api error"):
            return self.message
        head = "API error"
        if not self.final and self.retry_attempt is not None:
            head += f" (retry {self.retry_attempt}/{self.max_retries or '?'})"
        return f"{head}: {self.message}" if self.message else head


def tool_argument(name: str, tool_input: Any) -> str:
    """The argument worth showing for a tool call: command, file path, pattern, URL…"""
    if not isinstance(tool_input, dict):
        return ""
    for key in ("command", "file_path", "notebook_path", "path", "pattern", "url", "query"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return _shorten(value, 300)
    for key in ("description", "prompt"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return _shorten(value, 120)
    return ""


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_blocks(content: Any) -> list[str]:
    """The text of a message's ``content`` (a string or a list of blocks)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]


def prompt_text(raw: str) -> str | None:
    """The prompt a user line stands for, or None for local-command noise.

    Slash commands are recorded as ``<command-name>/x</command-name>…<command-args>y…``; they
    become ``/x y`` so a sent ``/compact`` can be recognised.
    """
    stripped = raw.strip()
    if stripped.startswith(("<local-command-", "<bash-stdout>", "<bash-stderr>")):
        return None
    name = _COMMAND_NAME.search(stripped)
    if name:
        args = _COMMAND_ARGS.search(stripped)
        arg_text = args.group(1).strip() if args else ""
        return f"{name.group(1).strip()} {arg_text}".strip()
    return raw


@dataclass
class TranscriptState(ConversationFold):
    """Everything the main (non-sidechain) conversation says about the agent, folded so far.

    ``last_event`` names what the newest meaningful line was: prompt, assistant_text,
    thinking, tool_use, tool_result, interrupt, api_retry, api_error, turn_end,
    local_command.
    """

    sidechain: int = 0
    last_entry_at: float | None = None
    """Timestamp of the newest main-chain line with one."""
    last_assistant_text: str = ""
    last_assistant_at: float | None = None
    last_stop_reason: str | None = None
    pending_tools: dict[str, ToolCall] = field(default_factory=dict)
    """tool_use blocks with no tool_result yet, oldest first."""
    last_tool: ToolCall | None = None
    interrupted_at: float | None = None
    api_error: ApiError | None = None
    """The current API failure; cleared by the next real assistant line."""
    turn_ended_at: float | None = None
    prompts: list[UserPrompt] = field(default_factory=list)
    queued: list[UserPrompt] = field(default_factory=list)
    """Messages typed while the agent was busy (``queue-operation`` enqueue)."""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    model: str = ""
    """The model of the newest real assistant line ("" before one)."""
    _message_id: str = ""
    _message_usage: tuple[int, int, int, int] = (0, 0, 0, 0)
    _synthetic_ids: int = 0
    _run: RunStart = field(default_factory=RunStart, repr=False, compare=False)

    # -- folding -------------------------------------------------------------------------

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one decoded transcript record; a known type in an odd shape is counted."""
        try:
            self._fold_entry(entry)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # A known type with an unexpected shape: count it, keep what was folded.
            self.note_malformed(f"a {entry.get('type')!r} entry of an unexpected shape ({exc})")
        self._run.note(self._signal(with_detail=False))

    def _fold_entry(self, entry: dict[str, Any]) -> None:
        """Dispatch one decoded record by its ``type``."""
        kind = entry.get("type")
        if not isinstance(kind, str):
            self.count_unknown("<none>")
            return
        if kind not in KNOWN_TYPES:
            self.count_unknown(kind)
            return
        if entry.get("isSidechain") is True:
            self.sidechain += 1
            return
        at = parse_timestamp(entry.get("timestamp"))
        self.note_identity(entry, session_id_key="sessionId", cwd_key="cwd", version_key="version")
        if at is not None and (self.last_entry_at is None or at >= self.last_entry_at):
            self.last_entry_at = at
        if kind == "user":
            self._fold_user(entry, at)
        elif kind == "assistant":
            self._fold_assistant(entry, at)
        elif kind == "system":
            self._fold_system(entry, at)
        elif kind == "queue-operation":
            self._fold_queue(entry, at)
        elif kind == "progress":
            self._fold_progress(entry, at)

    def _fold_user(self, entry: dict[str, Any], at: float | None) -> None:
        """Tool results, interrupts and prompts all arrive as ``user`` lines."""
        message = entry.get("message")
        if not isinstance(message, dict):
            return
        content = message.get("content")
        if isinstance(content, list):
            answered = False
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    tool_id = block.get("tool_use_id")
                    if isinstance(tool_id, str):
                        self.pending_tools.pop(tool_id, None)
                    answered = True
            if answered:
                self.note_event("tool_result", at)
                return
        texts = _text_blocks(content)
        if any(text.lstrip().startswith(INTERRUPT_PREFIX) for text in texts):
            # The interrupted tool calls will never get a result.
            self.pending_tools.clear()
            self.interrupted_at = at
            self.note_event("interrupt", at)
            return
        if entry.get("isMeta") is True or entry.get("isCompactSummary") is True:
            return
        joined = "\n".join(texts)
        if joined.lstrip().startswith(LOCAL_COMMAND_OUTPUT):
            # A slash command (``/compact``, ``/mcp``) finished; Claude waits for input again.
            self.note_event("local_command", at)
            return
        text = prompt_text(joined) if joined else None
        if text is None or not text.strip():
            return
        self.prompts.append(UserPrompt(text=text, at=at))
        del self.prompts[:-MAX_PROMPTS]
        self.pending_tools.clear()
        self.api_error = None
        self.interrupted_at = None
        self.note_event("prompt", at)

    def _fold_assistant(self, entry: dict[str, Any], at: float | None) -> None:
        """Assistant lines: one content block each (text, tool_use, thinking)."""
        message = entry.get("message")
        if not isinstance(message, dict):
            return
        model = message.get("model")
        texts = _text_blocks(message.get("content"))
        if entry.get("isApiErrorMessage") is True or (
            model == "<synthetic>" and _is_error_text(entry, texts)
        ):
            self.api_error = ApiError(
                message=_shorten(" ".join(texts).strip(), 300), at=at, final=True
            )
            self.pending_tools.clear()
            self.note_event("api_error", at)
            return
        if model == "<synthetic>":
            # e.g. "No response requested." after an interrupt: not the model speaking.
            return
        self._count_usage(message)
        if isinstance(model, str) and model:
            self.model = model
        self.api_error = None
        stop_reason = message.get("stop_reason")
        self.last_stop_reason = stop_reason if isinstance(stop_reason, str) else None
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}]
        for block in blocks:
            if not isinstance(block, dict):
                continue
            block_type = block.get("type")
            if block_type == "tool_use":
                name = block.get("name") if isinstance(block.get("name"), str) else "tool"
                tool_id = block.get("id")
                if not isinstance(tool_id, str) or not tool_id:
                    self._synthetic_ids += 1
                    tool_id = f"<no-id-{self._synthetic_ids}>"
                call = ToolCall(
                    id=tool_id,
                    name=str(name),
                    command=tool_argument(str(name), block.get("input")),
                    at=at,
                )
                self.pending_tools[tool_id] = call
                self.last_tool = call
                self.note_event("tool_use", at)
            elif block_type == "text" and isinstance(block.get("text"), str):
                text = block["text"]
                if text.strip():
                    self.last_assistant_text = _shorten(text.strip(), MAX_TEXT)
                    self.last_assistant_at = at
                    self.note_event("assistant_text", at)
            elif block_type in ("thinking", "redacted_thinking"):
                self.note_event("thinking", at)

    def _count_usage(self, message: dict[str, Any]) -> None:
        """Add a message's usage once, even though each of its blocks repeats it."""
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        numbers = tuple(
            _int(usage.get(key))
            for key in (
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            )
        )
        current = (numbers[0], numbers[1], numbers[2], numbers[3])
        message_id = message.get("id")
        message_id = message_id if isinstance(message_id, str) else ""
        if message_id and message_id == self._message_id:
            previous = self._message_usage
        else:
            previous = (0, 0, 0, 0)
        self._message_id = message_id
        self._message_usage = current
        self.input_tokens += current[0] - previous[0]
        self.output_tokens += current[1] - previous[1]
        self.cache_read_tokens += current[2] - previous[2]
        self.cache_creation_tokens += current[3] - previous[3]

    def _fold_system(self, entry: dict[str, Any], at: float | None) -> None:
        """Turn ends and API retries; other subtypes (compaction, local commands) are noise."""
        subtype = entry.get("subtype")
        if subtype in TURN_END_SUBTYPES:
            self._end_turn(at)
        elif subtype in API_ERROR_SUBTYPES:
            error = entry.get("error")
            self.api_error = ApiError(
                message=_error_message(error),
                at=at,
                final=False,
                retry_attempt=_int_or_none(entry.get("retryAttempt")),
                max_retries=_int_or_none(entry.get("maxRetries")),
            )
            self.note_event("api_retry", at)
        elif subtype == "local_command":
            content = entry.get("content")
            if isinstance(content, str) and content.lstrip().startswith(LOCAL_COMMAND_OUTPUT):
                self.note_event("local_command", at)
        elif subtype == "api_refusal":
            explanation = entry.get("apiRefusalExplanation")
            self.api_error = ApiError(
                message=f"refused: {explanation}" if isinstance(explanation, str) else "refused",
                at=at,
                final=True,
            )
            self.note_event("api_error", at)

    def _fold_progress(self, entry: dict[str, Any], at: float | None) -> None:
        """A Stop hook starting ends the turn: Claude fires Stop only once it is over."""
        data = entry.get("data")
        if isinstance(data, dict) and (data.get("type"), data.get("hookEvent")) == (
            "hook_progress",
            "Stop",
        ):
            self._end_turn(at)

    def _end_turn(self, at: float | None) -> None:
        """The turn is over: no tool call is still pending."""
        self.turn_ended_at = at
        self.pending_tools.clear()
        self.note_event("turn_end", at)

    def _fold_queue(self, entry: dict[str, Any], at: float | None) -> None:
        """Messages typed while busy are queued before they become prompts."""
        if entry.get("operation") == "enqueue" and isinstance(entry.get("content"), str):
            self.queued.append(UserPrompt(text=entry["content"], at=at))
            del self.queued[:-MAX_PROMPTS]

    # -- reading -------------------------------------------------------------------------

    @property
    def last_prompt(self) -> UserPrompt | None:
        """The newest user prompt, if any."""
        return self.prompts[-1] if self.prompts else None

    @property
    def unknown_count(self) -> int:
        """How many lines had a record type this reader does not know."""
        return sum(self.unknown_types.values())

    def signal(self) -> ActivitySignal | None:
        """The activity this transcript alone suggests, or None when it says nothing yet.

        The transcript cannot see a permission prompt (it ends on the ``tool_use`` either
        way) nor, reliably, a turn end without a ``turn_duration``/``stop_hook_summary``
        line; fusion weighs it accordingly. ``began`` dates the state from the first entry
        of the run that says the same (the turn's first line while it works).
        """
        return self._run.stamp(self._signal())

    def _signal(self, *, with_detail: bool = True) -> ActivitySignal | None:
        """The signal; without its detail text when only the state is wanted (each line)."""
        event, at = self.last_event, self.last_event_at
        if not event or at is None:
            return None
        source = SignalSource.TRANSCRIPT
        if event == "interrupt":
            return ActivitySignal(ActivityState.IDLE, source, at, "interrupted by user")
        error = self.api_error.describe() if with_detail and self.api_error else ""
        if event == "api_error" and self.api_error is not None:
            return ActivitySignal(ActivityState.ERROR, source, at, error)
        if event == "api_retry" and self.api_error is not None:
            # Not an error yet (only the final synthetic message is), but no progress either.
            api = self.api_error
            detail = (
                retrying_detail(api.retry_attempt or "?", api.max_retries, api.message)
                if with_detail
                else ""
            )
            return ActivitySignal(ActivityState.RETRYING, source, at, detail)
        if event == "turn_end":
            if self.api_error is not None and self.api_error.final:
                # Claude closes a turn that failed on the API with a turn marker too.
                return ActivitySignal(ActivityState.ERROR, source, at, error)
            idle = self._idle_detail() if with_detail else ""
            return ActivitySignal(ActivityState.IDLE, source, at, idle)
        if event == "local_command":
            return ActivitySignal(ActivityState.IDLE, source, at, "slash command finished")
        if self.pending_tools:
            call = next(reversed(self.pending_tools.values()))
            described = call.describe() if with_detail else ""
            return ActivitySignal(ActivityState.WORKING, source, at, described)
        if event == "assistant_text" and self.last_stop_reason in ("end_turn", "stop_sequence"):
            idle = self._idle_detail() if with_detail else ""
            return ActivitySignal(ActivityState.IDLE, source, at, idle)
        details = {
            "prompt": "prompt received",
            "tool_result": "tool finished",
            "thinking": "thinking",
            "assistant_text": "responding",
            "tool_use": "running tool",
        }
        return ActivitySignal(ActivityState.WORKING, source, at, details.get(event, event))

    def _idle_detail(self) -> str:
        """The start of the last assistant message, the natural summary of a finished turn."""
        text = " ".join(self.last_assistant_text.split())
        return _shorten(text, 160) if text else "turn finished"

    def tokens(self) -> dict[str, int]:
        """The tokens the conversation used so far, by kind."""
        return {
            "input": self.input_tokens,
            "output": self.output_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_creation": self.cache_creation_tokens,
        }

    def usage_facts(self) -> dict[str, Any]:
        """What the session keeps of its usage (``Session.extra``: ``tokens``, ``model``),
        read by the morning report (:mod:`core.report.cost`) to price it; {} before the
        first answer (a session with no answer yet has no usage to show)."""
        if not self.model:
            return {}
        return {"tokens": self.tokens(), "model": self.model}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect`` and the detail view."""
        last = self.last_prompt
        return {
            "format": "claude",
            "session_id": self.session_id,
            "cwd": self.cwd,
            "version": self.version,
            **self.line_counts(),
            "sidechain": self.sidechain,
            "last_entry_at": self.last_entry_at,
            "last_event": self.last_event,
            "last_assistant_text": self.last_assistant_text,
            "pending_tools": [
                {"id": c.id, "name": c.name, "command": c.command, "at": c.at}
                for c in self.pending_tools.values()
            ],
            "last_tool": self.last_tool.describe() if self.last_tool else None,
            "interrupted_at": self.interrupted_at,
            "api_error": (
                {"message": self.api_error.message, "final": self.api_error.final}
                if self.api_error
                else None
            ),
            "turn_ended_at": self.turn_ended_at,
            "last_prompt": {"text": last.text, "at": last.at} if last else None,
            "prompts": len(self.prompts),
            "queued": len(self.queued),
            "tokens": self.tokens(),
            "model": self.model or None,
        }


def _is_error_text(entry: dict[str, Any], texts: list[str]) -> bool:
    """Whether a ``<synthetic>`` assistant line reports an API failure (not a placeholder)."""
    error = entry.get("error")
    if isinstance(error, str | dict) and error:
        return True
    return any(text.lstrip().startswith("API Error") for text in texts)


def _error_message(error: Any) -> str:
    """A short message from the several shapes of ``system``/``api_error``'s ``error``."""
    if isinstance(error, str):
        return _shorten(error, 300)
    if not isinstance(error, dict):
        return ""
    for key in ("message", "formatted"):
        value = error.get(key)
        if isinstance(value, str) and value:
            return _shorten(value, 300)
    nested = error.get("error")
    if isinstance(nested, dict):
        inner = nested.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return _shorten(inner["message"], 300)
    status = error.get("status")
    return f"HTTP {status}" if isinstance(status, int) and status else ""


def _int(value: Any) -> int:
    """``value`` as a non-negative int, 0 when absent or odd."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _int_or_none(value: Any) -> int | None:
    """``value`` as an int, None when absent or odd."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_transcript(lines: Iterable[str]) -> TranscriptState:
    """Fold a whole sequence of lines into a fresh state."""
    state = TranscriptState()
    state.fold_lines(lines)
    return state
