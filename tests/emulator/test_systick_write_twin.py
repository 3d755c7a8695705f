"""SysTick's register writes done in C (``scsread.c`` st_write, pulled by ``SysTick.pull``) against
the same runs with every write through Python (``ScsReadPort.systick_writes`` off): the same
instruction count, virtual time, transcripts, results, SysTick state and scheduled events (their
cycles and sequence numbers), NVIC state, and SysTick pended at the same cycles.

Runs: firmware that reprograms SysTick (tickless idle, timers, microbench_systick, the COUNTFLAG
checks), the echo-pair simulation to its end, and an assembled program that writes CSR, RVR and
CVR at pseudo-random points with values of either clock source, reloads short enough to move the
next tick before the slice's end (those writes C must leave to Python), reads of CSR, CVR and RVR
between them, UART writes that schedule events of their own in the same slices, WFIs, and a
SysTick handler (entered natively, often) that writes CVR.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.board.simulation import load_simulation
from emulator.cpu.cortexm import CORE_REGS

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 6000

SOURCE = f"""
    .equ UART_DATA, UART0
reset:
    movs r0, #0
    RESULT 1, r0
    RESULT 2, r0
    STORE32 UART0 + 0x10, 16        @ BAUDDIV
    STORE32 UART0 + 0x08, 1         @ CTRL: TX_EN
    ldr r5, =0x12345678             @ the generator's state
    movs r6, #0                     @ a checksum of everything read
    ldr r7, ={ROUNDS}
round:
    ldr r0, =1664525
    muls r5, r0
    ldr r0, =1013904223
    adds r5, r0
    lsrs r0, r5, #28
    cmp r0, #2
    bls w_csr
    cmp r0, #4
    bls w_rvr
    cmp r0, #5
    beq w_cvr
    cmp r0, #7
    bls r_csr
    cmp r0, #9
    bls r_cvr
    cmp r0, #12
    bls delay
    cmp r0, #13
    beq sleep
    cmp r0, #14
    beq r_rvr
    b uart

w_csr:                              @ ENABLE, TICKINT, CLKSOURCE at random
    lsrs r1, r5, #4
    movs r2, #7
    ands r1, r2
    ldr r0, =SYST_CSR
    str r1, [r0]
    b next
w_rvr:                              @ 0, a short reload (the tick moves into the slice) or a long one
    lsrs r1, r5, #8
    lsrs r2, r5, #20
    movs r3, #3
    ands r2, r3
    beq 2f
    cmp r2, #1
    bne 1f
    movs r2, #0x3F
    ands r1, r2
    adds r1, #0x40
    b 3f
1:  ldr r2, =0x3FFF
    ands r1, r2
    b 3f
2:  movs r1, #0
3:  ldr r0, =SYST_RVR
    str r1, [r0]
    b next
w_cvr:
    ldr r0, =SYST_CVR
    str r5, [r0]
    b next
r_csr:
    ldr r0, =SYST_CSR
    ldr r1, [r0]
    b mix
r_cvr:
    ldr r0, =SYST_CVR
    ldr r1, [r0]
    b mix
r_rvr:
    ldr r0, =SYST_RVR
    ldr r1, [r0]
    b mix
delay:
    lsrs r1, r5, #8
    movs r2, #0x7F
    ands r1, r2
1:  subs r1, #1
    bpl 1b
    b next
sleep:                              @ WFI only when a tick will wake it
    ldr r0, =SYST_CSR
    ldr r1, [r0]
    movs r2, #3
    ands r1, r2
    cmp r1, #3
    bne next
    ldr r0, =SYST_RVR
    ldr r1, [r0]
    cmp r1, #0
    beq next
    wfi
    b next
uart:
    ldr r0, =UART_DATA
    movs r1, #0x41
    str r1, [r0]
    b next
mix:
    movs r2, #31
    muls r6, r2
    adds r6, r1
next:
    subs r7, #1
    bne round
    RESULT 0, r6
    movs r0, #0
    ldr r1, =SYST_CSR
    str r0, [r1]
    EXIT

systick:                            @ every 8th tick restarts the count from the handler
    ldr r0, =RES + 4
    ldr r1, [r0]
    adds r1, #1
    str r1, [r0]
    movs r2, #7
    tst r1, r2
    bne 1f
    ldr r0, =SYST_CVR
    str r1, [r0]
1:
    ldr r2, =SYST_CVR
    ldr r2, [r2]
    ldr r0, =RES + 8
    ldr r1, [r0]
    adds r1, r2
    str r1, [r0]
    bx lr
"""


def _observed(m: Machine, out: bytes, pends: list[int]) -> tuple:
    clock, st, e = m.clock, m.scs.systick, m.exc
    return (m.instructions, clock.now, tuple(m.cpu.rr(r) for r in CORE_REGS), m.cpu.read_masks(),
            e.active, e.pending, e.enabled, st.get_state(), st.value(), st.countflag(),
            st.timer.when if st.timer is not None and not st.timer.cancelled else None,
            [(t.when, t.seq, t.name) for t in clock.pending()], repr(clock._seq), out, tuple(pends),
            m.cpu.native_ticks)


def _watch_pends(m: Machine) -> list[int]:
    """The cycles SysTick pended its exception at (its expire, through Python)."""
    pends: list[int] = []
    st = m.scs.systick
    pend = st.pend

    def logged() -> None:
        pends.append(m.clock.now)
        pend()

    st.pend = logged
    return pends


def _firmware_run(elf: Path, seconds: float, writes: bool) -> tuple[tuple, int]:
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    m.scs.native_reads.systick_writes = writes
    pends = _watch_pends(m)
    m.run(m.clock.cycles(seconds))
    return _observed(m, bytes(out), pends), m.scs.native_reads.systick_fast_writes


FIRMWARE = [("tickless", 2.0), ("timers", 1.0), ("microbench_systick", 0.2), ("systick_countflag", 0.5),
            ("microbench_tick", 0.1)]


@pytest.mark.parametrize(("name", "seconds"), FIRMWARE)
def test_firmware_runs_the_same_with_writes_in_c(firmware, name, seconds):
    fast, served = _firmware_run(firmware / f"{name}.elf", seconds, writes=True)
    python, none = _firmware_run(firmware / f"{name}.elf", seconds, writes=False)
    assert none == 0
    assert fast == python
    if name in ("tickless", "microbench_systick"):
        assert served > 50, "the tickless idle's writes are served in C"


def test_echo_pair_ends_the_same_with_writes_in_c(firmware):
    def run(writes: bool) -> tuple:
        sim = load_simulation(ROOT / "platforms/simulations/echo-pair.yaml")
        pends = {}
        for b in sim.boards:
            b.machine.scs.native_reads.systick_writes = writes
            pends[b.name] = _watch_pends(b.machine)
        outs = {b.name: bytearray() for b in sim.boards}
        for b in sim.boards:
            b.machine.port("uart0").connect(outs[b.name].extend)
        while sim.board("client").stop is None and sim.now_ns < 60e9:
            sim.run(10_000_000)
        served = sum(b.machine.scs.native_reads.systick_fast_writes for b in sim.boards)
        ends = [(b.name, b.stop, _observed(b.machine, bytes(outs[b.name]), pends[b.name]))
                for b in sim.boards]
        return ends, sim.now_ns, served

    fast, fast_ns, served = run(True)
    python, python_ns, none = run(False)
    assert none == 0 and served > 1000
    assert fast_ns == python_ns
    assert fast == python


def _asm_run(board, writes: bool) -> tuple[tuple, int]:
    b = board(SOURCE, {"SysTick": "systick"})
    m = b.m
    m.cpu.trace_exceptions = None  # tracing turns every native plan off
    m.scs.native_reads.systick_writes = writes
    pends = _watch_pends(m)
    b.run(50_000_000)
    return (_observed(m, bytes(b.uart), pends), tuple(b.results(3))), m.scs.native_reads.systick_fast_writes


def test_writes_at_random_points_match_the_python_path(board):
    fast, served = _asm_run(board, writes=True)
    python, none = _asm_run(board, writes=False)
    assert none == 0
    assert fast == python
    results = fast[1]
    assert results[1] > 50, "SysTick ticked along"
    assert served > ROUNDS // 10, "writes served in C"
    assert fast[0][-1] > 20, "ticks taken natively too (a write from their handler is Python's)"


def _c_write(m: Machine, offset: int, value: int) -> None:
    """A word write of the SCS window as the firmware's inside a slice reaches ``scsread.c``."""
    port = m.scs.native_reads
    lib = port._lib
    lib.sr_write.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                             ctypes.c_void_p]
    lib.sr_write.restype = None
    lib.sr_write(m.cpu.uc._uch, offset, 4, value, ctypes.addressof(port.port))


@pytest.mark.parametrize("writes", [True, False], ids=["in C", "declined"])
def test_a_device_event_at_the_same_cycle_keeps_its_place(writes):
    """Writes in C that re-arm SysTick's event three times (kept, moved, moved back), then a device
    schedules an event at the same cycle: SysTick's comes first (it was scheduled first), and the
    sequence numbers are those of the writes through Python (the clock pulls SysTick first)."""

    def run(c: bool) -> tuple:
        m = Machine(load_platform("mps2-an385"))
        clock, st = m.clock, m.scs.systick
        m.scs.native_reads.systick_writes = writes
        clock.advance(10_000)
        st.write_reload(999)
        st.write_csr(5)  # ENABLE | CLKSOURCE: the event 1000 cycles on
        m.cpu.native_base.value = clock.base  # as inside a slice, none of it run, its end here
        m.cpu._bc_state.slice_budget = 0
        for offset, value in [(0x018, 0), (0x014, 499), (0x010, 5), (0x014, 999), (0x018, 0)]:
            if c:
                _c_write(m, offset, value)
            else:
                (st.write_csr, st.write_reload, st.write_current)[(offset - 0x010) // 4](value)
        clock.call_at(clock.base + 1000, lambda: None, "device")
        st.pull()  # the slice's end
        m.cpu.native_base.value = -1
        return ([(t.when, t.seq, t.name) for t in clock.pending()], repr(clock._seq), st.get_state(),
                m.scs.native_reads.systick_fast_writes)

    c, python = run(True), run(False)
    assert c[:3] == python[:3]
    assert [t[2] for t in c[0]] == ["systick", "device"]
    assert c[3] == (5 if writes else 0)


@pytest.mark.parametrize("case", ["tick handler", "slice end", "tracing", "between slices", "byte"])
def test_writes_c_must_decline_go_to_python(case):
    """A natively taken tick's handler runs (Python syncs first), the event would come before the
    slice's end, register tracing, no slice, a byte write: the write is Python's, and done."""
    m = Machine(load_platform("mps2-an385"))
    clock, st, port = m.clock, m.scs.systick, m.scs.native_reads
    clock.advance(10_000)
    st.write_reload(999)
    st.write_csr(5)
    m.cpu.native_base.value = clock.base
    m.cpu._bc_state.slice_budget = 2000 if case == "slice end" else 0
    if case == "tick handler":
        m.cpu._bc_state.tick_active = 1
    elif case == "tracing":
        port.port.off = 1
    elif case == "between slices":
        m.cpu.native_base.value = -1
    clock.advance(7)
    if case == "byte":
        port._lib.sr_write.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                                       ctypes.c_void_p]
        port._lib.sr_write(m.cpu.uc._uch, 0x018, 1, 0, ctypes.addressof(port.port))
    else:
        _c_write(m, 0x018, 0)  # CVR: counting restarts, the event 1000 cycles on
    m.cpu.native_base.value = -1
    assert port.systick_fast_writes == 0
    assert st.start == 10_007 and st.timer is not None and st.timer.when == 11_007
    if case == "tick handler":
        assert m.exc.active == 1 << 15, "synced: the handler is Python's"
