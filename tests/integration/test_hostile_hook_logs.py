"""Hostile hook logs (tests/fixtures/hostile/hooks/) against the recovery's reader.

Recovery reads the agent's session id from a session's hook log when the manifest is gone.
Whatever the log holds, the answer is a lowercase uuid or nothing, never an exception, and
adopting the folder gives a row with a usable uuid.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from core.inventory import ADOPT, take_inventory
from core.recovery import _hook_log_session_id, fix_findings
from tests.support.engine import make_engine, write_config

HOSTILE = Path(__file__).parents[1] / "fixtures" / "hostile" / "hooks"
FILES = sorted(p for p in HOSTILE.iterdir() if p.is_file())
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 12


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_the_session_id_reader_answers_a_uuid_or_nothing(path: Path) -> None:
    found = _hook_log_session_id(path)
    assert found == "" or UUID.fullmatch(found), repr(found[:80])


def test_adopting_folders_with_hostile_hook_logs_gives_usable_rows(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    for n, path in enumerate(FILES, start=1):
        folder = engine.locations.session_dir(f"app-{n}")
        folder.mkdir()
        shutil.copyfile(path, folder / "hooks.jsonl")
    inventory = take_inventory(engine)
    assert {f.action for f in inventory.findings} == {ADOPT}
    results = fix_findings(engine, inventory)
    assert all(r.ok for r in results), results
    rows = engine.list()
    assert len(rows) == len(FILES)
    assert all(UUID.fullmatch(row.agent_session_id) for row in rows)
    assert take_inventory(engine).findings == []
