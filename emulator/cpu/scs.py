"""The System Control Space (0xE000E000): NVIC, SCB, SysTick registers.

ARMv7-M ARM (DDI0403E) B3.2 (SCB), B3.3 (SysTick), B3.4 (NVIC); register
values of a Cortex-M3 r2p1 as QEMU's ``cortex-m3`` reports them (CPUID
0x410FC231). The state lives in the core (``CortexM3.sys``, the
``ExceptionState``, ``SysTick``); this table is its register view.

The NVIC has 16 register banks (ISER..IABR, one word per 32 IRQs, and the
priority bytes) for the architecture's 496 IRQs; bits and bytes of IRQs at
or past the platform's ``num_irq`` read zero and ignore writes (B3.4.1),
and ICTR.INTLINESNUM says how many banks are implemented.

Not modelled: the debug registers beyond DEMCR, ACTLR effects, SCS
CoreSight IDs, SLEEPDEEP. The MPU registers (0xD90..0xDBC) are served by
``emulator.cpu.mpu`` (word accesses; reads of any size).
Choices:
VECTRESET and VECTCLRACTIVE (debug-only on v7-M) are logged and ignored;
SYSRESETREQ resets the whole board (the machine decides, see
``request_reset``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.bus.device import Device
from emulator.bus.regs import RO, RSVD, RW, W1C, Reg, RegMap
from emulator.cpu.mpu import FIRST as MPU_FIRST
from emulator.cpu.mpu import LAST as MPU_LAST
from emulator.cpu.nvic import (
    BUSFAULT,
    DEBUGMON,
    IRQ0,
    MEMMANAGE,
    NMI,
    PENDSV,
    SVCALL,
    SYSTICK,
    USAGEFAULT,
)
from emulator.cpu.scsread import ScsReadPort
from emulator.cpu.systick import SysTick

if TYPE_CHECKING:
    from emulator.cpu.cortexm import CortexM3

ID_REGISTERS = {  # Cortex-M3 feature registers (QEMU cortex_m3_initfn)
    0xD40: ("ID_PFR0", 0x00000030), 0xD44: ("ID_PFR1", 0x00000200),
    0xD48: ("ID_DFR0", 0x00100000), 0xD4C: ("ID_AFR0", 0x00000000),
    0xD50: ("ID_MMFR0", 0x00000030), 0xD54: ("ID_MMFR1", 0x00000000),
    0xD58: ("ID_MMFR2", 0x01000000), 0xD5C: ("ID_MMFR3", 0x00000000),
    0xD60: ("ID_ISAR0", 0x01101110), 0xD64: ("ID_ISAR1", 0x02111000),
    0xD68: ("ID_ISAR2", 0x21112231), 0xD6C: ("ID_ISAR3", 0x01111110),
    0xD70: ("ID_ISAR4", 0x01310132),
}

SHCSR_ACT = {MEMMANAGE: 0, BUSFAULT: 1, USAGEFAULT: 3, SVCALL: 7, DEBUGMON: 8, PENDSV: 10, SYSTICK: 11}
SHCSR_PENDED = {USAGEFAULT: 12, MEMMANAGE: 13, BUSFAULT: 14, SVCALL: 15}
SHCSR_ENA = {MEMMANAGE: 16, BUSFAULT: 17, USAGEFAULT: 18}

VECTKEY = 0x05FA


def _fault_reg(attr: str, w1c: bool = True) -> tuple[Callable, Callable]:
    def read(self: SystemControlSpace) -> int:
        return getattr(self.cpu.sys, attr)

    def write(self: SystemControlSpace, value: int) -> None:
        old = getattr(self.cpu.sys, attr)
        setattr(self.cpu.sys, attr, old & ~value if w1c else value)

    return read, write


MAX_IRQ = 496          # ARMv7-M: at most 496 external interrupts
NVIC_BANKS = (MAX_IRQ + 31) // 32  # 16 banks, the last one half used


def _ipr_read(base_irq: int) -> Callable:
    def read(self: SystemControlSpace) -> int:
        exc = self.exc
        value = 0
        for i in range(4):
            if base_irq + i < exc.num_irq:
                value |= (exc.priority[IRQ0 + base_irq + i] & 0xFF) << (8 * i)
        return value
    return read


def _ipr_write(base_irq: int) -> Callable:
    def write(self: SystemControlSpace, value: int) -> None:
        exc = self.exc
        for i in range(4):
            if base_irq + i < exc.num_irq:
                exc.set_priority(IRQ0 + base_irq + i, (value >> (8 * i)) & 0xFF)
        exc.notify()
    return write


def _bank_read(attr: str, bank: int) -> Callable:
    """ISER/ICER (enabled), ISPR/ICPR (pending), IABR (active) of IRQs 32*bank..32*bank+31."""
    shift = IRQ0 + 32 * bank

    def read(self: SystemControlSpace) -> int:
        return (getattr(self.exc, attr) >> shift) & self.bank_mask[bank]
    return read


def _bank_write(action: str, bank: int) -> Callable:
    def write(self: SystemControlSpace, value: int) -> None:
        value &= self.bank_mask[bank]
        if value:
            getattr(self, action)(32 * bank, value)
    return write


def _ignore(_dev: SystemControlSpace, _value: int) -> None:
    pass


def _nvic_banks() -> list[Reg]:
    regs = []
    for b in range(NVIC_BANKS):
        for offset, name, state, action in (
                (0x100, "ISER", "enabled", "_set_enable"), (0x180, "ICER", "enabled", "_clear_enable"),
                (0x200, "ISPR", "pending", "_set_pending"), (0x280, "ICPR", "pending", "_clear_pending")):
            regs.append(Reg(offset + 4 * b, f"NVIC_{name}{b}", read=_bank_read(state, b),
                            write=_bank_write(action, b)))
        regs.append(Reg(0x300 + 4 * b, f"NVIC_IABR{b}", read=_bank_read("active", b), write=_ignore))
    regs += [Reg(0x400 + 4 * i, f"NVIC_IPR{i}", sizes=(1, 2, 4), read=_ipr_read(4 * i),
                 write=_ipr_write(4 * i)) for i in range(MAX_IRQ // 4)]
    return regs


class SystemControlSpace(Device):
    SIZE = 0x1000

    def __init__(self, name: str, cpu: CortexM3, request_reset: Callable[[str], None]) -> None:
        super().__init__(name, cpu.clock)
        self.cpu = cpu
        self.exc = cpu.exc
        self.request_reset = request_reset
        self.systick = SysTick(cpu.clock, functools.partial(self.exc.set_pending, SYSTICK))
        # CVR and ICSR reads answered in C (emulator.cpu.scsread).
        self.native_reads = ScsReadPort(cpu)
        self.systick.native = self.native_reads.port
        self.systick.native_fields = self.native_reads.programming_reader()
        self.systick.reset()
        # SysTick's writes done in C (scsread.c) come into the model before the clock schedules
        # any event and at every slice's end.
        cpu.clock.native_model = cpu.slice_pull = (self.native_reads.port, self.systick.pull)
        self.exc.drop_icsr_image = self.native_reads.drop_icsr
        cpu.store_icsr_image = self._store_icsr_image
        self.demcr = 0
        cpu.mpu.guest_error = self.guest_error
        # Per NVIC bank, the bits of the IRQs that exist (below num_irq).
        n = self.exc.num_irq
        self.bank_mask = [((1 << max(0, min(32, n - 32 * b))) - 1) for b in range(NVIC_BANKS)]
        # The plain registers, read in C from the values published here whenever the state they
        # show changes (``exc.publish``): per state, the registers whose value can change with it
        # (IPRs and banks past num_irq read zero for good).
        regs = self.REGS.by_offset
        self._plain: dict[str, list[Reg]] = {
            "priority": [regs[0x400 + i] for i in range(0, n, 4)] + [regs[o] for o in (0xD18, 0xD1C, 0xD20)],
            "enabled": [regs[o + 4 * b] for o in (0x100, 0x180) for b in range(NVIC_BANKS)
                        if self.bank_mask[b]],
            "prigroup": [regs[0xD0C]],
        }
        for reg in PLAIN_REGS:
            self.native_reads.serve_plain(reg.offset, reg.sizes)
            self.native_reads.publish(reg.offset, reg.read(self))
        self.exc.publish = self._publish
        # The hot 4-byte accesses C leaves to Python, straight to their register (as the table
        # dispatches them): SYST_CSR (between slices, or a COUNTFLAG kept in CSR), ICSR (its image
        # dropped); SysTick's writes, and ICSR's (an RTOS's yield: PENDSVSET).
        systick = self.systick
        self._word_reads: dict[int, Callable[[], int]] = {0x010: systick.read_csr, 0xD04: self._read_icsr}
        self._word_writes: dict[int, Callable[[int], None]] = {
            0x010: systick.write_csr, 0x014: systick.write_reload, 0x018: systick.write_current,
            0xD04: self._write_icsr_word}

    def reset(self) -> None:
        super().reset()
        self.systick.reset()
        self.demcr = 0

    # -- NVIC -----------------------------------------------------------------
    def _publish(self, state: str, n: int | None) -> None:
        """``exc``'s ``state`` changed (only the priority of exception ``n`` when given): copy the
        registers that show it to the native reads."""
        port = self.native_reads
        if n is not None:
            reg = self.REGS.by_offset[0x400 + ((n - IRQ0) & ~3) if n >= IRQ0 else 0xD14 + (n & ~3)]
            port.publish(reg.offset, reg.read(self))
            return
        for reg in self._plain[state]:
            port.publish(reg.offset, reg.read(self))

    def _set_enable(self, first: int, bits: int) -> None:
        for i in _bits(bits):
            self.exc.set_enabled(IRQ0 + first + i, True)

    def _clear_enable(self, first: int, bits: int) -> None:
        for i in _bits(bits):
            self.exc.set_enabled(IRQ0 + first + i, False)

    def _set_pending(self, first: int, bits: int) -> None:
        for i in _bits(bits):
            self.exc.set_pending(IRQ0 + first + i)

    def _clear_pending(self, first: int, bits: int) -> None:
        for i in _bits(bits):
            self.exc.clear_pending(IRQ0 + first + i)

    def _read_ictr(self) -> int:
        return (self.exc.num_irq + 31) // 32 - 1  # INTLINESNUM: banks implemented - 1

    def _write_stir(self, value: int) -> None:
        irq = value & 0x1FF
        if irq < self.exc.num_irq:
            self.exc.set_pending(IRQ0 + irq)
        else:
            self.guest_error(f"STIR write of IRQ {irq}, only {self.exc.num_irq} implemented")

    # -- SCB ------------------------------------------------------------------
    def _read_icsr(self) -> int:
        exc = self.exc
        value = self._icsr_pending_fields(exc.highest_pending()) if exc.pending else 0
        # The pending fields stay as they are until the NVIC's state changes: native reads
        # answer with them (and the IPSR and active set of the moment) until then.
        self.native_reads.store_icsr(value, exc.active)
        exc.icsr_image = True
        ipsr = self.cpu.ipsr()
        value |= ipsr
        if ipsr and not exc.active & ~(1 << ipsr):
            value |= 1 << 11  # RETTOBASE
        return value

    def _icsr_pending_fields(self, vectpending: int) -> int:
        """ICSR's pending fields (NMIPENDSET, PENDSVSET, PENDSTSET, ISRPENDING, VECTPENDING) with
        something pending, ``vectpending`` the NVIC's highest pending, enabled exception."""
        exc = self.exc
        pending = exc.pending
        value = (vectpending & 0x1FF) << 12
        if pending >> NMI & 1:
            value |= 1 << 31
        if pending >> PENDSV & 1:
            value |= 1 << 28
        if pending >> SYSTICK & 1:
            value |= 1 << 26
        if pending & exc.enabled & ~((1 << IRQ0) - 1):
            value |= 1 << 22  # ISRPENDING: an external interrupt is pending
        return value

    def _store_icsr_image(self, vectpending: int) -> None:
        """The ICSR image as a read now would store it, for ``CortexM3.plan_native``, which has the
        highest pending, enabled exception at hand (``vectpending``) and something pending."""
        exc = self.exc
        self.native_reads.store_icsr(self._icsr_pending_fields(vectpending), exc.active)
        exc.icsr_image = True

    def _write_icsr(self, value: int) -> None:
        exc = self.exc
        if value & 1 << 31:
            exc.set_pending(NMI)
        if value & 1 << 27:
            exc.pending &= ~(1 << PENDSV)
        elif value & 1 << 28:
            if not self.cpu.plans_pends:
                self.cpu.note_yield()
            exc.set_pending(PENDSV)
        if value & 1 << 25:
            exc.pending &= ~(1 << SYSTICK)
        elif value & 1 << 26:
            exc.set_pending(SYSTICK)

    def _write_icsr_word(self, value: int) -> None:
        """A 4-byte ICSR write past ``write``: what the board's SCS write route does with it (the
        NVIC changed, so the CPU plans its native exception work anew)."""
        self._write_icsr(value)
        self.exc.changed = True

    def _read_vtor(self) -> int:
        return self.cpu.sys.vtor

    def _write_vtor(self, value: int) -> None:
        self.cpu.sys.vtor = value & 0xFFFFFF80

    def _read_aircr(self) -> int:
        return 0xFA050000 | (self.exc.prigroup << 8)

    def _write_aircr(self, value: int) -> None:
        if value >> 16 != VECTKEY:
            self.guest_error(f"AIRCR write 0x{value:08X} without VECTKEY 0x05FA ignored")
            return
        self.exc.prigroup = (value >> 8) & 7
        self.exc.notify()
        if value & 0x3:
            self.unimplemented("AIRCR.VECTRESET/VECTCLRACTIVE (debug only)")
        if value & 0x4:
            self.request_reset("SYSRESETREQ")

    def _read_scr(self) -> int:
        return self.cpu.sys.scr

    def _write_scr(self, value: int) -> None:
        self.cpu.sys.scr = value & 0x16
        if value & 0x4:
            self.unimplemented("SCR.SLEEPDEEP (sleeps as WFI)")

    def _read_ccr(self) -> int:
        return self.cpu.sys.ccr

    def _write_ccr(self, value: int) -> None:
        self.cpu.sys.ccr = value & 0x31B
        if value & 0x8:
            self.unimplemented("CCR.UNALIGN_TRP (unaligned accesses are not trapped)")
        if value & 0x10:
            self.cpu.set_div0_trap(True)
        else:
            self.cpu.set_div0_trap(False)

    def _read_shpr(self, first: int) -> int:
        value = 0
        for i in range(4):
            n = first + i
            if n in (MEMMANAGE, BUSFAULT, USAGEFAULT, SVCALL, DEBUGMON, PENDSV, SYSTICK):
                value |= (self.exc.priority[n] & 0xFF) << (8 * i)
        return value

    def _write_shpr(self, first: int, value: int) -> None:
        for i in range(4):
            n = first + i
            if n in (MEMMANAGE, BUSFAULT, USAGEFAULT, SVCALL, DEBUGMON, PENDSV, SYSTICK):
                self.exc.set_priority(n, (value >> (8 * i)) & 0xFF)
        self.exc.notify()

    def _read_shcsr(self) -> int:
        exc = self.exc
        value = 0
        for n, bit in SHCSR_ACT.items():
            if exc.active >> n & 1:
                value |= 1 << bit
        for n, bit in SHCSR_PENDED.items():
            if exc.pending >> n & 1:
                value |= 1 << bit
        for n, bit in SHCSR_ENA.items():
            if exc.enabled >> n & 1:
                value |= 1 << bit
        return value

    def _write_shcsr(self, value: int) -> None:
        exc = self.exc
        for n, bit in SHCSR_ENA.items():
            exc.set_enabled(n, bool(value >> bit & 1))
        for n, bit in SHCSR_ACT.items():
            exc.active = exc.active | (1 << n) if value >> bit & 1 else exc.active & ~(1 << n)
        for n, bit in SHCSR_PENDED.items():
            exc.pending = exc.pending | (1 << n) if value >> bit & 1 else exc.pending & ~(1 << n)
        exc.notify()

    _cfsr = _fault_reg("cfsr")
    _hfsr = _fault_reg("hfsr")
    _mmfar = _fault_reg("mmfar", w1c=False)
    _bfar = _fault_reg("bfar", w1c=False)

    def _read_demcr(self) -> int:
        return self.demcr

    def _write_demcr(self, value: int) -> None:
        self.demcr = value & 0x010F07F1

    REGS = RegMap(
        Reg(0x004, "ICTR", read=_read_ictr, write=lambda s, v: None),
        Reg(0x008, "ACTLR", access=RW),
        Reg(0x010, "SYST_CSR", read=lambda s: s.systick.read_csr(),
            write=lambda s, v: s.systick.write_csr(v)),
        Reg(0x014, "SYST_RVR", read=lambda s: s.systick.read_reload(),
            write=lambda s, v: s.systick.write_reload(v)),
        Reg(0x018, "SYST_CVR", read=lambda s: s.systick.value(),
            write=lambda s, v: s.systick.write_current(v)),
        Reg(0x01C, "SYST_CALIB", access=RO, reset=0x40000000 | 9999),
        *_nvic_banks(),
        Reg(0xD00, "CPUID", access=RO, reset=0x410FC231),
        Reg(0xD04, "ICSR", read=_read_icsr, write=_write_icsr),
        Reg(0xD08, "VTOR", read=_read_vtor, write=_write_vtor),
        Reg(0xD0C, "AIRCR", read=_read_aircr, write=_write_aircr, sizes=(2, 4)),
        Reg(0xD10, "SCR", read=_read_scr, write=_write_scr),
        Reg(0xD14, "CCR", read=_read_ccr, write=_write_ccr),
        Reg(0xD18, "SHPR1", sizes=(1, 2, 4), read=lambda s: s._read_shpr(4),
            write=lambda s, v: s._write_shpr(4, v)),
        Reg(0xD1C, "SHPR2", sizes=(1, 2, 4), read=lambda s: s._read_shpr(8),
            write=lambda s, v: s._write_shpr(8, v)),
        Reg(0xD20, "SHPR3", sizes=(1, 2, 4), read=lambda s: s._read_shpr(12),
            write=lambda s, v: s._write_shpr(12, v)),
        Reg(0xD24, "SHCSR", read=_read_shcsr, write=_write_shcsr),
        Reg(0xD28, "CFSR", sizes=(1, 2, 4), access=W1C, read=_cfsr[0], write=_cfsr[1]),
        Reg(0xD2C, "HFSR", access=W1C, read=_hfsr[0], write=_hfsr[1]),
        Reg(0xD30, "DFSR", access=RW),
        Reg(0xD34, "MMFAR", read=_mmfar[0], write=_mmfar[1]),
        Reg(0xD38, "BFAR", read=_bfar[0], write=_bfar[1]),
        Reg(0xD3C, "AFSR", access=RW),
        *[Reg(off, name, access=RO, reset=value) for off, (name, value) in ID_REGISTERS.items()],
        Reg(0xD88, "CPACR", access=RSVD),
        Reg(0xDFC, "DEMCR", read=_read_demcr, write=_write_demcr),
        Reg(0xF00, "STIR", write=_write_stir, read=lambda s: 0),
    )

    def native_register_window(self) -> ScsReadPort:
        """The CPU maps the SCS with C reads of CVR and ICSR (none while tracing)."""
        self.native_reads.off = self.trace
        return self.native_reads

    def word_reads(self) -> dict[int, Callable[[], int]]:
        """4-byte reads the CPU's read trampoline may make straight to their register, past
        ``read`` (none while tracing; decided when the SCS is mapped)."""
        return {} if self.trace else self._word_reads

    def word_writes(self) -> dict[int, Callable[[int], None]]:
        """4-byte writes the CPU's write trampoline may make straight to SysTick and ICSR, past ``write``."""
        return {} if self.trace else self._word_writes

    def read(self, offset: int, size: int) -> int:
        if size == 4 and not self.trace and (direct := self._word_reads.get(offset)) is not None:
            return direct()
        if MPU_FIRST <= offset <= MPU_LAST:
            return (self.cpu.mpu.read(offset) >> (8 * (offset & 3))) & ((1 << (8 * size)) - 1)
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if size == 4 and not self.trace and (direct := self._word_writes.get(offset)) is not None:
            direct(value)
            return
        if MPU_FIRST <= offset <= MPU_LAST:
            if size != 4:
                self.guest_error(f"{size}-byte write to MPU register 0x{offset:03X} ignored")
                return
            self.cpu.mpu.write(offset, value)
        else:
            super().write(offset, size, value)

    def get_state(self) -> dict:
        state = super().get_state()
        state["systick"] = self.systick.get_state()
        state["demcr"] = self.demcr
        state["mpu"] = self.cpu.mpu.get_state()
        return state

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.systick.set_state(state["systick"])
        self.demcr = state["demcr"]
        if "mpu" in state:
            self.cpu.mpu.set_state(state["mpu"])


# The registers whose reads native code answers from values the model publishes (plain copies of
# the exception state): AIRCR, the priority bytes, the enabled set.
PLAIN_REGS = [reg for reg in SystemControlSpace.REGS
              if reg.name == "AIRCR" or reg.name.startswith(("NVIC_IPR", "SHPR", "NVIC_ISER", "NVIC_ICER"))]


def _bits(value: int) -> list[int]:
    bits = []
    while value:
        low = value & -value
        bits.append(low.bit_length() - 1)
        value ^= low
    return bits


class Dwt(Device):
    """Data Watchpoint and Trace unit (0xE0001000): only CTRL and CYCCNT.

    CYCCNT counts core cycles while CYCCNTENA is set (drivers time with it);
    comparators, PC sampling and the other profiling counters are not
    modelled (NUMCOMP reads 0).
    """

    SIZE = 0x1000

    def __init__(self, name: str, clock: object) -> None:
        super().__init__(name, clock)  # type: ignore[arg-type]
        self.cyc_base = 0
        self.cyc_start = 0

    def reset(self) -> None:
        super().reset()
        self.cyc_base = 0
        self.cyc_start = 0

    def _read_cyccnt(self) -> int:
        if self.get("CTRL") & 1:
            return (self.cyc_base + self.clock.now - self.cyc_start) & 0xFFFFFFFF
        return self.cyc_base

    def _write_cyccnt(self, value: int) -> None:
        self.cyc_base = value
        self.cyc_start = self.clock.now

    def _after_ctrl(self, old: int, new: int) -> None:
        if new & 1 and not old & 1:
            self.cyc_start = self.clock.now
        elif old & 1 and not new & 1:
            self.cyc_base = (self.cyc_base + self.clock.now - self.cyc_start) & 0xFFFFFFFF

    REGS = RegMap(
        Reg(0x000, "CTRL", access=RW, after_write=_after_ctrl),
        Reg(0x004, "CYCCNT", read=_read_cyccnt, write=_write_cyccnt),
    )
