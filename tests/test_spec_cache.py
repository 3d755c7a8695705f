"""vboard/spec_cache.py: platforms in files, the folder by environment, a failing folder a miss."""

from __future__ import annotations

import os
from pathlib import Path

from vboard import spec_cache
from vboard.spec_cache import FileSpecCache, default_spec_cache


def test_put_then_get_and_a_missing_key(tmp_path: Path) -> None:
    cache = FileSpecCache(tmp_path / "sub")
    assert cache.get("k1") is None
    cache.put("k1", '{"a": 1}')
    assert cache.get("k1") == '{"a": 1}'
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["platform-k1.json"]  # no temporary left
    assert (tmp_path / "sub").stat().st_mode & 0o777 == 0o700


def test_an_unwritable_folder_is_a_miss_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = FileSpecCache(blocker / "cache")
    cache.put("k", "text")
    assert cache.get("k") is None


def test_only_the_newest_entries_are_kept(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(spec_cache, "MAX_ENTRIES", 3)
    cache = FileSpecCache(tmp_path)
    for i in range(5):
        cache.put(f"k{i}", str(i))
        os.utime(tmp_path / f"platform-k{i}.json", (1000 + i, 1000 + i))
    cache.put("k5", "5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform-k3.json", "platform-k4.json",
                                                           "platform-k5.json"]


def test_the_folder_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setenv("VBOARD_CACHE_DIR", str(tmp_path / "c"))
    assert default_spec_cache().folder == tmp_path / "c"
    monkeypatch.setenv("VBOARD_CACHE_DIR", "off")
    assert default_spec_cache() is None
    monkeypatch.delenv("VBOARD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_spec_cache().folder == tmp_path / "xdg" / "vboard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_spec_cache().folder == tmp_path / "home" / ".cache" / "vboard"
