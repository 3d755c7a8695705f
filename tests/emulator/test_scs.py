"""The System Control Space at register level: reset values, access kinds, SysTick timing, DWT.

Registers are driven through ``m.scs.read/write`` (offsets from 0xE000E000)
and time through ``m.clock`` (``advance`` + ``fire_due``), without running
the CPU. References: ARMv7-M ARM (DDI0403E) B3.2-B3.4, Cortex-M3 TRM.
"""

from __future__ import annotations

import pytest

from emulator.cpu.nvic import IRQ0, PENDSV, SYSTICK

SYST_CSR, SYST_RVR, SYST_CVR, SYST_CALIB = 0x010, 0x014, 0x018, 0x01C
ISER, ICER, ISPR, ICPR, IABR, IPR = 0x100, 0x180, 0x200, 0x280, 0x300, 0x400
CPUID, ICSR, VTOR, AIRCR, SCR, CCR = 0xD00, 0xD04, 0xD08, 0xD0C, 0xD10, 0xD14
SHPR1, SHPR2, SHPR3, SHCSR, CFSR, HFSR, MMFAR, BFAR = 0xD18, 0xD1C, 0xD20, 0xD24, 0xD28, 0xD2C, 0xD34, 0xD38
ICTR, STIR = 0x004, 0xF00
DWT_CTRL, DWT_CYCCNT = 0x000, 0x004

RESET_VALUES = {
    "ICTR": (ICTR, 0x0), "SYST_CSR": (SYST_CSR, 0), "SYST_RVR": (SYST_RVR, 0), "SYST_CVR": (SYST_CVR, 0),
    # SKEW, TENMS = 10 ms of the 1 MHz reference clock minus one.
    "SYST_CALIB": (SYST_CALIB, 0x40000000 | 9999),
    "ISER": (ISER, 0), "ICER": (ICER, 0), "ISPR": (ISPR, 0), "ICPR": (ICPR, 0), "IABR": (IABR, 0),
    "IPR0": (IPR, 0), "IPR7": (IPR + 28, 0),
    "CPUID": (CPUID, 0x410FC231), "ICSR": (ICSR, 0), "VTOR": (VTOR, 0), "AIRCR": (AIRCR, 0xFA050000),
    "SCR": (SCR, 0), "CCR": (CCR, 0x200), "SHPR1": (SHPR1, 0), "SHPR2": (SHPR2, 0), "SHPR3": (SHPR3, 0),
    "SHCSR": (SHCSR, 0), "CFSR": (CFSR, 0), "HFSR": (HFSR, 0), "MMFAR": (MMFAR, 0), "BFAR": (BFAR, 0),
    "ID_PFR0": (0xD40, 0x30), "ID_ISAR0": (0xD60, 0x01101110),
}


@pytest.fixture
def m(board):
    b = board("""
reset:
    b reset
""")
    return b.m


def r(m, off, size=4):
    return m.scs.read(off, size)


def w(m, off, value, size=4):
    m.scs.write(off, size, value)


def tick(m, cycles):
    m.clock.advance(cycles)
    m.clock.fire_due()


@pytest.mark.parametrize("name", list(RESET_VALUES))
def test_reset_value(m, name):
    off, value = RESET_VALUES[name]
    assert r(m, off) == value, f"{name} = 0x{r(m, off):08X}"


def test_reset_values_come_back_after_reset(m):
    w(m, VTOR, 0x1000)
    w(m, AIRCR, 0x05FA0300)
    w(m, CCR, 0x210)
    w(m, ISER, 0xF)
    w(m, IPR, 0x80808080)
    w(m, SYST_RVR, 1234)
    m.reset()
    for name, (off, value) in RESET_VALUES.items():
        assert r(m, off) == value, name


@pytest.mark.parametrize("name, off", [("CPUID", CPUID), ("ICTR", ICTR), ("SYST_CALIB", SYST_CALIB),
                                       ("ID_PFR0", 0xD40), ("ID_ISAR0", 0xD60)])
def test_read_only_registers_ignore_writes(m, name, off):
    before = r(m, off)
    w(m, off, 0xFFFFFFFF)
    w(m, off, 0)
    assert r(m, off) == before


def test_cfsr_and_hfsr_are_write_one_to_clear(m):
    m.cpu.sys.cfsr = 0x02018282  # DIVBYZERO UNDEFINSTR BFARVALID PRECISERR MMARVALID DACCVIOL
    m.cpu.sys.hfsr = 0x40000002
    w(m, CFSR, 0)
    assert r(m, CFSR) == 0x02018282, "writing 0 changes nothing"
    w(m, CFSR, 0x00010200)
    assert r(m, CFSR) == 0x02008082
    w(m, HFSR, 0x40000000)
    assert r(m, HFSR) == 0x00000002
    w(m, CFSR, 0xFFFFFFFF)
    w(m, HFSR, 0xFFFFFFFF)
    assert r(m, CFSR) == 0 and r(m, HFSR) == 0


def test_cfsr_subregisters_read_by_byte_and_halfword(m):
    m.cpu.sys.cfsr = 0x02018282
    assert r(m, CFSR, 1) == 0x82  # MMFSR
    assert r(m, CFSR + 1, 1) == 0x82  # BFSR
    assert r(m, CFSR + 2, 2) == 0x0201  # UFSR


def test_cfsr_byte_write_clears_only_its_lane(m):
    m.cpu.sys.cfsr = 0x02018282
    w(m, CFSR + 1, 0x82, size=1)  # clear BFSR only
    assert r(m, CFSR) == 0x02010082


def test_fault_address_registers_are_read_write(m):
    w(m, BFAR, 0x60000000)
    w(m, MMFAR, 0x12345678)
    assert r(m, BFAR) == 0x60000000
    assert r(m, MMFAR) == 0x12345678


def test_aircr_needs_vectkey(m):
    w(m, AIRCR, 0x00000500)  # no key: ignored
    assert r(m, AIRCR) == 0xFA050000
    w(m, AIRCR, 0x05FA0500)
    assert r(m, AIRCR) == 0xFA050500
    assert m.exc.prigroup == 5
    w(m, AIRCR, 0x05FA0004 & 0xFFFF)  # SYSRESETREQ without the key: no reset
    assert m._reset_reason is None
    w(m, AIRCR, 0x05FA0004 | 0x500)
    assert m._reset_reason == "SYSRESETREQ"


@pytest.mark.parametrize("prigroup, group_of", [(0, {0x81: 0x80, 0xFE: 0xFE}), (4, {0x9F: 0x80, 0xE0: 0xE0}),
                                                (7, {0xFF: 0x00, 0x20: 0x00})])
def test_prigroup_splits_group_priority(m, prigroup, group_of):
    w(m, AIRCR, 0x05FA0000 | prigroup << 8)
    for prio, group in group_of.items():
        assert m.exc.group_priority(prio) == group


def test_nvic_enable_pending_registers(m):
    w(m, ISER, 0x00000005)
    w(m, ISER, 0x00000100)
    assert r(m, ISER) == 0x105 == r(m, ICER)
    w(m, ICER, 0x00000004)
    assert r(m, ISER) == 0x101
    w(m, ISPR, 0x80000003)
    assert r(m, ISPR) == 0x80000003 == r(m, ICPR)
    w(m, ICPR, 0x00000001)
    assert r(m, ISPR) == 0x80000002
    assert r(m, IABR) == 0
    w(m, IABR, 0xFFFFFFFF)  # read-only
    assert r(m, IABR) == 0
    m.exc.activate(IRQ0 + 4)
    assert r(m, IABR) == 0x10


def test_nvic_priority_byte_halfword_word_access(m):
    w(m, IPR + 1, 0xA0, size=1)
    assert r(m, IPR) == 0x0000A000
    assert m.exc.priority[IRQ0 + 1] == 0xA0
    w(m, IPR + 4, 0x40302010)
    assert [r(m, IPR + 4 + i, 1) for i in range(4)] == [0x10, 0x20, 0x30, 0x40]
    assert r(m, IPR + 6, 2) == 0x4030
    w(m, IPR + 6, 0xE0C0, size=2)
    assert r(m, IPR + 4) == 0xE0C02010
    assert m.exc.priority[IRQ0 + 7] == 0xE0
    w(m, IPR + 31, 0x60, size=1)
    assert m.exc.priority[IRQ0 + 31] == 0x60


def test_system_handler_priority_bytes(m):
    w(m, SHPR3 + 2, 0xFF, size=1)  # PendSV
    w(m, SHPR3 + 3, 0x40, size=1)  # SysTick
    assert r(m, SHPR3) == 0x40FF0000
    assert m.exc.priority[PENDSV] == 0xFF and m.exc.priority[SYSTICK] == 0x40


def test_stir_pends_an_irq(m):
    w(m, STIR, 5)
    assert r(m, ISPR) == 1 << 5
    w(m, STIR, 31)
    assert r(m, ISPR) == 1 << 5 | 1 << 31
    w(m, STIR, 200)  # not implemented: ignored
    assert r(m, ISPR) == 1 << 5 | 1 << 31
    assert r(m, STIR) == 0


def test_icsr_pendsv_and_systick_set_clear(m):
    w(m, ICSR, 1 << 28)
    assert r(m, ICSR) & (1 << 28)
    assert (r(m, ICSR) >> 12) & 0x1FF == PENDSV, "VECTPENDING"
    w(m, ICSR, 1 << 27)
    assert not r(m, ICSR) & (1 << 28)
    w(m, ICSR, 1 << 26)
    assert r(m, ICSR) & (1 << 26)
    w(m, ICSR, 1 << 25)
    assert r(m, ICSR) == 0


def test_icsr_isrpending_for_enabled_external_interrupt(m):
    w(m, ISER, 1 << 3)
    w(m, ISPR, 1 << 3)
    icsr = r(m, ICSR)
    assert icsr & (1 << 22)
    assert (icsr >> 12) & 0x1FF == IRQ0 + 3


def test_vtor_keeps_aligned_bits(m):
    w(m, VTOR, 0x20000123)
    assert r(m, VTOR) == 0x20000100


def test_shcsr_enables_faults(m):
    w(m, SHCSR, 0x00070000)
    assert r(m, SHCSR) == 0x00070000
    w(m, SHCSR, 0x00040000)
    assert r(m, SHCSR) == 0x00040000


# ----------------------------------------------------------------------------- SysTick
N = 100  # reload 99: a wrap every 100 cycles


@pytest.fixture
def systick(m):
    w(m, SYST_RVR, N - 1)
    w(m, SYST_CVR, 0)
    w(m, SYST_CSR, 0x7)  # ENABLE | TICKINT | CLKSOURCE (core clock)
    return m


def pending(m):
    return bool(r(m, ICSR) & (1 << 26))


def test_systick_fires_at_n_cycles_not_before(systick):
    m = systick
    tick(m, N - 1)
    assert not pending(m)
    assert r(m, SYST_CVR) == 1
    tick(m, 1)
    assert pending(m), "the 1 -> 0 transition after N cycles pends SysTick"
    assert r(m, SYST_CVR) == 0
    w(m, ICSR, 1 << 25)
    tick(m, 1)
    assert r(m, SYST_CVR) == N - 1, "reloaded on the next cycle"
    assert not pending(m)
    tick(m, N - 2)
    assert not pending(m)
    tick(m, 1)
    assert pending(m), "periodic: again N cycles later"


def test_systick_countflag_set_by_wrap_cleared_by_read(systick):
    m = systick
    tick(m, N - 1)
    assert r(m, SYST_CSR) == 0x7
    tick(m, 1)
    assert r(m, SYST_CSR) == 0x10007
    assert r(m, SYST_CSR) == 0x7, "reading CSR clears COUNTFLAG"
    tick(m, 3 * N)
    assert r(m, SYST_CSR) & 0x10000
    tick(m, N)
    w(m, SYST_CVR, 12345)  # any write clears the counter and COUNTFLAG
    assert r(m, SYST_CSR) == 0x7
    tick(m, 1)
    assert r(m, SYST_CVR) == N - 1, "reloaded one cycle after the clear"


@pytest.mark.parametrize("write", ["stop", "same CSR", "TICKINT off", "RVR"])
def test_systick_countflag_survives_writes_of_csr_and_rvr(systick, write):
    """Only a CSR read or a CVR write clears COUNTFLAG (ARMv7-M B3.3.3; QEMU keeps it likewise).
    FreeRTOS's tickless idle stops SysTick with a CSR write and then reads COUNTFLAG to learn
    whether the whole sleep passed."""
    m = systick
    tick(m, N + 5)  # one wrap, not read
    if write == "stop":
        w(m, SYST_CSR, 0x6)
    elif write == "same CSR":
        w(m, SYST_CSR, 0x7)
    elif write == "TICKINT off":
        w(m, SYST_CSR, 0x5)
    else:
        w(m, SYST_RVR, 2 * N - 1)
    tick(m, 3)
    assert r(m, SYST_CSR) & 0x10000, f"COUNTFLAG lost by the {write} write"
    assert not r(m, SYST_CSR) & 0x10000, "the read cleared it"


def test_systick_countflag_stays_clear_without_a_wrap(systick):
    m = systick
    tick(m, N + 5)
    assert r(m, SYST_CSR) & 0x10000
    tick(m, 7)
    w(m, SYST_CSR, 0x7)
    w(m, SYST_RVR, N - 1)
    w(m, SYST_CSR, 0x6)
    assert not r(m, SYST_CSR) & 0x10000, "no wrap since the read"


@pytest.mark.parametrize("write", ["same CSR", "TICKINT toggled", "RVR"])
def test_systick_reference_clock_keeps_its_phase_across_writes(m, write):
    """With the 1 MHz reference clock (25 core cycles a tick), a write that leaves the counter
    running must not move its ticks: firmware that writes CSR or RVR every 10 cycles still sees
    the counter tick every 25."""
    w(m, SYST_RVR, 999)
    w(m, SYST_CVR, 0)
    w(m, SYST_CSR, 0x3)  # ENABLE | TICKINT, reference clock
    tick(m, 25)  # the first tick loads 999
    start = r(m, SYST_CVR)
    for i in range(40):  # 400 cycles: 16 ticks
        tick(m, 10)
        if write == "same CSR":
            w(m, SYST_CSR, 0x3)
        elif write == "TICKINT toggled":
            w(m, SYST_CSR, 0x1 if i % 2 else 0x3)
        else:
            w(m, SYST_RVR, 999)
    assert start - r(m, SYST_CVR) == 16, "the writes slowed the counter down"


@pytest.mark.parametrize("action", ["clear", "enable"])
def test_systick_cvr_reads_zero_until_the_reload(m, action):
    w(m, SYST_RVR, N - 1)
    if action == "clear":
        w(m, SYST_CSR, 0x5)
        tick(m, 7)
        w(m, SYST_CVR, 0)
    else:
        w(m, SYST_CVR, 0)
        w(m, SYST_CSR, 0x5)
    assert r(m, SYST_CVR) <= N - 1
    assert r(m, SYST_CVR) == 0


def test_systick_without_tickint_does_not_pend(m):
    w(m, SYST_RVR, N - 1)
    w(m, SYST_CSR, 0x5)
    tick(m, 5 * N)
    assert not pending(m)
    assert r(m, SYST_CSR) & 0x10000


def test_systick_disabled_counter_holds(systick):
    m = systick
    tick(m, 30)
    value = r(m, SYST_CVR)
    assert value == N - 30
    w(m, SYST_CSR, 0x6)
    tick(m, 10 * N)
    assert r(m, SYST_CVR) == value
    assert not pending(m)


def test_systick_reference_clock_is_25_cycles_per_tick(m):
    w(m, SYST_RVR, 9)
    w(m, SYST_CVR, 0)
    w(m, SYST_CSR, 0x3)  # CLKSOURCE = 0: 1 MHz reference clock
    tick(m, 10 * 25 - 1)
    assert not pending(m)
    tick(m, 1)
    assert pending(m)


# -------------------------------------------------------------------------------- DWT
def test_dwt_cyccnt_counts_only_while_enabled(m):
    dwt = m.dwt
    tick(m, 1000)
    assert dwt.read(DWT_CYCCNT, 4) == 0
    dwt.write(DWT_CTRL, 4, 1)
    tick(m, 1234)
    assert dwt.read(DWT_CYCCNT, 4) == 1234
    dwt.write(DWT_CTRL, 4, 0)
    tick(m, 500)
    assert dwt.read(DWT_CYCCNT, 4) == 1234
    dwt.write(DWT_CYCCNT, 4, 0xFFFFFFF0)
    dwt.write(DWT_CTRL, 4, 1)
    tick(m, 0x20)
    assert dwt.read(DWT_CYCCNT, 4) == 0x10, "wraps at 32 bits"


def _machine_with_irqs(num_irq):
    from dataclasses import replace

    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform

    return Machine(replace(load_platform("mps2-an385"), num_irq=num_irq))


@pytest.mark.parametrize("num_irq, intlinesnum", [(32, 0), (33, 1), (64, 1), (240, 7), (480, 14), (496, 15)])
def test_ictr_reports_the_implemented_banks(num_irq, intlinesnum):
    assert _machine_with_irqs(num_irq).scs.read(ICTR, 4) == intlinesnum


@pytest.mark.parametrize("num_irq", [64, 496])
def test_nvic_banks_reach_every_implemented_irq(num_irq):
    m = _machine_with_irqs(num_irq)
    last = num_irq - 1
    for irq in (32, 47, 63, last):
        bank, bit = 4 * (irq // 32), 1 << (irq % 32)
        w(m, ISER + bank, bit)
        assert r(m, ISER + bank) & bit and r(m, ICER + bank) & bit, irq
        assert m.exc.enabled >> (IRQ0 + irq) & 1
        w(m, ISPR + bank, bit)
        assert r(m, ISPR + bank) & bit and m.exc.pending >> (IRQ0 + irq) & 1
        w(m, ICPR + bank, bit)
        assert not r(m, ISPR + bank) & bit
        w(m, STIR, irq)
        assert m.exc.pending >> (IRQ0 + irq) & 1
        w(m, ICER + bank, bit)
        assert not r(m, ISER + bank) & bit
        m.exc.activate(IRQ0 + irq)
        assert r(m, IABR + bank) & bit
        w(m, IPR + irq, 0xA0, size=1)
        assert r(m, IPR + (irq & ~3)) == 0xA0 << (8 * (irq % 4))
        assert m.exc.priority[IRQ0 + irq] == 0xA0


def test_nvic_ignores_irqs_past_num_irq():
    m = _machine_with_irqs(40)  # bank 1 has 8 IRQs: 32..39
    w(m, ISER + 4, 0xFFFFFFFF)
    assert r(m, ISER + 4) == 0xFF
    w(m, ISPR + 4, 0xFFFFFFFF)
    assert r(m, ISPR + 4) == 0xFF == r(m, ICPR + 4)
    for bank in range(2, 16):
        w(m, ISER + 4 * bank, 0xFFFFFFFF)
        w(m, ISPR + 4 * bank, 0xFFFFFFFF)
        assert r(m, ISER + 4 * bank) == r(m, ISPR + 4 * bank) == r(m, IABR + 4 * bank) == 0
    w(m, IPR + 36, 0x80808080)   # IRQs 36..39 exist
    w(m, IPR + 40, 0x80808080)   # IRQs 40..43 do not
    assert r(m, IPR + 36) == 0x80808080 and r(m, IPR + 40) == 0 and r(m, IPR + 0x1EC) == 0
    w(m, STIR, 40)
    assert m.exc.pending >> (IRQ0 + 32) == 0xFF  # IRQ 40 does not exist
    assert r(m, ICTR) == 1


def test_irqs_past_32_run_their_handlers_in_priority_order(board):
    """IRQ 40 (ISPR1, priority 0x80) and IRQ 47 (STIR, priority 0x40) pended with PRIMASK set:
    on unmasking, 47 runs first, then 40 tail-chains; each handler sees its own IPSR."""
    b = board("""
reset:
    cpsid i
    IRQ_PRIO 40, 0x80
    IRQ_PRIO 47, 0x40
    IRQ_ENABLE 40
    IRQ_ENABLE 47
    ldr r0, =0xE000E204      @ NVIC_ISPR1
    movs r1, #1
    lsls r1, r1, #8          @ IRQ 40
    str r1, [r0]
    ldr r0, =0xE000EF00      @ STIR
    movs r1, #47
    str r1, [r0]
    ldr r0, =0xE000E004      @ ICTR
    ldr r1, [r0]
    RESULT 0, r1
    ldr r0, =0xE000ED04      @ ICSR
    ldr r1, [r0]
    RESULT 1, r1
    cpsie i
    isb
    EXIT
irq40:
    mrs r4, ipsr
    LOG 40
    RESULT 2, r4
    bx lr
irq47:
    mrs r4, ipsr
    LOG 47
    RESULT 3, r4
    bx lr
""", {"IRQ40": "irq40", "IRQ47": "irq47"}, num_irq=64)
    b.run()
    assert b.result(0) == 1, "ICTR.INTLINESNUM for 64 IRQs"
    assert (b.result(1) >> 12) & 0x1FF == 16 + 47, "VECTPENDING is IRQ 47"
    assert b.log() == bytes([47, 40])
    assert b.result(2) == 16 + 40 and b.result(3) == 16 + 47, "IPSR in each handler"


def test_the_last_of_496_irqs_is_taken_through_a_relocated_table(board):
    """IRQ 495 is exception 511, the largest IPSR value: vector at VTOR + 4 * 511 (a 2 KiB
    table in RAM), entered and returned on the main stack (the native path)."""
    b = board("""
reset:
    ldr r0, =0x20002000              @ the table: 512 words, 2 KiB aligned
    ldr r1, =irq495 + 1
    ldr r2, =4 * 511
    str r1, [r0, r2]
    ldr r1, =VTOR
    str r0, [r1]
    dsb
    IRQ_ENABLE 495
    ldr r0, =STIR
    ldr r1, =495
    str r1, [r0]
    dsb
    isb
    RESULT 1, r7
    EXIT
irq495:
    mrs r4, ipsr
    RESULT 0, r4
    movs r7, #1
    bx lr
""", num_irq=496)
    b.run()
    assert b.results(2) == [511, 1]
