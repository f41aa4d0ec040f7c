"""Run the real Codex CLI offline: binary lookup, a private CODEX_HOME, the stand-in provider.

Codex is pointed at the scripted Responses stand-in (``responses_standin``) through a custom
model provider in ``$CODEX_HOME/config.toml``: ``base_url`` on 127.0.0.1, ``wire_api =
"responses"``, the key read from ``env_key``. Retries are off so an API error ends the turn
at once, and the update check and analytics are off so nothing tries the network.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CODEX_VERSION = "0.171.0"
"""The version the tests and golden captures were made with (tests/run installs it)."""
CODEX_CACHE = Path(os.environ.get("AO_TUI_CODEX_CACHE") or "~/.cache/ao-tui/codex-cli")
"""Where ``npm install --prefix ~/.cache/ao-tui/codex-cli @openai/codex`` installs it
(tests/run); read on import, under the developer's HOME (the tests' own HOME is a temp dir)."""
_NATIVE = "node_modules/@openai/codex-*/vendor/*/bin/codex"
"""The native binary in the platform package. The package's ``bin/codex.js`` launcher only
runs it as a child; run directly, the agent is the pane's own process, as a kill expects."""
_CACHED = sorted(CODEX_CACHE.expanduser().glob(_NATIVE))


TEST_KEY_VAR = "STANDIN_API_KEY"
TEST_API_KEY = "sk-standin-test"
TEST_MODEL = "gpt-standin"


def find_codex_binary() -> Path | None:
    """The Codex binary: $AO_TUI_CODEX_BIN, then the native one in the ao-tui cache, then
    PATH."""
    override = os.environ.get("AO_TUI_CODEX_BIN")
    if override:
        candidate = Path(override).expanduser()
        return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None
    for cached in _CACHED:
        if cached.is_file() and os.access(cached, os.X_OK):
            return cached
    on_path = shutil.which("codex")
    return Path(on_path) if on_path else None


def require_codex_binary() -> Path:
    """The binary, or skip the test with the reason; fail instead under
    ``AO_TUI_REQUIRE_CODEX=1`` (CI)."""
    binary = find_codex_binary()
    if binary is not None:
        return binary
    reason = (
        "Codex CLI not found (set AO_TUI_CODEX_BIN, or run `npm install --prefix "
        f"~/.cache/ao-tui/codex-cli @openai/codex@{CODEX_VERSION}`, or put `codex` on PATH)"
    )
    if os.environ.get("AO_TUI_REQUIRE_CODEX") == "1":
        pytest.fail(f"AO_TUI_REQUIRE_CODEX=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def write_codex_home(home: Path, base_url: str, *, extra: str = "") -> Path:
    """Write ``<home>/config.toml`` with the stand-in as the model provider; ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    config = f"""\
model = "{TEST_MODEL}"
model_provider = "standin"
check_for_update_on_startup = false
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[model_providers.standin]
name = "Stand-in"
base_url = "{base_url}"
env_key = "{TEST_KEY_VAR}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
{extra}"""
    (home / "config.toml").write_text(config, encoding="utf-8")
    return home


def codex_env(home: Path, codex_home: Path) -> dict[str, str]:
    """The variables of one offline Codex: its HOME and CODEX_HOME, and the stand-in key."""
    return {"HOME": str(home), "CODEX_HOME": str(codex_home), TEST_KEY_VAR: TEST_API_KEY}
