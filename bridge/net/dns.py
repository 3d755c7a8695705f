"""A DNS responder in front of the upstream one, working on frames.

Between the board's switch and the host backend: a frame from the board that
is IPv4/UDP to the DNS address (10.0.2.3 by default) port 53, carrying a
standard query (one question, class IN) of type A or AAAA for a name in the
records, is answered right here, on the emulation thread and in virtual
time: a reply frame (Ethernet/IPv4/UDP/DNS, correct checksums, the question
echoed, TTL ``ttl``) goes back to the board. A name with no address of the
asked family gets an empty NOERROR answer. Every other frame goes on to the
upstream (passt forwards 10.0.2.3 to the host's resolver) untouched, as do
malformed packets: nothing here raises.

``DnsRecords`` come from ``NAME=IP`` strings (``--dns-record``) and hosts-style
files (``IP NAME [NAME...]``, ``#`` comments). Names are case-insensitive, a
trailing dot is optional; a name may have several addresses (IPv4 and IPv6).

With no upstream that answers ARP (``tap``, ``socket``, ``none``), the
responder also answers ARP requests for the DNS address (``answer_arp``),
from ``DNS_MAC``.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.net.packets import build_arp, build_udp4, ip4, parse_arp, parse_udp4

DNS_PORT = 53
QTYPE_A = 1
QTYPE_AAAA = 28
QCLASS_IN = 1
DNS_MAC = bytes.fromhex("52550a000203")  # locally administered, slirp-style 52:55:<10.0.2.3>


MAX_HOSTS_FILE = 1024 * 1024  # bytes of a --dns-file read at most


class DnsConfigError(ValueError):
    """A bad record or records file; the message names the file and line."""


def normalize_name(name: str) -> str:
    n = name.strip().rstrip(".").lower()
    if not n or len(n) > 253 or any(not 0 < len(label) <= 63 for label in n.split(".")):
        raise DnsConfigError(f"'{name}' is not a valid DNS name")
    return n


@dataclass
class DnsRecords:
    """name (lower case, no trailing dot) -> addresses, in the order given."""

    v4: dict[str, list[bytes]] = field(default_factory=dict)
    v6: dict[str, list[bytes]] = field(default_factory=dict)

    def add(self, name: str, address: str, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        try:
            n = normalize_name(name)
        except DnsConfigError as e:
            raise DnsConfigError(f"{prefix}{e}") from None
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            raise DnsConfigError(f"{prefix}'{address}' is not an IPv4 or IPv6 address") from None
        table = self.v4 if ip.version == 4 else self.v6
        addrs = table.setdefault(n, [])
        if ip.packed not in addrs:
            addrs.append(ip.packed)

    def add_spec(self, spec: str) -> None:
        """``NAME=IP`` (as given to ``--dns-record``)."""
        name, sep, address = spec.partition("=")
        if not sep or not name.strip() or not address.strip():
            raise DnsConfigError(f"--dns-record '{spec}': expected NAME=IP, e.g. arm.com=10.0.2.2")
        self.add(name, address, f"--dns-record '{spec}'")

    def load_hosts(self, path: str | Path) -> None:
        """A hosts-style file: ``IP NAME [NAME...]`` per line, ``#`` starts a comment."""
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_HOSTS_FILE + 1)
            if len(raw) > MAX_HOSTS_FILE:
                raise DnsConfigError(f"DNS records file {path}: larger than {MAX_HOSTS_FILE // 1024} KiB")
            if b"\0" in raw:
                raise DnsConfigError(f"DNS records file {path}: a binary file, not hosts-style text")
            text = raw.decode("utf-8")
        except OSError as e:
            raise DnsConfigError(f"cannot read DNS records file {path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise DnsConfigError(f"DNS records file {path} is not UTF-8 text") from None
        for lineno, line in enumerate(text.splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2:
                raise DnsConfigError(f"{path}:{lineno}: expected 'IP NAME [NAME...]', got "
                                     f"'{line.strip()[:80]}'")
            for name in words[1:]:
                self.add(name, words[0], f"{path}:{lineno}")

    def lookup(self, name: str, qtype: int) -> list[bytes] | None:
        """Addresses of ``qtype`` for ``name``; None when the name is not ours at all."""
        n = name.rstrip(".").lower()
        if n not in self.v4 and n not in self.v6:
            return None
        return list((self.v4 if qtype == QTYPE_A else self.v6).get(n, []))

    def __len__(self) -> int:
        return len(set(self.v4) | set(self.v6))

    @classmethod
    def build(cls, specs: Iterable[str] = (), files: Iterable[str | Path] = ()) -> DnsRecords:
        records = cls()
        for f in files:
            records.load_hosts(f)
        for s in specs:
            records.add_spec(s)
        return records


@dataclass
class DnsQuery:
    ident: int
    flags: int
    name: str            # as asked, dots between labels, no trailing dot
    qtype: int
    qclass: int
    question: bytes      # the question section, verbatim


def parse_query(msg: bytes) -> DnsQuery | None:
    """A standard query with exactly one question, or None (anything else, or malformed)."""
    if len(msg) < 12:
        return None
    ident, flags, qd, an, ns, _ar = struct.unpack_from("!HHHHHH", msg, 0)
    if flags & 0x8000 or (flags >> 11) & 0xF != 0 or qd != 1 or an or ns:
        return None
    pos = 12
    labels: list[str] = []
    total = 0
    while True:
        if pos >= len(msg):
            return None
        length = msg[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0:  # compression in a question: not from any sane resolver
            return None
        label = msg[pos + 1:pos + 1 + length]
        if len(label) != length:
            return None
        total += length + 1
        if total > 255:
            return None
        try:
            labels.append(label.decode("ascii"))
        except UnicodeDecodeError:
            return None
        pos += 1 + length
    if pos + 4 > len(msg) or not labels:
        return None
    qtype, qclass = struct.unpack_from("!HH", msg, pos)
    return DnsQuery(ident, flags, ".".join(labels), qtype, qclass, bytes(msg[12:pos + 4]))


def build_answer(q: DnsQuery, addresses: list[bytes], qtype: int, ttl: int) -> bytes:
    rd = q.flags & 0x0100
    flags = 0x8000 | 0x0400 | rd | 0x0080  # QR, AA, RD echoed, RA; opcode 0, rcode NOERROR
    out = struct.pack("!HHHHHH", q.ident, flags, 1, len(addresses), 0, 0) + q.question
    for addr in addresses:
        out += struct.pack("!HHHIH", 0xC00C, qtype, QCLASS_IN, ttl, len(addr)) + addr
    return out


@dataclass
class DnsCounters:
    answered: int = 0
    forwarded: int = 0      # DNS queries to the DNS address passed on upstream
    arp_answered: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"answered": self.answered, "forwarded": self.forwarded, "arp_answered": self.arp_answered}


class DnsResponder:
    """``handle(frame)`` -> a reply frame for the board, or None to pass the frame on."""

    def __init__(self, records: DnsRecords, dns_ip: str = "10.0.2.3", ttl: int = 60,
                 answer_arp: bool = False, mac: bytes = DNS_MAC) -> None:
        self.records = records
        self.dns_ip = ip4(dns_ip)
        self.ttl = ttl
        self.answer_arp = answer_arp
        self.mac = mac
        self.counters = DnsCounters()
        self._ip_id = 0

    def handle(self, frame: bytes) -> bytes | None:
        try:
            return self._handle(frame)
        except Exception:  # noqa: BLE001 - a responder bug must never break the board's network
            return None

    def _handle(self, frame: bytes) -> bytes | None:
        if self.answer_arp and frame[12:14] == b"\x08\x06":
            arp = parse_arp(frame)
            if arp is not None and arp.op == 1 and arp.tpa == self.dns_ip and arp.spa != self.dns_ip:
                self.counters.arp_answered += 1
                return build_arp(2, self.mac, self.dns_ip, arp.sha, arp.spa)
            return None
        p = parse_udp4(frame)
        if p is None or p.dport != DNS_PORT or p.dst != self.dns_ip:
            return None
        q = parse_query(p.payload)
        if q is None or q.qclass != QCLASS_IN or q.qtype not in (QTYPE_A, QTYPE_AAAA):
            self.counters.forwarded += 1
            return None
        addresses = self.records.lookup(q.name, q.qtype)
        if addresses is None:
            self.counters.forwarded += 1
            return None
        answer = build_answer(q, addresses, q.qtype, self.ttl)
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        eth_src = p.eth_dst if not p.eth_dst[0] & 1 else self.mac
        self.counters.answered += 1
        return build_udp4(p.eth_src, eth_src, p.dst, p.src, DNS_PORT, p.sport, answer, ident=self._ip_id)

    def hook(self, inject: Callable[[bytes], None]) -> Callable[[bytes], bool]:
        """An outbound hook for ``HostBackend.outbound_hooks`` that injects replies with ``inject``."""

        def outbound(frame: bytes) -> bool:
            reply = self.handle(frame)
            if reply is None:
                return False
            inject(reply)
            return True

        return outbound
