"""core/ never imports Textual or Rich, and headless CLI verbs stay light.

Checked in a fresh interpreter so modules loaded by other tests cannot hide an import.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[2]


def _modules_loaded_by(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_every_core_module_imports_without_textual_or_rich() -> None:
    names = [m.name for m in pkgutil.walk_packages(core.__path__, "core.")]
    assert "core.engine" in names
    loaded = _modules_loaded_by("\n".join(f"import {name}" for name in names))
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "rich")}


def test_status_json_path_does_not_import_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from ao_tui.cli import main\n"
        f"args = ['--config', {str(tmp_path / 'none.yaml')!r}, 'status', '--json']\n"
        "r = CliRunner().invoke(main, args)\n"
    )
    loaded = _modules_loaded_by(code)
    assert "ao_tui.cli" in loaded
    assert "textual" not in loaded
    assert "rich" not in loaded
