"""Packets the LAN9118's FIFO port completes in C against the all-Python path.

Two twin models see the same random TX command and data words (one to four
buffers per packet, data offsets 0-31, end alignments 4/16/32, IOC, padding
and host-FCS flags, lengths from runts to 2047 bytes, and now and then an
error: buffer size 0, reserved alignment, FS where it does not belong, a
command B that differs, a wrong length, a cut packet, a stray word),
interleaved with what makes the port leave a packet to the model: TX_CFG and
MAC_CR changes, PHY and MAC loopback, the link going down, a full TX status
FIFO, a Python-path read in the middle of a packet. The first model takes
every access through its native mapping (``NativeMapping``: the FIFO port,
the register window, then the model), the second through ``read``/``write``.
After every access the IRQ edges and the frames sent must be equal, after
every step the whole state and the guest-visible TX registers.
"""

from __future__ import annotations

import random
import zlib

import pytest
from test_fast_reads import STEPS, MappedTwins, mac_csr_write

from peripherals.lan9118 import (
    BMCR_LOOPBACK,
    CMDA_FS,
    CMDA_IOC,
    CMDA_LS,
    CMDB_CRC_DISABLE,
    CMDB_PAD_DISABLE,
    LOOPBK,
    MAC_CR,
    MII_ACC,
    MII_DATA,
    PRMS,
    RXEN,
    STOP_TX,
    TX_ON,
    TXD_DUMP,
    TXEN,
    TXS_DUMP,
    TXSAO,
    Lan9118,
)


class TxTwins(MappedTwins):
    """MappedTwins that compare the IRQ edges and the frames sent after every access."""

    def __init__(self, chip_id: int) -> None:
        super().__init__(lambda clock: Lan9118("eth", clock, chip_id=chip_id))
        self.sent: tuple[list[bytes], list[bytes]] = ([], [])
        self.native.frame_ports["eth"].connect(self.sent[0].append)
        self.python.frame_ports["eth"].connect(self.sent[1].append)

    def write(self, offset: int, size: int, value: int) -> None:
        super().write(offset, size, value)
        self.same_outputs()

    def read(self, offset: int, size: int) -> None:
        super().read(offset, size)
        self.same_outputs()

    def same_outputs(self) -> None:
        assert self.sent[0] == self.sent[1]
        for mine, theirs in zip(*self.lines, strict=True):
            assert self.lines[0][mine].edges == self.lines[1][theirs].edges

    def check(self) -> None:
        super().check()
        self.same_outputs()
        for offset in (0x80, 0x4C, 0x58, 0x54):  # TX_FIFO_INF, TX status peek, INT_STS, IRQ_CFG
            self.read(offset, 4)


def packet_bytes(rng: random.Random, cmd_b_flags: int) -> bytes:
    n = rng.choice((rng.randrange(1, 14), rng.randrange(14, 60), rng.randrange(60, 200),
                    rng.randrange(60, 200), rng.randrange(200, 1600), 2047))
    data = bytes(rng.getrandbits(8) for _ in range(n))
    if cmd_b_flags & CMDB_CRC_DISABLE and n > 4 and rng.random() < 0.6:  # a good host FCS
        data = data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "little")
    return data


def buffer_words(rng: random.Random, data: bytes, cmd_a: int, cmd_b: int) -> list[int]:
    """Command A, command B and the data words of one buffer: ``data`` at the data offset of
    ``cmd_a``, random bytes around it."""
    offset = (cmd_a >> 16) & 0x1F
    unit = (4, 16, 32, 4)[(cmd_a >> 24) & 3]
    total = -(-(offset + len(data)) // unit) * unit
    raw = bytearray(rng.getrandbits(8) for _ in range(total))
    raw[offset:offset + len(data)] = data
    return [cmd_a, cmd_b] + [int.from_bytes(raw[i:i + 4], "little") for i in range(0, total, 4)]


def packet_words(rng: random.Random) -> tuple[list[int], bool]:
    """One packet of one to four buffers, now and then with an error that may leave the FIFO
    out of step with the buffer format (True)."""
    broken = False
    flags = 0
    if rng.random() < 0.15:
        flags |= CMDB_PAD_DISABLE
    if rng.random() < 0.15:
        flags |= CMDB_CRC_DISABLE
    data = packet_bytes(rng, flags)
    cmd_b = (rng.randrange(0x10000) << 16) | flags | len(data)
    if rng.random() < 0.04:
        cmd_b ^= rng.choice((1, 2))                                      # length wrong
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.choice((0, 0, 0, 1, 2, 3)))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    words: list[int] = []
    for i, piece in enumerate(pieces):
        cmd_a = ((rng.choice((0, 0, 0, 1, 2)) << 24) | (rng.choice((0, 0, 2, 4, rng.randrange(32))) << 16)
                 | (CMDA_FS if i == 0 else 0) | (CMDA_LS if i == len(pieces) - 1 else 0) | len(piece))
        if rng.random() < 0.3:
            cmd_a |= CMDA_IOC
        b = cmd_b
        if rng.random() < 0.03:
            cmd_a = rng.choice((cmd_a & ~0x7FF, cmd_a | (3 << 24), cmd_a ^ CMDA_FS))  # size 0, align 3, FS
            broken = True
        if i and rng.random() < 0.04:
            b ^= 1 << 16                                                 # command B differs
        words += buffer_words(rng, piece, cmd_a, b)
    if rng.random() < 0.04:
        words = words[:rng.randrange(len(words))]                        # cut short
        broken = True
    if rng.random() < 0.03:
        words.append(rng.getrandbits(32))                                # a stray word
        broken = True
    return words, broken


def send_words(t: TxTwins, rng: random.Random, words: list[int]) -> None:
    for w in words:
        t.write(0x20 + 4 * rng.randrange(8), 4, w)


def phy_write(t: TxTwins, reg: int, value: int) -> None:
    mac_csr_write(t, MII_DATA, value)
    mac_csr_write(t, MII_ACC, (1 << 11) | (reg << 6) | 2)


def tx_step(t: TxTwins, rng: random.Random, pop_rate: float) -> None:
    op = rng.randrange(16)
    if op < 7:
        for _ in range(rng.randrange(1, 5)):
            words, broken = packet_words(rng)
            send_words(t, rng, words)
            if rng.random() < pop_rate:
                t.read(0x48, 4)                                          # a driver pops each status
            if broken and rng.random() < 0.8:
                t.write(0x70, 4, TX_ON | TXD_DUMP)                       # back in step
    elif op == 7:                                                        # Python-path accesses mid-packet
        words, _ = packet_words(rng)
        cut = rng.randrange(len(words) + 1)
        send_words(t, rng, words[:cut])
        if rng.random() < 0.5:
            t.read(rng.choice((0x90, 0x9C)), 4)                          # GPT_CNT, FREE_RUN
        else:
            t.write(0x68, 4, rng.getrandbits(32))                        # FIFO_INT
        send_words(t, rng, words[cut:])
    elif op == 8:
        if rng.random() < pop_rate:
            for _ in range(rng.randrange(1, 40)):
                t.read(rng.choice((0x48, 0x48, 0x48, 0x4C, 0x80)), 4)     # TX status pops and peeks
    elif op == 9:
        t.write(0x70, 4, rng.choice((TX_ON, TX_ON, TX_ON, TX_ON | TXSAO, 0, TX_ON | TXS_DUMP,
                                     TX_ON | TXD_DUMP, TX_ON | STOP_TX)))
    elif op == 10:
        mac_csr_write(t, MAC_CR, rng.choice((TXEN | RXEN | PRMS, TXEN | RXEN | PRMS, TXEN | RXEN | PRMS, TXEN,
                                             RXEN | PRMS, TXEN | RXEN | PRMS | LOOPBK)))
    elif op == 11:
        phy_write(t, 0, 0x3100 | (BMCR_LOOPBACK if rng.random() < 0.25 else 0))
    elif op == 12:
        up = rng.random() < 0.75
        t.both(lambda d: d.frame_ports["eth"].set_link(up))
    elif op == 13:
        t.write(rng.choice((0x5C, 0x58, 0x68)), 4, rng.getrandbits(32))  # INT_EN, INT_STS, FIFO_INT
        t.write(0x54, 4, rng.choice((0x22000111, 0x01000100, 0x100)))    # IRQ_CFG
    elif op == 14:
        for _ in range(rng.randrange(1, 4)):                             # drain what loopback received
            t.read(0x40, 4)
            for _ in range(rng.randrange(0, 40)):
                t.read(0x00, 4)
    elif rng.random() < 0.2:
        t.write(0x74, 4, rng.choice((2, 5, 9)) << 16)                    # HW_CFG: FIFO sizes


@pytest.mark.parametrize("seed", range(10))
def test_native_tx_completion_matches_the_python_path(seed):
    rng = random.Random(seed)
    t = TxTwins((0x0118, 0x9220)[seed % 2])
    t.write(0x74, 4, rng.choice((5, 9)) << 16)
    mac_csr_write(t, MAC_CR, RXEN | TXEN | PRMS)
    t.write(0x70, 4, TX_ON)
    t.write(0x5C, 4, 0xFFFF_FFFF)                                        # every interrupt enabled
    t.write(0x54, 4, 0x22000111)
    pop_rate = (1.0, 0.95, 0.5)[seed % 3]                                 # some runs fill the TX status FIFO
    for _ in range(STEPS):
        tx_step(t, rng, pop_rate)
        t.check()
    native = t.native.fifo_port.native_packets
    assert t.python.fifo_port.native_packets == 0
    assert native >= 25                                                  # C completed packets
    assert t.native.tx_frames == t.python.tx_frames > native             # and the model the rest
    assert sum(t.native.tx_dropped.values()) > 0


def test_one_model_call_per_packet():
    """A plain packet reaches the model once, at its last word, already assembled."""
    t = TxTwins(0x0118)
    mac_csr_write(t, MAC_CR, RXEN | TXEN | PRMS)
    t.write(0x70, 4, TX_ON)
    calls = []
    write = t.native.write

    def counted(offset: int, size: int, value: int) -> None:
        calls.append(offset)
        write(offset, size, value)

    t.native.write = counted  # type: ignore[method-assign]
    rng = random.Random(1)
    data = bytes(range(100))
    words = (buffer_words(rng, data[:30], CMDA_FS | 30, len(data))
             + buffer_words(rng, data[30:], CMDA_LS | (3 << 16) | 70, len(data)))
    send_words(t, rng, words)
    t.check()
    assert len(calls) == 1 and t.native.fifo_port.native_packets == 1
    assert t.sent[0] == [data]


@pytest.mark.parametrize("txsao", [False, True])
def test_packets_into_a_filling_tx_status_fifo(txsao):
    """Statuses pile up unpopped until the FIFO is full (TSFF; then packets wait, or with TXSAO
    their statuses are lost with TXSO), then the driver pops them all."""
    rng = random.Random(txsao)
    t = TxTwins(0x0118)
    mac_csr_write(t, MAC_CR, RXEN | TXEN | PRMS)
    t.write(0x70, 4, TX_ON | (TXSAO if txsao else 0))
    t.write(0x68, 4, 0x0060_0000)                                        # TSFL above 96 statuses
    t.write(0x5C, 4, 1 << 8)                                             # TSFF_EN only
    t.write(0x54, 4, 0x22000111)
    for i in range(140):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(14, 80)))
        send_words(t, rng, buffer_words(rng, data, CMDA_FS | CMDA_LS | (CMDA_IOC if i % 7 == 0 else 0)
                                        | len(data), (i << 16) | len(data)))
        t.check()
        if i % 50 == 49:
            t.write(0x58, 4, 0xFFFF_FFFF)                                # acknowledge everything
    for _ in range(140):
        t.read(0x48, 4)
        t.check()
    assert t.native.fifo_port.native_packets == 128                      # the last of them fills the FIFO
    assert t.native.tx_frames == t.python.tx_frames == 140               # the rest waited, or lost statuses
