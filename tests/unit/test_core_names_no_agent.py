"""No module under ``core/`` names an agent: agent knowledge lives in the agent plugins.

Adding an agent must touch no core module, so core's code and docstrings alike speak of
"the agent", "its transcript", "its hook log". One word is allowed: the name of the agent
plugin a configuration uses when it names none (a product default, not agent knowledge).
"""

from __future__ import annotations

import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
AGENT_NAMES = re.compile(r"claude|codex|aider|gemini", re.IGNORECASE)
ALLOWED = {("config_models.py", 'agent: str = "claude-code"')}
"""(file under core, stripped line) pairs allowed to name an agent."""


def agent_mentions(root: Path) -> list[str]:
    """``path:line: text`` for every line of a module under ``root`` naming an agent."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if AGENT_NAMES.search(line) and (relative, line.strip()) not in ALLOWED:
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_no_core_module_names_an_agent() -> None:
    assert agent_mentions(CORE) == []


def test_a_mention_in_code_or_docstring_is_caught(tmp_path: Path) -> None:
    """The deliberate violation: a core-like tree naming agents in code and in a docstring."""
    (tmp_path / "activity").mkdir()
    (tmp_path / "activity" / "reader.py").write_text(
        '"""Reads the Codex rollout."""\n\nfrom plugins.agent.aider import reader\n'
    )
    (tmp_path / "config_models.py").write_text('agent: str = "claude-code"\nDIR = ".CLAUDE"\n')
    assert agent_mentions(tmp_path) == [
        'activity/reader.py:1: """Reads the Codex rollout."""',
        "activity/reader.py:3: from plugins.agent.aider import reader",
        'config_models.py:2: DIR = ".CLAUDE"',
    ]
