"""The plugin index lists what importlib.metadata lists, and is listed again when that may
have changed: a distribution installed or removed, an entry_points.txt edited, sys.path.

Real distributions: a ``.dist-info`` folder written into a directory put on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import stat
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from core import plugin_index
from core.plugin_index import installed_entries, load_target
from core.registry import ENTRY_POINT_GROUP, Registry

GROUP = ENTRY_POINT_GROUP
LONG_AGO = 1_600_000_000


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory on sys.path, last changed long ago."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    os.utime(folder, (LONG_AGO, LONG_AGO))
    return folder


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every place counts as settled (the tests set mtimes themselves)."""
    monkeypatch.setattr(plugin_index, "SETTLE_SECONDS", 0.0)


def _install(site: Path, name: str, lines: str, *, site_changed: int = LONG_AGO) -> Path:
    """A distribution ``name`` declaring ``lines`` in our group, installed long ago into
    ``site`` (which says it changed at ``site_changed``); its entry_points.txt."""
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    declared = dist / "entry_points.txt"
    declared.write_text(f"[{GROUP}]\n{lines}\n")
    for path in (declared, dist / "METADATA", dist):
        os.utime(path, (LONG_AGO, LONG_AGO))
    os.utime(site, (site_changed, site_changed))
    return declared


def _listed() -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in entry_points(group=GROUP)]


def test_the_index_holds_what_importlib_metadata_lists(tmp_path: Path, settled: None) -> None:
    index = tmp_path / "plugin-index.json"
    assert installed_entries(GROUP, index) == _listed()
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    written = index.stat().st_mtime_ns
    assert installed_entries(GROUP, index) == _listed()
    assert index.stat().st_mtime_ns == written  # read, not listed and written again


def test_a_plugin_installed_later_is_found(tmp_path: Path, site: Path, settled: None) -> None:
    index = tmp_path / "plugin-index.json"
    assert ("agent:fake", "fakeplug:Agent") not in installed_entries(GROUP, index)
    assert index.exists()
    _install(site, "fakeplug", "agent:fake = fakeplug:Agent", site_changed=LONG_AGO + 60)
    assert ("agent:fake", "fakeplug:Agent") in installed_entries(GROUP, index)


def test_an_entry_points_file_edited_in_place_is_read_again(
    tmp_path: Path, site: Path, settled: None
) -> None:
    declared = _install(site, "fakeplug", "agent:fake = fakeplug:Agent")
    index = tmp_path / "plugin-index.json"
    assert ("agent:fake", "fakeplug:Agent") in installed_entries(GROUP, index)
    declared.write_text(f"[{GROUP}]\nagent:fake = fakeplug:Agent\nscm:fake = fakeplug:Scm\n")
    os.utime(site, (LONG_AGO, LONG_AGO))  # its folders look untouched
    os.utime(declared.parent, (LONG_AGO, LONG_AGO))
    assert ("scm:fake", "fakeplug:Scm") in installed_entries(GROUP, index)


def test_another_sys_path_is_listed_again(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "plugin-index.json"
    installed_entries(GROUP, index)
    other = tmp_path / "other-site"
    other.mkdir()
    _install(other, "otherplug", "agent:other = otherplug:Agent")
    monkeypatch.syspath_prepend(str(other))
    assert ("agent:other", "otherplug:Agent") in installed_entries(GROUP, index)


def test_a_place_changed_just_now_is_not_remembered(tmp_path: Path, site: Path) -> None:
    # Within one mtime tick a second change would leave the mtime as the index saw it.
    os.utime(site, (time.time(), time.time()))
    index = tmp_path / "plugin-index.json"
    assert installed_entries(GROUP, index) == _listed()
    assert not index.exists()


HOSTILE = {
    "readable by others": lambda index: index.chmod(0o644),
    "not json": lambda index: index.write_bytes(b"\xff\x00"),
    "a target that is not one": lambda index: _rewrite(index, "os:system; rm -rf ~"),
    "a part missing": lambda index: index.write_text(json.dumps({"format": 1})),
}


def _rewrite(index: Path, target: str) -> None:
    data = json.loads(index.read_text())
    data["entries"][0][1] = target
    index.write_text(json.dumps(data))


@pytest.mark.parametrize("damage", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_damaged_or_foreign_index_is_listed_again(
    tmp_path: Path, settled: None, damage: object
) -> None:
    index = tmp_path / "plugin-index.json"
    installed_entries(GROUP, index)
    damage(index)  # type: ignore[operator]
    assert installed_entries(GROUP, index) == _listed()
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert json.loads(index.read_text())["entries"] == [list(entry) for entry in _listed()]


def test_a_target_loads_as_importlib_metadata_loads_it() -> None:
    for ep in entry_points(group=GROUP):
        assert load_target(ep.value) is ep.load()
    with pytest.raises(ValueError, match="not an entry point target"):
        load_target("os:system; rm")


def test_a_registry_from_the_index_has_the_same_plugins(tmp_path: Path, settled: None) -> None:
    listed = Registry()
    indexed = Registry(entries=installed_entries(GROUP, tmp_path / "plugin-index.json"))
    for slot in ("runtime", "workspace", "agent", "scm", "tracker", "inspector"):
        assert indexed.names(slot) == listed.names(slot)
        for name in listed.names(slot):
            assert type(indexed.get(slot, name)) is type(listed.get(slot, name))
