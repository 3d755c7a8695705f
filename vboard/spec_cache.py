"""Validated platforms kept in files between runs (``emulator.board.platform.SpecCache``).

``vboard run`` finds its board description here when the same file was
validated before, so a start neither parses YAML nor imports pydantic. The
folder is ``$VBOARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/vboard``, else
``~/.cache/vboard``; ``VBOARD_CACHE_DIR=off`` turns the cache off. A key
covers the file's bytes and the schema's source, so an edit of either is a
miss. The cache is only a shortcut: a folder that cannot be read or written
is a miss, never an error; the newest ``MAX_ENTRIES`` files are kept.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

MAX_ENTRIES = 64
PREFIX = "platform-"


class FileSpecCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> str | None:
        try:
            return (self.folder / f"{PREFIX}{key}.json").read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None

    def put(self, key: str, text: str) -> None:
        target = self.folder / f"{PREFIX}{key}.json"
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)  # whole or not at all, also with runs in parallel
            self._prune()
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def _prune(self) -> None:
        entries = sorted(self.folder.glob(f"{PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            old.unlink(missing_ok=True)  # (another run's prune may race: an OSError is a failed put)


def default_spec_cache() -> FileSpecCache | None:
    folder = os.environ.get("VBOARD_CACHE_DIR")
    if folder == "off":
        return None
    if not folder:
        xdg = os.environ.get("XDG_CACHE_HOME")
        folder = os.path.join(xdg, "vboard") if xdg else os.path.expanduser("~/.cache/vboard")
    if folder.startswith("~"):
        return None  # no home folder
    return FileSpecCache(Path(folder))
