"""The LAN9118's receive of a plain frame (``_wire_receive`` queues a good unicast frame to its MAC
itself, past ``_receive``) against the path every frame took before (``lan9118_rx_reference.py``).

Twin models see the same random frames (to this MAC, another, broadcast and multicast; runts to
3000 bytes; VLAN and length/type fields; bytes, bytearrays and garbage) under random MAC_CR
filter modes, MAC addresses, RX_CFG offsets and alignments, FIFO sizes and levels, a link that
goes down, a PHY powered down or looped back, with FIFOs drained, fast-forwarded and dumped,
interrupts acknowledged and snapshots of earlier steps restored. After every step the whole state
(FIFOs, statuses, drop counters) and the IRQ edges must be equal.
"""

from __future__ import annotations

import random

import lan9118_rx_reference as reference
import pytest
from test_fast_reads import INT_BITS, Twins, mac_csr_write
from test_lan9118_tx_native import phy_write

from peripherals.lan9118 import (
    ADDRH,
    ADDRL,
    BCAST,
    BMCR_LOOPBACK,
    BMCR_PDOWN,
    HO,
    HPFILT,
    INVFILT,
    LOOPBK,
    MAC_CR,
    MCPAS,
    PASSBAD,
    PRMS,
    RXALL,
    RXEN,
    TXEN,
    VLAN1,
    Lan9118,
)

STEPS = 600
OTHER_MAC = bytes.fromhex("02be0c000002")


def _mac(t: Twins) -> bytes:
    mac = t.native.mac_csr
    return (mac[ADDRL] | (mac[ADDRH] & 0xFFFF) << 32).to_bytes(6, "little")


def _frame(t: Twins, rng: random.Random) -> object:
    dest = rng.choice((_mac(t), _mac(t), _mac(t), OTHER_MAC, b"\xff" * 6, bytes.fromhex("01005e000001")))
    kind = rng.choice((b"\x08\x00", b"\x88\xb5", b"\x81\x00", b"\x00\x40", b"\x05\xdc", b"\x05\xdd"))
    size = rng.choice((10, 13, 14, 20, 59, 60, 64, 64, 64, 100, 1000, 1514, 1515, 1518, 1519, 2044, 2045,
                       3000))
    f = (dest + bytes.fromhex("02be0c000001") + kind + rng.randbytes(max(0, size - 14)))[:size]
    shape = rng.random()
    if shape < 0.05:
        return bytearray(f)
    if shape < 0.07:
        return "not a frame"
    return f


def _mac_cr(rng: random.Random) -> int:
    if rng.random() < 0.5:
        return RXEN | TXEN
    bits = RXEN if rng.random() < 0.85 else 0
    for b in (PRMS, HO, INVFILT, RXALL, PASSBAD, BCAST, MCPAS, HPFILT, LOOPBK):
        if rng.random() < 0.12:
            bits |= b
    return bits | TXEN


def rx_step(t: Twins, rng: random.Random, saved: list[dict[str, object]]) -> None:
    op = rng.randrange(21)
    if op < 9:
        for _ in range(rng.randrange(1, 6)):
            f = _frame(t, rng)
            t.both(lambda d, f=f: d.frame_ports["eth"].deliver(f))
    elif op == 9:
        mac_csr_write(t, MAC_CR, _mac_cr(rng))
    elif op == 10:
        mac = rng.choice((bytes.fromhex("525400123456"), OTHER_MAC, rng.randbytes(6)))
        mac_csr_write(t, ADDRL, int.from_bytes(mac[:4], "little"))
        mac_csr_write(t, ADDRH, int.from_bytes(mac[4:], "little") | (rng.getrandbits(16) << 16))
    elif op == 11:
        t.write(0x6C, 4, (rng.randrange(4) << 30) | (rng.randrange(32) << 8))                  # RX_CFG
    elif op == 12:
        t.write(0x68, 4, rng.choice((0, 0, 1, 4, 0xFF)))                                       # FIFO_INT
    elif op == 13:
        for _ in range(rng.randrange(1, 8)):                                                  # drain
            t.read(0x40, 4)
            for _ in range(rng.randrange(0, 400)):
                t.read(0x00, 4)
    elif op == 14:
        t.write(rng.choice((0x78, 0x6C)), 4, rng.choice((1 << 31, 1 << 15)))        # RX_FFWD, RX_DUMP
    elif op == 15:
        t.write(0x58, 4, sum(b for b in INT_BITS if rng.random() < 0.5))                       # acknowledge
    elif op == 16:
        up = rng.random() < 0.7
        t.both(lambda d: d.frame_ports["eth"].set_link(up))
    elif op == 17:
        phy_write(t, 0, 0x3100 | rng.choice((0, 0, 0, BMCR_LOOPBACK, BMCR_PDOWN)))
    elif op == 18:
        t.write(0x74, 4, rng.choice((2, 5, 5, 9, 14)) << 16)                         # HW_CFG: FIFO sizes
    elif op == 19:
        mac_csr_write(t, VLAN1, rng.choice((0x8100, 0x0800, 0xFFFF)))
    elif saved and rng.random() < 0.5:                          # a snapshot of an earlier step restored
        state = rng.choice(saved)
        t.both(lambda d: d.set_state(state))
    else:
        saved.append(t.native.get_state())


@pytest.mark.parametrize("seed", range(8))
def test_plain_receive_matches_the_reference_path(seed: int) -> None:
    rng = random.Random(seed)
    t = Twins(lambda clock: Lan9118("eth", clock, chip_id=(0x0118, 0x9220)[seed % 2]))
    ref = t.python
    ref.frame_ports["eth"].on_receive = lambda f: reference.wire_receive(ref, f)
    ref._rx_fast_forward = lambda: reference.fast_forward(ref)  # type: ignore[method-assign]
    model = t.native
    calls = {"_receive": 0, "_rx_queue": 0, "_rx_queue_call": 0}  # the plain path queues directly

    def counting(name: str) -> None:
        method = getattr(model, name)

        def counted(*args: object) -> object:
            calls[name] += 1
            return method(*args)

        setattr(model, name, counted)

    for name in calls:
        counting(name)
    t.write(0x5C, 4, 0xFFFF_FFFF)
    t.write(0x54, 4, rng.choice((0x22000111, 0x01000100, 0x100)))
    mac_csr_write(t, MAC_CR, RXEN | TXEN)
    saved: list[dict[str, object]] = []
    for _ in range(STEPS):
        rx_step(t, rng, saved)
        t.check()
    plain = calls["_rx_queue_call"] - calls["_rx_queue"]
    assert plain > 15 and calls["_receive"] > 100, calls
