"""Native register reads against the Python path, on random runs of the UART and LAN9118.

Two twin models see the same random sequence of MMIO writes, received bytes or
frames, clock advances (with and without firing the due events) and reads.
The first answers every read of a register its register window serves from
the window (``RegisterWindow.peek``, what ``native/regwin.c`` gives the CPU)
and the rest through ``read``, as the CPU's mapping does; the second answers
everything through ``read``. After each step the values read, the IRQ lines
and the whole device state (``get_state``) must be equal: a fast read that
differed from the model's, or skipped a side effect the model's read has,
shows up here.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Callable

import pytest
from periph_helpers import HZ, wire

from emulator.bus.device import Device
from emulator.bus.regwin import is_fast
from emulator.clock import Clock
from peripherals.cmsdk_uart import CmsdkApbUart
from peripherals.lan9118 import (
    _INT_BITS,
    CSR_BUSY,
    MAC_CR,
    PRMS,
    RXEN,
    SRST,
    TIMER_EN,
    TX_ON,
    TXEN,
    Lan9118,
)

STEPS = 400


def fast_accesses(dev: Device) -> list[tuple[int, int]]:
    """(offset, size) of every read the window may answer: each fast register at each
    aligned lane of each allowed size."""
    out = []
    for reg in dev.REGS.regs:
        if is_fast(reg):
            out += [(reg.offset + lane, size) for size in reg.sizes if size in (1, 2, 4)
                    for lane in range(0, 4, size)]
    return out


class Twins:
    """A model read through its window where it serves, and its twin read through Python."""

    def __init__(self, make: Callable[[Clock], Device]) -> None:
        self.native = make(Clock(HZ))
        self.python = make(Clock(HZ))
        self.lines = wire(self.native), wire(self.python)
        self.fast = fast_accesses(self.native)
        self.window = self.native.register_window
        assert self.window is not None and self.fast
        self.served = 0

    def both(self, action: Callable[[Device], object]) -> None:
        a, b = action(self.native), action(self.python)
        assert a == b

    def write(self, offset: int, size: int, value: int) -> None:
        self.both(lambda d: d.write(offset, size, value))

    def read(self, offset: int, size: int) -> None:
        self.both(lambda d: d.read(offset, size))

    def advance(self, cycles: int, fire: bool) -> None:
        for d in (self.native, self.python):
            d.clock.advance(cycles)
            if fire:
                d.clock.fire_due()

    def read_fast_registers(self, rng: random.Random) -> None:
        for offset, size in self.fast:
            if rng.random() < 0.5:
                continue
            value = self.window.peek(offset, size)
            if value is None:
                value = self.native.read(offset, size)
            else:
                self.served += 1
            assert value == self.python.read(offset, size), (offset, size)

    def check(self) -> None:
        assert self.native.get_state() == self.python.get_state()
        for mine, theirs in zip(*self.lines, strict=True):
            assert self.lines[0][mine].edges == self.lines[1][theirs].edges


# ---------------------------------------------------------------------------------- UART
def uart_step(t: Twins, rng: random.Random) -> None:
    op = rng.randrange(8)
    if op == 0:
        t.write(0x000, rng.choice((1, 4)), rng.randrange(256))                 # DATA
    elif op == 1:
        t.write(0x008, 4, rng.choice((0b11, 0b1011, 0b111011, rng.randrange(128))))  # CTRL
    elif op == 2:
        t.write(rng.choice((0x004, 0x00C)), 4, rng.randrange(16))              # STATE / INTCLEAR W1C
    elif op == 3:
        t.write(0x010, 4, rng.choice((0, 16, 32, 217)))                        # BAUDDIV
    elif op == 4:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
        t.both(lambda d: d.ports["serial"].deliver(data))
    elif op == 5:
        t.advance(rng.randrange(0, 6000), fire=rng.random() < 0.5)
    elif op == 6:
        t.read(0x000, rng.choice((1, 4)))                                       # DATA pops
    else:
        t.read(0x004, 4)                                                        # STATE via Python


def random_walk(t: Twins, step: Callable[[Twins, random.Random], None], rng: random.Random) -> None:
    """STEPS random steps; after each, every fast register read both ways and the twins compared.
    Both branches must have run: reads served natively, and steps with the window held."""
    held_steps = 0
    for _ in range(STEPS):
        step(t, rng)
        held_steps += t.window.hold
        t.read_fast_registers(rng)
        t.check()
    assert t.served > STEPS
    assert 0 < held_steps < STEPS


@pytest.mark.parametrize("seed", range(6))
def test_uart_fast_reads_match_the_python_path(seed):
    rng = random.Random(seed)
    t = Twins(lambda clock: CmsdkApbUart("uart", clock, rx_overrun=seed % 3 == 2))
    assert (0x004, 4) in t.fast                                                 # STATE is declared fast
    random_walk(t, uart_step, rng)


# -------------------------------------------------------------------------------- LAN9118
INT_BITS = [1 << bit for _name, bit in _INT_BITS]


def frame(rng: random.Random) -> bytes:
    dest = rng.choice((b"\xff" * 6, bytes.fromhex("525400123456"), bytes.fromhex("01005e000001")))
    return dest + bytes.fromhex("02be0c000001") + b"\x08\x00" + bytes(rng.randrange(256)
                                                                      for _ in range(rng.randrange(46, 120)))


def mac_csr_write(t: Twins, index: int, value: int) -> None:
    t.write(0xA8, 4, value)                                                     # MAC_CSR_DATA
    t.write(0xA4, 4, CSR_BUSY | index)                                          # MAC_CSR_CMD


def lan_step(t: Twins, rng: random.Random) -> None:
    op = rng.randrange(12)
    if op == 0:
        t.write(0x5C, 4, sum(b for b in INT_BITS if rng.random() < 0.3))       # INT_EN
    elif op == 1:
        t.write(0x58, 4, sum(b for b in INT_BITS if rng.random() < 0.5))       # INT_STS W1C
    elif op == 2:
        t.write(0x54, 4, rng.choice((0x22000111, 0x01000100, rng.getrandbits(32))))  # IRQ_CFG
    elif op == 3:
        t.write(0x68, 4, rng.getrandbits(32))                                   # FIFO_INT
    elif op == 4:                                                               # GPT_CFG: short periods
        t.write(0x8C, 4, (TIMER_EN if rng.random() < 0.7 else 0) | rng.randrange(0, 40))
    elif op == 5:
        t.write(0x74, 4, rng.choice((5 << 16, (5 << 16) | SRST, 4 << 16)))     # HW_CFG
    elif op == 6:
        mac_csr_write(t, MAC_CR, rng.choice((PRMS | RXEN | TXEN, RXEN | TXEN, 0)))
        t.write(0x70, 4, TX_ON)
    elif op == 7:
        f = frame(rng)
        t.both(lambda d: d.frame_ports["eth"].deliver(f))
    elif op == 8:
        t.advance(rng.randrange(0, 200_000), fire=rng.random() < 0.5)
    elif op == 9:
        t.read(0x40, 4)                                                         # RX status pop
        for _ in range(rng.randrange(0, 20)):
            t.read(0x00, 4)                                                     # RX data
    elif op == 10:
        t.write(rng.choice((0x84, 0x88, 0xAC, 0xB4, 0x6C)), 4, rng.getrandbits(32) & 0x0000_00F0)
    else:
        t.read(rng.choice((0x58, 0x54, 0x80, 0x90, 0x7C)), 4)                  # Python-path reads


@pytest.mark.parametrize("seed", range(6))
def test_lan9118_fast_reads_match_the_python_path(seed):
    rng = random.Random(seed)
    chip_id = (0x0118, 0x9220)[seed % 2]
    t = Twins(lambda clock: Lan9118("eth", clock, chip_id=chip_id))
    for offset in (0x50, 0x54, 0x58, 0x5C, 0x64, 0x74, 0x84):  # ID_REV, IRQ_CFG, INT_STS, INT_EN,
        assert (offset, 4) in t.fast                             # BYTE_TEST, HW_CFG, PMT_CTRL
    random_walk(t, lan_step, rng)


def test_a_restored_lan9118_serves_its_own_id_rev():
    """ID_REV's stored value is the chip's, whatever a snapshot's register list holds."""
    eth = Lan9118("eth", Clock(HZ), chip_id=0x9220)
    state = eth.get_state()
    state["regs"][eth.REGS["ID_REV"].index] = 0x0118_0001   # a snapshot from before it was stored
    eth.set_state(state)
    assert eth.register_window.peek(0x50, 4) == eth.read(0x50, 4) == 0x9220_0000


# ------------------------------------------- LAN9118 through its whole native mapping
_READ_CB = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p)
_WRITE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                             ctypes.c_void_p)


class NativeMapping:
    """A device's window as the CPU maps it (``CortexM3.map_mmio``): its FIFO port's C
    callbacks first, then its register window's (reads and writes), then the model's Python
    read/write.
    Exceptions in the model are kept (a trampoline cannot raise through C) and re-raised."""

    def __init__(self, dev: Lan9118) -> None:
        self.errors: list[BaseException] = []

        def slow_read(_uc: int, offset: int, size: int, _user: int) -> int:
            try:
                return dev.read(offset, size) & ((1 << (8 * size)) - 1)
            except BaseException as e:  # noqa: BLE001 - kept and re-raised by the test
                self.errors.append(e)
                return 0

        def slow_write(_uc: int, offset: int, size: int, value: int, _user: int) -> None:
            try:
                dev.write(offset, size, value)
            except BaseException as e:  # noqa: BLE001
                self.errors.append(e)

        self._keep = (_READ_CB(slow_read), _WRITE_CB(slow_write))
        read_cb, write_cb = (ctypes.cast(f, ctypes.c_void_p).value or 0 for f in self._keep)
        window = dev.native_register_window()
        assert window is not None
        window.set_slow_path(read_cb)
        window.set_slow_write(write_cb)
        rw_read, rw_user = window.callbacks()
        rw_write, _ = window.write_callbacks()
        port = dev.fifo_port
        port.set_slow_path(rw_read, rw_write, rw_user, rw_user)
        wf_read, wf_write, self._user = port.callbacks()
        self._read = _READ_CB(wf_read)
        self._write = _WRITE_CB(wf_write)

    def read(self, offset: int, size: int) -> int:
        value = self._read(None, offset, size, self._user)
        self._raise()
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        self._write(None, offset, size, value, self._user)
        self._raise()

    def _raise(self) -> None:
        if self.errors:
            raise self.errors.pop()


CMD_FS, CMD_LS = 1 << 13, 1 << 12


def tx_buffer_words(rng: random.Random, packet_len: int, first: bool, last: bool, size: int,
                    tag: int) -> list[int]:
    """Command A, command B and data words of one TX buffer (sometimes a wrong one)."""
    offset = rng.choice((0, 0, 2, 4, 7))
    align = rng.choice((0, 0, 1, 2))
    cmd_a = (align << 24) | (offset << 16) | (CMD_FS if first else 0) | (CMD_LS if last else 0) | size
    if rng.random() < 0.05:
        cmd_a = rng.choice((cmd_a & ~0x7FF, cmd_a | (3 << 24), cmd_a ^ CMD_FS))   # size 0, align 3, FS wrong
    cmd_b = (tag << 16) | packet_len
    if rng.random() < 0.05:
        cmd_b ^= rng.choice((1, 1 << 16))                                          # B differs / length wrong
    unit = (4, 16, 32, 4)[align]
    words = -(-(offset + size) // unit) * unit // 4
    return [cmd_a, cmd_b] + [rng.getrandbits(32) for _ in range(words)]


def lan_tx(t: Twins | MappedTwins, rng: random.Random) -> None:
    """One packet of one to three buffers into the TX data FIFO (aliases 0x20-0x3C), at times cut
    short or followed by stray words."""
    length = rng.randrange(14, 400)
    cuts = sorted(rng.sample(range(1, length), rng.choice((0, 0, 1, 2))))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, length], strict=True)]
    words: list[int] = []
    for i, size in enumerate(sizes):
        words += tx_buffer_words(rng, length, i == 0, i == len(sizes) - 1, size, rng.randrange(1, 0x10000))
    if rng.random() < 0.1:
        words = words[:rng.randrange(len(words))]
    if rng.random() < 0.05:
        words.append(rng.getrandbits(32))
    for w in words:
        t.write(0x20 + 4 * rng.randrange(8), 4, w)


class MappedTwins(Twins):
    """Every access of the first model goes through its native mapping, of the second through
    Python: the TX assembler, status FIFOs and level registers in C against the model."""

    def __init__(self, make: Callable[[Clock], Device]) -> None:
        super().__init__(make)
        self.mapping = NativeMapping(self.native)

    def write(self, offset: int, size: int, value: int) -> None:
        self.mapping.write(offset, size, value)
        self.python.write(offset, size, value)

    def read(self, offset: int, size: int) -> None:
        assert self.mapping.read(offset, size) == self.python.read(offset, size), hex(offset)


def mapped_lan_step(t: MappedTwins, rng: random.Random) -> None:
    op = rng.randrange(11)
    if op < 3:
        lan_tx(t, rng)
    elif op == 3:
        for _ in range(rng.randrange(1, 5)):
            t.read(rng.choice((0x48, 0x48, 0x4C, 0x80)), 4)  # TX status pop/peek, TX_FIFO_INF
    elif op == 7:
        f = frame(rng)
        t.both(lambda d: d.frame_ports["eth"].deliver(f))
    elif op == 4:
        for _ in range(rng.randrange(1, 4)):
            t.read(rng.choice((0x40, 0x44, 0x7C)), 4)        # RX status pop/peek, RX_FIFO_INF
        for _ in range(rng.randrange(0, 30)):
            t.read(0x00, 4)                                                     # RX data
    elif op == 5:
        t.write(0x70, 4, rng.choice((TX_ON, TX_ON, 0, TX_ON | (1 << 2), TX_ON | (1 << 15), 1 << 14)))
    elif op == 6:
        mac_csr_write(t, MAC_CR, rng.choice((PRMS | RXEN | TXEN, RXEN | TXEN, RXEN, 0)))
    else:
        lan_step(t, rng)


@pytest.mark.parametrize("seed", range(8))
def test_lan9118_native_mapping_matches_the_python_path(seed):
    rng = random.Random(seed)
    t = MappedTwins(lambda clock: Lan9118("eth", clock, chip_id=(0x0118, 0x9220)[seed % 2]))
    t.write(0x74, 4, rng.choice((2, 5, 9)) << 16)                               # HW_CFG: FIFO sizes
    mac_csr_write(t, MAC_CR, RXEN | TXEN)
    t.write(0x70, 4, TX_ON)
    for _ in range(STEPS):
        mapped_lan_step(t, rng)
        t.check()
    port = t.native.fifo_port
    fast_reads, fast_writes = port.fast_accesses
    assert fast_writes > 1000 and fast_reads > 20                              # C took the bulk
    assert port.status_reads > 10 and port.level_reads > 10
    assert t.native.register_window.fast_writes >= 5                            # INT_STS/INT_EN/IRQ_CFG
    assert t.native.tx_frames == t.python.tx_frames >= 5
    assert sum(t.native.tx_dropped.values()) > 0                               # and errors went to Python
