"""Where a running ``vboard serve`` says how to reach it: its port file.

As Jupyter does, the server writes its address and its token to a file only
its user can read (mode 0600, in a 0700 folder), and clients of the same user
read it from there: ``{"address": "127.0.0.1:PORT", "token": "...", "pid": N}``
(``token`` is null for a ``--no-auth`` server).

The default file is ``$XDG_RUNTIME_DIR/vboard/serve.json`` or, without
``XDG_RUNTIME_DIR``, ``~/.local/share/vboard/serve.json``. A client takes
an address it is given or ``$VBOARD_ADDRESS`` (with ``$VBOARD_TOKEN``)
first, then the port file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

MAX_PORT_FILE = 4096  # bytes read from a port file at most


class PortFileError(Exception):
    """A port file that is missing, unreadable or not one ``vboard serve`` wrote."""


@dataclass(frozen=True)
class ServerInfo:
    address: str
    token: str | None
    pid: int = 0


def default_port_file() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    base = Path(runtime) if runtime and Path(runtime).is_dir() else Path.home() / ".local" / "share"
    return base / "vboard" / "serve.json"


def write_port_file(path: Path, info: ServerInfo) -> None:
    """Write ``info`` to ``path`` atomically, readable by this user only (folder 0700 if created)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"address": info.address, "token": info.token, "pid": info.pid}, f)
        f.write("\n")
    os.replace(tmp, path)


def read_port_file(path: str | Path) -> ServerInfo:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_PORT_FILE + 1)
    except OSError as e:
        raise PortFileError(f"{p}: {e.strerror or e} (is vboard serve running?)") from None
    if len(raw) > MAX_PORT_FILE:
        raise PortFileError(f"{p}: larger than {MAX_PORT_FILE} bytes: not a vboard port file")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("address"), str) \
            or not isinstance(data.get("token"), str | None) or not isinstance(data.get("pid", 0), int):
        raise PortFileError(f"{p}: not a vboard port file (expected JSON with address, token, pid)")
    return ServerInfo(data["address"], data["token"], data.get("pid", 0))


def remove_port_file(path: Path, pid: int) -> None:
    """Remove ``path`` if it still names the server ``pid`` (another server may have replaced it)."""
    try:
        if read_port_file(path).pid == pid:
            path.unlink()
    except (PortFileError, OSError):
        pass


def discover(address: str | None = None, token: str | None = None,
             port_file: str | Path | None = None) -> ServerInfo:
    """Where to reach the server and with what token: arguments, then the environment, then the port
    file (``port_file`` or the default one)."""
    if port_file is None:
        address = address or os.environ.get("VBOARD_ADDRESS") or None
        if address:
            return ServerInfo(address, token if token is not None else os.environ.get("VBOARD_TOKEN") or None)
    info = read_port_file(port_file if port_file is not None else default_port_file())
    return ServerInfo(address or info.address, token if token is not None else info.token, info.pid)
