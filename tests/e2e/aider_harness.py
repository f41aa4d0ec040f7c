"""Run the real Aider CLI offline: binary lookup, the environment that keeps it off the network.

Aider is pointed at the scripted stand-in (``tests/e2e/openai_chat_standin.py``) as an
OpenAI-compatible API, through its own ``AIDER_*`` variables, with a throw-away ``HOME``.
Everything that would reach the network is off: the update check and release notes (the
plugin passes those flags), analytics, litellm's model price map (``LITELLM_LOCAL_MODEL_
COST_MAP``) and Aider's model-metadata download (the model is described in a local file).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

AIDER_VERSION = "0.86.2"
"""The pinned ``aider-chat`` release (tests/run installs it)."""
AIDER_CACHE_BINARY = Path("~/.cache/ao-tui/aider-venv/bin/aider")
"""Where tests/run installs it: its own virtualenv (it pins many packages of its own)."""
MODEL = "openai/standin"
TEST_API_KEY = "sk-test-aider"


def find_aider_binary() -> Path | None:
    """The Aider binary: $AO_TUI_AIDER_BIN, then the ao-tui cache, then PATH."""
    override = os.environ.get("AO_TUI_AIDER_BIN")
    if override:
        candidate = Path(override).expanduser()
        return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None
    cached = AIDER_CACHE_BINARY.expanduser()
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    on_path = shutil.which("aider")
    return Path(on_path) if on_path else None


def aider_required() -> bool:
    """True when CI demands the real binary (``AO_TUI_REQUIRE_AIDER=1``)."""
    return os.environ.get("AO_TUI_REQUIRE_AIDER") == "1"


def require_aider_binary() -> Path:
    """The binary, or skip the test with the reason; fail instead when CI requires it."""
    binary = find_aider_binary()
    if binary is not None:
        return binary
    reason = (
        "Aider CLI not found (set AO_TUI_AIDER_BIN, or run `python3 -m venv "
        f"~/.cache/ao-tui/aider-venv && ~/.cache/ao-tui/aider-venv/bin/pip install "
        f"aider-chat=={AIDER_VERSION}`, or put `aider` on PATH)"
    )
    if aider_required():
        pytest.fail(f"AO_TUI_REQUIRE_AIDER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def aider_env(home: Path, base_url: str) -> dict[str, str]:
    """The variables for one offline Aider on the stand-in at ``base_url``."""
    home.mkdir(parents=True, exist_ok=True)
    metadata = home / "model-metadata.json"
    info = {
        "max_input_tokens": 128000,
        "max_output_tokens": 4096,
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
        "litellm_provider": "openai",
        "mode": "chat",
    }
    metadata.write_text(json.dumps({MODEL: info}))
    return {
        "HOME": str(home),
        "OPENAI_API_KEY": TEST_API_KEY,
        "AIDER_OPENAI_API_BASE": base_url,
        "AIDER_MODEL": MODEL,
        "AIDER_MODEL_METADATA_FILE": str(metadata),
        "AIDER_EDIT_FORMAT": "whole",
        "AIDER_ANALYTICS_DISABLE": "true",
        "AIDER_MAP_TOKENS": "0",
        "AIDER_SHOW_MODEL_WARNINGS": "false",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
