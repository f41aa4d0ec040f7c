"""The installed ``ao_tui.plugins`` entry points, remembered between one-shot processes.

Listing them is importlib.metadata's job, and importing it costs a one-shot verb ~11 ms
(it brings email, zipfile and more) plus ~3 ms to read every installed distribution, on
each ``status --json`` a script runs in a loop (issue 10 §8). So the list found is kept
under the state dir beside what it was read from, and used while that is unchanged:

- ``sys.path`` and ``sys.meta_path`` (which places and finders are asked at all);
- the mtime of each ``sys.path`` entry: a distribution installed or removed adds or
  removes its ``.dist-info`` there (importlib.metadata keys its own listing cache the
  same way), and an entry changed less than :data:`SETTLE_SECONDS` ago is not trusted yet,
  since a second change within the same clock tick would leave the mtime as it was;
- size and mtime of the ``entry_points.txt`` of each distribution that declared one of
  ours (an edit in place does not touch its folder's mtime).

An index that is not a private regular file of this user, does not parse, or names a
target not shaped like an entry point, is ignored and listed again.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from core.private_files import NotPrivateError, read_private, write_private

FORMAT = 1
"""Bumped when the layout of the index file changes: older ones are then ignored."""
MAX_INDEX_BYTES = 1_000_000
SETTLE_SECONDS = 2.0
"""A place changed more recently than this may change again unseen within one mtime tick."""
# The shape importlib.metadata.EntryPoint accepts: module, optional :attr, optional [extras].
_TARGET = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]*)\s*)?((?P<extras>\[.*\])\s*)?$")

Entry = tuple[str, str]
"""An entry point's name (``slot:plugin``) and target (``module:Class``)."""


def installed_entries(group: str, index: Path) -> list[Entry]:
    """Every entry point of ``group``, in importlib.metadata's order; from the index file
    at ``index`` while it is current, else listed again (and the index rewritten, best
    effort: one that cannot be written costs only speed)."""
    places = _places()
    try:
        return _read(index, group, places)
    except (NotPrivateError, ValueError, TypeError, KeyError, RecursionError):
        pass
    from importlib.metadata import entry_points

    found = entry_points(group=group)
    entries = [(ep.name, ep.value) for ep in found]
    declared = [_declared_in(ep.dist) for ep in found]
    files = _stats(sorted({name for name in declared if name is not None}))
    settled = (time.time() - SETTLE_SECONDS) * 1e9
    mtimes = [mtime for _, mtime in places["paths"]] + [mtime for *_, mtime in files]
    # Only what can be checked later is kept: each entry from a .dist-info folder, and
    # nothing changed so lately that a second change could hide within the same tick.
    if None not in declared and all(mtime is None or mtime < settled for mtime in mtimes):
        recorded = {"format": FORMAT, "group": group, "places": places, "files": files}
        try:
            index.parent.mkdir(mode=0o700, exist_ok=True)
            write_private(index, json.dumps({**recorded, "entries": entries}).encode())
        except (OSError, ValueError):
            pass
    return entries


def load_target(target: str) -> Any:
    """The object an entry point's target names, imported as
    ``importlib.metadata.EntryPoint.load`` would."""
    match = _TARGET.match(target)
    if match is None:
        raise ValueError(f"{target!r} is not an entry point target (module:attr)")
    found = importlib.import_module(match.group("module"))
    attrs = [part for part in (match.group("attr") or "").split(".") if part]
    return functools.reduce(getattr, attrs, found)


def _declared_in(dist: Any) -> str | None:
    """The ``entry_points.txt`` a distribution's entry points come from, when it is a
    folder on disk (a ``.dist-info``); None for any other kind (a zip, a custom finder)."""
    # PathDistribution keeps its folder as `_path` (since Python 3.8), and names no other.
    folder = getattr(dist, "_path", None)
    if isinstance(folder, Path) and folder.is_dir():
        return str(folder / "entry_points.txt")
    return None


def _places() -> dict[str, Any]:
    """Where distributions are looked for, as it stands now."""
    paths = []
    for entry in sys.path:
        where = Path(entry or ".").absolute()
        try:
            mtime: int | None = where.stat().st_mtime_ns
        except (OSError, ValueError):
            mtime = None
        paths.append([str(where), mtime])
    # A finder is a class (the importlib ones) or an instance (an editable install's).
    kinds = [f if isinstance(f, type) else type(f) for f in sys.meta_path]
    finders = [f"{kind.__module__}.{kind.__qualname__}" for kind in kinds]
    return {"paths": paths, "finders": finders}


def _stats(files: list[str]) -> list[list[Any]]:
    """Each file with its size and mtime (None, None when it is gone)."""
    out: list[list[Any]] = []
    for name in files:
        try:
            info = Path(name).stat()
        except (OSError, ValueError):
            out.append([name, None, None])
        else:
            out.append([name, info.st_size, info.st_mtime_ns])
    return out


def _read(index: Path, group: str, places: dict[str, Any]) -> list[Entry]:
    """The entries the index holds; ValueError when it is stale or not well formed."""
    data = json.loads(read_private(index, MAX_INDEX_BYTES))
    if not isinstance(data, dict) or set(data) != {"format", "group", "places", "files", "entries"}:
        raise ValueError("not a plugin index")
    if (data["format"], data["group"], data["places"]) != (FORMAT, group, places):
        raise ValueError("made elsewhere, or a distribution came or went")
    files = data["files"]
    if not (isinstance(files, list) and all(isinstance(f, list) and f for f in files)):
        raise ValueError("damaged: files")
    if any(not isinstance(f[0], str) for f in files) or _stats([f[0] for f in files]) != files:
        raise ValueError("an entry_points.txt changed")
    entries = data["entries"]
    if not isinstance(entries, list):
        raise ValueError("damaged: entries")
    out: list[Entry] = []
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2):
            raise ValueError("damaged: entry")
        name, target = entry
        if not (isinstance(name, str) and isinstance(target, str) and _TARGET.match(target)):
            raise ValueError("damaged: entry")
        out.append((name, target))
    return out
