"""``python -m tests.bench.traced_daemon OUT -- ARGS…``: run ``ao-tui ARGS…`` (the daemon)
with :mod:`tracemalloc` on, writing what the Python heap holds every few seconds.

The soak uses it when ``AO_TUI_SOAK_TRACEMALLOC=OUT`` is set, to find why memory grows:
RSS says *that* it grows; the snapshots say *which lines* allocated what is still held.
``OUT/trace.jsonl`` gets one line per snapshot: the seconds since start, the traced size
and peak (bytes), and the :data:`TOP` source lines whose held memory grew most since the
first snapshot after :data:`WARMUP`. Tracing costs CPU and memory of its own, so a traced
run's RSS figures are not the soak's figures.
"""

from __future__ import annotations

import json
import linecache
import os
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path

EVERY = float(os.environ.get("AO_TUI_TRACE_EVERY", "20"))
"""Seconds between two snapshots."""
WARMUP = 60.0
"""Seconds before the baseline snapshot (imports and caches fill first)."""
TOP = 15
FRAMES = 8


def _watch(out: Path, began: float) -> None:
    """Take a snapshot every :data:`EVERY` seconds and log its growth over the baseline."""
    baseline: tracemalloc.Snapshot | None = None
    # The tracer's own work (formatting tracebacks fills linecache) is not the daemon's.
    filters = [tracemalloc.Filter(False, str(m.__file__)) for m in (tracemalloc, linecache)]
    with (out / "trace.jsonl").open("a", encoding="utf-8") as log:
        while True:
            time.sleep(EVERY)
            now = time.monotonic() - began
            snapshot = tracemalloc.take_snapshot().filter_traces(filters)
            size, peak = tracemalloc.get_traced_memory()
            grown: list[dict[str, object]] = []
            if baseline is None and now >= WARMUP:
                baseline = snapshot
            elif baseline is not None:
                for stat in snapshot.compare_to(baseline, "traceback")[:TOP]:
                    grown.append(
                        {
                            "size_diff": stat.size_diff,
                            "count_diff": stat.count_diff,
                            "where": stat.traceback.format()[-2 * FRAMES :],
                        }
                    )
            line = {"t": round(now, 1), "traced": size, "peak": peak, "grown": grown}
            log.write(json.dumps(line) + "\n")
            log.flush()


def main(argv: list[str]) -> None:
    """Start tracing, the snapshot thread, then ``ao_tui`` with the arguments after ``--``."""
    out = Path(argv[0])
    args = argv[argv.index("--") + 1 :]
    out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    threading.Thread(target=_watch, args=(out, time.monotonic()), daemon=True).start()
    sys.argv = ["ao_tui", *args]
    runpy.run_module("ao_tui", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
