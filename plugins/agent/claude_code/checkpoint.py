"""A head start for a fresh process: the hook log's folded state, saved beside the log.

A one-shot ``status`` (no daemon up) used to re-fold every session's whole hook log: for 50
sessions some 4,000 JSON lines, most of its run time. Whichever process folds a log far
enough past the last checkpoint now saves what it folded (:class:`HookState`, and where in
the log it stopped) to ``hooks.fold.cache`` in the session's private state dir; a fresh
process resumes from there and reads only the bytes appended since.

The checkpoint is only a cache, so any doubt means ignoring it and folding as before:

- it names the log's device, inode and the offset it stopped at, and a hash of the bytes
  just before that offset: a log replaced, truncated or rewritten in place does not match;
- it names the code that folded it (a hash of the fold's source files): a checkpoint left by
  another version of ao-tui does not match;
- every field is checked for its type and bounds on the way in; anything garbled, too big,
  or unknown (a field this version does not have) drops the whole checkpoint.

What a resumed state holds is what the process that wrote it had folded: the same as a
long-running engine (the daemon, the cockpit) holds for that log. For a log longer than
:data:`HOOK_BACKSCAN` that is more history than a fresh fold of its end: the state and its
detail are the same, while a record count, or when a long run began, may reach further
back, as they would for a daemon that had been up all along.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import stat
from dataclasses import fields
from pathlib import Path
from typing import Any, BinaryIO

from core import bounded_json
from core.activity import received, run_start
from core.activity.received import UserPrompt
from core.activity.tailer import FileTailer
from core.models import ActivityState, WaitingFor
from core.slots import CACHE_SUFFIX
from plugins.agent.claude_code import hooks, transcript
from plugins.agent.claude_code.freshness import HOOK_BACKSCAN, SessionWatch
from plugins.agent.claude_code.hooks import HookLogParser, HookState

CHECKPOINT_FILE = f"hooks.fold{CACHE_SUFFIX}"
"""The checkpoint's name inside the session's private state dir, beside the hook log (a
JSON document; the ending tells the engine's watcher that writing it is no agent's signal)."""
SAVE_EVERY = 4 * 1024
"""Bytes of log folded past the last checkpoint before a new one is worth writing: a fresh
process re-folds at most this much per session, and a busy log costs one small write per
this many bytes."""
MAX_CHECKPOINT_BYTES = 256 * 1024
"""Largest checkpoint written or read: a state holding a bigger prompt is not saved (its
log is folded again by the next process), and a bigger file is not one this code wrote."""
HASHED_BYTES = 4096
"""How much of the log before the checkpoint's offset its hash covers: a few dozen
records, each stamped to the nanosecond, so another log cannot match by chance."""
_VERSION = 1

_SCALARS: dict[str, tuple[type, ...]] = {
    "records": (int,),
    "malformed": (int,),
    "last_event": (str,),
    "last_at": (float, type(None)),
    "session_id": (str,),
    "transcript_path": (str,),
    "state_event": (str,),
    "state_at": (float, type(None)),
    "detail": (str,),
    "notification_type": (str,),
    "session_end_reason": (str,),
    "stop_error": (str,),
    "start_source": (str,),
    "start_at": (float, type(None)),
}
_STRUCTURED = {"malformed_lines", "pending_permission", "current_tool", "prompts"}
_INTERNAL = {"_parser", "_run"}
KNOWN_FIELDS = frozenset(_SCALARS) | _STRUCTURED | _INTERNAL
"""The :class:`HookState` fields a checkpoint carries; a state with any other field is
never saved nor resumed (tests/unit/test_claude_checkpoint.py says which to add)."""


@functools.cache
def fold_code() -> str | None:
    """A hash of the source files whose code decides what a fold yields; None when they
    cannot be read (then no checkpoint is used)."""
    digest = hashlib.sha256()
    for module in (hooks, transcript, run_start, received, bounded_json):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def _tail_hash(handle: Any, offset: int) -> str:
    """The hash of the (at most :data:`HASHED_BYTES`) bytes before ``offset``."""
    start = max(0, offset - HASHED_BYTES)
    handle.seek(start)
    return hashlib.sha256(handle.read(offset - start)).hexdigest()


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (OSError if not): a FIFO put
    there must not block the reader, nor a device feed it forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _fields_known() -> bool:
    return {f.name for f in fields(HookState)} == KNOWN_FIELDS


def _encode(state: HookState) -> dict[str, Any]:
    parser = state._parser
    run = state._run
    return {
        **{name: getattr(state, name) for name in _SCALARS},
        "malformed_lines": list(state.malformed_lines),
        "pending_permission": (
            None if state.pending_permission is None else state.pending_permission.to_json()
        ),
        "current_tool": state.current_tool,
        "prompts": [[p.text, p.at] for p in state.prompts],
        "parser": [
            parser.malformed,
            parser.line_no,
            list(parser.malformed_lines),
            parser._carry,
            parser._carry_line,
        ],
        "run": [None if run._key is None else [run._key[0].value, *run._key[1:]], run._began],
    }


def _want(value: Any, *types: type) -> Any:
    # bool is an int to isinstance, but never a count or a time here.
    if isinstance(value, bool) or not isinstance(value, types):
        raise ValueError(f"{type(value).__name__} where {types} was expected")
    return value


def _strings(value: Any) -> list[str]:
    return [_want(item, str) for item in _want(value, list)]


def _string_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {_want(k, str): _want(v, str) for k, v in _want(value, dict).items()}


def _decode(data: dict[str, Any]) -> HookState:
    """The state ``data`` holds; ValueError (or KeyError) if anything in it is off."""
    state = HookState()
    for name, types in _SCALARS.items():
        setattr(state, name, _want(data[name], *types))
    state.malformed_lines = _strings(data["malformed_lines"])
    asked = _string_map(data["pending_permission"])
    state.pending_permission = (
        None if asked is None else WaitingFor(asked["kind"], asked["tool"], asked["command"])
    )
    state.current_tool = _string_map(data["current_tool"])
    prompts = _want(data["prompts"], list)
    if len(prompts) > hooks.MAX_PROMPTS:
        raise ValueError("too many prompts")
    for prompt in prompts:
        text, at = _want(prompt, list)
        state.prompts.append(UserPrompt(text=_want(text, str), at=_want(at, float, type(None))))
    malformed, line_no, noted, carry, carry_line = _want(data["parser"], list)
    parser = HookLogParser()
    parser.malformed = _want(malformed, int)
    parser.line_no = _want(line_no, int)
    parser.malformed_lines = _strings(noted)
    parser._carry = _want(carry, str)
    parser._carry_line = _want(carry_line, int)
    state._parser = parser
    key, began = _want(data["run"], list)
    if key is not None:
        activity, tool, command = _want(key, list)
        state._run._key = (ActivityState(activity), _want(tool, str), _want(command, str))
    state._run._began = _want(began, float, type(None))
    return state


def resume(log: Path, *, backscan: int) -> tuple[FileTailer, HookState, int] | None:
    """A tailer and the state folded up to where it stands, from the checkpoint beside
    ``log``, and the offset it holds; None when there is none this code can trust for
    this log."""
    code = fold_code()
    if code is None or not _fields_known():
        return None
    try:
        with _open_regular(log.parent / CHECKPOINT_FILE) as handle:
            raw = handle.read(MAX_CHECKPOINT_BYTES + 1)
        if len(raw) > MAX_CHECKPOINT_BYTES:
            return None
        data = _want(json.loads(raw), dict)
        if data.get("version") != _VERSION or data.get("code") != code:
            return None
        offset = _want(data["offset"], int)
        device, inode = _want(data["inode"], list)
        with _open_regular(log) as handle:
            st = os.fstat(handle.fileno())
            if (st.st_dev, st.st_ino) != (device, inode) or not 0 < offset <= st.st_size:
                return None
            if _tail_hash(handle, offset) != data["tail"]:
                return None
        state = _decode(_want(data["state"], dict))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    tailer = FileTailer.resumed(log, offset, (st.st_dev, st.st_ino), backscan=backscan)
    return tailer, state, offset


def save_if_due(tailer: FileTailer, state: HookState, tried_at: int | None) -> int | None:
    """Write a checkpoint of ``state`` when :data:`SAVE_EVERY` bytes were folded past the
    last try (at ``tried_at``); the offset of this try, or ``tried_at`` if none was due.

    Best effort: a checkpoint that cannot be written (disk full, a read-only state dir, a
    state too big or that does not encode) is simply not there, and the next process folds
    the log; this one tries again only after another :data:`SAVE_EVERY` bytes.
    """
    point = tailer.resume_point()
    if point is None:
        return tried_at
    offset, (device, inode) = point
    if offset <= 0 or (tried_at is not None and offset - tried_at < SAVE_EVERY):
        return tried_at
    code = fold_code()
    if code is None or not _fields_known() or _too_big(state):
        return offset
    try:
        with _open_regular(tailer.path) as handle:
            st = os.fstat(handle.fileno())
            if (st.st_dev, st.st_ino) != (device, inode) or st.st_size < offset:
                return offset
            tail = _tail_hash(handle, offset)
        body = json.dumps(
            {
                "version": _VERSION,
                "code": code,
                "offset": offset,
                "inode": [device, inode],
                "tail": tail,
                "state": _encode(state),
            },
            allow_nan=False,
        ).encode()
        if len(body) <= MAX_CHECKPOINT_BYTES:
            _write_atomically(tailer.path.parent / CHECKPOINT_FILE, body)
    except (OSError, ValueError, TypeError):
        pass
    return offset


def _too_big(state: HookState) -> bool:
    """Whether the state's long texts alone pass the limit (then it is not even encoded:
    a prompt can be megabytes, and a busy log would otherwise encode it every few ticks)."""
    texts = [p.text for p in state.prompts] + [state._parser._carry, state.detail]
    return sum(len(text) for text in texts) > MAX_CHECKPOINT_BYTES


def _write_atomically(path: Path, body: bytes) -> None:
    """Replace ``path`` with ``body`` in one step: a reader sees the old file or the new."""
    import tempfile  # only when writing: it loads shutil and random (~5 ms)

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=CACHE_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def session_watch(log: Path) -> SessionWatch:
    """A session's readers for a process that has not read ``log`` yet: resumed from the
    checkpoint when one stands, else a tailer that folds the log's last
    :data:`HOOK_BACKSCAN` bytes."""
    found = resume(log, backscan=HOOK_BACKSCAN)
    if found is None:
        return SessionWatch(hook_tailer=FileTailer(log, backscan=HOOK_BACKSCAN))
    tailer, state, offset = found
    return SessionWatch(hook_tailer=tailer, hooks=state, hook_checkpoint=offset)


def note_fold(watch: SessionWatch) -> None:
    """After a fold: save a checkpoint of the hook state if enough was folded since."""
    watch.hook_checkpoint = save_if_due(watch.hook_tailer, watch.hooks, watch.hook_checkpoint)
