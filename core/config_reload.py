"""Follow the config file of a long-running process: reload it into the engine when it changes.

A cockpit or daemon runs for hours; the operator fixes ``ci.command`` or adds a project's
``env:`` meanwhile. Without a reload, a CI rerun from the cockpit would run the old command
while the CLI runs the new one. So the file is watched (the same watch machinery as the
store, :mod:`core.activity.watch`, on the file's directory, since editors replace the file
by renaming a new one over it), and each change is loaded as the CLI would load it:

- it loads and differs: the engine uses it for every new action from then on (a CI run,
  a spawn, a merge) and the caller is told what changed;
- it no longer loads: the engine keeps the config it has, and the caller is told why in
  one line, until a later change loads again.

Sessions already running keep what they were started with (their agent's environment,
a CI run already going).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from core.activity.watch import watch_dirs
from core.config import Config, load_config
from core.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from core.engine import Engine

SETTLE = 0.2
"""Seconds to let an editor finish writing before the file is read."""
RESYNC = 5.0
"""Seconds between looks at the file even without a watch event (a missed one)."""
ERROR_MAX = 240
"""Longest error line handed on (the first problem; the others are counted)."""


@dataclass(frozen=True)
class Reload:
    """What one look at a changed config file found."""

    changed: bool
    """True when the engine now runs the new config."""
    summary: str = ""
    """What changed, one line (``app: ci, env``); "" when nothing that matters did."""
    error: str = ""
    """Why the file was not taken (one line, file:line:col first); "" when it loaded."""
    config: Config | None = None
    """The config now in use when it changed."""


def one_line(error: ConfigError) -> str:
    """The first problem of ``error`` with the file's name (not its whole path), and how
    many more there are."""
    problems = error.problems or [ConfigProblem("", 0, 0, "", str(error))]
    first = problems[0]
    shown = str(ConfigProblem(Path(first.file).name if first.file else "", *_rest(first)))
    shown = " ".join(shown.split())
    if len(problems) > 1:
        shown += f" (and {len(problems) - 1} more: `ao-tui config check` lists them)"
    return shown if len(shown) <= ERROR_MAX else shown[: ERROR_MAX - 1] + "…"


def _rest(problem: ConfigProblem) -> tuple[int, int, str, str]:
    return problem.line, problem.col, problem.field, problem.message


def _changed_keys(old: BaseModel, new: BaseModel) -> list[str]:
    """The YAML names of the top-level fields of two models of one class that differ."""
    fields = type(old).model_fields
    return [to_camel(name) for name in fields if getattr(old, name) != getattr(new, name)]


def describe_changes(old: Config, new: Config) -> str:
    """What differs between two configs, one line: ``app: ci, env; project web added``."""
    parts: list[str] = []
    for project_id in sorted(set(old.projects) | set(new.projects)):
        before, after = old.projects.get(project_id), new.projects.get(project_id)
        if before is None:
            parts.append(f"project {project_id} added")
        elif after is None:
            parts.append(f"project {project_id} removed")
        else:
            keys = _changed_keys(before, after)
            if keys:
                parts.append(f"{project_id}: {', '.join(keys)}")
    for section in ("defaults", "cockpit"):
        keys = _changed_keys(getattr(old, section), getattr(new, section))
        if keys:
            parts.append(f"{section}: {', '.join(keys)}")
    return "; ".join(parts)


class ConfigFollower:
    """Reloads one config file into one engine, each time its contents change."""

    def __init__(
        self, engine: Engine, path: Path, *, known_keys: Collection[str] | None = None
    ) -> None:
        """Follow ``path``, the file ``engine.config`` was loaded from.

        ``known_keys`` are the cockpit's binding ids, checked as the CLI checks them.
        """
        self.engine = engine
        self.path = path
        self.known_keys = known_keys
        self._seen: bytes | None = None
        """The contents last looked at (None: not yet; the first look compares settings)."""
        self._told = False
        """Whether the last thing reported was an error (its all-clear is news too)."""

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def check(self) -> Reload | None:
        """Look at the file now (blocking); None when its contents did not change."""
        data = self._read()
        if data == self._seen:
            return None
        self._seen = data
        try:
            loaded = load_config(
                self.path,
                known_agents=self.engine.registry.names("agent"),
                known_keys=self.known_keys,
            )
        except ConfigError as exc:
            return Reload(False, error=one_line(exc))
        summary = describe_changes(self.engine.config, loaded.config)
        if not summary:
            return Reload(False)
        self.engine.use_config(loaded.config)
        return Reload(True, summary=summary, config=loaded.config)

    def _roots(self) -> list[Path]:
        """The file's directory, and its target's when it is a symlink."""
        roots = [self.path.absolute().parent]
        with contextlib.suppress(OSError):
            target = self.path.resolve().parent
            if target not in roots:
                roots.append(target)
        return roots

    def _names(self) -> set[str]:
        names = {self.path.name}
        with contextlib.suppress(OSError):
            names.add(self.path.resolve().name)
        return names

    async def follow(self, stop: asyncio.Event, on_reload: Callable[[Reload], None]) -> None:
        """Call ``on_reload`` after each change of the file until ``stop`` is set."""
        wake = asyncio.Event()
        names = self._names()
        watcher = asyncio.create_task(
            watch_dirs(self._roots, wake.set, stop, recursive=False, accept=names.__contains__)
        )
        try:
            # The first look catches a change made between loading the config and now.
            wake.set()
            while not stop.is_set():
                if wake.is_set():
                    # A save is often a truncate and then a write: read once it is done.
                    await asyncio.sleep(SETTLE)
                    wake.clear()
                result = await asyncio.to_thread(self.check)
                if result is not None and (result.changed or result.error or self._told):
                    self._told = bool(result.error)
                    on_reload(result)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), RESYNC)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
