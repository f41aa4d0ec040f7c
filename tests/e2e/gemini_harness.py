"""Run the real Gemini CLI offline: binary lookup, a private HOME, the stand-in Gemini API.

The Gemini CLI is pointed at the scripted stand-in (``gemini_standin``) by the environment:
``GOOGLE_GEMINI_BASE_URL`` (plain HTTP is allowed for 127.0.0.1) and a made-up
``GEMINI_API_KEY``, with ``gemini-api-key`` chosen as the auth type in
``$HOME/.gemini/settings.json`` so no login dialog opens. The same file turns off what would
try the network or block an interactive start: usage statistics and telemetry, the update
check, the folder-trust dialog, the IDE nudge, the tips. The model is named explicitly (not
``auto``), so no router classifier call precedes a turn.

What remains of the CLI's own traffic to the stand-in: the conversation
(``streamGenerateContent``), and on a later start a one-sentence summary of the previous
session (``generateContent`` on a flash-lite model). Nothing else is connected to.

A 4xx other than 429 ends the turn at once with ``✕ [API Error: <the error JSON>]``. A 5xx
or 429 is retried with exponential back-off (5 s doubling to 30 s, ``general.maxAttempts``
tries, 10 by default) with nothing on screen but the running ``Thinking...`` timer. When the
tries run out: headless (``-p``) the CLI exits 1; interactive, under the default
``ui.errorVerbosity`` "low" it starts over, for ever (until Escape); under "full" it asks
"We are currently experiencing high demand." (``1. Keep trying`` / ``2. Stop``), and Stop
shows the ``✕ [API Error: …]`` line. A test of that error sets, through ``extra``,
``{"general": {"maxAttempts": 1}, "ui": {"errorVerbosity": "full"}}``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

GEMINI_VERSION = "0.61.0"
"""The version the tests and golden captures were made with (tests/run installs it)."""
GEMINI_CACHE = Path(os.environ.get("AO_TUI_GEMINI_CACHE") or "~/.cache/ao-tui/gemini-cli")
"""Where ``npm install --prefix ~/.cache/ao-tui/gemini-cli @google/gemini-cli`` installs it
(tests/run); read on import, under the developer's HOME (the tests' own HOME is a temp dir)."""
_CACHED = GEMINI_CACHE.expanduser() / "node_modules" / ".bin" / "gemini"
"""The package's launcher (``bundle/gemini.js``, a node script with a shebang)."""

TEST_API_KEY = "standin-gemini-key"
TEST_MODEL = "gemini-2.5-flash"
"""A concrete model, so no ``auto`` routing (a classifier call) happens before a turn; it
is also outside the CLI's fallback chains, so a persistent error offers no model switch."""


def find_gemini_binary() -> Path | None:
    """The Gemini CLI: $AO_TUI_GEMINI_BIN, then the one in the ao-tui cache, then PATH."""
    override = os.environ.get("AO_TUI_GEMINI_BIN")
    if override:
        candidate = Path(override).expanduser()
        return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None
    if _CACHED.is_file() and os.access(_CACHED, os.X_OK):
        return _CACHED
    on_path = shutil.which("gemini")
    return Path(on_path) if on_path else None


def require_gemini_binary() -> Path:
    """The binary, or skip the test with the reason; fail instead under
    ``AO_TUI_REQUIRE_GEMINI=1`` (CI)."""
    binary = find_gemini_binary()
    if binary is not None:
        return binary
    reason = (
        "Gemini CLI not found (set AO_TUI_GEMINI_BIN, or run `npm install --prefix "
        f"~/.cache/ao-tui/gemini-cli @google/gemini-cli@{GEMINI_VERSION}`, or put `gemini` "
        "on PATH)"
    )
    if os.environ.get("AO_TUI_REQUIRE_GEMINI") == "1":
        pytest.fail(f"AO_TUI_REQUIRE_GEMINI=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def gemini_settings(*, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The user settings of one offline Gemini CLI; ``extra`` sections are merged in (one
    level deep: ``{"general": {"maxAttempts": 1}}`` keeps the other ``general`` keys)."""
    settings: dict[str, Any] = {
        "security": {
            "auth": {"selectedType": "gemini-api-key"},
            # No "Do you trust the files in this folder?" dialog; every folder is trusted.
            "folderTrust": {"enabled": False},
        },
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "model": {"name": TEST_MODEL},
        "ide": {"enabled": False, "hasSeenNudge": True},
        "ui": {"hideTips": True, "showCompatibilityWarnings": False},
        # No bundled ripgrep: without this it warns on stderr and falls back to its grep tool.
        "tools": {"useRipgrep": False},
    }
    for section, values in (extra or {}).items():
        current = settings.get(section)
        if isinstance(current, dict) and isinstance(values, dict):
            settings[section] = {**current, **values}
        else:
            settings[section] = values
    return settings


def write_gemini_home(home: Path, base_url: str, *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``<home>/.gemini/settings.json`` for an offline CLI, and ``<home>/.gemini/.env``
    naming the stand-in; ``home`` (the CLI's HOME).

    The CLI loads that ``.env`` when no ``.env`` lies between its working directory and the
    root, and never over a variable already set, so a CLI started with only this HOME still
    reaches the stand-in, and :func:`gemini_env` wins when given.
    """
    config_dir = home / ".gemini"
    config_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(gemini_settings(extra=extra), indent=2) + "\n"
    (config_dir / "settings.json").write_text(text, encoding="utf-8")
    dotenv = f"GEMINI_API_KEY={TEST_API_KEY}\nGOOGLE_GEMINI_BASE_URL={base_url}\n"
    (config_dir / ".env").write_text(dotenv, encoding="utf-8")
    return home


def gemini_env(base_url: str, home: Path | None = None) -> dict[str, str]:
    """The variables of one offline Gemini CLI: the stand-in's URL and key, and its HOME
    when given."""
    env = {
        "GEMINI_API_KEY": TEST_API_KEY,
        "GOOGLE_GEMINI_BASE_URL": base_url,
        # Trust the workspace even if folder trust is switched back on.
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        # Run the CLI in the launched process instead of a relaunched child node, so the
        # agent is the pane's own process, as a kill expects.
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "GEMINI_TELEMETRY_ENABLED": "false",
        "NO_BROWSER": "true",
    }
    if home is not None:
        env["HOME"] = str(home)
    return env
