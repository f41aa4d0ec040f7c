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

only = sys.argv[1] if len(sys.argv) > 1 else None
rows = [row for bench in BENCHMARKS if not only or only in bench.__name__ for row in bench()]
print(bench_foundation.render(rows))
