"""``python -m tests.bench [NAME]``: run the benchmarks and print a table beside the targets.

NAME picks the benchmarks whose function name contains it (``status``, ``idle_cpu``, …).
"""

import sys

from tests.bench import (
    bench_agents,
    bench_cockpit,
    bench_codex,
    bench_foundation,
    bench_github,
    bench_reactions,
    bench_review,
    bench_runtime,
    bench_soak,
)

BENCHMARKS = [
    *bench_foundation.BENCHMARKS,
    *bench_cockpit.BENCHMARKS,
    *bench_review.BENCHMARKS,
    *bench_github.BENCHMARKS,
    *bench_runtime.BENCHMARKS,
    *bench_reactions.BENCHMARKS,
    *bench_soak.BENCHMARKS,
    *bench_codex.BENCHMARKS,
    *bench_agents.BENCHMARKS,
]

PARTS = {bench_codex.bench_codex_latencies}
"""Benchmarks another one already runs whole (Codex's rows are part of ``agents``): they run
only when named (``python -m tests.bench codex``), not twice in the full run."""


def _chosen(bench: object, only: str | None) -> bool:
    name = getattr(bench, "__name__", "")
    return only in name if only else bench not in PARTS


only = sys.argv[1] if len(sys.argv) > 1 else None
rows = [row for bench in BENCHMARKS if _chosen(bench, only) for row in bench()]
print(bench_foundation.render(rows))
