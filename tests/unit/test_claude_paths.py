"""Claude Code's project-dir encoding and transcript lookup."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from plugins.agent.claude_code.paths import (
    MAX_PROJECT_DIR_LEN,
    claude_config_dir,
    find_transcript,
    project_dir_name,
    transcript_path,
)

UUID = "0b8f6a4e-2c1d-4e5f-9a7b-3c2d1e0f9a8b"

# Claude's own encoder, as shipped in the 2.1.x bundle (a JS regex over UTF-16 code units,
# then a Java-style string hash in base 36 for names over 200 characters).
_JS_ENCODER = r"""
function h(e){let t=0;for(let n=0;n<e.length;n++)t=(t<<5)-t+e.charCodeAt(n)|0;return t}
function enc(e){let t=e.replace(/[^a-zA-Z0-9]/g,"-");if(t.length<=200)return t;
  return `${t.slice(0,200)}-${Math.abs(h(e)).toString(36)}`}
process.stdout.write(enc(process.argv[1]));
"""


@pytest.mark.parametrize(
    ("cwd", "expected"),
    [
        ("/home/u/my_repo/.wt", "-home-u-my-repo--wt"),
        ("/home/u/with space/x", "-home-u-with-space-x"),
        ("/srv/app.v2/feature.branch", "-srv-app-v2-feature-branch"),
        ("/home/josé/projé", "-home-jos--proj-"),
        ("/x/😀", "-x---"),  # astral character: two UTF-16 code units, two dashes
        ("/Tmp/ABC123", "-Tmp-ABC123"),
    ],
)
def test_every_non_alphanumeric_character_becomes_a_dash(cwd: str, expected: str) -> None:
    assert project_dir_name(cwd) == expected


def test_long_names_are_truncated_and_suffixed_with_a_hash() -> None:
    cwd = "/home/u/" + "deep_dir/" * 30
    name = project_dir_name(cwd)
    plain = cwd.replace("/", "-").replace("_", "-")
    assert name.startswith(plain[:MAX_PROJECT_DIR_LEN] + "-")
    suffix = name[MAX_PROJECT_DIR_LEN + 1 :]
    assert suffix and suffix.isalnum() and suffix == suffix.lower()
    assert project_dir_name(cwd + "x") != name  # the hash depends on the full path


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(
    "cwd",
    [
        "/home/u/my_repo/.wt",
        "/home/josé/😀/x",
        "/home/u/" + "deep_dir/" * 30,
        "/tmp/" + "ünïcødé-" * 40,
    ],
)
def test_encoding_matches_claudes_javascript(cwd: str) -> None:
    """Cross-check against the encoder copied from the Claude Code bundle, run by node."""
    proc = subprocess.run(
        ["node", "-e", _JS_ENCODER, cwd], capture_output=True, text=True, check=True
    )
    assert project_dir_name(cwd) == proc.stdout


def _write_transcript(path: Path, cwd: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        {"type": "queue-operation", "operation": "dequeue"},
        {"type": "user", "cwd": cwd, "message": {"role": "user", "content": "hi"}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_find_transcript_at_the_computed_location(tmp_path: Path) -> None:
    cwd = "/srv/app/.worktrees/app-1"
    expected = transcript_path(tmp_path, cwd, UUID)
    _write_transcript(expected, cwd)
    assert expected.parent.name == "-srv-app--worktrees-app-1"
    assert find_transcript(tmp_path, UUID, cwd) == expected


def test_find_transcript_for_a_long_path_scans_and_matches_cwd(tmp_path: Path) -> None:
    cwd = "/home/u/" + "nested_dir/" * 25
    # The hash suffix Claude used is unknown to us: simulate a different one.
    actual = tmp_path / "projects" / (project_dir_name(cwd)[:200] + "-zzzz") / f"{UUID}.jsonl"
    _write_transcript(actual, cwd)
    decoy = tmp_path / "projects" / "-somewhere-else" / f"{UUID}.jsonl"
    _write_transcript(decoy, "/somewhere/else")
    assert find_transcript(tmp_path, UUID, cwd) == actual


def test_find_transcript_without_cwd_takes_the_only_candidate(tmp_path: Path) -> None:
    path = tmp_path / "projects" / "-anything" / f"{UUID}.jsonl"
    _write_transcript(path, "/anything")
    assert find_transcript(tmp_path, UUID) == path


def test_find_transcript_missing_or_empty_uuid(tmp_path: Path) -> None:
    assert find_transcript(tmp_path, UUID, "/nowhere") is None
    assert find_transcript(tmp_path, "", "/nowhere") is None


def test_config_dir_prefers_claude_config_dir_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/from/process")
    assert claude_config_dir({"CLAUDE_CONFIG_DIR": "/from/session"}) == Path("/from/session")
    assert claude_config_dir({"HOME": "/h"}) == Path("/from/process")
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    assert claude_config_dir({"HOME": "/h"}) == Path("/h/.claude")
    monkeypatch.setenv("HOME", "/process/home")
    assert claude_config_dir({}) == Path("/process/home/.claude")
