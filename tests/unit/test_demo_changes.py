"""The demo agent's change builders: code, a new unittest module for it, a changelog line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plugins.agent.demo_program.changes import (
    FileEdit,
    change_with_test,
    create_file,
    new_test_module,
)


def test_a_new_test_module_is_a_unittest_module_that_runs(tmp_path: Path) -> None:
    edit = new_test_module(
        "tests/test_math.py",
        "Adding works.",
        imports="from operator import add",
        case="AddTest",
        methods="    def test_add(self) -> None:\n        self.assertEqual(add(2, 2), 4)\n",
    )
    text = edit.rewrite(None)
    assert edit.path == "tests/test_math.py"
    assert text is not None and text.startswith('"""Adding works."""\n\nimport unittest\n')
    assert edit.rewrite("already there\n") is None  # only ever creates the file
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_math.py").write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test_add (tests.test_math.AddTest" in proc.stderr
    assert "Ran 1 test" in proc.stderr


def test_a_change_with_test_writes_the_code_then_the_test_then_the_changelog(
    tmp_path: Path,
) -> None:
    code = FileEdit("lib.py", create_file("X = 1\n"))
    test = FileEdit("tests/test_lib.py", create_file("# a test\n"))
    change = change_with_test(
        intent="I'll add X.", message="Add X", edit=code, test=test, changelog="Add `X`."
    )
    assert (change.intent, change.message, change.run_tests) == ("I'll add X.", "Add X", True)
    planned = change.plan(tmp_path)
    assert planned is not None
    assert [(e.path, e.old, e.new) for e in planned] == [
        ("lib.py", None, "X = 1\n"),
        ("tests/test_lib.py", None, "# a test\n"),
        ("CHANGELOG.md", None, "# Changelog\n\n## Unreleased\n\n- Add `X`.\n"),
    ]
