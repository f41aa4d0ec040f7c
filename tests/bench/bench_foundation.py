"""Foundation benchmarks (issue: engine, tmux, worktrees, Claude Code, headless CLI).

Each function returns rows of (measurement, value, target, verdict) for the table printed
by ``python -m tests.bench``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from core.daemon import reconcile_loop
from core.locations import Locations
from core.models import ActivityState
from core.plugin_index import SETTLE_SECONDS
from tests.bench.sandbox import record_claude_sessions, sandbox
from tests.support.engine import make_engine

Row = tuple[str, str, str, str]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _hook(event: str, **payload: object) -> str:
    body = {"hook_event_name": event, "session_id": "bench", **payload}
    return json.dumps({"ao_ts": f"{time.time():.6f}", "payload": body})


HISTORY = [
    _hook("SessionStart", source="startup"),
    *[
        line
        for i in range(40)
        for line in (
            _hook("PreToolUse", tool_name="Bash", tool_input={"command": f"pytest -k t{i}"}),
            _hook("PostToolUse", tool_name="Bash", tool_input={"command": f"pytest -k t{i}"}),
        )
    ],
    _hook("Stop", last_assistant_message="done"),
]


def _child_env() -> dict[str, str]:
    """The environment of a measured ``ao-tui``: as an installed one runs, with bytecode.

    A test runner may set PYTHONDONTWRITEBYTECODE; then every run recompiles ~70 modules
    (60-90 ms) that an installed ao-tui loads from its ``.pyc`` files.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time_status(argv: list[str], runs: int) -> list[float]:
    env = _child_env()
    warm = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert warm.returncode == 0, warm.stderr  # page cache, .pyc files, config snapshot
    if not Locations.from_env().plugin_index.exists():
        # A place on sys.path changed within the last seconds: the plugin index is kept
        # once it has settled (core.plugin_index), as it is for any script's loop.
        time.sleep(SETTLE_SECONDS + 0.1)
        subprocess.run(argv, capture_output=True, check=True, env=env)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, check=True, text=True, env=env)
        times.append(time.perf_counter() - start)
    assert len(json.loads(proc.stdout)) == 50
    return times


def _time_config_changed(argv: list[str], config: Path, runs: int) -> list[float]:
    """``status --json`` right after each edit of the config: a full validation each time."""
    env = _child_env()
    original = config.read_text()
    times = []
    try:
        for n in range(runs):
            config.write_text(f"{original}# edit {n}\n")
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, env=env)
            times.append(time.perf_counter() - start)
    finally:
        config.write_text(original)
    return times


def _import_seconds(argv: list[str], runs: int, only: tuple[str, ...] = ()) -> float:
    """Median seconds ``argv`` spends importing modules: the top-level cumulative figures
    of ``python -X importtime`` (each counts the imports under it) added up; with ``only``,
    the cumulative figures of those modules (what importing each brought in first)."""
    totals = []
    for _ in range(runs):
        proc = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]],
            capture_output=True,
            check=True,
            text=True,
            env=_child_env(),
        )
        total = 0
        for line in proc.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if only:
                if len(fields) == 3 and fields[2].strip() in only:
                    total += int(fields[1])
                continue
            # Nested imports are indented under their importer: count the top level only.
            top = len(fields) == 3 and not fields[2].startswith("  ")
            if top and fields[1].strip().isdigit():
                total += int(fields[1])
        totals.append(total / 1e6)
    return statistics.median(totals)


def _reconcile_seconds(config: Path, runs: int) -> float:
    """Median seconds one reconcile of every session takes on a fresh engine (its plugins
    new, as in a fresh process) in this process, where every module is imported already."""
    times = []
    for _ in range(runs):
        engine = make_engine(config)
        start = time.perf_counter()
        engine.reconcile()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _breakdown(base: list[str], total: float, runs: int) -> list[tuple[str, float]]:
    """Where the median of one ``status --json`` goes: interpreter start (``python -c
    pass``: the floor of any Python CLI), module imports beyond the interpreter's own,
    and the rest (reconcile or store read, JSON out, exit)."""
    bare = [base[0], "-c", "pass"]
    interpreter = statistics.median(_time_bare(bare, runs))
    status = [*base, "status", "--json"]
    imports = _import_seconds(status, runs) - _import_seconds(bare, runs)
    parts = [("interpreter start", interpreter), ("imports", imports)]
    config = _import_seconds(status, runs, only=("core.config",))
    if config:
        # The config's models are pydantic's: importing it brings pydantic (and the
        # importlib.metadata its plugin loader needs), yaml, and builds the model classes.
        parts.append(("imports: the config (pydantic, yaml, models)", config))
    kept = _import_seconds(status, runs, only=("core.config_snapshot", "core.plugin_index"))
    if kept:
        # What replaces it while the config is unchanged (core.config_snapshot).
        parts.append(("imports: config snapshot and plugin index readers", kept))
    return [*parts, ("reconcile/read, output, exit", max(0.0, total - interpreter - imports))]


def _time_bare(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=_child_env())
        times.append(time.perf_counter() - start)
    return times


def bench_status_json(runs: int = 15) -> list[Row]:
    """Wall time of ``ao-tui status --json`` (a fresh process, as a script sees it).

    Measured twice: with a daemon holding the engine lease (the store is kept fresh, so
    status only reads it) and alone (status reconciles all 50 sessions itself, its config
    rebuilt from the snapshot the first call kept); each with where its median goes
    (issue 10 §8). Then alone right after each edit of the config, which validates it in
    full (no target: once per edit, not per call).
    """
    with sandbox() as box:
        engine = box.engine(agent="claude-code")
        record_claude_sessions(engine, 50, HISTORY)
        cfg = next(box.root.glob("cfg-*/ao.config.yaml"))
        base = [sys.executable, "-m", "ao_tui", "--config", str(cfg)]
        alone = _time_status([*base, "status", "--json"], runs)
        alone_parts = _breakdown(base, statistics.median(alone), runs)
        alone_parts.append(("reconcile alone (its modules loaded)", _reconcile_seconds(cfg, 5)))
        edited = _time_config_changed([*base, "status", "--json"], cfg, max(3, runs // 3))
        daemon = subprocess.Popen([*base, "daemon"], stderr=subprocess.PIPE, text=True)
        try:
            assert daemon.stderr is not None
            daemon.stderr.readline()  # it prints one line once it holds the lease
            with_daemon = _time_status([*base, "status", "--json"], runs)
            daemon_parts = _breakdown(base, statistics.median(with_daemon), runs)
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
    rows: list[Row] = []
    for label, times, parts, target in (
        ("daemon running", with_daemon, daemon_parts, 80),
        ("no daemon", alone, alone_parts, 150),
    ):
        med, p95 = statistics.median(times) * 1000, _pct(times, 0.95) * 1000
        name = f"status --json, 50 sessions, {label}"
        aim = f"< {target} ms"
        rows.append((f"{name}: median", f"{med:.0f} ms", aim, _ok(med < target)))
        rows.append((f"{name}: p95", f"{p95:.0f} ms", aim, _ok(p95 < target)))
        for part, seconds in parts:
            rows.append((f"  of the median: {part}", f"{seconds * 1000:.0f} ms", "", ""))
    edited_med = statistics.median(edited) * 1000
    name = "status --json, 50 sessions, no daemon, config just edited: median"
    rows.append((name, f"{edited_med:.0f} ms", "", "once per edit"))
    return rows


def bench_hook_to_state(samples: int = 40) -> list[Row]:
    """From a hook line being appended to the state landing in the store (daemon loop)."""
    with sandbox() as box:
        engine = box.engine(agent="claude-code")
        sessions = record_claude_sessions(engine, 10, HISTORY)
        target = sessions[3]
        hook_log = engine.locations.session_dir(target.id) / "hooks.jsonl"
        latencies: list[float] = []

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.create_task(reconcile_loop(engine, stop, interval=1.0))
            await asyncio.sleep(1.0)
            for i in range(samples):
                if i % 2 == 0:
                    line = _hook(
                        "PermissionRequest", tool_name="Bash", tool_input={"command": f"rm x{i}"}
                    )
                    want = ActivityState.WAITING_INPUT
                else:
                    line = _hook("PostToolUse", tool_name="Bash", tool_input={"command": "ls"})
                    want = ActivityState.WORKING
                start = time.perf_counter()
                with hook_log.open("a") as fh:
                    fh.write(line + "\n")
                while True:
                    s = await asyncio.to_thread(engine.store.get_session, target.id)
                    if s is not None and s.activity.state is want:
                        break
                    if time.perf_counter() - start > 5:
                        raise AssertionError(f"state {want} never arrived")
                    await asyncio.sleep(0.002)
                latencies.append(time.perf_counter() - start)
                await asyncio.sleep(0.05)
            stop.set()
            await loop

        asyncio.run(run())
    p50, p95 = _pct(latencies, 0.5) * 1000, _pct(latencies, 0.95) * 1000
    return [
        ("hook line -> state (10 live sessions): p50", f"{p50:.0f} ms", "", ""),
        ("hook line -> state (10 live sessions): p95", f"{p95:.0f} ms", "< 100 ms", _ok(p95 < 100)),
    ]


def bench_claude_latencies(samples: int = 3) -> list[Row]:
    """Spawn -> first real activity, and send -> confirmed, with the real Claude Code CLI.

    The agent runs offline against the test suite's scripted API stand-in, so what is
    measured is Claude's start-up plus ao-tui's detection, not a model's thinking time.
    """
    from tests.e2e.anthropic_standin import AnthropicStandin
    from tests.e2e.claude_harness import TEST_API_KEY, find_claude_binary, write_claude_config

    binary = find_claude_binary()
    if binary is None:
        return [("spawn -> first activity (real Claude)", "skipped", "", "no Claude binary")]
    spawn_times: list[float] = []
    send_times: list[float] = []
    with sandbox() as box, AnthropicStandin() as standin:
        home = box.root / "claude-home"
        for n in range(1, samples + 1):
            write_claude_config(home, box.root / "home" / "worktrees" / "app" / f"app-{n}")
        env = {
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": standin.base_url,
            "ANTHROPIC_API_KEY": TEST_API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
        }
        cfg = box.root / "claude.yaml"
        project = {
            "path": str(box.repo),
            "defaultBranch": "main",
            "sessionPrefix": "app",
            "agent": "claude-code",
            "agentConfig": {"command": str(binary)},
            "env": env,
        }
        cfg.write_text(json.dumps({"projects": {"app": project}}))
        from tests.support.engine import make_engine

        engine = make_engine(cfg)
        for i in range(samples):
            start = time.perf_counter()
            session = engine.spawn("app", f"benchmark task number {i}")
            while engine.get(session.id).activity.source.value in ("engine", "none"):
                engine.reconcile()
                time.sleep(0.01)
            spawn_times.append(time.perf_counter() - start)
            while engine.get(session.id).activity.state is not ActivityState.IDLE:
                engine.reconcile()
                time.sleep(0.05)
            start = time.perf_counter()
            result, _ = engine.send(session.id, f"follow-up message {i}")
            send_times.append(time.perf_counter() - start)
            assert result.value == "delivered", result
    return [
        (
            "spawn -> first activity (real Claude): median",
            f"{statistics.median(spawn_times) * 1000:.0f} ms",
            "",
            "",
        ),
        (
            "send -> confirmed delivered (real Claude): median",
            f"{statistics.median(send_times) * 1000:.0f} ms",
            "",
            "",
        ),
    ]


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


BENCHMARKS = [bench_status_json, bench_hook_to_state, bench_claude_latencies]


def render(rows: list[Row]) -> str:
    """The rows as a plain table."""
    head: Row = ("measurement", "result", "target", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
