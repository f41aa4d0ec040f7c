"""Soak (issue 12, "Unattended"): a real ``ao-tui daemon`` watching 50 sessions under a
steady stream of agent signals for N minutes, its memory sampled every few seconds.

The sessions are the sandbox's (panes running ``sleep``, a hook log each); the stream
appends a hook line to one session after another (each one a state change the daemon
reads, decides and writes as an event), with reactions on. Reported: the daemon's RSS at
the start (once it watches), at the end, its maximum, and the slope of a least-squares
line through the samples after the first minute (warm-up: imports, caches filling).

``AO_TUI_SOAK_MINUTES`` (default 10) sets the length; ``AO_TUI_SOAK_RATE`` the hook lines
per second (default 10).

Target: bounded memory, a slope under 1 MB per hour (a daemon that runs for weeks).
Notifications: :func:`notification_stream` is where the outbox's stream joins (the lead
wires it once the outbox is merged); until then it adds nothing and the soak measures
reconcile + reactions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.bench_foundation import Row, _ok
from tests.bench.sandbox import record_claude_sessions, sandbox
from tests.support.engine import make_engine, write_config

SESSIONS = 50
SAMPLE_EVERY = 5.0
"""Seconds between two RSS samples."""
WARMUP = 60.0
"""Seconds left out of the slope."""
SLOPE_TARGET_MB_PER_HOUR = 1.0


def rss_kb(pid: int) -> int:
    """The resident set of ``pid`` in kB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def slope_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, kB) in MB per hour."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    return cov / var * 3600 / 1024


def _hook(event: str, **payload: object) -> str:
    body = {"hook_event_name": event, "session_id": "soak", **payload}
    return json.dumps({"ao_ts": f"{time.time():.6f}", "payload": body})


def notification_stream(home: Path, tick: int) -> None:
    """The hook for the notification stream: once the outbox is on main, emit here the
    events that become notifications (a reaction escalated, notified) and count their
    deliveries at a local receiver, to assert each arrives exactly once. Adds nothing yet."""


def soak(minutes: float, rate: float) -> dict[str, float]:
    """Run the soak; the figures (kB, MB/h, counts)."""
    with sandbox() as box:
        os.environ.pop("AO_TUI_REACTIONS", None)  # as a real daemon runs: reactions on
        config = write_config(box.root, box.repo, agent="claude-code")
        engine = make_engine(config)
        sessions = record_claude_sessions(engine, SESSIONS, [_hook("SessionStart")])
        engine.store.close()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ao_tui", "--config", str(config), "daemon"],
            cwd=box.repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert daemon.stderr is not None
            for line in daemon.stderr:
                if "watching" in line:
                    break
            started = time.monotonic()
            samples: list[tuple[float, int]] = [(0.0, rss_kb(daemon.pid))]
            next_sample = started + SAMPLE_EVERY
            written = 0
            tools = ("PreToolUse", "PostToolUse", "Stop")
            end = started + minutes * 60
            while time.monotonic() < end:
                session = sessions[written % SESSIONS]
                log = engine.locations.session_dir(session.id) / "hooks.jsonl"
                kind = tools[(written // SESSIONS) % len(tools)]
                with log.open("a") as handle:
                    handle.write(
                        _hook(
                            kind, tool_name="Bash", tool_input={"command": f"pytest -k {written}"}
                        )
                        + "\n"
                    )
                notification_stream(engine.locations.home, written)
                written += 1
                now = time.monotonic()
                if now >= next_sample:
                    samples.append((now - started, rss_kb(daemon.pid)))
                    next_sample += SAMPLE_EVERY
                time.sleep(1.0 / rate)
            samples.append((time.monotonic() - started, rss_kb(daemon.pid)))
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
        from core.store import Store

        store = Store(engine.locations.database)
        events = store.last_event_seq()
        store.close()
    steady = [s for s in samples if s[0] >= WARMUP] or samples
    return {
        "start": samples[0][1],
        "end": samples[-1][1],
        "max": max(r for _, r in samples),
        "slope": slope_per_hour(steady),
        "lines": written,
        "events": float(events),
        "exit": float(code),
        "minutes": minutes,
    }


def bench_soak() -> list[Row]:
    """The daemon's memory over a soak of AO_TUI_SOAK_MINUTES (default 10) minutes."""
    minutes = float(os.environ.get("AO_TUI_SOAK_MINUTES", "10"))
    rate = float(os.environ.get("AO_TUI_SOAK_RATE", "10"))
    f = soak(minutes, rate)
    flat = f["slope"] < SLOPE_TARGET_MB_PER_HOUR
    return [
        (
            f"soak: daemon RSS, {SESSIONS} sessions, {f['minutes']:g} min, "
            f"{int(f['lines'])} hook lines, {int(f['events'])} events",
            f"start {f['start'] / 1024:.1f} MB, end {f['end'] / 1024:.1f} MB, "
            f"max {f['max'] / 1024:.1f} MB",
            "bounded",
            _ok(f["max"] < f["start"] * 2),
        ),
        (
            "soak: RSS slope after the first minute",
            f"{f['slope']:+.2f} MB/h",
            f"< {SLOPE_TARGET_MB_PER_HOUR:g} MB/h",
            _ok(flat),
        ),
        ("soak: clean stop on SIGTERM", f"exit {int(f['exit'])}", "exit 0", _ok(f["exit"] == 0)),
        ("soak: notifications delivered exactly once", "not wired yet (outbox)", "", "hook"),
    ]


BENCHMARKS = [bench_soak]
