"""``python -m tests.bench [NAME]``: run the benchmarks and print a table beside the targets."""

import sys

from tests.bench.bench_foundation import main_rows, render

print(render(main_rows(sys.argv[1] if len(sys.argv) > 1 else None)))
