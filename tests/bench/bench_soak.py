"""Soak (issue 12, "Unattended"): a real ``ao-tui daemon`` watching 50 sessions under a
steady stream of agent signals for N minutes, its memory sampled every few seconds.

The sessions are the sandbox's (panes running ``sleep``, a hook log each); the stream
appends a hook line to one session after another (each one a state change the daemon
reads, decides and writes as an event), with reactions on. Reported: the daemon's RSS at
the start (once it watches), at the end, its maximum, and the slope of a least-squares
line through the samples after the first minute (warm-up: imports, caches filling).

Knobs: ``AO_TUI_SOAK_MINUTES`` (default 10) the length; ``AO_TUI_SOAK_RATE`` the hook
lines per second (default 10); ``AO_TUI_SOAK_SAMPLES`` a file to write the RSS samples to
(JSON ``[[seconds, kB], …]``); ``AO_TUI_SOAK_TRACEMALLOC`` a directory: the daemon runs
under tracemalloc and logs what grew (:mod:`tests.bench.traced_daemon`), to find a leak.

Notifications (:mod:`tests.bench.soak_notify`): the stream walks each session through a
permission prompt once a cycle, so the ``agent-needs-input`` reaction notifies steadily
(about a third of the hook lines); the daemon's outbox delivers each to a real webhook
receiver on 127.0.0.1. After the stream stops the outbox is given ``DRAIN`` seconds to
empty, then the books are compared: produced = rows sent = received, no key twice.

Targets: bounded memory (max under twice the start); the slope over the second half of the
run (the settled slope) under :data:`SLOPE_TARGET_MB_PER_HOUR` — the figure for a daemon that
runs for weeks; every notification delivered exactly once. The slope after the first minute
is printed too, for comparison, with no target: what grows early is bounded caches filling
(SQLite's page cache up to its 2 MB, the allocator's arenas, the outbox's and ledger's
tables being paged in), and it saturates — measured over 60 minutes (58,440 events, 11,666
notifications): +2.5 MB/h from minute 1, +1.4 from minute 10, +1.05 from minute 15, +0.56 MB/h
over the second half. A leak would be a straight line, as steep in the second half as in
the first. A 10-minute run bounds the settled slope only loosely (its ± is printed);
``AO_TUI_SOAK_MINUTES=60`` judges it.

Default runtime: 10 minutes of stream plus start-up and drain (about 11 minutes);
``AO_TUI_SOAK_MINUTES=1`` for a quick look. Run with ``python -m tests.bench soak``.
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
from tests.bench.soak_notify import SECRET, drain, hook_event, notifier_yaml, tally
from tests.support.engine import make_engine, write_config
from tests.support.notify_receivers import NotifyReceiver

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 50
SAMPLE_EVERY = 5.0
"""Seconds between two RSS samples."""
WARMUP = 60.0
"""Seconds left out of the slope."""
SLOPE_TARGET_MB_PER_HOUR = 1.0
SECOND_HALF_TARGET_MB = 2.0
"""What a run as short as 10 minutes can judge: past warm-up, the second half may add no
more than an allocator arena's step and the SQLite page cache (2 MB) filling; a leak of
a few hundred bytes per event (thousands of events a minute) shows as more."""
DRAIN = 120.0
"""Seconds the outbox is given to empty once the stream stops."""


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


def second_half_growth_mb(samples: list[tuple[float, int]]) -> float:
    """RSS at the end less RSS at half time, in MB: what the second half added, when
    warm-up (imports, caches, allocator arenas) is long over."""
    if len(samples) < 2:
        return 0.0
    half = samples[-1][0] / 2
    middle = min(samples, key=lambda s: abs(s[0] - half))
    return (samples[-1][1] - middle[1]) / 1024


def slope_error_per_hour(samples: list[tuple[float, int]]) -> float:
    """The standard error of :func:`slope_per_hour`'s slope, in MB per hour: how far a
    run this short can tell a slope from zero (about twice this is the 95 % interval)."""
    n = len(samples)
    if n < 3:
        return float("inf")
    mean_t = sum(t for t, _ in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return float("inf")
    b = slope_per_hour(samples) * 1024 / 3600  # kB per second
    mean_r = sum(r for _, r in samples) / n
    a = mean_r - b * mean_t
    residual = sum((r - (a + b * t)) ** 2 for t, r in samples) / (n - 2)
    return float((residual / var) ** 0.5 * 3600 / 1024)


def _daemon_command() -> list[str]:
    """``python -m ao_tui``, or under :mod:`tests.bench.traced_daemon` when
    ``AO_TUI_SOAK_TRACEMALLOC`` names a directory for its snapshots."""
    traced = os.environ.get("AO_TUI_SOAK_TRACEMALLOC")
    if traced:
        return [sys.executable, "-m", "tests.bench.traced_daemon", traced, "--"]
    return [sys.executable, "-m", "ao_tui"]


def _pythonpath() -> str:
    """This checkout first, so the daemon runs the code under test."""
    given = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(ROOT), given) if p)


def _hook(event: str, **payload: object) -> str:
    body = {"hook_event_name": event, "session_id": "soak", **payload}
    return json.dumps({"ao_ts": f"{time.time():.6f}", "payload": body})


def soak(minutes: float, rate: float) -> dict[str, float]:
    """Run the soak; the figures (kB, MB/h, counts, seconds)."""
    with sandbox() as box, NotifyReceiver("webhook", secret=SECRET) as receiver:
        os.environ.pop("AO_TUI_REACTIONS", None)  # as a real daemon runs: reactions on
        config = write_config(
            box.root, box.repo, agent="claude-code", extra=notifier_yaml(receiver.url)
        )
        engine = make_engine(config)
        sessions = record_claude_sessions(engine, SESSIONS, [_hook("SessionStart")])
        engine.store.close()
        database = engine.locations.database
        daemon = subprocess.Popen(
            [*_daemon_command(), "--config", str(config), "daemon"],
            cwd=box.repo,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
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
            end = started + minutes * 60
            while time.monotonic() < end:
                session = sessions[written % SESSIONS]
                log = engine.locations.session_dir(session.id) / "hooks.jsonl"
                kind = hook_event(written, SESSIONS)
                command = {"command": f"pytest -k {written}"}
                with log.open("a") as handle:
                    handle.write(_hook(kind, tool_name="Bash", tool_input=command) + "\n")
                written += 1
                now = time.monotonic()
                if now >= next_sample:
                    samples.append((now - started, rss_kb(daemon.pid)))
                    next_sample += SAMPLE_EVERY
                time.sleep(1.0 / rate)
            samples.append((time.monotonic() - started, rss_kb(daemon.pid)))
            drained = drain(database, DRAIN)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
        books = tally(database, receiver)
        from core.store import Store

        store = Store(database)
        events = store.last_event_seq()
        store.close()
    if os.environ.get("AO_TUI_SOAK_SAMPLES"):  # the RSS series, for a closer look
        Path(os.environ["AO_TUI_SOAK_SAMPLES"]).write_text(json.dumps(samples))
    steady = [s for s in samples if s[0] >= WARMUP] or samples
    settled = [s for s in samples if s[0] >= samples[-1][0] / 2]
    settled = settled if len(settled) >= 3 else steady
    latencies = sorted(books.latencies) or [float("nan")]
    return {
        "start": samples[0][1],
        "end": samples[-1][1],
        "max": max(r for _, r in samples),
        "slope": slope_per_hour(steady),
        "slope_se": slope_error_per_hour(steady),
        "settled": slope_per_hour(settled),
        "settled_se": slope_error_per_hour(settled),
        "second_half": second_half_growth_mb(samples),
        "lines": written,
        "events": float(events),
        "exit": float(code),
        "minutes": minutes,
        "produced": len(books.produced),
        "rows_sent": books.rows["sent"],
        "rows_other": sum(books.rows.values()) - books.rows["sent"],
        "received": len(books.received),
        "duplicates": books.duplicates,
        "lost": books.lost,
        "refused": books.refused,
        "exactly_once": float(books.exactly_once),
        "drain": drained,
        "p50": latencies[len(latencies) // 2],
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def bench_soak() -> list[Row]:
    """The daemon's memory and its notifications over a soak of AO_TUI_SOAK_MINUTES
    (default 10) minutes."""
    minutes = float(os.environ.get("AO_TUI_SOAK_MINUTES", "10"))
    rate = float(os.environ.get("AO_TUI_SOAK_RATE", "10"))
    f = soak(minutes, rate)
    flat = f["settled"] < SLOPE_TARGET_MB_PER_HOUR
    ao = "AO: no outbox, errors swallowed"
    return [
        (
            f"soak: daemon RSS, {SESSIONS} sessions, {f['minutes']:g} min, "
            f"{int(f['lines'])} hook lines, {int(f['events'])} events",
            f"start {f['start'] / 1024:.1f} MB, end {f['end'] / 1024:.1f} MB, "
            f"max {f['max'] / 1024:.1f} MB",
            "bounded (max < 2x start)",
            _ok(f["max"] < f["start"] * 2),
        ),
        (
            "soak: RSS slope over the second half, settled (± 2 s.e.)",
            f"{f['settled']:+.2f} ± {2 * f['settled_se']:.2f} MB/h",
            f"< {SLOPE_TARGET_MB_PER_HOUR:g} MB/h",
            _ok(flat),
        ),
        (
            "soak: RSS slope after the first minute, caches filling (± 2 s.e.)",
            f"{f['slope']:+.2f} ± {2 * f['slope_se']:.2f} MB/h",
            "— (saturates)",
            "",
        ),
        (
            "soak: RSS added in the second half of the run",
            f"{f['second_half']:+.1f} MB",
            f"< {SECOND_HALF_TARGET_MB:g} MB",
            _ok(f["second_half"] < SECOND_HALF_TARGET_MB),
        ),
        ("soak: clean stop on SIGTERM", f"exit {int(f['exit'])}", "exit 0", _ok(f["exit"] == 0)),
        (
            "soak: notifications produced / rows sent / received",
            f"{int(f['produced'])} / {int(f['rows_sent'])} / {int(f['received'])}"
            f" ({int(f['rows_other'])} rows unsent, {int(f['refused'])} refused)",
            f"all equal; {ao}",
            _ok(f["produced"] == f["rows_sent"] == f["received"] and f["produced"] > 0),
        ),
        (
            "soak: notifications lost / duplicated (by event id / key)",
            f"{int(f['lost'])} / {int(f['duplicates'])}",
            f"0 / 0; {ao}",
            _ok(bool(f["exactly_once"])),
        ),
        (
            "soak: event to receiver (outbox sent_at), p50 / p95",
            f"{f['p50']:.2f} s / {f['p95']:.2f} s (drained {f['drain']:.1f} s after)",
            "AO: up to its 30 s poll",
            "",
        ),
    ]


BENCHMARKS = [bench_soak]
