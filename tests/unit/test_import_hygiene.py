"""core/ never imports Textual or Rich, and headless CLI verbs stay light.

Checked in a fresh interpreter so modules loaded by other tests cannot hide an import.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

import core
from core.lease import EngineLease
from core.locations import Locations
from core.plugin_index import SETTLE_SECONDS
from tests.bench.sandbox import record_claude_sessions
from tests.support.engine import make_engine, write_config

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


_STATUS_JSON = (
    "import os\n"
    "from click.testing import CliRunner\n"
    "from ao_tui.cli import main\n"
    "r = CliRunner().invoke(main, ['--config', os.environ['CFG'], 'status', '--json'])\n"
    "assert r.exit_code == 0, r.output\n"
)


def _status_json_modules(config: Path) -> set[str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _STATUS_JSON + "import sys, json; print(json.dumps(sorted(sys.modules)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CFG": str(config)},
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_status_json_beside_a_daemon_only_reads_the_store(git_repo: Path, tmp_path: Path) -> None:
    # Scripts poll `status --json`: with the lease held elsewhere it must cost no more than
    # reading the store (issue 10 §8: < 80 ms). No config, no plugins, no event loop.
    config = write_config(tmp_path, git_repo)
    lease = EngineLease(Locations.from_env().engine_lock, kind="daemon")
    assert lease.acquire()
    try:
        loaded = _status_json_modules(config)
    finally:
        lease.close()
    heavy = {"asyncio", "pydantic", "yaml", "httpx", "textual", "core.engine", "core.config"}
    assert not {m for m in loaded if m in heavy or m.split(".")[0] in heavy}


def test_status_json_alone_loads_no_event_loop_nor_http(git_repo: Path, tmp_path: Path) -> None:
    # Without a daemon, status reconciles itself: that needs the config and the plugins,
    # but not asyncio (~30 ms), nor httpx when no project uses GitHub.
    config = write_config(tmp_path, git_repo)
    loaded = _status_json_modules(config)
    assert "core.engine" in loaded
    assert not {"asyncio", "httpx", "ssl", "textual", "rich"} & loaded


def test_status_json_alone_from_its_snapshots_loads_no_validator(
    git_repo: Path, tmp_path: Path
) -> None:
    # The first call validates the config and lists the plugins, and keeps both; the next
    # ones rebuild them without pydantic, PyYAML or importlib.metadata (issue 10 §8).
    config = write_config(tmp_path, git_repo, agent="claude-code")
    record_claude_sessions(make_engine(config), 2, [])
    first = _status_json_modules(config)
    assert {"pydantic", "yaml", "importlib.metadata"} <= first
    if not Locations.from_env().plugin_index.exists():
        # A place on sys.path changed just now: the index waits until it has settled.
        time.sleep(SETTLE_SECONDS + 0.1)
        _status_json_modules(config)
    loaded = _status_json_modules(config)
    assert {"core.engine", "plugins.agent.claude_code.plugin"} <= loaded
    heavy = ("pydantic", "pydantic_core", "yaml", "importlib.metadata", "core.config")
    assert [m for m in loaded if any(m == h or m.startswith(h + ".") for h in heavy)] == []


def test_status_json_alone_loads_no_ci_runner_nor_merge_worktrees(
    git_repo: Path, tmp_path: Path
) -> None:
    # The local SCM plugin is loaded to refresh each session's branch state, but a run of
    # CI (the runner, its reaper, ctypes) or a merge (scratch worktrees) is seldom due:
    # they are imported when one is (issue 10 §8).
    config = write_config(tmp_path, git_repo, agent="claude-code")
    record_claude_sessions(make_engine(config), 2, [])
    loaded = _status_json_modules(config)
    assert {"plugins.scm.local", "plugins.agent.claude_code.plugin"} <= loaded
    assert not {"core.ci_runner", "core.ci_reaper", "ctypes", "plugins.scratch_worktrees"} & loaded


def test_the_product_ships_no_test_fakes() -> None:
    # The canned cockpit state (a fake runtime, sample sessions) is test support: an
    # installed ao-tui must neither contain it nor import the tests package.
    fakes = {"CannedRuntime", "sample_engine", "sample_sessions", "many_sessions"}
    found = []
    for package in ("ao_tui", "core", "plugins"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests"):
                    found.append(f"{path.relative_to(ROOT)} imports {node.module}")
                elif isinstance(node, ast.Import):
                    found += [
                        f"{path.relative_to(ROOT)} imports {alias.name}"
                        for alias in node.names
                        if alias.name.split(".")[0] == "tests"
                    ]
            found += [
                f"{path.relative_to(ROOT)} defines {node.name}"
                for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in fakes
            ]
    assert found == []
