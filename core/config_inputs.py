"""What loading a config read from outside its file: environment variables and disk state.

A config is more than its bytes: ``${VAR}`` and ``~`` take values from the environment,
and the checks look at the disk (a project's path must resolve to a directory inside a git
repository). Loading records each such read here, so that a snapshot of the result
(:mod:`core.config_snapshot`) can tell later whether any of them would now read otherwise.

A check that reads the environment must use its load context's ``environ`` (a
:class:`RecordingEnviron` while loading for a snapshot), and one that reads the disk must
use :func:`look_at` through the load context; a read made any other way is invisible to
the snapshot, which would then outlive a change it depends on.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


class RecordingEnviron(Mapping[str, str]):
    """A read-only view of an environment that remembers every name looked up.

    A name looked up and not set is remembered too (as None): ``${VAR:-default}`` depends
    on ``VAR`` staying unset. Listing the whole environment makes the load depend on all
    of it, which ``listed`` tells (a snapshot is then not worth keeping).
    """

    def __init__(self, base: Mapping[str, str]) -> None:
        """Record the lookups made in ``base``."""
        self._base = base
        self.read: dict[str, str | None] = {}
        """Every name looked up, with the value it had (None: not set)."""
        self.listed = False
        """True once anything iterated over the whole environment."""

    def __getitem__(self, name: str) -> str:
        """The value of ``name`` (KeyError when unset); recorded either way."""
        value = self._base.get(name)
        self.read[name] = value
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        """Every name: the load then depends on the whole environment."""
        self.listed = True
        return iter(self._base)

    def __len__(self) -> int:
        """How many variables are set (depends on all of them, like iterating)."""
        self.listed = True
        return len(self._base)


@dataclass(frozen=True)
class PathFact:
    """What one look at a path on disk found."""

    path: str
    """The path as looked at (absolute, symlinks not resolved)."""
    resolved: str
    """Where it leads with every symlink resolved (as :meth:`Path.resolve` says)."""
    kind: str
    """``dir``, ``file``, ``other`` or ``missing``: what ``resolved`` is now."""

    @property
    def exists(self) -> bool:
        """Whether anything is there."""
        return self.kind != "missing"

    @property
    def is_dir(self) -> bool:
        """Whether a directory is there."""
        return self.kind == "dir"


_NOTHING_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def look_at(path: Path) -> PathFact:
    """Resolve ``path`` and say what is there, in one look that can be repeated later."""
    resolved = os.path.realpath(path)
    try:
        mode = Path(resolved).stat().st_mode
    except OSError as exc:
        # The errors Path.exists() reads as "nothing there"; any other one is raised, as
        # the checks raised it before they looked through here.
        if exc.errno not in _NOTHING_THERE:
            raise
        kind = "missing"
    else:
        kind = "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"
    return PathFact(str(path), resolved, kind)
