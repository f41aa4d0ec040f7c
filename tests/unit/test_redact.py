"""Credentials never reach the database: known token shapes are masked, other text kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Activity, ActivityState, SignalSource
from core.redact import redact, redact_value
from core.store import Store
from tests.unit.test_store import make_session


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('curl -H "Authorization: Bearer abcdefghijklmnop1234" x', "abcdefghijklmnop1234"),
        ("export GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ", "ghp_0123456789"),
        ("key sk-ant-api03-AbCdEfGh12345678 here", "AbCdEfGh12345678"),
        ("SLACK=xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        ("mysql --password=hunter2hunter2", "hunter2hunter2"),
        ("API_KEY: 'zzzzzzzzzzzz'", "zzzzzzzzzzzz"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "text",
    ["rm -rf build", "pytest -k token_refresh", "fix the password reset page", "sk-ant-test"],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_nested_values_are_redacted() -> None:
    value = {"a": ["Bearer abcdefghijklmnopqrst"], "n": 3}
    assert redact_value(value) == {"a": ["Bearer ***"], "n": 3}


def test_store_never_writes_a_token(tmp_path: Path) -> None:
    token = "ghp_0123456789abcdefghijABCDEFGHIJ"
    store = Store(tmp_path / "s.db")
    waiting = Activity(
        ActivityState.WAITING_INPUT,
        SignalSource.HOOK,
        1.0,
        f"permission: Bash: git push https://{token}@github.com/x/y",
        {"kind": "permission", "tool": "Bash", "command": f"GH_TOKEN={token} gh pr create"},
    )
    store.insert_session(make_session("app-1", activity=waiting), event=("spawned", {"t": token}))
    store.update_session("app-1", activity=waiting, event=("activity", {"detail": token}))
    store.close()
    assert token.encode() not in (tmp_path / "s.db").read_bytes()
    wal = tmp_path / "s.db-wal"
    assert not wal.exists() or token.encode() not in wal.read_bytes()
