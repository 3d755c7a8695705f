"""Ethernet frame ports: how a MAC model meets the (virtual) wire.

A ``FramePort`` is the narrow interface between an Ethernet device model and
whatever it is plugged into (a switch port, a host backend, a test). Frames
are ``bytes`` without preamble and without FCS (the model adds/strips the
4-byte CRC where its datasheet says so). Everything here runs on the
emulation thread, at the virtual time ``clock.now`` of the call.

Device side:  ``port.send(frame)`` transmits; ``port.on_receive`` is set by
              the device to accept a frame; ``port.on_link`` is told about
              carrier changes.
Wire side:    ``port.connect(listener)`` receives what the device sends;
              ``port.deliver(frame)`` hands a frame to the device;
              ``port.set_link(up)`` changes the carrier.
"""

from __future__ import annotations

from collections.abc import Callable

ETH_HEADER = 14
ETH_MIN_FRAME = 60      # without FCS
ETH_MAX_FRAME = 1514    # without FCS, no VLAN tag
ETH_MAX_VLAN_FRAME = 1518
ETH_WIRE_OVERHEAD = 24  # FCS 4 + preamble and SFD 8 + inter-frame gap 12 bytes
DEFAULT_LINK_BPS = 100_000_000  # a board's Ethernet port: 100BASE-TX (the LAN9118's PHY)


def wire_ns(frame_len: int, bps: int) -> int:
    """How long a frame (without FCS; padded to the minimum) holds the wire at ``bps``, in ns."""
    return (max(frame_len, ETH_MIN_FRAME) + ETH_WIRE_OVERHEAD) * 8 * 1_000_000_000 // bps


class FramePort:
    __slots__ = ("name", "_listeners", "on_receive", "on_link", "link_up", "tx_frames", "rx_frames")

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[bytes], None]] = []
        self.on_receive: Callable[[bytes], None] | None = None
        self.on_link: Callable[[bool], None] | None = None
        self.link_up = True
        self.tx_frames = 0
        self.rx_frames = 0

    # -- device side --------------------------------------------------------
    def send(self, frame: bytes) -> None:
        self.tx_frames += 1
        for listener in self._listeners:
            listener(frame)

    # -- wire side ------------------------------------------------------------
    def connect(self, listener: Callable[[bytes], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[bytes], None]) -> None:
        self._listeners.remove(listener)

    def deliver(self, frame: bytes) -> None:
        self.rx_frames += 1
        if self.on_receive is not None:
            self.on_receive(frame)

    def set_link(self, up: bool) -> None:
        if up != self.link_up:
            self.link_up = up
            if self.on_link is not None:
                self.on_link(up)
