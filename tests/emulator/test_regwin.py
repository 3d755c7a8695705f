"""Register windows served in C (``emulator/bus/regwin.py``, ``native/regwin.c``).

A probe device declares one register of each kind; the window must answer
exactly the reads the rules allow, with ``Device.read``'s value, and pass the
rest (wrong sizes, unaligned, read-clear, hooked, held, traced) to the model.
On a board, a program's register reads must give the same results whether the
CPU maps the window or only the model's Python callbacks, and the window must
have served the hot ones.
"""

from __future__ import annotations

import ctypes
import logging
import random

import pytest

from emulator.bus.device import Device
from emulator.bus.regs import RC, RO, RSVD, W1C, WO, F, FastWrite, Reg, RegMap
from emulator.bus.regwin import RegisterWindow, _library
from emulator.clock import Clock


def _hooked_read(dev: Probe) -> int:
    return dev.r[dev.REGS["HOOKED"].index] ^ 0xFF


def _status_read(dev: Probe) -> int:
    """Returns the stored value (its readable bits, as the contract of ``fast_read`` says);
    while ``pending`` it first latches bit 0 (a side effect)."""
    i = dev.REGS["STATUS"].index
    dev.status_hook_calls += 1
    if dev.pending:
        dev.pending = False
        dev.r[i] |= 1
        dev.hold_fast_reads(False)
    return dev.r[i] & dev.REGS["STATUS"].readable_mask


class Probe(Device):
    SIZE = 0x100
    REGS = RegMap(
        Reg(0x00, "PLAIN"),
        Reg(0x04, "LANES", sizes=(1, 2, 4)),
        Reg(0x08, "MIXED", fields=[F("RW", 0, 8), F("RO", 8, 8, RO, reset=0x12), F("WO", 16, 8, WO),
                                   F("RSVD", 24, 8, RSVD)]),
        Reg(0x0C, "CLEARS", fields=[F("EVENTS", 0, 4, RC), F("KEEP", 4, 4)]),
        Reg(0x10, "HOOKED", read=_hooked_read),
        Reg(0x14, "STATUS", read=_status_read, fast_read=True, fields=[F("READY", 0, access=RO),
                                                                        F("MODE", 4, 4)]),
        Reg(0x18, "HALF", width=2, sizes=(2,)),
    )

    def __init__(self, name: str, clock: Clock) -> None:
        super().__init__(name, clock)
        self.pending = False
        self.status_hook_calls = 0
        self.reset()

    def arm(self) -> None:
        """A side effect waits for the next STATUS read: hold the window."""
        self.pending = True
        self.hold_fast_reads(True)


# (offset, size) pairs the window answers, from the declarations above: PLAIN words, LANES at
# every aligned lane, MIXED words, STATUS words while not held; never CLEARS, HOOKED or HALF.
SERVED = {(0x00, 4), (0x04, 1), (0x05, 1), (0x06, 1), (0x07, 1), (0x04, 2), (0x06, 2), (0x04, 4),
          (0x08, 4), (0x14, 4)}
ACCESSES = [(offset, size) for offset in range(0x20) for size in (1, 2, 4)]


def probe() -> Probe:
    dev = Probe("probe", Clock(25_000_000))
    rng = random.Random(7)
    for i in range(len(dev.r)):  # every bit set somewhere, including unreadable ones
        dev.r[i] = rng.getrandbits(32)
    return dev


def test_the_window_answers_exactly_the_fast_reads_with_the_models_values():
    dev = probe()
    window = dev.register_window
    assert window is not None
    served = {}
    for offset, size in ACCESSES:
        value = window.peek(offset, size)
        if value is not None:
            served[(offset, size)] = value
    assert set(served) == SERVED
    for (offset, size), value in served.items():
        assert value == dev.read(offset, size), (offset, size)
    # the readable mask applies: WO and reserved bits of MIXED never show
    assert served[(0x08, 4)] == dev.r[dev.REGS["MIXED"].index] & 0x0000FFFF


def test_hold_sends_the_declared_hook_to_the_model():
    dev = probe()
    window = dev.register_window
    i = dev.REGS["STATUS"].index
    dev.r[i] = 0xF0
    assert window.peek(0x14, 4) == 0xF0
    dev.arm()
    assert window.peek(0x14, 4) is None                   # held: the hook must run
    assert window.peek(0x00, 4) is not None               # plain registers are not held
    assert dev.read(0x14, 4) == 0xF1 and dev.status_hook_calls == 1
    assert window.peek(0x14, 4) == 0xF1                   # released by the hook


def test_tracing_or_off_sends_every_read_to_the_model():
    dev = probe()
    dev.trace = True
    window = dev.native_register_window()
    assert window is not None and window.off
    assert all(window.peek(offset, size) is None for offset, size in ACCESSES)
    dev.trace = False
    assert not dev.native_register_window().off


# The C read callback with a Python slow path standing in for the CPU's trampoline.
_SLOW = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p)


def test_rw_read_serves_fast_reads_and_passes_the_rest_with_guest_errors(caplog):
    dev, twin = probe(), probe()  # the twin answers every read through Python
    window = dev.register_window
    slow_calls = []

    def slow(_uc, offset, size, _user):
        slow_calls.append((offset, size))
        return dev.read(offset, size)

    slow_fn = _SLOW(slow)
    window.set_slow_path(ctypes.cast(slow_fn, ctypes.c_void_p).value)
    lib = _library()
    read_cb, user = window.callbacks()
    assert read_cb == ctypes.cast(lib.rw_read, ctypes.c_void_p).value
    with caplog.at_level(logging.WARNING, logger="vboard.guest_error"):
        for offset, size in ACCESSES:
            expected = twin.read(offset, size) & ((1 << 8 * size) - 1)
            assert lib.rw_read(None, offset, size, user) == expected, (offset, size)
    assert dev.get_state() == twin.get_state()
    assert window.fast_reads == len(SERVED)
    assert sorted(slow_calls) == sorted(set(ACCESSES) - SERVED)
    # a byte read of PLAIN (4-byte only) reached the model, which logged it
    assert any("1-byte read of PLAIN" in r.getMessage() for r in caplog.records)


def test_storage_is_pinned_and_snapshots_restore_in_place():
    dev = probe()
    window = dev.register_window
    with pytest.raises(BufferError):
        dev.r.append(0)
    state = dev.get_state()
    dev.r[0] = 0x1234
    assert window.peek(0, 4) == 0x1234
    dev.set_state(state)
    assert window.peek(0, 4) == state["regs"][0] != 0x1234
    with pytest.raises(ValueError, match="registers"):
        dev.set_state({**state, "regs": state["regs"][:-1]})


def test_a_model_that_overrides_read_gets_a_window_only_when_it_says_so():
    class Overrides(Probe):
        def read(self, offset: int, size: int) -> int:
            return Device.read(self, offset, size)

    class Declares(Overrides):
        NATIVE_READS = True

    class OnlyHooks(Device):
        REGS = RegMap(Reg(0x0, "A", read=_hooked_read))

    clock = Clock(25_000_000)
    assert Overrides("o", clock).register_window is None
    assert isinstance(Declares("d", clock).register_window, RegisterWindow)
    assert OnlyHooks("h", clock).register_window is None


# ------------------------------------------------------------------------------- on a board
UART0, ETH = 0x40004000, 0x40200000
READS = 500
PROGRAM = f"""
    .equ UART0, {UART0:#x}
    .equ ETH, {ETH:#x}
reset:
    ldr r4, =UART0
    ldr r5, =ETH
    movs r0, #0x5A          @ DATA with TX_EN clear: the byte is held, STATE.TXFULL reads 1
    str r0, [r4]
    movs r0, #2             @ CTRL = RX_EN
    str r0, [r4, #8]
    ldr r2, ={READS}
    movs r3, #0
loop:
    ldr r0, [r4, #4]        @ STATE
    adds r3, r0
    ldr r0, [r4, #8]        @ CTRL
    adds r3, r0
    subs r2, #1
    bne loop
    RESULT 0, r3
    ldrb r0, [r4, #4]       @ a byte read of STATE (word only): the model's guest error
    RESULT 1, r0
    ldr r0, [r5, #0x64]     @ BYTE_TEST
    RESULT 2, r0
    ldr r0, [r5, #0x50]     @ ID_REV
    RESULT 3, r0
    ldr r0, [r5, #0x7c]     @ RX_FIFO_INF (the word FIFO port's level register)
    RESULT 4, r0
    ldrh r0, [r4, #0xfe0]   @ PID0, halfword
    RESULT 5, r0
    EXIT
"""


def run_board(board, native: bool, queued: bytes = b"") -> tuple[list[int], list[str], int, int]:
    b = board(PROGRAM)
    uart, nic = b.m.device("uart0"), b.m.device("eth0")
    if not native:  # the models' own callbacks for every access
        for base, dev in ((UART0, uart), (ETH, nic)):
            b.m.cpu.uc.mem_unmap(base, 0x1000)
            b.m.cpu.map_mmio(base, 0x1000, dev.read, dev.write)
    uart.ports["serial"].deliver(queued)
    b.run(expect="exit")
    errors = [r.message for r in b.m.board_log.records(level="warning", source="uart0")]
    return b.results(6), errors, uart.register_window.fast_reads, nic.register_window.fast_reads


def test_a_programs_register_reads_are_the_same_through_the_window(board):
    results, errors, uart_fast, nic_fast = run_board(board, native=True)
    assert (results, errors) == run_board(board, native=False)[:2]
    assert results[0] == READS * (1 + 2)            # STATE.TXFULL + CTRL.RX_EN each time
    assert results[1:4] == [1, 0x87654321, 0x01180001]
    assert results[5] == 0x21
    assert errors == ["1-byte read of STATE (allowed: (4,))"]
    assert uart_fast == 2 * READS + 1                # STATE and CTRL in the loop, PID0
    assert nic_fast == 2                             # BYTE_TEST, ID_REV (RX_FIFO_INF: the port's)


def test_queued_receive_bytes_send_state_reads_to_the_model(board):
    # RX_EN set and bytes queued: the first lands at once, the rest wait behind RXFULL, so the
    # UART holds STATE for the whole run (a STATE read may land a byte).
    results, errors, uart_fast, _ = run_board(board, native=True, queued=b"xyz")
    assert (results, errors) == run_board(board, native=False, queued=b"xyz")[:2]
    assert results[0] == READS * (1 + 2 + 2)         # TXFULL | RXFULL, CTRL
    assert uart_fast == READS + 1                    # CTRL and PID0 only


# ------------------------------------------------------------------------ native writes
def _update(dev: WriteProbe, old: int = 0, value: int = 0) -> None:
    r = dev.r
    dev.irq["irq"].set(bool(r[dev.REGS["STATUS"].index] & r[dev.REGS["ENABLE"].index]))


def _enable_write(dev: WriteProbe, value: int) -> None:
    """Stores value & 0xFF; enabling bit 7 from 0 also records an event (a side effect)."""
    i = dev.REGS["ENABLE"].index
    if value & 0x80 and not dev.r[i] & 0x80:
        dev.events.append(("soft", value))
    dev.r[i] = value & 0xFF
    _update(dev)


def _ctrl_written(dev: WriteProbe, old: int, value: int) -> None:
    if (old ^ dev.r[dev.REGS["CTRL"].index]) & 1:
        dev.events.append(("go", dev.r[dev.REGS["CTRL"].index] & 1))


class WriteProbe(Device):
    """STATUS (W1C bits 0-7, RO 8-15, RW 16-31), ENABLE (a write hook that only stores, but for
    bit 7), CTRL (RW; bit 0 has a side effect), PLAIN_NOT_FAST: the window stores STATUS,
    ENABLE and CTRL writes while STATUS & ENABLE stays zero or non-zero."""

    SIZE = 0x100
    IRQS = ("irq",)
    IRQ_GUARDS = (("STATUS", "ENABLE"),)
    REGS = RegMap(
        Reg(0x00, "STATUS", after_write=_update, fast_write=FastWrite(),
            fields=[F("EV", 0, 8, W1C), F("LEVEL", 8, 8, RO), F("DATA", 16, 16)]),
        Reg(0x04, "ENABLE", write=_enable_write, fast_write=FastWrite(replace=0xFF, slow=0x80)),
        Reg(0x08, "CTRL", after_write=_ctrl_written, fast_write=FastWrite(slow=1)),
        Reg(0x0C, "PLAIN_NOT_FAST", sizes=(1, 2, 4)),
    )

    def __init__(self, name: str, clock: Clock) -> None:
        super().__init__(name, clock)
        self.events: list[tuple[str, int]] = []
        self.reset()


_WRITE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                             ctypes.c_void_p)


def test_native_writes_store_what_the_model_would_and_leave_it_the_rest():
    native, python = WriteProbe("a", Clock(25_000_000)), WriteProbe("b", Clock(25_000_000))
    edges: tuple[list[bool], list[bool]] = ([], [])
    native.irq["irq"].connect(edges[0].append)
    python.irq["irq"].connect(edges[1].append)
    window = native.register_window
    assert window is not None and window.serves_writes
    slow: list[tuple[int, int, int]] = []

    def to_model(_uc: int, offset: int, size: int, value: int, _user: int) -> None:
        slow.append((offset, size, value))
        native.write(offset, size, value)

    keep = _WRITE_CB(to_model)
    window.set_slow_write(ctypes.cast(keep, ctypes.c_void_p).value or 0)
    rw_write, user = window.write_callbacks()
    write = _WRITE_CB(rw_write)
    rng = random.Random(3)
    for i in range(len(native.r)):  # the same random start on both
        native.r[i] = python.r[i] = rng.getrandbits(32) & (0xFF if i == 1 else 0xFFFF_FFFF)
    sub_word = 0
    for _ in range(3000):
        offset = rng.choice((0x00, 0x04, 0x08, 0x0C, 0x01, 0x02))
        size = rng.choice((4, 4, 4, 2, 1)) if offset % 4 == 0 else 1
        value = rng.choice((rng.getrandbits(32), rng.getrandbits(8), 0, 1 << rng.randrange(32)))
        if rng.random() < 0.3:  # events latch: a STATUS bit rises, as the model's own code sets them
            bit = 1 << rng.randrange(8)
            native.r[0] |= bit
            python.r[0] |= bit
            _update(native)
            _update(python)
        sub_word += size < 4
        before = len(slow)
        expected = window.peek_write(offset, size, value)
        write(None, offset, size, value, user)
        python.write(offset, size, value)
        assert list(native.r) == list(python.r)
        assert native.events == python.events and edges[0] == edges[1]
        assert (expected is None) == (len(slow) > before)
        if expected is not None:
            assert expected == python.r[offset // 4]
    served = window.fast_writes
    assert served > 500 and len(slow) > 500                   # both paths ran
    assert any(o == 0x0C for o, _s, _v in slow)                # an undeclared register: Python
    assert sum(s < 4 for _o, s, _v in slow) == sub_word > 100  # every sub-word write: Python
    assert len(edges[1]) > 100 and len(native.events) > 20     # lines moved, side effects ran


def test_tracing_sends_every_write_to_the_model():
    dev = WriteProbe("a", Clock(25_000_000))
    window = dev.register_window
    assert window.peek_write(0x08, 4, 0x10) == 0x10            # CTRL, bit 0 unchanged: stored natively
    dev.trace = True
    dev.native_register_window()
    assert window.peek_write(0x08, 4, 0x10) is None
