"""Every public Engine verb turns a plugin's failure into an EngineError naming the session.

The plugins here fail on cue (tests/support/failing.py): making real tmux or git fail at
one exact call of an action is not reliable, so a fake stands in for the failing one.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.config import Config, ProjectConfig, TrackerConfig
from core.daemon import reconcile_loop
from core.engine import Engine
from core.errors import EngineError
from core.models import ActivityState, DeliveryResult, SignalSource
from core.plugin_failures import MARKER, describe_failure
from core.slots import SlotError
from plugins.agent.shell import ShellAgent
from tests.support.canned import sample_engine
from tests.support.failing import FailingPlugin, FailingRuntime

TMUX_FAILED = subprocess.CalledProcessError(
    1, ["tmux", "-L", "ao", "send-keys"], stderr=b"server exited unexpectedly\n"
)
DISK_FULL = OSError(28, "No space left on device", "/state/worktrees/app/app-12")


@pytest.fixture
def runtime() -> FailingRuntime:
    """The canned runtime, failing only where a test says."""
    return FailingRuntime()


@pytest.fixture
def engine(tmp_path: Path, runtime: FailingRuntime) -> Engine:
    """The sample state (ten sessions) on the failing runtime."""
    return sample_engine(tmp_path / "sample", runtime)


def test_every_public_engine_method_converts_plugin_failures() -> None:
    public = [
        name
        for name, member in inspect.getmembers(Engine, inspect.isfunction)
        if not name.startswith("_")
    ]
    # The event stream is the engine's feed (core.feed), which reads the store and no plugin.
    assert {"spawn", "send", "respond", "kill", "restore", "ci", "merge"} <= set(public)
    assert [name for name in public if not getattr(getattr(Engine, name), MARKER, False)] == []


def _scm_fails(engine: Engine, error: BaseException) -> FailingPlugin:
    scm = FailingPlugin("local", error)
    engine.registry.register("scm", "local", lambda: scm)
    engine.registry.register("scm", "github", lambda: scm)
    return scm


Case = tuple[str, dict[str, BaseException], Callable[[Engine], Any], str]

CASES: list[Case] = [
    ("kill", {"kill": TMUX_FAILED}, lambda e: e.kill("app-9"), "kill app-9 failed: tmux -L ao"),
    (
        "restore",
        {"list_panes": OSError(111, "Connection refused")},
        lambda e: e.restore("app-11"),
        "restore app-11 failed: Connection refused",
    ),
    (
        "attach",
        {"list_panes": TMUX_FAILED},
        lambda e: e.attach_argv("app-9"),
        "attach argv app-9 failed: tmux -L ao send-keys exited with status 1: server exited",
    ),
    (
        "respond",
        {"send_keys": TMUX_FAILED},
        lambda e: e.respond("app-7", True, timeout=0.1),
        "respond app-7 failed: tmux",
    ),
    (
        "reconcile",
        {"list_panes": subprocess.TimeoutExpired(["tmux", "list-panes"], 5)},
        lambda e: e.reconcile(),
        "reconcile failed: tmux list-panes did not finish within 5s",
    ),
]


@pytest.mark.parametrize(("verb", "failures", "call", "message"), CASES, ids=[c[0] for c in CASES])
def test_runtime_failures_become_engine_errors(
    engine: Engine,
    runtime: FailingRuntime,
    verb: str,
    failures: dict[str, BaseException],
    call: Callable[[Engine], Any],
    message: str,
) -> None:
    runtime.failures.update(failures)
    with pytest.raises(EngineError) as raised:
        call(engine)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("verb", ["ci", "diff", "approve", "merge"])
def test_scm_failures_become_engine_errors(engine: Engine, verb: str) -> None:
    _scm_fails(engine, DISK_FULL)
    with pytest.raises(EngineError) as raised:
        getattr(engine, verb)("app-4")
    assert "app-4" in str(raised.value)
    assert "No space left on device" in str(raised.value)


def test_spawn_names_the_project_when_the_workspace_fails(engine: Engine) -> None:
    engine.registry.register("workspace", "worktree", lambda: FailingPlugin("worktree", DISK_FULL))
    with pytest.raises(EngineError) as raised:
        engine.spawn("app", "write the changelog for 2.0")
    assert str(raised.value) == (
        "spawn in project app failed: /state/worktrees/app/app-12: No space left on device"
    )


def test_issues_converts_a_tracker_that_lets_an_os_error_escape(engine: Engine) -> None:
    project = engine.config.projects["app"]
    engine.config = Config(
        projects={"app": ProjectConfig(**{**dict(project), "tracker": TrackerConfig()})}
    )
    tracker = FailingPlugin("local", PermissionError(13, "Permission denied", "TASKS.md"))
    engine.registry.register("tracker", "local", lambda: tracker)
    with pytest.raises(EngineError, match=r"issues in project app failed: TASKS\.md: Permission"):
        engine.issues("app")


def test_a_failed_paste_is_a_failed_delivery_not_a_crash(
    engine: Engine, runtime: FailingRuntime
) -> None:
    runtime.failures["paste"] = TMUX_FAILED
    result, detail = engine.send("app-10", "run the tests", ready_timeout=1)
    assert result is DeliveryResult.FAILED
    assert detail.startswith("typing it failed: tmux -L ao send-keys exited with status 1")
    event = engine.store.events_after(0, limit=10_000)[-1]
    assert event.kind == "message" and event.data["result"] == "failed"


def test_engine_errors_of_its_own_pass_through_untouched(engine: Engine) -> None:
    with pytest.raises(EngineError) as raised:
        engine.kill("app-3")  # already killed: the engine's own refusal
    assert "already killed" in str(raised.value)
    assert raised.value.__cause__ is None


class _BrokenObserver(ShellAgent):
    """An agent plugin whose observation crashes (a bug, or a file it cannot parse)."""

    def observe(self, *args: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")


def test_one_session_that_cannot_be_observed_does_not_stop_the_tick(engine: Engine) -> None:
    engine.registry.register("agent", "shell", _BrokenObserver)
    engine.reconcile()  # app-10 runs the shell agent; the claude-code sessions are fine
    broken = engine.get("app-10")
    assert broken.activity.state is ActivityState.ERROR
    assert broken.activity.source is SignalSource.ENGINE
    assert "cannot read this agent's signals: RecursionError" in broken.activity.detail
    permission = engine.get("app-7")
    assert permission.activity.state is ActivityState.WAITING_INPUT


async def test_the_reconcile_loop_survives_a_failed_tick(
    engine: Engine, runtime: FailingRuntime
) -> None:
    runtime.failures["list_panes"] = SlotError("tmux server gone")
    errors: list[Exception] = []
    stop = asyncio.Event()

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        if len(errors) == 2:
            runtime.failures.clear()  # tmux is back: the next tick must run

    def on_events(events: list[Any]) -> None:
        stop.set()

    ticks = 0
    real = engine.reconcile

    def counting(**kwargs: Any) -> Any:
        nonlocal ticks
        ticks += 1
        if ticks >= 4:
            stop.set()
        return real(**kwargs)

    engine.reconcile = counting  # type: ignore[method-assign]
    await asyncio.wait_for(
        reconcile_loop(engine, stop, interval=0.01, on_events=on_events, on_error=on_error), 10
    )
    assert len(errors) == 2 and ticks >= 3
    assert all(isinstance(e, EngineError) and "tmux server gone" in str(e) for e in errors)


def test_describe_failure_masks_credentials() -> None:
    error = subprocess.CalledProcessError(
        128, ["git", "push"], stderr="fatal: https://x:ghp_abcdefghijklmnopqrstuvwx123@github"
    )
    assert "ghp_" not in describe_failure(error)


async def test_closing_the_event_stream_closes_it_at_once(engine: Engine) -> None:
    stream = engine.feed.changes(0)
    first = await stream.__anext__()
    assert first.event.kind == "spawned"
    await stream.aclose()
    assert engine.feed.readers == 0  # the stream's own cleanup ran, not left to the collector
