"""Where ao-tui keeps its state: one place decides every path under ``AO_TUI_HOME``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Locations:
    """The state directory layout (database, worktrees, per-session files, engine lock)."""

    home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Locations:
        """``AO_TUI_HOME`` if set, else the platform state dir (e.g. ~/.local/state/ao-tui)."""
        env = os.environ if environ is None else environ
        raw = env.get("AO_TUI_HOME")
        if raw:
            return cls(home=Path(raw).expanduser().absolute())
        # Imported only when asked: platformdirs brings tempfile (~5 ms of every CLI call).
        import platformdirs

        return cls(home=Path(platformdirs.user_state_dir("ao-tui")).absolute())

    @property
    def database(self) -> Path:
        """The SQLite database shared by the cockpit, the daemon and every CLI call."""
        return self.home / "state.db"

    @property
    def engine_lock(self) -> Path:
        """The lock file whose holder runs reconcile ticks (one process at a time)."""
        return self.home / "engine.lock"

    def worktree(self, project: str, session_id: str) -> Path:
        """Where the worktree of ``session_id`` lives."""
        return self.home / "worktrees" / project / session_id

    def session_dir(self, session_id: str) -> Path:
        """A private directory for one session's hook log and launch plan."""
        return self.home / "sessions" / session_id

    @property
    def config_snapshots(self) -> Path:
        """Validated configs kept as plain data, one per config file (core.config_snapshot)."""
        return self.home / "config-snapshots"

    @property
    def plugin_index(self) -> Path:
        """The installed plugins' entry points, remembered (core.plugin_index)."""
        return self.home / "plugin-index.json"

    @property
    def sessions_root(self) -> Path:
        """The parent of every session dir: one watcher root covers every hook log."""
        return self.home / "sessions"

    def ensure(self) -> None:
        """Create the home with owner-only permissions (it holds task text and env).

        A home that cannot be made (read-only, full, not a directory) is a
        :class:`~core.store_health.StoreError` saying which and what to do.
        """
        from core.store_health import os_error

        try:
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.sessions_root.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise os_error(self.home, exc) from exc
