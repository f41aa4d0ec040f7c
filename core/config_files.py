"""Which config file is in scope, and its bytes: what every verb needs before validating.

Kept apart from :mod:`core.config` (pydantic, YAML) so a verb that rebuilds its config from
a snapshot (:mod:`core.config_snapshot`) finds and reads the file without importing them.
:mod:`core.config` re-exports every name here.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from core.errors import ConfigError
from core.private_files import read_at_most

CONFIG_FILENAMES = ("ao.config.yaml", "ao.config.yml")
"""ao-tui's own config file names, looked for in this order."""
AO_CONFIG_FILENAMES = ("agent-orchestrator.yaml", "agent-orchestrator.yml")
"""Agent Orchestrator's config file names, read in compatibility mode."""
CONFIG_ENV_VAR = "AO_TUI_CONFIG"
"""Environment variable naming the config file when ``--config`` is not given."""
MAX_CONFIG_BYTES = 1_000_000
"""A config is a few KB; anything this big is not one (and would be slow to check)."""


def expand_home(value: str, environ: Mapping[str, str]) -> Path:
    """``value`` with a leading ``~`` replaced by ``$HOME`` of ``environ`` (``~user`` too)."""
    if value == "~" or value.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        return Path(home + value[1:])
    return Path(value).expanduser()


def read_config_bytes(path: Path) -> bytes:
    """The file's bytes; refuses a FIFO or device (the read would block or never end).

    Raises :class:`OSError` (``FileNotFoundError``, ``IsADirectoryError``, ``EFBIG`` …);
    :func:`core.config.load_config` turns each into a one-line config error.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory, not a config file")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO or a device?)")
        data = read_at_most(fd, MAX_CONFIG_BYTES)
    finally:
        os.close(fd)
    if data is None:
        raise OSError(errno.EFBIG, f"larger than {MAX_CONFIG_BYTES:,} bytes; not a config")
    return data


def _named_config(given: str, source: str, cwd: Path, environ: Mapping[str, str]) -> Path:
    candidate = cwd / expand_home(given, environ)
    if candidate.is_dir():
        for name in CONFIG_FILENAMES + AO_CONFIG_FILENAMES:
            if (candidate / name).is_file():
                return candidate / name
        names = ", ".join(CONFIG_FILENAMES + AO_CONFIG_FILENAMES)
        raise ConfigError.single(
            f"no config file in this directory (given by {source}; looked for {names})",
            file=given,
        )
    if candidate.exists() and not candidate.is_file():
        raise ConfigError.single(
            f"not a regular file (given by {source}; a FIFO or a device?); give the config file",
            file=given,
        )
    if not candidate.is_file():
        raise ConfigError.single(f"config file not found (given by {source})", file=given)
    return candidate


def find_config(
    cwd: Path, explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Which config file to use, or None when there is none.

    Order: ``explicit`` (``--config``), then ``$AO_TUI_CONFIG``, then each directory from
    ``cwd`` up to the root, where ``ao.config.yaml``, ``ao.config.yml``,
    ``agent-orchestrator.yaml`` and ``agent-orchestrator.yml`` are tried in that order (the
    nearest directory wins). A file named explicitly or by the variable must exist, else
    :class:`ConfigError` names it; it may also be a directory holding one of those files.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if explicit:
        return _named_config(explicit, "--config", cwd, env)
    from_env = env.get(CONFIG_ENV_VAR)
    if from_env:
        return _named_config(from_env, f"${CONFIG_ENV_VAR}", cwd, env)
    start = cwd.absolute()
    for directory in (start, *start.parents):
        for name in CONFIG_FILENAMES + AO_CONFIG_FILENAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None
