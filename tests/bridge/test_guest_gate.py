"""GuestGate: passt's one guest, and host frames held until that guest has an address."""

from __future__ import annotations

import struct
from collections.abc import Callable

from bridge.net.guest_gate import GuestGate
from bridge.net.packets import build_arp, build_udp4, ip4

GUEST = bytes.fromhex("525400123456")
OTHER = bytes.fromhex("02aabbccdd77")
PASST = bytes.fromhex("02fc00000001")
BCAST = b"\xff" * 6


def dhcp_reply(msg_type: int) -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 1, 0, 0, b"\0" * 4, ip4("10.0.2.15"),
                        ip4("10.0.2.2"), b"\0" * 4, GUEST + b"\0" * 10, b"", b"")
    options = b"\x63\x82\x53\x63" + bytes([53, 1, msg_type, 255])
    return build_udp4(GUEST, PASST, ip4("10.0.2.2"), ip4("10.0.2.15"), 67, 68, bootp + options)


def syn() -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, ip4("10.0.2.2"), ip4("10.0.2.15"))
    tcp = struct.pack("!HHIIBBHHH", 40000, 7, 1, 0, 0x50, 0x02, 65535, 0, 0)
    return GUEST + PASST + b"\x08\x00" + ip + tcp


def udp_from(mac: bytes, src: str) -> bytes:
    return build_udp4(BCAST, mac, ip4(src), ip4("255.255.255.255"), 68, 67, b"x" * 8)


class Timers:
    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def schedule(self, seconds: float, fn: Callable[[], None]) -> None:
        self.pending.append((seconds, fn))

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _, fn in pending:
            fn()


def make() -> tuple[GuestGate, list[bytes], Timers]:
    timers = Timers()
    return GuestGate(timers.schedule), [], timers


def test_host_frames_wait_for_the_dhcp_ack_and_keep_their_order() -> None:
    gate, got, _ = make()
    gate.outbound(udp_from(GUEST, "0.0.0.0"), got.append)      # DISCOVER: no address yet
    first, second = syn(), syn()[:-1] + b"\1"
    gate.inbound(first, got.append)
    gate.inbound(second, got.append)
    assert got == []                                            # held while the board boots
    offer, ack = dhcp_reply(2), dhcp_reply(5)
    gate.inbound(offer, got.append)
    assert got == [offer]                                       # DHCP passes the gate
    gate.inbound(ack, got.append)
    assert got == [offer, ack, first, second]
    assert gate.ready and gate.stats()["held_for_boot"] == 2


def test_a_static_address_opens_the_gate_on_the_first_frame_from_it() -> None:
    gate, got, _ = make()
    frame = syn()
    gate.inbound(frame, got.append)
    assert got == []
    released: list[bytes] = []
    arp = build_arp(1, GUEST, ip4("10.0.2.16"), b"\0" * 6, ip4("10.0.2.2"))
    assert gate.outbound(arp, released.append) is False
    assert released == [frame] and gate.ready


def test_held_frames_go_when_the_timer_fires_even_if_the_board_stays_silent() -> None:
    gate, got, timers = make()
    frame = syn()
    gate.inbound(frame, got.append)
    assert [s for s, _ in timers.pending] == [gate.max_hold_s]
    timers.fire()
    assert got == [frame] and not gate.ready


def test_arp_passes_and_a_full_hold_overflows_in_order() -> None:
    gate, got, _ = make()
    arp = build_arp(1, PASST, ip4("10.0.2.2"), b"\0" * 6, ip4("10.0.2.15"))
    gate.inbound(arp, got.append)
    assert got == [arp]
    frames = [syn()[:-2] + struct.pack("!H", i) for i in range(gate.max_frames + 1)]
    for f in frames:
        gate.inbound(f, got.append)
    assert got == [arp, *frames]


def test_only_the_first_station_reaches_passt() -> None:
    gate, got, _ = make()
    assert gate.outbound(udp_from(GUEST, "0.0.0.0"), got.append) is False
    assert gate.outbound(udp_from(OTHER, "10.0.2.99"), got.append) is True
    stranger_arp = build_arp(1, OTHER, ip4("10.0.2.99"), b"\0" * 6, ip4("10.0.2.2"))
    assert gate.outbound(stranger_arp, got.append) is True
    assert gate.stats()["not_guest_frames"] == 2
    assert gate.stats()["guest_mac"] == "52:54:00:12:34:56"
    assert not gate.ready                                       # a stranger's address opens nothing
