"""``attach_network``: what the CLI calls to put a machine's Ethernet on a host network.

``spec`` (``--net``):

- ``user``: QEMU's user-mode networking, libslirp in this process (board
  10.0.2.15 by DHCP, host loopback at 10.0.2.2, DNS 10.0.2.3);
  ``user,restrict=on``: nothing reachable outside but the forwards.
- ``passt``: the same addresses through a passt process.
- ``tap:NAME``: an existing TAP device (``tap:NAME,create``: create it;
  root or CAP_NET_ADMIN).
- ``socket:URL``: QEMU's stream/dgram framing (``bridge.net.qemu_socket``).
- ``none``: no host; the board's switch exists (other boards, the DNS
  responder, capture) but frames to the host are dropped.

``forwards`` (``user`` and ``passt`` only) are ``tcp:[ADDR:]HOSTPORT:BOARDPORT`` / ``udp:...`` strings
(``parse_forward``; ADDR defaults to 127.0.0.1) or ``Forward`` objects.
``dns_records`` are ``NAME=IP`` strings, ``dns_file`` a hosts-style file;
with either, a ``DnsResponder`` answers those names in front of the
upstream DNS. ``pcap`` is a path or binary file: every board port is
captured (pcapng, virtual-time nanosecond timestamps).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from bridge.net.backend import BackendError, HostBackend, HostInputLike, NullBackend
from bridge.net.dns import DnsConfigError, DnsRecords, DnsResponder
from bridge.net.forward import Forward
from bridge.net.passt import PasstBackend
from bridge.net.pcapng import PcapngWriter
from bridge.net.qemu_socket import SocketBackend, parse_socket_url
from bridge.net.slirp import SlirpBackend
from bridge.net.tap import TapBackend
from emulator.net.frames import DEFAULT_LINK_BPS
from emulator.net.network import Switch, SwitchPort

NET_USAGE = "expected user, user,restrict=on, passt, tap:NAME, tap:NAME,create, socket:URL or none"
NAT_KINDS = ("user", "passt")  # the backends with forwards, 10.0.2.0/24 and their own ARP for DNS
HOST_PORT_NAME = "host"


class NetworkError(Exception):
    """A ``--net``/``--forward``/``--dns-record``/``--pcap`` setting that cannot be used; says why."""


def parse_forward(spec: str) -> Forward:
    """``tcp:HOSTPORT:BOARDPORT``, ``udp:HOSTPORT:BOARDPORT``, or with a bind address
    ``tcp:ADDR:HOSTPORT:BOARDPORT`` (IPv6 in brackets); the address defaults to 127.0.0.1."""
    usage = ("expected tcp:HOSTPORT:BOARDPORT or udp:HOSTPORT:BOARDPORT "
             "(optionally tcp:ADDR:HOSTPORT:BOARDPORT)")
    proto, sep, rest = spec.partition(":")
    if not sep or proto not in ("tcp", "udp"):
        raise NetworkError(f"--forward '{spec}': {usage}")
    addr = "127.0.0.1"
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0 or rest[end + 1:end + 2] != ":":
            raise NetworkError(f"--forward '{spec}': {usage}")
        addr, rest = rest[1:end], rest[end + 2:]
        parts = rest.split(":")
    else:
        parts = rest.split(":")
        if len(parts) == 3:
            addr, parts = parts[0], parts[1:]
    if len(parts) != 2:
        raise NetworkError(f"--forward '{spec}': {usage}")
    try:
        host_port, board_port = int(parts[0]), int(parts[1])
    except ValueError:
        raise NetworkError(f"--forward '{spec}': ports must be numbers; {usage}") from None
    try:
        ipaddress.ip_address(addr)
        return Forward(proto, host_port, board_port, addr)
    except ValueError as e:
        raise NetworkError(f"--forward '{spec}': {e}") from None


def _user_options(spec: str, options: str) -> bool:
    """``user,restrict=on|off``: whether the board is restricted to the forwards."""
    restrict = False
    for opt in options.split(","):
        name, eq, value = opt.partition("=")
        if name != "restrict" or not eq:
            raise NetworkError(f"--net '{spec}': unknown option '{opt}' (user takes restrict=on|off)")
        if value not in ("on", "off", "yes", "no"):
            raise NetworkError(f"--net '{spec}': restrict must be on or off, not '{value}'")
        restrict = value in ("on", "yes")
    return restrict


@dataclass
class NetworkAttachment:
    """What ``attach_network`` set up; ``close()`` stops the backend and the capture."""

    switch: Switch
    backend: HostBackend
    spec: str
    board_ports: dict[str, SwitchPort] = field(default_factory=dict)
    dns: DnsResponder | None = None
    pcap: PcapngWriter | None = None
    closed: bool = False

    def describe(self) -> str:
        return self.backend.describe()

    def status(self) -> str | None:
        """One line for ``vboard run`` (``net user: board 10.0.2.15, forward ...``), or None."""
        status = getattr(self.backend, "status", None)
        return f"net {self.spec.split(',')[0]}: {status()}" if status is not None else None

    def counters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"switch": self.switch.counters(), "backend": self.backend.stats()}
        if self.dns is not None:
            out["dns"] = self.dns.counters.as_dict()
        if self.pcap is not None:
            out["pcap_frames"] = self.pcap.frames
        return out

    def close(self) -> None:
        """Stop the backend (bounded), finish the capture file; idempotent, never raises."""
        if self.closed:
            return
        self.closed = True
        self.backend.stop()
        if self.pcap is not None:
            try:
                self.pcap.close()
            except OSError:
                pass


def _ports_to_capture(machine: Any, switch: Switch, devices: list[str],
                      wire_bps: int) -> dict[str, SwitchPort]:
    ports: dict[str, SwitchPort] = {}
    for name in devices:
        existing = next((p for p in switch.ports if p.name == name), None)
        if existing is not None:
            ports[name] = existing  # attached already (e.g. a simulation's switch)
            continue
        ports[name] = switch.attach_device(name, machine.clock, machine.frame_port(name), wire_bps=wire_bps)
    return ports


def attach_network(machine: Any, spec: str, *, switch: Switch | None = None,
                   forwards: Iterable[str | Forward] = (), pcap: str | Path | BinaryIO | None = None,
                   dns_records: Iterable[str] = (), dns_file: str | Path | None = None,
                   host_input: HostInputLike | None = None,
                   on_error: Callable[[str], None] = print,
                   wire_bps: int = DEFAULT_LINK_BPS) -> NetworkAttachment:
    """Attach ``machine``'s Ethernet devices to a switch and the switch to the host per ``spec``.

    ``wire_bps``: the rate of each board port's wire (frames to the board take their
    serialisation time on it); 0: no wire time (QEMU's behaviour).

    Raises ``NetworkError`` (bad settings, a backend that cannot start) with a
    message fit for the user; nothing is left running when it raises. Later
    failures of the host side are reported through ``on_error`` (one line)
    while the board runs on.
    """
    spec = spec.strip()
    fwds = [f if isinstance(f, Forward) else parse_forward(f) for f in forwards]
    kind, _, arg = spec.partition(":")
    restrict = False
    if spec.startswith("user,"):
        kind, arg, restrict = "user", "", _user_options(spec, spec[5:])
    if kind not in ("user", "passt", "tap", "socket", "none") or (kind in ("user", "passt", "none") and arg):
        raise NetworkError(f"--net '{spec}': {NET_USAGE}")
    if fwds and kind not in NAT_KINDS:
        raise NetworkError(f"--forward needs --net user or --net passt; got --net {spec}")
    try:
        records = DnsRecords.build(dns_records, [dns_file] if dns_file else [])
    except DnsConfigError as e:
        raise NetworkError(str(e)) from None
    url = None
    if kind == "socket":
        try:
            url = parse_socket_url(arg)
        except ValueError as e:
            raise NetworkError(f"--net {e}") from None
    tap_name, tap_create = "", False
    if kind == "tap":
        tap_name, _, opt = arg.partition(",")
        if not tap_name or opt not in ("", "create"):
            raise NetworkError(f"--net '{spec}': expected tap:NAME or tap:NAME,create")
        tap_create = opt == "create"

    devices = machine.ethernet_devices()
    if not devices and kind != "none":
        raise NetworkError(f"--net {spec}: this board has no Ethernet device")
    sw = switch if switch is not None else Switch(seed=0)
    board_ports = _ports_to_capture(machine, sw, devices, wire_bps)

    writer: PcapngWriter | None = None
    if pcap is not None:
        try:
            writer = PcapngWriter(pcap)
        except OSError as e:
            raise NetworkError(f"--pcap: {e.strerror or e}") from None
        for port in board_ports.values():
            writer.attach(port)

    backend: HostBackend
    try:
        common: dict[str, Any] = {"port_name": HOST_PORT_NAME, "on_error": on_error}
        if kind == "user":
            backend = SlirpBackend(machine, sw, host_input, forwards=fwds, restrict=restrict, **common)
        elif kind == "passt":
            backend = PasstBackend(machine, sw, host_input, forwards=fwds, **common)
        elif kind == "tap":
            backend = TapBackend(machine, sw, host_input, tap_name, create=tap_create, **common)
        elif kind == "socket":
            backend = SocketBackend(machine, sw, host_input, url, **common)
        else:
            backend = NullBackend(machine, sw, host_input, **common)
        dns = None
        if len(records):
            dns = DnsResponder(records, answer_arp=kind not in NAT_KINDS)
            backend.outbound_hooks.append(dns.hook(backend.inject))
        backend.start()
    except BackendError as e:
        if writer is not None:
            writer.close()
        raise NetworkError(str(e)) from None
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    return NetworkAttachment(sw, backend, spec, board_ports, dns, writer)
