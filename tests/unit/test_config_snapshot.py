"""A config snapshot is used only while all it was made from is unchanged, and never trusted.

Real files, real git repositories and the real loader throughout: each test loads a config
in full once (which writes its snapshot), changes one thing, and checks whether the next
load used the snapshot and what it got.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core import config_snapshot
from core.config import ConfigError, load_config
from core.config_models import Config
from core.config_snapshot import _HEADER, Settings, _digest, load_settings, snapshot_file
from core.locations import Locations
from core.settings_codec import (
    EnvCutter,
    SettingsCodecError,
    SettingsDecoder,
    SettingsRecord,
    encode_settings,
)
from tests.conftest import run_git

AGENTS = ("claude-code", "demo", "shell")
KEYS = ("session.kill", "board.down")


def _load(path: Path, environ: Mapping[str, str], agents: tuple[str, ...] = AGENTS) -> Settings:
    return load_settings(
        path,
        known_agents=agents,
        known_keys=KEYS,
        locations=Locations.from_env(),
        environ=environ,
    )


def _settings_of(value: Any) -> Any:
    """A model or a record as plain data: what every attribute holds, all the way down."""
    if isinstance(value, BaseModel):
        return {name: _settings_of(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, SettingsRecord):
        return {name: _settings_of(item) for name, item in value._values.items()}
    if isinstance(value, dict):
        return {key: _settings_of(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_settings_of(item) for item in value)
    return value


FULL = """\
defaults:
  agent: shell
projects:
  app:
    path: {repo}
    defaultBranch: main
    agentConfig:
      command: ${{AGENT_CMD}}
      permissions: skip
      model: sonnet
    env:
      GITHUB_TOKEN: ${{TOKEN}}
      RETRIES: 3
      MODE: ${{MODE:-fast}}
    ci:
      command: python -m pytest -q
      timeout: 90
    github:
      repo: octo/widgets
      pollInterval: 30
    tracker: local
    merge:
      method: squash
  other:
    path: {repo}/sub
cockpit:
  keys:
    session.kill: K
  bell: false
"""

SECRET = "ghp_" + "Z" * 36


@pytest.fixture
def world(tmp_path: Path, git_repo: Path) -> tuple[Path, dict[str, str]]:
    """A config using every kind of setting, and the environment it expands."""
    (git_repo / "sub").mkdir()
    cfg = tmp_path / "cfg" / "ao.config.yaml"
    cfg.parent.mkdir()
    cfg.write_text(FULL.format(repo=git_repo))
    env = {"HOME": str(tmp_path / "home"), "AGENT_CMD": "my-agent --flag", "TOKEN": SECRET}
    return cfg, env


def test_the_second_load_rebuilds_every_setting_from_the_snapshot(
    world: tuple[Path, dict[str, str]],
) -> None:
    cfg, env = world
    first = _load(cfg, env)
    assert not first.from_snapshot
    again = _load(cfg, env)
    assert again.from_snapshot
    assert isinstance(again.config, SettingsRecord)
    assert _settings_of(again.config) == _settings_of(first.config)
    assert (again.path, again.warnings) == (first.path, first.warnings)
    project = again.config.projects["app"]
    # What the engine reads, with the types it reads them as.
    assert project.path == first.config.projects["app"].path and isinstance(project.path, Path)
    assert project.agent_config.permissions == "bypassPermissions"
    assert project.env == {"GITHUB_TOKEN": SECRET, "RETRIES": "3", "MODE": "fast"}
    assert project.ci is not None and project.ci.timeout == 90
    assert project.github is not None and project.github.poll_interval == 30.0
    assert again.config.cockpit.keys == {"session.kill": "K"}


def test_an_agent_orchestrator_file_gets_its_warnings_again(tmp_path: Path, git_repo: Path) -> None:
    cfg = tmp_path / "agent-orchestrator.yaml"
    cfg.write_text(f"port: 3000\nprojects:\n  app:\n    path: {git_repo}\n    runtime: tmux\n")
    first = _load(cfg, {})
    assert len(first.warnings) == 2
    again = _load(cfg, {})
    assert again.from_snapshot and again.warnings == first.warnings


def test_the_snapshot_holds_no_value_the_environment_gave(
    world: tuple[Path, dict[str, str]],
) -> None:
    cfg, env = world
    _load(cfg, env)
    written = snapshot_file(Locations.from_env(), cfg).read_bytes()
    assert SECRET.encode() not in written
    assert b"my-agent --flag" not in written
    assert _load(cfg, env).config.projects["app"].env["GITHUB_TOKEN"] == SECRET


def test_the_snapshot_is_private_to_its_user(
    world: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, env = world
    old = os.umask(0)
    try:
        _load(cfg, env)
    finally:
        os.umask(old)
    where = snapshot_file(Locations.from_env(), cfg)
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
    assert where.stat().st_uid == os.geteuid()


# -- what makes a snapshot stale ------------------------------------------------------------


def _stale_after(cfg: Path, env: dict[str, str], change: Callable[[], object]) -> Settings:
    """Load (writing the snapshot), make sure it is used, ``change`` something, load again."""
    _load(cfg, env)
    assert _load(cfg, env).from_snapshot
    change()
    after = _load(cfg, env)
    assert not after.from_snapshot
    assert _load(cfg, env).from_snapshot  # the full load wrote a fresh one
    return after


def test_a_changed_file_is_loaded_again(world: tuple[Path, dict[str, str]]) -> None:
    cfg, env = world
    text = cfg.read_text()
    after = _stale_after(cfg, env, lambda: cfg.write_text(text.replace("squash", "rebase")))
    assert after.config.projects["app"].merge.method == "rebase"


def test_a_change_that_keeps_size_and_mtime_is_still_seen(
    world: tuple[Path, dict[str, str]],
) -> None:
    cfg, env = world
    text = cfg.read_text()
    before = cfg.stat()

    def same_size_same_mtime() -> None:
        cfg.write_text(text.replace("sonnet", "haikus"))
        os.utime(cfg, ns=(before.st_atime_ns, before.st_mtime_ns))

    after = _stale_after(cfg, env, same_size_same_mtime)
    assert after.config.projects["app"].agent_config.model == "haikus"


def test_a_changed_variable_is_expanded_again(world: tuple[Path, dict[str, str]]) -> None:
    cfg, env = world
    after = _stale_after(cfg, env, lambda: env.update(TOKEN="ghp_" + "Y" * 36))
    assert after.config.projects["app"].env["GITHUB_TOKEN"] == "ghp_" + "Y" * 36


def test_a_variable_set_where_a_default_was_used_is_seen(
    world: tuple[Path, dict[str, str]],
) -> None:
    cfg, env = world
    after = _stale_after(cfg, env, lambda: env.update(MODE="slow"))
    assert after.config.projects["app"].env["MODE"] == "slow"


def test_a_new_home_moves_a_tilde_path(tmp_path: Path, git_repo: Path) -> None:
    homes = tmp_path / "homes"
    for name in ("a", "b"):
        run_git(tmp_path, "init", "-q", str(homes / name / "repo"))
    cfg = tmp_path / "ao.config.yaml"
    cfg.write_text("projects:\n  app:\n    path: ~/repo\n")
    env = {"HOME": str(homes / "a")}
    after = _stale_after(cfg, env, lambda: env.update(HOME=str(homes / "b")))
    assert after.config.projects["app"].path == (homes / "b" / "repo").resolve()


def test_a_new_ao_tui_version_is_seen(
    world: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An upgrade rewrites ao-tui's modules (an edited checkout too): one that was loaded
    # when the snapshot was written now has another size or mtime.
    cfg, env = world
    source = tmp_path / "probe.py"
    source.write_text("VERSION = 1\n")
    probe = types.ModuleType("core._snapshot_probe")
    probe.__file__ = str(source)
    monkeypatch.setitem(sys.modules, "core._snapshot_probe", probe)
    _stale_after(cfg, env, lambda: source.write_text("VERSION = 22\n"))


def test_another_set_of_plugins_is_seen(world: tuple[Path, dict[str, str]]) -> None:
    cfg, env = world
    _load(cfg, env)
    assert not _load(cfg, env, agents=("shell",)).from_snapshot


def test_a_project_path_that_now_leads_elsewhere_is_resolved_again(
    tmp_path: Path, git_repo: Path
) -> None:
    other = tmp_path / "other"
    run_git(tmp_path, "init", "-q", str(other))
    link = tmp_path / "current"
    link.symlink_to(git_repo)
    cfg = tmp_path / "ao.config.yaml"
    cfg.write_text(f"projects:\n  app:\n    path: {link}\n")

    def retarget() -> None:
        link.unlink()
        link.symlink_to(other)

    after = _stale_after(cfg, {}, retarget)
    assert after.config.projects["app"].path == other.resolve()


def test_a_repository_gone_gives_the_error_it_always_gave(
    world: tuple[Path, dict[str, str]], git_repo: Path
) -> None:
    cfg, env = world
    _load(cfg, env)
    assert _load(cfg, env).from_snapshot
    (git_repo / "sub").rmdir()
    with pytest.raises(ConfigError) as from_snapshot_path:
        _load(cfg, env)
    with pytest.raises(ConfigError) as full_load:
        load_config(cfg, known_agents=AGENTS, known_keys=KEYS, environ=env)
    assert str(from_snapshot_path.value) == str(full_load.value)
    assert "projects.other.path" in str(full_load.value)


def test_a_broken_config_gives_the_same_error_after_a_snapshot(
    world: tuple[Path, dict[str, str]],
) -> None:
    cfg, env = world
    _load(cfg, env)
    cfg.write_text(cfg.read_text().replace("agent: shell", "agent: claud"))
    with pytest.raises(ConfigError) as via_snapshot:
        _load(cfg, env)
    with pytest.raises(ConfigError) as full_load:
        load_config(cfg, known_agents=AGENTS, known_keys=KEYS, environ=env)
    assert str(via_snapshot.value) == str(full_load.value)
    assert "ao.config.yaml:2:10: defaults.agent: unknown agent 'claud'" in str(full_load.value)


def test_a_missing_file_gives_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        _load(tmp_path / "ao.config.yaml", {})


# -- a snapshot is never trusted -------------------------------------------------------------


def _tamper_settings(data: dict[str, Any]) -> None:
    # The digest left as it was: a forged setting must not be believed.
    fields = data["settings"]["fields"]["defaults"]["fields"]
    fields["agent"] = "demo"


def _deep(data: dict[str, Any]) -> None:
    node: Any = "x"
    for _ in range(400):  # past the depth any config reaches, within what JSON parses
        node = {"$tuple": [node]}
    data["settings"] = node


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(where: Path) -> None:
        data = json.loads(where.read_text())
        change(data)
        where.write_text(json.dumps(data))

    return apply


def _chmod(mode: int) -> Callable[[Path], None]:
    return lambda where: where.chmod(mode)


def _other_owner(where: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    os.chown(where, 65534, 65534)


def _symlink_to_a_copy(where: Path) -> None:
    copy = where.with_name("elsewhere.json")
    copy.write_bytes(where.read_bytes())
    copy.chmod(0o600)
    where.unlink()
    where.symlink_to(copy)


def _fifo(where: Path) -> None:
    where.unlink()
    os.mkfifo(where, 0o600)


HOSTILE: dict[str, Callable[[Path], object]] = {
    "truncated": lambda where: where.write_bytes(where.read_bytes()[:100]),
    "not json": lambda where: where.write_bytes(b"\x00\xff garbage"),
    "a json list": lambda where: where.write_text("[1, 2]"),
    "a part missing": _edit(lambda data: data.pop("looks")),
    "a part added": _edit(lambda data: data.update(extra=1)),
    "digest changed": _edit(lambda data: data.update(digest="0" * 64)),
    "a setting forged": _edit(_tamper_settings),
    "an unknown tag": _edit(lambda data: data.update(settings={"$pickle": "x"})),
    "nested too deep": _edit(_deep),
    "readable by others": _chmod(0o644),
    "writable by the group": _chmod(0o620),
    "owned by another user": _other_owner,
    "a symlink": _symlink_to_a_copy,
    "a fifo": _fifo,
}


@pytest.mark.parametrize("damage", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_damaged_or_foreign_snapshot_is_ignored_and_rewritten(
    world: tuple[Path, dict[str, str]], damage: Callable[[Path], object]
) -> None:
    cfg, env = world
    truth = _settings_of(_load(cfg, env).config)
    where = snapshot_file(Locations.from_env(), cfg)
    damage(where)
    after = _load(cfg, env)
    assert not after.from_snapshot
    assert _settings_of(after.config) == truth
    assert not where.is_symlink() and stat.S_IMODE(where.stat().st_mode) == 0o600
    assert _load(cfg, env).from_snapshot


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in ``data``, containers included."""
    found = [path]
    if isinstance(data, dict):
        for key, item in data.items():
            found += _nodes(item, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += _nodes(item, (*path, index))
    return found


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = _replaced(data[path[0]], path[1:], value)
    return copy


def test_no_value_of_a_snapshot_changed_to_another_is_believed_or_fails_the_load(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each refused forgery loads the file and writes a new snapshot, which lists and stats
    # every loaded module: in a full test run (all of ao-tui and the tests imported) that
    # was 30 ms a load, 2,000 loads. The list is taken once; what it records is not what
    # this test forges (the snapshot's "code" entries are, and are read back for real).
    code = config_snapshot._code_files()
    monkeypatch.setattr(config_snapshot, "_code_files", lambda: code)
    cfg = tmp_path / "ao.config.yaml"
    cfg.write_text(f"projects:\n  app:\n    path: {git_repo}\n    env: {{A: '${{A}}'}}\n")
    env = {"A": "secret-value"}
    truth = _settings_of(_load(cfg, env).config)
    where = snapshot_file(Locations.from_env(), cfg)
    good = json.loads(where.read_text())
    paths = [p for p in _nodes(good) if p[:1] != ("code",) or len(p) <= 2]
    values: tuple[Any, ...] = (None, 0, 1.5, "x", [], {}, {"$env": "A"}, [[]])
    for path in paths:
        for value in values:
            forged = _replaced(good, path, value)
            where.write_text(json.dumps(forged))
            after = _load(cfg, env)  # never raises
            assert _settings_of(after.config) == truth, (path, value)
            # Even signed as this user would sign it, a shape no load makes fails nothing.
            names: Any = forged.get("env") if isinstance(forged, dict) else None
            signable = isinstance(names, list) and all(isinstance(n, str) for n in names)
            if signable and set(forged) >= set(_HEADER):
                read = {name: env.get(name) for name in names}
                forged["digest"] = _digest(forged, read, cfg.read_bytes())
                where.write_text(json.dumps(forged))
                _load(cfg, env)
            where.write_text(json.dumps(good))


def test_a_forged_snapshot_naming_a_variable_the_load_never_read_is_refused() -> None:
    decoder = SettingsDecoder({"TOKEN": "t"})
    assert decoder.text({"$text": ["a", {"$env": "TOKEN"}]}, 0) == "at"
    for forged in ({"$env": "PATH"}, {"$env": ["TOKEN"]}, {"$other": "x"}):
        with pytest.raises(SettingsCodecError):
            decoder.text({"$text": [forged]}, 0)
    with pytest.raises(SettingsCodecError, match="field name"):
        decoder.value({"$model": "Config", "fields": {"__class__": 1}}, 0)
    deep: Any = "x"
    for _ in range(5000):  # deeper than Python's stack: refused, not a RecursionError
        deep = {"$tuple": [deep]}
    with pytest.raises(SettingsCodecError, match="too deep"):
        decoder.value(deep, 0)


# -- generic over the models -----------------------------------------------------------------


class _Rule(BaseModel):
    when: str
    retries: int = 2
    paths: tuple[Path, ...] = ()


class _Reactions(BaseModel):
    """A section the models do not have yet: the snapshot must need no edit for it."""

    enabled: bool = True
    backoff: float = 1.5
    rules: dict[str, _Rule] = {}
    order: list[str] = []
    note: str | None = None


def test_a_section_added_to_the_models_is_kept_without_an_edit_here() -> None:
    section = _Reactions(
        rules={"ci-failed": _Rule(when="ci", paths=(Path("/x"), Path("/y")))},
        order=["ci-failed"],
    )
    encoded = json.loads(json.dumps(encode_settings(section, EnvCutter({}), 0)))
    record = SettingsDecoder({}).value(encoded, 0)
    assert _settings_of(record) == _settings_of(section)
    assert isinstance(record.rules["ci-failed"].paths, tuple)


def test_a_value_no_snapshot_can_hold_makes_none(world: tuple[Path, dict[str, str]]) -> None:
    with pytest.raises(SettingsCodecError):
        encode_settings({1, 2}, EnvCutter({}), 0)
    with pytest.raises(SettingsCodecError):
        encode_settings(float("nan"), EnvCutter({}), 0)
    # The models built in Python hold what a snapshot can: a full config always encodes.
    config = Config.model_validate({"projects": {"app": {"path": "/r", "agentConfig": {}}}})
    assert encode_settings(config, EnvCutter({}), 0)["$model"] == "Config"


def test_a_record_is_read_only() -> None:
    record = SettingsRecord("Defaults", {"agent": "shell"})
    assert record.agent == "shell"
    with pytest.raises(AttributeError, match="read-only"):
        record.agent = "demo"
    with pytest.raises(AttributeError, match="no setting 'agnt'"):
        _ = record.agnt
    assert record == SettingsRecord("Defaults", {"agent": "shell"})
    assert repr(record) == "Defaults(agent='shell')"
