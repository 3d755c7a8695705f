"""Native SysTick CVR and CSR and ICSR reads against the Python path, on random runs of the SCS.

Two twin cores with their SCS see the same random sequence of SysTick writes
(both clock sources, zero and non-zero reloads, enabling and stopping), NVIC
changes (pending, enables, priorities, active exceptions and the IPSR that
goes with them), clock advances with and without firing the due events,
positions inside a running slice (the block clock's progress), natively taken
SysTick handlers Python has not been told of, the plans a slice makes (with
the ICSR image they store), and reads. The first twin
answers every CVR, CSR and ICSR read ``native/scsread.c`` serves from C
(``ScsReadPort.peek``, what the CPU's mapping gives the firmware) and the rest
through ``read``; the second answers everything through ``read``, syncing a
native handler first as the CPU's trampoline does. The values read must be
equal, and after each step the SysTick and NVIC state too.
"""

from __future__ import annotations

import ctypes
import random

import pytest
from unicorn import arm_const as A

from emulator.clock import Clock
from emulator.cpu.cortexm import CortexM3
from emulator.cpu.nvic import IRQ0, NMI, PENDSV, SVCALL, SYSTICK, ExceptionState
from emulator.cpu.scs import SystemControlSpace

HZ = 25_000_000
SYST_CSR, SYST_RVR, SYST_CVR, ICSR = 0x010, 0x014, 0x018, 0xD04
NUM_IRQ = 8
EXCEPTIONS = [NMI, SVCALL, PENDSV, SYSTICK, *range(IRQ0, IRQ0 + NUM_IRQ)]
STEPS = 800


class Core:
    """A core, its NVIC and SCS, with no board around them."""

    def __init__(self) -> None:
        self.clock = Clock(HZ)
        self.exc = ExceptionState(NUM_IRQ)
        self.cpu = CortexM3(self.clock, self.exc)
        self.scs = SystemControlSpace("scs", self.cpu, lambda _reason: None)
        self.scs.reset()
        self.clock.slice_progress = self.cpu.progress
        self.bc = self.cpu._bc.state
        self.ic = self.cpu._bc.ic  # the budget the translated blocks keep
        self.cpu.native_base.value = self.clock.base  # a slice runs: the C side may answer CVR

    def at(self, progress: int) -> None:
        """The CPU ``progress`` cycles into a slice that began now, inside a block of 3 instructions
        (progress is mark - block_left; the block's count is off ``left`` already)."""
        self.bc.mark, self.ic.block_left, self.ic.left = progress, 0, -3

    def end_slice(self) -> None:
        self.cpu.native_sync()
        self.clock.advance(self.cpu.progress())
        self.at(0)
        self.cpu.native_base.value = self.clock.base

    def state(self) -> tuple:
        e = self.exc
        return (self.scs.systick.get_state(), self.scs.systick.timer and self.scs.systick.timer.when,
                e.pending, e.enabled, e.active, list(e.priority), self.cpu.ipsr(), self.clock.now)


class Twins:
    def __init__(self) -> None:
        self.native, self.python = Core(), Core()
        self.served = {SYST_CVR: 0, SYST_CSR: 0, ICSR: 0}

    def both(self, action) -> None:
        a, b = action(self.native), action(self.python)
        assert a == b

    def read(self, offset: int) -> None:
        port = self.native.scs.native_reads
        fast = port.peek(offset, 4)
        if fast is None:
            self.native.cpu.native_sync()  # the trampoline's
            a = self.native.scs.read(offset, 4)
        else:
            self.served[offset] += 1
            a = fast
        self.python.cpu.native_sync()
        b = self.python.scs.read(offset, 4)
        assert a == b, f"read of 0x{offset:03X}: native 0x{a:08X}, Python 0x{b:08X}"
        # The native twin's handler becomes Python's later (the next Python call of the slice):
        # now, for the states to compare equal.
        self.native.cpu.native_sync()

    def step(self, rng: random.Random) -> None:
        kind = rng.random()
        if kind < 0.25:
            offset = rng.choice((SYST_CSR, SYST_RVR, SYST_CVR))
            if offset == SYST_CSR:
                value = rng.choice((0, 1, 3, 5, 7, 4, 0x10005))
            elif offset == SYST_RVR:
                value = rng.choice((0, 1, 2, 9, 100, 2499, 0xFFFFFF, rng.randrange(1 << 32)))
            else:
                value = rng.randrange(1 << 32)
            self.both(lambda c: c.cpu.end_native_ticks() or c.scs.write(offset, 4, value))
        elif kind < 0.45:
            offset = rng.choice((SYST_CVR, ICSR, SYST_CVR, SYST_CSR))
            for _ in range(rng.randrange(1, 4)):  # as polls and critical sections read
                self.read(offset)
        elif kind < 0.6:
            cycles, fire = rng.choice((1, 3, 25, 99, 2500, 30_000)), rng.random() < 0.7
            for c in (self.native, self.python):
                c.end_slice()
                c.clock.advance(cycles)
                if fire:
                    c.clock.fire_due()
                c.cpu.native_base.value = c.clock.base
        elif kind < 0.7:
            p = self.native.cpu.progress() + rng.choice((0, 1, 7, 24, 25, 26, 400))
            self.both(lambda c: c.at(p))
        elif kind < 0.9:
            self.nvic(rng)
            if rng.random() < 0.5:  # a slice begins, or Python code in one changed the NVIC
                self.native.cpu.plan_native()  # (its ICSR image: CortexM3.store_icsr_image)
        else:
            self.native_tick(rng)

    def nvic(self, rng: random.Random) -> None:
        n = rng.choice(EXCEPTIONS)
        what = rng.randrange(6)
        on = rng.random() < 0.7
        for c in (self.native, self.python):
            c.cpu.native_sync()
            e = c.exc
            if what == 0:
                e.set_pending(n)
            elif what == 1:
                e.clear_pending(n)
            elif what == 2:
                if n >= IRQ0:
                    e.set_enabled(n, on)
            elif what == 3:
                e.set_priority(n, (n * 37) & 0xE0)
            elif what == 4:  # entered: active, and the core in its handler
                e.activate(n)
                c.cpu.rw(A.UC_ARM_REG_IPSR, n)
            else:  # returned to what was active before, or thread mode
                e.deactivate(c.cpu.ipsr())
                rest = e.active
                c.cpu.rw(A.UC_ARM_REG_IPSR, rest.bit_length() - 1 if rest else 0)

    def native_tick(self, rng: random.Random) -> None:
        """A SysTick handler entered natively (Python's NVIC does not know of it yet), or
        one returned from natively."""
        if self.native.bc.tick_active and rng.random() < 0.5:
            for c in (self.native, self.python):
                c.bc.tick_active = 0
                c.cpu.rw(A.UC_ARM_REG_IPSR, 0)
            return
        for c in (self.native, self.python):
            if c.bc.tick_active or c.exc.active & ~(1 << SYSTICK) or c.cpu.ipsr():
                return
        for c in (self.native, self.python):
            c.bc.tick_active = 1
            c.cpu.rw(A.UC_ARM_REG_IPSR, SYSTICK)


@pytest.mark.parametrize("seed", range(6))
def test_native_cvr_csr_and_icsr_reads_match_python(seed):
    rng = random.Random(seed)
    twins = Twins()
    for _ in range(STEPS):
        twins.step(rng)
        assert twins.native.state() == twins.python.state()
    served = twins.served
    assert served[SYST_CVR] > 50 and served[SYST_CSR] > 20 and served[ICSR] > 20, served


def test_icsr_image_dropped_by_every_nvic_change():
    c = Core()
    port = c.scs.native_reads
    c.scs.read(ICSR, 4)
    assert port.peek(ICSR, 4) == 0
    c.exc.set_pending(PENDSV)
    assert port.peek(ICSR, 4) is None  # PENDSVSET now: Python answers, then C again
    assert c.scs.read(ICSR, 4) == port.peek(ICSR, 4) == (1 << 28) | (PENDSV << 12)
    for change in (lambda e: e.set_priority(PENDSV, 0x40), lambda e: setattr(e, "pending", 0),
                   lambda e: e.set_enabled(IRQ0, True), lambda e: e.activate(SVCALL)):
        c.scs.read(ICSR, 4)
        assert port.peek(ICSR, 4) is not None
        change(c.exc)
        assert port.peek(ICSR, 4) is None


def test_plan_stores_the_icsr_image_a_read_would():
    """``plan_native`` computes the highest pending exception: with the image dropped it stores
    the ICSR image there, and C answers the next read with what Python's read would return."""
    native, python = Core(), Core()
    port = native.scs.native_reads
    for c in (native, python):
        c.exc.set_enabled(IRQ0 + 3, True)
        c.exc.set_enabled(IRQ0 + 5, True)
        c.exc.set_priority(IRQ0 + 5, 0x20)
        c.exc.set_pending(IRQ0 + 3)
        c.exc.set_pending(IRQ0 + 5)
        c.exc.set_pending(PENDSV)
        c.exc.set_pending(IRQ0 + 6)  # pending, not enabled
    assert port.peek(ICSR, 4) is None
    native.cpu.plan_native()
    expected = python.scs.read(ICSR, 4)
    assert expected == (1 << 28) | (1 << 22) | (PENDSV << 12)
    assert port.peek(ICSR, 4) == expected
    for c in (native, python):
        c.exc.clear_pending(PENDSV)
        c.exc.activate(SVCALL)
        c.cpu.rw(A.UC_ARM_REG_IPSR, SVCALL)
    assert port.peek(ICSR, 4) is None
    native.cpu.plan_native()
    isrpending, rettobase = 1 << 22, 1 << 11
    expected = isrpending | ((IRQ0 + 3) << 12) | rettobase | SVCALL
    assert port.peek(ICSR, 4) == python.scs.read(ICSR, 4) == expected


def test_traced_scs_reads_only_through_python():
    c = Core()
    c.scs.trace = True
    assert c.scs.native_register_window() is c.scs.native_reads
    assert c.scs.native_reads.peek(SYST_CVR, 4) is None


def test_cvr_between_slices_is_the_models(board):
    """Outside a slice (a debugger's or RPC's read of the SCS through the CPU's memory map)
    CVR goes to the model, whose clock has no slice progress; inside, C answers."""
    b = board("""
reset:
    ldr r0, =0xE000E010
    ldr r1, =99999
    str r1, [r0, #4]
    movs r1, #5
    str r1, [r0]
spin:
    ldr r2, [r0, #8]
    b spin
""")
    b.run(12_345, expect="time")
    m = b.m
    port = m.scs.native_reads
    assert port.peek(SYST_CVR, 4) is None
    cvr = int.from_bytes(m.cpu.uc.mem_read(0xE000E000 + SYST_CVR, 4), "little")
    assert cvr == m.scs.systick.value() == 99999 - (m.clock.now - m.scs.systick.start) + 1
    assert port.fast_reads > 1000  # the loop's reads


# IRQ 2's handler pends IRQ 3, which preempts it, writes the SCS (Python looks: native_sync, the
# ICSR image dropped) and returns to it (a planned return to handler mode); IRQ 2's handler then
# reads ICSR and writes the SCS before its own return to thread mode (the return whose image the
# plan knows: ret_icsr_n), after which the thread reads ICSR. Eight times; every ICSR read
# recorded (results 0-7 in IRQ 2's handler, 16-23 in thread mode).
NESTED_RETURNS_THEN_ICSR = """
reset:
    IRQ_PRIO 2, 0x80
    IRQ_PRIO 3, 0x40
    IRQ_ENABLE 2
    IRQ_ENABLE 3
    movs r7, #0
again:
    IRQ_PEND 2
    ldr r0, =ICSR
    ldr r1, [r0]
    ldr r2, =RES + 64
    str r1, [r2, r7, lsl #2]
    adds r7, #1
    cmp r7, #8
    bne again
    EXIT
irq2:
    IRQ_PEND 3
    ldr r0, =ICSR
    ldr r1, [r0]
    ldr r2, =RES
    str r1, [r2, r7, lsl #2]
    STORE32 NVIC_ICPR, 0
    bx lr
irq3:
    STORE32 NVIC_ICPR, 0
    bx lr
"""


def _icsr_image_is_the_nvics(cpu: CortexM3) -> bool:
    """Is the ICSR image C answers with, while valid, what a Python read would store now (and
    the NVIC's, which drops it at its next change)?"""
    flag = cpu._icsr_image_valid
    if not flag.value:
        return True
    image = (ctypes.c_uint32 * 3).from_address(ctypes.addressof(flag))
    exc = cpu.exc
    bits = cpu.store_icsr_image.__self__._icsr_pending_fields(exc.highest_pending()) if exc.pending else 0
    active = exc.active
    summary = 0 if not active else 0xFFFFFFFF if active & (active - 1) else active.bit_length() - 1
    return exc.icsr_image and (image[1], image[2]) == (bits, summary)


def test_icsr_image_after_planned_returns(board, monkeypatch):
    """Planned returns to handler mode drop the ICSR image, the one to thread mode with nothing
    left stores it (``ret_icsr_n``); at every ``native_sync`` a valid image is the NVIC's, and
    the reads and the run are those of the Python path."""
    mismatches = []
    native_sync = CortexM3.native_sync

    def checked_sync(cpu: CortexM3) -> None:
        native_sync(cpu)
        if not _icsr_image_is_the_nvics(cpu):
            mismatches.append(cpu.exc.active)

    monkeypatch.setattr(CortexM3, "native_sync", checked_sync)
    runs = []
    for native in (True, False):
        b = board(NESTED_RETURNS_THEN_ICSR, {"IRQ2": "irq2", "IRQ3": "irq3"})
        m = b.m
        m.cpu.trace_exceptions = None  # tracing turns every native plan off
        m.cpu.native_exceptions = native
        b.run()
        runs.append((b.results(24), m.instructions, m.clock.now, m.cpu.planned_returns,
                     m.scs.native_reads.port.fast_reads))
    (fast, *fast_run, planned, fast_reads), (ref, *ref_run, _, _) = runs
    assert not mismatches, f"ICSR image not the NVIC's with active sets {mismatches}"
    assert fast == ref and fast_run == ref_run
    assert fast[16:24] == [0] * 8 and planned >= 16 and fast_reads >= 8
