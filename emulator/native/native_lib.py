"""The core's C helpers (``emulator/native/*.c``): built with the host C compiler by
``scripts/setup``, or on first use, into ``native/_<name>.so``."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

NATIVE_DIR = Path(__file__).resolve().parent
SOURCES = ("blockclock", "wordfifo", "excpath", "regwin", "scsread")

_loaded: dict[str, ctypes.CDLL] = {}


def build(name: str, force: bool = False, directory: Path = NATIVE_DIR) -> Path:
    """Compile ``<directory>/<name>.c`` (``native/`` unless told) into ``_<name>.so`` next to it
    if that library is missing or older than it."""
    source = directory / f"{name}.c"
    library = directory / f"_{name}.so"
    if library.exists() and not force and library.stat().st_mtime >= source.stat().st_mtime:
        return library
    import shutil  # (only a build needs these: a start with the libraries built skips them)
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError(f"no C compiler to build {library} (run scripts/setup)")
    # Per process: parallel first uses (pabot, xdist) each build their own and rename it in place.
    tmp = library.with_name(f"_{name}.{os.getpid()}.tmp.so")
    try:
        subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(source)], check=True,
                       capture_output=True, timeout=120)
        tmp.replace(library)
    except (OSError, subprocess.SubprocessError) as e:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"cannot build {library} ({e})") from None
    return library


def build_all() -> None:
    for name in SOURCES:
        build(name)


def load(name: str, layout: tuple[type[ctypes.Structure], str] | None = None,
         functions: dict[str, tuple[Any, list[Any] | None]] | None = None) -> ctypes.CDLL:
    """``native/_<name>.so``, loaded once. ``layout`` (structure, sizeof function): the C
    side's size of the shared state must match the Python structure; ``functions`` (name ->
    (restype, argtypes)) get their C types."""
    lib = _loaded.get(name)
    if lib is not None:
        return lib
    lib = ctypes.CDLL(str(build(name)))
    if layout is not None:
        struct, sizeof_name = layout
        sizeof = getattr(lib, sizeof_name)
        sizeof.restype = ctypes.c_uint64
        if sizeof() != ctypes.sizeof(struct):
            raise RuntimeError(f"{name}.c and {struct.__module__} disagree on the layout of "
                               f"{struct.__name__}")
    for fn, (restype, argtypes) in (functions or {}).items():
        getattr(lib, fn).restype = restype
        getattr(lib, fn).argtypes = argtypes
    _loaded[name] = lib
    return lib
