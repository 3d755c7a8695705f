"""The one guest behind a user-mode (passt) link, and host traffic held while it boots.

passt serves a single guest: it takes the source MAC (and IPv4 address) of
the frames it gets for the guest's. ``GuestGate`` pins the guest to the
first station that transmits and keeps other stations' frames off the link
(counted), so a second device on the switch (a fuzzer, a sniffer that
transmits) cannot re-point passt's port forwards at itself.

A host connection to a forwarded port can come while the board is still
booting; passt's SYN then reaches a board without an address, is dropped,
and passt retries only one second later. The gate holds IPv4 frames from
the host (ARP and DHCP pass) until the guest has an address — a DHCP ACK
went to it, or it sent an IPv4 or ARP frame from a non-zero address — and
delivers them then, in order. Held frames go anyway after ``max_hold_s``
of host time (``schedule`` calls back on the emulation thread), or when
more than ``max_frames`` wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge.net.packets import Udp4, parse_arp, parse_udp4

DHCP_SERVER_PORT, DHCP_CLIENT_PORT = 67, 68
DHCP_ACK = 5
_DHCP_OPTIONS = 240  # BOOTP header (236) + magic cookie


def is_dhcp_ack(udp: Udp4) -> bool:
    if udp.sport != DHCP_SERVER_PORT or udp.dport != DHCP_CLIENT_PORT:
        return False
    opts, i = udp.payload, _DHCP_OPTIONS
    while i + 1 < len(opts):
        code = opts[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            return False
        length = opts[i + 1]
        if code == 53 and length == 1 and i + 2 < len(opts):
            return opts[i + 2] == DHCP_ACK
        i += 2 + length
    return False


def _has_address(frame: bytes) -> bool:
    """The guest sent from a configured address (IPv4 source or ARP sender not 0.0.0.0)."""
    if frame[12:14] == b"\x08\x00" and len(frame) >= 34:
        return frame[26:30] != b"\0\0\0\0"
    arp = parse_arp(frame)
    return arp is not None and arp.spa != b"\0\0\0\0"


class GuestGate:
    def __init__(self, schedule: Callable[[float, Callable[[], None]], None], max_hold_s: float = 0.5,
                 max_frames: int = 64, now: Callable[[], float] = time.monotonic) -> None:
        self.max_hold_s, self.max_frames, self._now = max_hold_s, max_frames, now
        self._schedule = schedule
        self._deliver: Callable[[bytes], None] | None = None
        self.guest_mac: bytes | None = None
        self.ready = False
        self.not_guest = 0       # frames from other stations kept off the link
        self.held_total = 0      # host frames that waited for the guest's address
        self._held: list[bytes] = []
        self._held_since = 0.0

    def outbound(self, frame: bytes, deliver: Callable[[bytes], None]) -> bool:
        """A frame to the host: True if it must not go (another station's)."""
        src = frame[6:12]
        if self.guest_mac is None:
            self.guest_mac = src
        elif src != self.guest_mac:
            self.not_guest += 1
            return True
        if not self.ready and _has_address(frame):
            self._release(deliver)
        else:
            self._expire(deliver)
        return False

    def inbound(self, frame: bytes, deliver: Callable[[bytes], None]) -> None:
        """A frame from the host, to the switch now or once the guest has an address."""
        if self.ready:
            deliver(frame)
            return
        ipv4 = frame[12:14] == b"\x08\x00"
        udp = parse_udp4(frame) if ipv4 else None
        if not ipv4 or (udp is not None and udp.sport == DHCP_SERVER_PORT):
            deliver(frame)
            if udp is not None and is_dhcp_ack(udp):
                self._release(deliver)
            else:
                self._expire(deliver)
            return
        if not self._held:
            self._held_since = self._now()
            self._deliver = deliver
            self._schedule(self.max_hold_s, self._on_timer)
        self._held.append(frame)
        self.held_total += 1
        self._expire(deliver)

    def _expire(self, deliver: Callable[[bytes], None]) -> None:
        if self._held and (len(self._held) > self.max_frames
                           or self._now() - self._held_since >= self.max_hold_s):
            self._flush(deliver)

    def _on_timer(self) -> None:
        if self._held and self._deliver is not None:
            self._flush(self._deliver)

    def _release(self, deliver: Callable[[bytes], None]) -> None:
        self.ready = True
        self._flush(deliver)

    def _flush(self, deliver: Callable[[bytes], None]) -> None:
        held, self._held = self._held, []
        for frame in held:
            deliver(frame)

    def stats(self) -> dict[str, object]:
        return {"guest_mac": self.guest_mac.hex(":") if self.guest_mac else None,
                "guest_ready": self.ready, "not_guest_frames": self.not_guest,
                "held_for_boot": self.held_total}
