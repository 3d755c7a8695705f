"""The socket interface an offloading network module (the ESP8266 AT model) uses.

A model does no host I/O: it asks a ``SocketProvider`` to open TCP or UDP
links, send, close and resolve names, and the provider reports back through
a ``SocketListener``. Every report reaches the listener on the emulation
thread only: a host implementation (``bridge.host_sockets``) posts them with
``machine.post``-style scheduling, the closed implementation here
(``LoopbackProvider``) schedules them on the virtual clock.

Addresses are dotted IPv4 strings; a remote is ``(ip, port)``. Handles are
small integers chosen by the provider, never reused while open.

Name resolution uses the same records as the Ethernet path's DNS responder:
either a ``bridge.net.dns.DnsRecords`` (duck-typed: a ``v4`` mapping of name
to packed addresses) or a plain ``{name: ip | [ip, ...]}`` dict.
"""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from emulator.clock import Clock

__all__ = ["TCP", "UDP", "Remote", "SocketListener", "SocketProvider", "LoopbackProvider",
           "lookup_records", "is_ipv4"]

TCP = "TCP"
UDP = "UDP"
Remote = tuple[str, int]


class SocketListener(Protocol):
    """What a provider reports; always called on the emulation thread."""

    def socket_connected(self, handle: int) -> None: ...
    def socket_data(self, handle: int, data: bytes, remote: Remote) -> None: ...
    def socket_closed(self, handle: int) -> None: ...
    def socket_error(self, handle: int, reason: str) -> None: ...


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def lookup_records(records: Any, name: str) -> str | None:
    """The first IPv4 address of ``name`` in ``records`` (DnsRecords or dict), or None."""
    if records is None:
        return None
    key = name.strip().rstrip(".").lower()
    v4 = getattr(records, "v4", None)
    if isinstance(v4, Mapping):
        addrs = v4.get(key)
        return str(ipaddress.IPv4Address(addrs[0])) if addrs else None
    if isinstance(records, Mapping):
        for k, v in records.items():
            if str(k).strip().rstrip(".").lower() == key:
                value = v[0] if isinstance(v, (list, tuple)) and v else v
                return str(value) if isinstance(value, str) and is_ipv4(value) else None
    return None


class SocketProvider(ABC):
    """Links for a model. Reports go to ``listener`` on the emulation thread."""

    def __init__(self, records: Any = None) -> None:
        self.records = records
        self.listener: SocketListener | None = None

    def attach(self, listener: SocketListener) -> None:
        self.listener = listener

    @abstractmethod
    def open(self, proto: str, remote: Remote, local_port: int = 0, keepalive: int = 0) -> int:
        """Start a link; TCP reports ``socket_connected`` or ``socket_error`` later, UDP is open at once."""

    @abstractmethod
    def send(self, handle: int, data: bytes, remote: Remote | None = None) -> bool:
        """Queue ``data`` (UDP: one datagram to ``remote``); False when the link cannot send."""

    @abstractmethod
    def close(self, handle: int) -> None:
        """Close a link from our side; no ``socket_closed`` report follows."""

    def pause(self, handle: int, paused: bool) -> None:  # noqa: B027 - optional
        """Stop (or resume) reading from the peer: the model's receive window is full."""

    def resolve(self, name: str, done: Callable[[str | None], None]) -> None:
        """Resolve ``name`` to IPv4; ``done`` runs on the emulation thread (here: at once)."""
        done(name if is_ipv4(name) else lookup_records(self.records, name))

    def close_all(self) -> None:  # noqa: B027 - optional
        """Drop every link (module reset)."""


@dataclass
class _LoopLink:
    proto: str
    remote: Remote
    service: str
    local_port: int
    paused: bool = False
    backlog: bytes = b""


class LoopbackProvider(SocketProvider):
    """A closed world in virtual time: echo (port 7) and discard (port 9) at any address.

    ``services`` maps ``port`` or ``(ip, port)`` to ``"echo"``, ``"discard"``
    or ``"refuse"``; other TCP ports refuse the connection, other UDP ports
    swallow datagrams. Replies come ``latency`` seconds of virtual time after
    the send. Test hooks: ``inject(handle, data)`` (the peer sends),
    ``peer_close(handle)`` (the peer closes).
    """

    def __init__(self, clock: Clock, records: Any = None, latency: float = 0.001,
                 services: Mapping[Any, str] | None = None) -> None:
        super().__init__(records)
        self.clock = clock
        self.latency = clock.cycles(latency)
        self.services: dict[Any, str] = {7: "echo", 9: "discard"}
        self.services.update(services or {})
        self.links: dict[int, _LoopLink] = {}
        self.sent: list[tuple[int, bytes]] = []
        self._next = 1

    def _service(self, remote: Remote) -> str:
        return self.services.get(remote, self.services.get(remote[1], "refuse"))

    def open(self, proto: str, remote: Remote, local_port: int = 0, keepalive: int = 0) -> int:
        handle = self._next
        self._next += 1
        service = self._service(remote)
        if proto == TCP and service == "refuse":
            self._later(lambda: self._report("socket_error", handle, "connection refused"))
            return handle
        self.links[handle] = _LoopLink(proto, remote, service, local_port)
        if proto == TCP:
            self._later(lambda: self._connected(handle))
        return handle

    def _connected(self, handle: int) -> None:
        if handle in self.links:
            self._report("socket_connected", handle)

    def send(self, handle: int, data: bytes, remote: Remote | None = None) -> bool:
        link = self.links.get(handle)
        if link is None:
            return False
        self.sent.append((handle, bytes(data)))
        target = remote or link.remote
        service = link.service if remote is None else self._service(remote)
        if service == "echo":
            self._later(lambda: self._deliver(handle, bytes(data), target))
        return True

    def _deliver(self, handle: int, data: bytes, remote: Remote) -> None:
        link = self.links.get(handle)
        if link is None:
            return
        if link.paused:
            link.backlog += data
            return
        self._report("socket_data", handle, data, remote)

    def close(self, handle: int) -> None:
        self.links.pop(handle, None)

    def close_all(self) -> None:
        self.links.clear()

    def pause(self, handle: int, paused: bool) -> None:
        link = self.links.get(handle)
        if link is None:
            return
        link.paused = paused
        if not paused and link.backlog:
            data, link.backlog = link.backlog, b""
            self._later(lambda: self._deliver(handle, data, link.remote))

    # -- test hooks ------------------------------------------------------------
    def inject(self, handle: int, data: bytes, remote: Remote | None = None) -> None:
        link = self.links[handle]
        self._deliver(handle, bytes(data), remote or link.remote)

    def peer_close(self, handle: int) -> None:
        if self.links.pop(handle, None) is not None:
            self._report("socket_closed", handle)

    # -- internals ---------------------------------------------------------------
    def _later(self, action: Callable[[], None]) -> None:
        self.clock.call_after(self.latency, action, "loopback-sockets")

    def _report(self, what: str, *args: Any) -> None:
        if self.listener is not None:
            getattr(self.listener, what)(*args)
