"""Host-to-board port forwards (``--forward``), shared by the ``user`` (libslirp) and ``passt`` backends."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Forward:
    """A host→board port forward: ``host_addr:host_port`` on the host reaches ``board_port``."""

    proto: str        # "tcp" or "udp"
    host_port: int
    board_port: int
    host_addr: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if self.proto not in ("tcp", "udp"):
            raise ValueError(f"forward protocol must be tcp or udp, not '{self.proto}'")
        for what, port in (("host", self.host_port), ("board", self.board_port)):
            if not 1 <= port <= 65535:
                raise ValueError(f"forward {what} port {port} is not in 1..65535")
        if self.host_addr:
            ipaddress.ip_address(self.host_addr)

    def passt_args(self) -> list[str]:
        spec = f"{self.host_port}:{self.board_port}"
        if self.host_addr:
            spec = f"{self.host_addr}/{spec}"
        return ["-t" if self.proto == "tcp" else "-u", spec]

    def status(self) -> str:
        """As in ``vboard run``'s status line: ``127.0.0.1:15013 -> :13`` (``udp `` before UDP ones)."""
        host = f"[{self.host_addr}]" if ":" in self.host_addr else self.host_addr
        return f"{'udp ' if self.proto == 'udp' else ''}{host}:{self.host_port} -> :{self.board_port}"

    def __str__(self) -> str:
        return f"{self.proto}:{self.host_addr}:{self.host_port}->board:{self.board_port}"


def as_forward(f: Forward | tuple[Any, ...]) -> Forward:
    if isinstance(f, Forward):
        return f
    if len(f) == 3:
        return Forward(str(f[0]), int(f[1]), int(f[2]))
    if len(f) == 4:
        return Forward(str(f[0]), int(f[1]), int(f[2]), str(f[3]))
    raise ValueError(f"a forward is (proto, host_port, board_port[, host_addr]), got {f!r}")


