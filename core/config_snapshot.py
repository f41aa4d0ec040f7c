"""A validated config kept as plain data, so a one-shot verb need not validate it again.

Scripts call ``status --json`` in loops. Validating ``ao.config.yaml`` needs PyYAML and
pydantic, whose imports alone cost a one-shot call ~90 ms of its ~230 ms (issue 10 §8). So
after a full load the validated config is written under the state dir as plain data, and
the next call rebuilds it from there with neither of them imported.

A snapshot is used only while everything it was made from is unchanged; it records:

- the config file's path and its exact bytes (as a digest);
- every environment variable the load looked up, set or not (a digest of the values);
- every look at the disk the checks made (where a project's path resolves, and what is
  there): :mod:`core.config_inputs`;
- the plugins' agent names and the cockpit's binding ids that values were checked against;
- the code that validated it: size and mtime of each ao-tui module loaded then and of the
  YAML and pydantic packages (what Python itself checks its ``.pyc`` files against), so a
  new ao-tui version, or an edited checkout, never reads an older snapshot.

A snapshot is never trusted: one that is not a regular file owned by this user and
readable by no one else, does not parse, has a part missing or of the wrong type, or whose
digest does not match is ignored, and the full load writes a new one. It never holds an
expanded value of the environment: each string is stored with the values of the variables
the load read cut out and named, and they are put back from the environment on reading
(whose values the digest has just matched). The config file itself is on disk anyway.

What comes back is not the pydantic model but :class:`~core.settings_codec.SettingsRecord`
objects with the same attributes, each section's field values (pydantic's own methods, and
the models' methods such as ``agent_name``, are not there): fit for a verb that reads
settings. Nothing here or in :mod:`core.settings_codec` names a config field, so a section
added to the models is kept like the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from core.config_files import read_config_bytes
from core.config_inputs import PathFact, RecordingEnviron, look_at
from core.errors import AoError
from core.private_files import NotPrivateError, read_private, write_private
from core.settings_codec import (
    EnvCutter,
    SettingsCodecError,
    SettingsDecoder,
    SettingsRecord,
    encode_settings,
)

if TYPE_CHECKING:
    from core.config import Config, LoadedConfig
    from core.locations import Locations

FORMAT = 1
"""Bumped when the layout of a snapshot file changes: older ones are then ignored."""
MAX_SNAPSHOT_BYTES = 16_000_000
"""Far above any snapshot of a config of at most 1 MB; a bigger file is not one of ours."""
_THIRD_PARTY = ("yaml", "pydantic", "pydantic_core")
"""Packages whose version decides what validation yields; their ``__init__`` is checked."""
_OUR_PACKAGES = ("core", "plugins", "ao_tui")
_HEADER = (
    "format",
    "python",
    "config",
    "config_absolute",
    "agents",
    "binding_ids",
    "env",
    "looks",
    "code",
    "warnings",
    "settings",
    "salt",
)


class SnapshotError(AoError):
    """A snapshot cannot be made or used; the caller validates the file in full (it never
    reaches the operator)."""


@dataclass(frozen=True)
class Settings:
    """A config in scope and what came with it, from a snapshot or a full load."""

    config: Config
    """The config; rebuilt from a snapshot it is made of :class:`SettingsRecord` objects."""
    path: Path
    """The config file."""
    warnings: list[str]
    """What the load ignored, as the full load words it."""
    from_snapshot: bool
    """True when no validation ran in this process."""


def snapshot_file(locations: Locations, config: Path) -> Path:
    """Where the snapshot of the config file at ``config`` lives (one per file)."""
    name = hashlib.sha256(os.fsencode(config.absolute())).hexdigest()[:24]
    return locations.config_snapshots / f"{name}.json"


def load_settings(
    path: Path,
    *,
    known_agents: Collection[str],
    locations: Locations,
    known_keys: Collection[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The config at ``path``, from its snapshot when one is current, else loaded in full.

    The full load (:func:`core.config.load_config`) raises the same :class:`ConfigError`,
    word for word, as it always does; when it succeeds, it writes a fresh snapshot (best
    effort: a snapshot that cannot be written costs only speed).
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    where = snapshot_file(locations, path)
    inputs = _Inputs(path, known_agents, known_keys)
    try:
        raw = read_config_bytes(path)
    except OSError:
        raw = None  # the full load below reports it, in its words
    if raw is not None:
        try:
            return _read_snapshot(where, raw, inputs, env)
        except (SnapshotError, SettingsCodecError, ValueError, TypeError, KeyError, RecursionError):
            pass  # each check says why; a shape none foresaw is no reason to fail either
    from core.config import load_config, load_config_bytes

    recording = RecordingEnviron(env)
    if raw is None:
        loaded = load_config(
            path, known_agents=known_agents, environ=recording, known_keys=known_keys
        )
    else:
        loaded = load_config_bytes(
            raw, path, known_agents=known_agents, environ=recording, known_keys=known_keys
        )
        try:
            _write_snapshot(where, raw, inputs, loaded, recording)
        except (SnapshotError, SettingsCodecError, OSError):
            pass
    return Settings(loaded.config, loaded.path, loaded.warnings, from_snapshot=False)


@dataclass(frozen=True)
class _Inputs:
    """What a load was asked, beside the file's bytes and the environment."""

    path: Path
    known_agents: Collection[str]
    known_keys: Collection[str] | None

    def header(self) -> dict[str, Any]:
        """These inputs as the snapshot records them."""
        return {
            "format": FORMAT,
            "python": sys.version,
            "config": str(self.path),
            "config_absolute": str(self.path.absolute()),
            "agents": sorted(self.known_agents),
            "binding_ids": None if self.known_keys is None else sorted(self.known_keys),
        }


def _write_snapshot(
    where: Path, raw: bytes, inputs: _Inputs, loaded: LoadedConfig, environ: RecordingEnviron
) -> None:
    """Write the snapshot of ``loaded``, validated from ``raw`` with ``environ``.

    Raises :class:`SnapshotError` when the config holds a value a snapshot cannot
    represent, or the load listed the whole environment (it would depend on all of it).
    """
    if environ.listed:
        raise SnapshotError("the load listed the whole environment")
    cutter = EnvCutter({name: value for name, value in environ.read.items() if value})
    header = {
        **inputs.header(),
        "env": sorted(environ.read),
        "looks": [[cutter.cut(f.path), cutter.cut(f.resolved), f.kind] for f in loaded.looks],
        "code": _code_files(),
        "warnings": [cutter.cut(warning) for warning in loaded.warnings],
        "settings": encode_settings(loaded.config, cutter, 0),
        "salt": os.urandom(16).hex(),
    }
    header["digest"] = _digest(header, environ.read, raw)
    data = json.dumps(header, ensure_ascii=False, allow_nan=False).encode()
    # Not parents=True: the state dir is made owner-only by the engine, not here.
    where.parent.mkdir(mode=0o700, exist_ok=True)
    where.parent.chmod(0o700)  # a folder left wider by hand
    write_private(where, data)


def _read_snapshot(
    where: Path, raw: bytes, inputs: _Inputs, environ: Mapping[str, str]
) -> Settings:
    """The config the snapshot at ``where`` holds, if it is ours and still current.

    ``raw`` is the config file's bytes as just read. Raises :class:`SnapshotError` saying
    why the snapshot cannot be used (missing, not private, damaged, or out of date).
    """
    header = _read_private_json(where)
    if not isinstance(header, dict) or set(header) != {*_HEADER, "digest"}:
        raise SnapshotError("not a config snapshot")
    if any(header[key] != value for key, value in inputs.header().items()):
        raise SnapshotError("made for another file, version or plugin set")
    names = header["env"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SnapshotError("damaged: env")
    values = {name: environ.get(name) for name in names}
    if header["digest"] != _digest(header, values, raw):
        raise SnapshotError("the file, the environment or the snapshot changed")
    if not _code_is(header["code"]):
        raise SnapshotError("ao-tui or a library changed")
    decoder = SettingsDecoder({name: value for name, value in values.items() if value})
    if not isinstance(header["looks"], list):
        raise SnapshotError("damaged: looks")
    for look in header["looks"]:
        if not (isinstance(look, list) and len(look) == 3):
            raise SnapshotError("damaged: looks")
        path, resolved, kind = (decoder.text(part, 0) for part in look)
        try:
            if look_at(Path(path)) != PathFact(path, resolved, kind):
                raise SnapshotError(f"{path} changed on disk")
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{path} cannot be looked at: {exc}") from None
    warnings = header["warnings"]
    if not isinstance(warnings, list):
        raise SnapshotError("damaged: warnings")
    config = decoder.value(header["settings"], 0)
    if not isinstance(config, SettingsRecord):
        raise SnapshotError("damaged: settings")
    shown = [decoder.text(warning, 0) for warning in warnings]
    # A stand-in with the model's attributes: see the module docstring for what it lacks.
    return Settings(cast("Config", config), inputs.path.absolute(), shown, from_snapshot=True)


def _read_private_json(where: Path) -> Any:
    """The JSON of a regular file that this user owns and only this user may read."""
    try:
        data = read_private(where, MAX_SNAPSHOT_BYTES)
    except NotPrivateError as exc:
        raise SnapshotError(str(exc)) from None
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SnapshotError(f"damaged: {exc}") from None


def _digest(header: Mapping[str, Any], environ: Mapping[str, str | None], raw: bytes) -> str:
    """What the snapshot was made from and holds, as one salted SHA-256."""
    recorded = {key: header[key] for key in _HEADER}
    hasher = hashlib.sha256()
    for part in (recorded, environ):
        text = json.dumps(part, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        hasher.update(text.encode())
        hasher.update(b"\0")
    hasher.update(raw)
    return hasher.hexdigest()


def _code_files() -> list[list[Any]]:
    """Each source file of the code that validated a config: ao-tui's modules loaded now and
    the ``__init__`` of the libraries, with its size and mtime."""
    files = []
    for name, module in sorted(sys.modules.items()):
        top = name.partition(".")[0]
        if top not in _OUR_PACKAGES and name not in _THIRD_PARTY:
            continue
        source = getattr(module, "__file__", None)
        if isinstance(source, str):
            info = Path(source).stat()
            files.append([source, info.st_size, info.st_mtime_ns])
    return files


def _code_is(files: Any) -> bool:
    """Whether every recorded source file still has its recorded size and mtime."""
    if not isinstance(files, list):
        return False
    for entry in files:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)):
            return False
        try:
            info = Path(entry[0]).stat()
        except (OSError, ValueError):
            return False
        if [info.st_size, info.st_mtime_ns] != entry[1:]:
            return False
    return True
