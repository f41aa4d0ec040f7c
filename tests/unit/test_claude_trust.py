"""Trusting a worktree in Claude's config: keeps every other key, honours Claude's lock."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from core.slots import SlotError
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.claude_code.trust import (
    claude_json_path,
    config_lock,
    forget_folder,
    trust_folder,
)


def test_trust_adds_the_entry_and_keeps_everything_else(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text(json.dumps({"theme": "dark", "projects": {"/x": {"allowedTools": ["a"]}}}))
    config.chmod(0o600)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    assert trust_folder(config, worktree) is True
    data = json.loads(config.read_text())
    assert data["theme"] == "dark"
    assert data["projects"]["/x"] == {"allowedTools": ["a"]}
    assert data["projects"][str(worktree)]["hasTrustDialogAccepted"] is True
    assert config.stat().st_mode & 0o777 == 0o600
    assert trust_folder(config, worktree) is False  # already trusted: file untouched


def test_a_missing_config_is_created(tmp_path: Path) -> None:
    config = tmp_path / "home" / ".claude.json"
    trust_folder(config, tmp_path)
    assert json.loads(config.read_text())["projects"][str(tmp_path)]["hasTrustDialogAccepted"]


def test_a_broken_config_is_left_alone_with_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text("{not json")
    with pytest.raises(SlotError, match=r"\.claude\.json.*not valid JSON"):
        trust_folder(config, tmp_path)
    assert config.read_text() == "{not json"


def test_waits_for_claudes_lock(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text("{}")
    released_at: list[float] = []

    def hold() -> None:
        with config_lock(config):
            time.sleep(0.3)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.05)
    trust_folder(config, tmp_path)
    done_at = time.monotonic()
    holder.join()
    assert done_at >= released_at[0]


def test_a_lock_a_killed_claude_left_is_taken_over_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Claude killed mid-write (a crash, a kill before a restore) leaves its lock behind,
    # touched a moment ago: waiting must outlast its going stale, not give up just before.
    from plugins.agent.claude_code import trust

    monkeypatch.setattr(trust, "STALE_LOCK", 0.5)
    config = tmp_path / ".claude.json"
    config.write_text("{}")
    (tmp_path / ".claude.json.lock").mkdir()
    started = time.monotonic()
    assert trust_folder(config, tmp_path)
    assert 0.5 <= time.monotonic() - started < 3.0


def test_config_path_follows_claude_config_dir_then_home(tmp_path: Path) -> None:
    assert claude_json_path({"CLAUDE_CONFIG_DIR": str(tmp_path)}) == tmp_path / ".claude.json"
    assert claude_json_path({"HOME": str(tmp_path)}) == tmp_path / ".claude.json"


def test_a_removed_worktree_is_forgotten_and_nothing_else(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text(json.dumps({"theme": "dark", "projects": {"/x": {"allowedTools": ["a"]}}}))
    config.chmod(0o600)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    trust_folder(config, worktree)
    assert forget_folder(config, worktree) is False  # still there: kept
    worktree.rmdir()
    notes = ClaudeCodeAgent().forget_worktree(worktree, {"HOME": str(tmp_path)})
    assert notes == [f"removed {worktree} from {config}"]
    assert json.loads(config.read_text()) == {
        "theme": "dark",
        "projects": {"/x": {"allowedTools": ["a"]}},
    }
    assert config.stat().st_mode & 0o777 == 0o600
    assert forget_folder(config, worktree) is False  # nothing left to forget


def test_forgetting_leaves_a_broken_config_alone(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    config.write_text("{not json")
    assert forget_folder(config, tmp_path / "gone") is False
    assert config.read_text() == "{not json"
