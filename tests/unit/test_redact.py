"""Credentials never reach the database: known token shapes are masked, other text kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import Activity, ActivityState, SignalSource, WaitingFor
from core.redact import MASK, env_secrets, is_secret_name, redact, redact_value
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
        WaitingFor("permission", "Bash", f"GH_TOKEN={token} gh pr create"),
    )
    store.insert_session(make_session("app-1", activity=waiting), event=("spawned", {"t": token}))
    store.update_session("app-1", activity=waiting, event=("activity", {"detail": token}))
    store.close()
    assert token.encode() not in (tmp_path / "s.db").read_bytes()
    wal = tmp_path / "s.db-wal"
    assert not wal.exists() or token.encode() not in wal.read_bytes()


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ('{"password": "hunter2hunter2", "user": "ann"}', "hunter2hunter2", '"user": "ann"'),
        ("git clone https://x-access-token:abc123def456@github.com/o/r", "abc123def456", "@github"),
        ("psql --password s3cr3tValue99 -h db", "s3cr3tValue99", "-h db"),
        (
            "JWT eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMe x",
            "SflKx",
            " x",
        ),
        ("npm npm_abcdefghijklmnopqrstuvwxyz0123456789 ok", "npm_abcdefghij", " ok"),
        ("gitlab glpat-abcdefghijklmnopqrst1 ok", "glpat-abcdefghij", " ok"),
        ("stripe sk_live_abcdefghijklmnop1234 ok", "sk_live_abcdefghij", " ok"),
        ("google AIzaSyA1234567890abcdefghijklmnopqrstuv ok", "AIzaSyA1234567890", " ok"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA== ok", "dXNlcjpwYXNzd29yZA", " ok"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG ok", "wJalrXUtnFEMI", " ok"),
    ],
)
def test_more_secret_shapes_are_masked_and_the_rest_of_the_line_kept(
    text: str, secret: str, kept: str
) -> None:
    masked = redact(text)
    assert secret not in masked
    assert MASK in masked and kept in masked


def test_a_private_key_block_is_masked_whole() -> None:
    body = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"] * 5)
    text = f"before\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nafter"
    masked = redact(text)
    assert "MIIEvQIBADANBgkqhkiG9w0" not in masked
    assert masked.startswith("before\n") and masked.endswith("\nafter")


def test_values_of_secret_named_variables_are_masked_literally() -> None:
    environ = {
        "DEPLOY_TOKEN": "plain-words-no-shape-42",
        "DB_PASSWORD": "correct horse battery",
        "MY_API_KEY": "k" * 12,
        "SHORT_SECRET": "abc",  # too short to mask without masking everything
        "HOME": "/home/ann-the-operator",
        "GIT_AUTHOR_NAME": "Ann Operator Long Name",
    }
    secrets = env_secrets(environ)
    assert set(secrets) == {"plain-words-no-shape-42", "correct horse battery", "k" * 12}
    text = "deploying with plain-words-no-shape-42 as Ann Operator Long Name; correct horse battery"
    masked = redact(text, secrets)
    assert masked == "deploying with *** as Ann Operator Long Name; ***"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("NPM_AUTH_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("OPENAI_APIKEY", True),
        ("ANTHROPIC_API_KEY", True),
        ("PGPASSWORD", True),
        ("GPG_PASSPHRASE", True),
        ("GOOGLE_CREDENTIALS", True),
        ("GH_PAT", True),
        ("SIGNING_KEY", True),
        ("HOME", False),
        ("GIT_AUTHOR_NAME", False),
        ("KEYBOARD_LAYOUT", False),
        ("PATH", False),
        ("PWD", False),
    ],
)
def test_secret_variable_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_redaction_is_idempotent() -> None:
    text = 'GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ "password": "hunter2hunter2"'
    once = redact(text)
    assert redact(once) == once
