"""The reconciler has its own dependencies: it never reaches back into the engine.

``core.engine`` holds the verbs and builds the reconciler; ``core.lifecycle`` gets what a
tick needs (store, clock, plugins, context builder) as a :class:`ReconcilerDeps`, so the
two do not import each other (not even for type checking).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_ENGINE = ("core/lifecycle.py", "core/feed.py")
"""Modules the engine uses that must not know it."""


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (also under TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_reconciler_and_the_feed_do_not_import_the_engine() -> None:
    for name in NO_ENGINE:
        imports = imported_modules(ROOT / name)
        assert not {m for m in imports if m == "core.engine" or m.startswith("core.engine.")}, (
            f"{name} imports core.engine: hand it what it needs instead"
        )


def test_the_check_sees_an_import_under_type_checking(tmp_path: Path) -> None:
    violation = tmp_path / "lifecycle.py"
    violation.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.engine import Engine\n"
    )
    assert "core.engine" in imported_modules(violation)


def test_importing_the_reconciler_loads_no_engine() -> None:
    probe = "import sys, core.lifecycle, core.feed; print('core.engine' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
