"""The engine's verbs do their work in one module per verb group, through what it hands them.

``core/engine.py`` holds the verbs and their contracts (issue 10 §7); spawning, delivery,
kill/restore and review each live in their own module, and plugin lookups in
``core/plugin_access.py``. Those modules use the engine's public members, or the callables
it passes them: none reaches into its private state, so the engine's internals (its
reconcile lock, its reconciler) can change without touching them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERB_MODULES = (
    "core/spawning.py",
    "core/delivery.py",
    "core/kill_restore.py",
    "core/review_ops.py",
    "core/review_verbs.py",
    "core/plugin_access.py",
)


def private_reach_ins(source: str) -> list[str]:
    """``name._member`` uses in ``source`` on anything but ``self`` (dunders aside)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id != "self"
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_verb_modules_use_no_private_member_of_the_engine() -> None:
    for name in VERB_MODULES:
        reach_ins = private_reach_ins((ROOT / name).read_text(encoding="utf-8"))
        assert reach_ins == [], f"{name}: {reach_ins} (have the engine pass it instead)"


def test_the_check_sees_a_reach_in() -> None:
    violation = "def send(engine):\n    return engine._observe('app-1')\n"
    assert private_reach_ins(violation) == ["line 2: engine._observe"]


def test_the_verb_modules_load_without_the_engine() -> None:
    # They name the engine for type checking only: no import cycle at run time.
    modules = ", ".join(Path(name).stem for name in VERB_MODULES)
    probe = f"import sys\nfrom core import {modules}\nprint('core.engine' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
