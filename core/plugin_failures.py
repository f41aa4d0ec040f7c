"""Plugin failures become engine errors: one mechanism for every public ``Engine`` verb.

A plugin is supposed to raise :class:`~core.slots.SlotError`, but the tmux, git and HTTP
calls under it can also let an ``OSError`` or a ``subprocess`` error escape. A front end
must never see those raw: the CLI would print a traceback and the cockpit would lose a
worker. :func:`converts_plugin_failures` wraps every public method of a class so that any
of them leaves as an :class:`~core.errors.EngineError` naming the verb, the session (or
project) and what failed. Errors the engine raises itself pass through untouched.
"""

from __future__ import annotations

import functools
import inspect
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from core.errors import EngineError
from core.redact import redact
from core.registry import UnknownPluginError
from core.slots import SlotError
from core.tracker import TrackerError

PLUGIN_FAILURES: tuple[type[BaseException], ...] = (
    SlotError,
    TrackerError,
    UnknownPluginError,
    OSError,
    subprocess.SubprocessError,
)
"""What a plugin (or the tmux/git/HTTP call under it) may raise when it fails."""

MARKER = "__converts_plugin_failures__"
"""Set on every wrapped method, so a test can check that none was missed."""

_T = TypeVar("_T")


def describe_failure(exc: BaseException) -> str:
    """What failed, on one line, credentials masked (``git status exited with 128: …``)."""
    if isinstance(exc, subprocess.CalledProcessError):
        command = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd))
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        stderr = stderr or (exc.stderr if isinstance(exc.stderr, str) else "")
        last = stderr.strip().splitlines()[-1:] if stderr.strip() else []
        text = f"{command} exited with status {exc.returncode}" + (f": {last[0]}" if last else "")
    elif isinstance(exc, subprocess.TimeoutExpired):
        command = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd))
        text = f"{command} did not finish within {exc.timeout:g}s"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


def _subject(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The session or project a call is about, as the error message names it."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return ""
    session_id = bound.arguments.get("session_id")
    if isinstance(session_id, str):
        return f" {session_id}"
    project_id = bound.arguments.get("project_id")
    if isinstance(project_id, str):
        return f" in project {project_id}"
    return ""


def _converted(verb: str, subject: str, exc: BaseException) -> EngineError:
    return EngineError(f"{verb}{subject} failed: {describe_failure(exc)}")


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with plugin failures raised as :class:`EngineError`."""
    verb = method.__name__.replace("_", " ")
    signature = inspect.signature(method)

    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            inner = method(*args, **kwargs)
            try:
                async for item in inner:
                    yield item
            except PLUGIN_FAILURES as exc:
                raise _converted(verb, _subject(signature, args, kwargs), exc) from exc
            finally:
                # Closed with this wrapper, not whenever the collector gets to it: the
                # stream's own cleanup (its file watch) must run when the reader stops.
                await inner.aclose()

        setattr(stream, MARKER, True)
        return stream

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PLUGIN_FAILURES as exc:
            raise _converted(verb, _subject(signature, args, kwargs), exc) from exc

    setattr(call, MARKER, True)
    return call


def converts_plugin_failures(cls: type[_T]) -> type[_T]:
    """Class decorator: every public method of ``cls`` converts plugin failures.

    Applied to the class, not method by method, so a verb added later is covered without
    anyone remembering to. Properties and private helpers are left alone.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _guard(member))
    return cls
