"""The LAN9118's receive path as it was before ``_wire_receive`` queued plain frames itself (frozen
for ``test_lan9118_rx_paths.py``): every frame from the wire through ``_receive``'s checks, and
queued step by step in Python (the FIFO layout, the packet ends, the RX status levels, the IRQ),
as it was before the port's ``rx_queue`` did it in C; and RX_FFWD as it was in Python."""

from __future__ import annotations

import struct
import zlib
from collections import deque

from peripherals.lan9118 import (
    ADDRH,
    ADDRL,
    BMCR_LOOPBACK,
    BMCR_PDOWN,
    BROADCAST,
    ETH_MIN,
    HO,
    INVFILT,
    LOOPBK,
    MAC_CR,
    PASSBAD,
    PRMS,
    RSFF,
    RSFL,
    RWT,
    RX_MAX_WITH_FCS,
    RXALL,
    RXEN,
    RXS_BCAST,
    RXS_CRC_ERR,
    RXS_ES,
    RXS_FILTER_FAIL,
    RXS_FRAME_TYPE,
    RXS_MCAST,
    RXS_RUNT,
    RXS_TOO_LONG,
    Lan9118,
)


def wire_receive(self: Lan9118, frame: bytes) -> None:
    """A frame from the wire (no FCS)."""
    if type(frame) is not bytes:
        if not isinstance(frame, bytearray | memoryview):
            self._drop_rx("garbage")
            return
        frame = bytes(frame)
    bmcr = self._phy[0]
    if not self._port.link_up or bmcr & BMCR_PDOWN:
        self._drop_rx("link_down")
        return
    if bmcr & BMCR_LOOPBACK or self.mac_csr[MAC_CR] & LOOPBK:
        self._drop_rx("loopback")
        return
    n = len(frame)
    if n < 14:
        self._drop_rx("runt")
        return
    if n < ETH_MIN:
        frame += bytes(ETH_MIN - n)   # the sending MAC pads; a wire never carries less
    receive(self, frame, None)

def receive(self: Lan9118, frame: bytes, frame_fcs: bytes | None) -> None:
    """Filter and queue one frame; ``frame_fcs`` is the FCS it carries (None: a good one)."""
    mac_cr = self.mac_csr[MAC_CR]
    if not mac_cr & RXEN:
        self._drop_rx("rx_disabled")
        return
    n = len(frame)
    if n < 14:
        self._drop_rx("runt")
        return
    if n + 4 > RX_MAX_WITH_FCS:
        self._drop_rx("oversize")
        self._raise(RWT)
        return
    status = (n + 4) << 16
    if n + 4 < 64:
        status |= RXS_RUNT
    if n + 4 > 1518 and n + 4 > self._max_len(frame):
        status |= RXS_TOO_LONG
    if (frame[12] << 8 | frame[13]) > 1500:
        status |= RXS_FRAME_TYPE
    crc = zlib.crc32(frame)
    if frame_fcs is not None:
        carried = int.from_bytes(frame_fcs, "little")
        if carried != crc:
            status |= RXS_CRC_ERR
            crc = carried
    if frame[0] & 1:
        status |= RXS_BCAST if frame.startswith(BROADCAST) else RXS_MCAST
    if status & (RXS_RUNT | RXS_TOO_LONG | RXS_CRC_ERR):
        status |= RXS_ES
        if status & (RXS_RUNT | RXS_CRC_ERR) and not mac_cr & PASSBAD:
            self._drop_rx("bad_frame")
            return
    if mac_cr & PRMS:
        passed = True
    elif frame[0] & 1 or mac_cr & (HO | INVFILT):
        passed = self._filter(frame[:6], mac_cr)
    else:  # _filter's perfect match of a unicast destination, without its calls
        mac = self.mac_csr
        passed = frame[:6] == struct.pack("<IH", mac[ADDRL], mac[ADDRH] & 0xFFFF)
    if not passed:
        if not mac_cr & RXALL:
            self._drop_rx("filtered", counted=True)
            return
        status |= RXS_FILTER_FAIL
    rx_cfg = self.r[self._i_rx_cfg]
    offset = (rx_cfg >> 8) & 0x1F
    align = (4, 16, 32, 4)[rx_cfg >> 30]
    words = -(-(offset + n + 4) // align) * align // 4
    fifo = self._fifo
    queued = fifo.rxs.count
    if queued >= self._rxs_cap or fifo.rx_count + words > self._rxd_cap:
        self._drop_rx("fifo_full", counted=True)
        return
    port = self._rxd
    port.push_frame(offset, frame, crc, words, status)  # data words and the status
    ends = deque(port.rx_ends)
    pushed = port.rx_pushed
    while ends and ends[0] <= pushed - fifo.rx_count:
        ends.popleft()
    pushed += words
    ends.append(pushed)
    port.load_rx_ends(pushed, list(ends))
    self.rx_frames += 1
    queued += 1
    r = self.r
    bits = RSFL if queued > (r[self._i_fifo_int] & 0xFF) else 0
    if queued >= self._rxs_cap:
        bits |= RSFF
    if bits:
        r[self._i_sts] |= bits
    self._update_irq()


def fast_forward(self: Lan9118) -> None:
    """RX_DP_CTRL.RX_FFWD: skip to the end of the packet being read."""
    port = self._rxd
    ends = deque(port.rx_ends)
    popped = port.rx_pushed - self._fifo.rx_count
    while ends and ends[0] <= popped:
        ends.popleft()
    if not ends:
        port.load_rx_ends(port.rx_pushed, [])
        self.guest_error("RX_DP_CTRL.RX_FFWD with no packet in the RX data FIFO")
        return
    port.skip(ends.popleft() - popped)
    port.load_rx_ends(port.rx_pushed, list(ends))
