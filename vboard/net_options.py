"""``--net`` and ``--forward``: one definition for ``vboard run`` and ``vboard ctl load``."""

from __future__ import annotations

from typing import Any


def add_net_options(group: Any) -> None:
    """``--net`` and ``--forward``: one definition for ``vboard run`` and ``vboard ctl load``."""
    group.add_argument("--net", default="none", metavar="BACKEND",
                       help="user (QEMU's user networking, libslirp: board 10.0.2.15, host 10.0.2.2, "
                       "DNS 10.0.2.3), user,restrict=on (only the forwards), passt (the same through passt), "
                       "tap:NAME, socket:URL (QEMU -netdev stream/dgram), or none (default)")
    group.add_argument("--forward", action="append", default=[],
                       metavar="PROTO:[HOSTADDR:]HOSTPORT:BOARDPORT",
                       help="host-to-board port forward for --net user/passt, e.g. tcp:8080:80 or "
                       "udp:127.0.0.1:5353:53 (HOSTADDR defaults to 127.0.0.1; repeatable)")
