"""The import layers: ``ao_tui → core ← plugins``, checked on the source, not at run time.

``core`` is the engine: it never imports ``plugins`` or ``ao_tui``, nor Textual or Rich
(the headless CLI and the daemon load it). ``plugins`` never import ``ao_tui``, nor Textual or
Rich (the daemon loads them too). ``ao_tui`` reaches a plugin only through the registry
(``core.registry``, which loads the entry points pyproject.toml lists), so it never names a
plugin module itself. Every import counts: at module level, inside functions, under
``TYPE_CHECKING``, and ``importlib.import_module("...")`` / ``__import__``
with a literal name.

The run-time twin, which also catches imports that third-party modules make on core's
behalf, is in test_import_hygiene.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, dict[str, str]] = {
    "core": {
        "plugins": "core asks the registry for plugins, it never names one",
        "ao_tui": "core is the engine every front end uses",
        "textual": "the headless verbs and the daemon load core",
        "rich": "the headless verbs and the daemon load core",
    },
    "plugins": {
        "ao_tui": "plugins serve every front end through core's interfaces",
        "textual": "the daemon loads plugins",
        "rich": "the daemon loads plugins",
    },
    "ao_tui": {
        "plugins": "ao_tui gets plugins from core.registry (the entry points)",
    },
}
"""Per layer (a top-level package), the top-level packages it must not import, and why."""

_DYNAMIC_IMPORTERS = {"import_module", "__import__"}


@dataclass(frozen=True)
class Violation:
    """One import that goes the wrong way between layers."""

    path: Path
    line: int
    layer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.layer} imports {self.imported} ({self.reason})"


def imported_names(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every absolute import in ``tree``, wherever in the module it sits.

    Relative imports are left out: they cannot leave their own top-level package, so they
    never cross a layer.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in _DYNAMIC_IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield node.lineno, first.value


def check_layers(root: Path) -> list[Violation]:
    """Every wrong-way import in the layer packages under ``root``, in file order."""
    found: list[Violation] = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((root / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in imported_names(tree):
                top = module.split(".")[0]
                if top in forbidden:
                    relative = path.relative_to(root)
                    found.append(Violation(relative, line, layer, module, forbidden[top]))
    return found


def test_no_layer_imports_the_wrong_way() -> None:
    violations = check_layers(ROOT)
    assert not violations, "\n".join(str(v) for v in violations)


def test_the_layers_checked_are_the_packages_that_exist() -> None:
    # A renamed package would otherwise pass the contract by no longer being looked at.
    for layer in FORBIDDEN:
        assert (ROOT / layer / "__init__.py").is_file(), layer


def test_a_wrong_way_import_is_reported_with_file_and_line(tmp_path: Path) -> None:
    files = {
        "core/__init__.py": "",
        "core/engine.py": (
            "from __future__ import annotations\n"
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from plugins.runtime.tmux import TmuxRuntime\n"
            "def spawn() -> None:\n"
            "    import ao_tui.app\n"
            "def load() -> object:\n"
            "    import importlib\n"
            "    return importlib.import_module('plugins.scm.local')\n"
            "import textual.app as _t\n"
            "import core.models\n"
        ),
        "core/sub/__init__.py": "",
        "core/sub/deep.py": "from plugins import git_locks\nfrom ..models import Session\n",
        "plugins/__init__.py": "",
        "plugins/scm.py": "from core.models import Session\n__import__('ao_tui.cli')\n",
        "ao_tui/__init__.py": "",
        "ao_tui/demo.py": (
            "from core.registry import Registry\nfrom plugins.git_cli import run_git\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")

    reported = {f"{v.path}:{v.line} {v.imported}" for v in check_layers(tmp_path)}

    assert reported == {
        "core/engine.py:4 plugins.runtime.tmux",
        "core/engine.py:6 ao_tui.app",
        "core/engine.py:9 plugins.scm.local",
        "core/engine.py:10 textual.app",
        "core/sub/deep.py:1 plugins",
        "plugins/scm.py:2 ao_tui.cli",
        "ao_tui/demo.py:2 plugins.git_cli",
    }
    [line] = [str(v) for v in check_layers(tmp_path) if v.path.name == "demo.py"]
    assert line == (
        "ao_tui/demo.py:2: ao_tui imports plugins.git_cli "
        "(ao_tui gets plugins from core.registry (the entry points))"
    )
