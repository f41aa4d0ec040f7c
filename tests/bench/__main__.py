"""``python -m tests.bench [NAME]``: run the benchmarks and print a table beside the targets."""

import sys

from tests.bench import bench_cockpit, bench_foundation, bench_github, bench_review

only = sys.argv[1] if len(sys.argv) > 1 else None
rows = [
    *bench_foundation.main_rows(only),
    *bench_cockpit.main_rows(only),
    *bench_review.main_rows(only),
    *bench_github.main_rows(only),
]
print(bench_foundation.render(rows))
