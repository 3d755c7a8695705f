"""Ethernet/IPv4/UDP helpers shared by the backends, the DNS responder and tests.

Frames are ``bytes`` without FCS. Nothing here raises on malformed input
unless the function says so: parsers return ``None``.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
IPPROTO_UDP = 17
ETH_MIN_FRAME = 60


def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
        return mac
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"'{mac}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"'{mac}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)") from None


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def ip4(addr: str | bytes) -> bytes:
    return addr if isinstance(addr, bytes) else ipaddress.IPv4Address(addr).packed


def require_loopback(address: str, what: str = "address") -> str:
    """``address`` if it is an IPv4 loopback address (127.0.0.0/8); ValueError saying so otherwise."""
    try:
        ok = ipaddress.IPv4Address(address).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{what} '{address}': expected an IPv4 loopback address (127.0.0.0/8)")
    return address


def checksum(data: bytes | bytearray | memoryview) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    b = bytes(data)
    if len(b) % 2:
        b += b"\0"
    total = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_checksum(src: bytes, dst: bytes, udp: bytes | bytearray) -> int:
    """UDP checksum over the IPv4 pseudo-header and ``udp`` (its checksum field taken as is)."""
    pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, len(udp))
    c = checksum(pseudo + bytes(udp))
    return c or 0xFFFF


@dataclass
class Udp4:
    """An IPv4/UDP frame taken apart (offsets into the frame)."""

    eth_dst: bytes
    eth_src: bytes
    ip_off: int
    ihl: int
    src: bytes
    dst: bytes
    ttl: int
    sport: int
    dport: int
    udp_off: int
    udp_len: int
    udp_sum: int
    payload: bytes


def parse_udp4(frame: bytes) -> Udp4 | None:
    """The IPv4/UDP parts of an untagged Ethernet frame, or None (not UDP, fragment, bad lengths)."""
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ip = 14
    vihl = frame[ip]
    if vihl >> 4 != 4:
        return None
    ihl = (vihl & 0xF) * 4
    if ihl < 20 or frame[ip + 9] != IPPROTO_UDP:
        return None
    total = struct.unpack_from("!H", frame, ip + 2)[0]
    frag = struct.unpack_from("!H", frame, ip + 6)[0]
    if frag & 0x3FFF:  # MF or a fragment offset: not a whole datagram
        return None
    if total < ihl + 8 or ip + total > len(frame):
        return None
    u = ip + ihl
    sport, dport, ulen, usum = struct.unpack_from("!HHHH", frame, u)
    if ulen < 8 or ihl + ulen > total:
        return None
    return Udp4(frame[0:6], frame[6:12], ip, ihl, frame[ip + 12:ip + 16], frame[ip + 16:ip + 20],
                frame[ip + 8], sport, dport, u, ulen, usum, bytes(frame[u + 8:u + ulen]))


def fill_zero_udp_checksum(frame: bytes) -> bytes | None:
    """A copy of ``frame`` with its UDP checksum computed, if it is IPv4/UDP with checksum 0; else None."""
    p = parse_udp4(frame)
    if p is None or p.udp_sum != 0:
        return None
    udp = bytearray(frame[p.udp_off:p.udp_off + p.udp_len])
    c = udp_checksum(p.src, p.dst, udp)
    out = bytearray(frame)
    struct.pack_into("!H", out, p.udp_off + 6, c)
    return bytes(out)


def udp_checksum_ok(frame: bytes) -> bool | None:
    """True/False for an IPv4/UDP frame with a checksum, None when it has none or is not UDP."""
    p = parse_udp4(frame)
    if p is None or p.udp_sum == 0:
        return None
    udp = frame[p.udp_off:p.udp_off + p.udp_len]
    pseudo = p.src + p.dst + struct.pack("!BBH", 0, IPPROTO_UDP, p.udp_len)
    return checksum(pseudo + udp) == 0


def build_udp4(eth_dst: bytes, eth_src: bytes, src: bytes, dst: bytes, sport: int, dport: int,
               payload: bytes, *, ttl: int = 64, ident: int = 0, pad: bool = True,
               with_checksum: bool = True) -> bytes:
    """An Ethernet/IPv4/UDP frame with correct header and UDP checksums, padded to 60 bytes."""
    ulen = 8 + len(payload)
    udp = bytearray(struct.pack("!HHHH", sport, dport, ulen, 0) + payload)
    if with_checksum:
        struct.pack_into("!H", udp, 6, udp_checksum(src, dst, udp))
    iph = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xFFFF, 0, ttl,
                                IPPROTO_UDP, 0, src, dst))
    struct.pack_into("!H", iph, 10, checksum(iph))
    frame = eth_dst + eth_src + struct.pack("!H", ETHERTYPE_IPV4) + bytes(iph) + bytes(udp)
    if pad and len(frame) < ETH_MIN_FRAME:
        frame += b"\0" * (ETH_MIN_FRAME - len(frame))
    return frame


def build_arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, eth_dst: bytes | None = None) -> bytes:
    """An ARP request (op 1) or reply (op 2) frame, padded to 60 bytes."""
    dst = eth_dst if eth_dst is not None else (b"\xff" * 6 if op == 1 else tha)
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETHERTYPE_IPV4, 6, 4, op, sha, spa, tha, tpa)
    frame = dst + sha + struct.pack("!H", ETHERTYPE_ARP) + body
    return frame + b"\0" * max(0, ETH_MIN_FRAME - len(frame))


@dataclass
class Arp:
    op: int
    sha: bytes
    spa: bytes
    tha: bytes
    tpa: bytes


def parse_arp(frame: bytes) -> Arp | None:
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, 14)
    if htype != 1 or ptype != ETHERTYPE_IPV4 or hlen != 6 or plen != 4:
        return None
    return Arp(op, frame[22:28], frame[28:32], frame[32:38], frame[38:42])


def strip_ethernet_padding(frame: bytes) -> bytes:
    """An IPv4 frame cut to its IP total length.

    NICs pad short frames to 60 bytes; passt (Debian 2023-03) takes the frame
    length for the TCP segment length and silently drops padded SYNs and
    ACKs, so frames to it lose their padding here.
    """
    if len(frame) > 34 and frame[12:14] == b"\x08\x00":
        total = int.from_bytes(frame[16:18], "big")
        if 20 <= total and 14 + total < len(frame):
            return frame[:14 + total]
    return frame
