"""What a firmware engineer needs when the board faults, as text.

A report names the exception, decodes CFSR/HFSR, gives the fault address
registers, the registers of the faulting context (from the stacked frame)
and the faulting PC and LR with their ELF symbols.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from unicorn import UcError

from emulator.clock import Clock
from emulator.cpu.cortexm import CFSR, FAULT_OF_CFSR_BIT, HFSR, CortexM3, Fault
from emulator.cpu.nvic import HARDFAULT, IRQ0, exception_name


class FaultedBoard(Protocol):
    """What a report reads from the board (``Machine`` is one; naming it here would be an import circle)."""

    cpu: CortexM3
    clock: Clock

    def symbol(self, address: int) -> str: ...


CFSR_TEXT = {
    "IACCVIOL": "instruction access violation", "DACCVIOL": "data access violation",
    "MUNSTKERR": "MemManage fault on unstacking", "MSTKERR": "MemManage fault on stacking",
    "MMARVALID": "MMFAR holds the address",
    "IBUSERR": "bus error on instruction fetch", "PRECISERR": "precise data bus error",
    "IMPRECISERR": "imprecise data bus error", "UNSTKERR": "bus fault on unstacking",
    "STKERR": "bus fault on stacking", "BFARVALID": "BFAR holds the address",
    "UNDEFINSTR": "undefined instruction", "INVSTATE": "invalid state (Thumb bit clear)",
    "INVPC": "invalid EXC_RETURN", "NOCP": "no coprocessor", "UNALIGNED": "unaligned access",
    "DIVBYZERO": "divide by zero",
}
HFSR_TEXT = {"VECTTBL": "vector table read fault", "FORCED": "escalated from a configurable fault",
             "DEBUGEVT": "debug event (BKPT without a debugger)"}


def decode(bits: dict[str, int], value: int) -> list[str]:
    return [name for name, bit in bits.items() if value & bit]


@dataclass
class FaultReport:
    headline: str
    exception: str
    cfsr: int
    hfsr: int
    mmfar: int
    bfar: int
    registers: dict[str, int] = field(default_factory=dict)
    pc_symbol: str = ""
    lr_symbol: str = ""
    time_cycles: int = 0
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines)

    def as_dict(self) -> dict[str, object]:
        return {"headline": self.headline, "exception": self.exception, "cfsr": self.cfsr,
                "hfsr": self.hfsr, "mmfar": self.mmfar, "bfar": self.bfar,
                "registers": self.registers, "pc": self.pc_symbol, "lr": self.lr_symbol,
                "time_cycles": self.time_cycles}


def fault_line(machine: FaultedBoard, fault: Fault | None, n: int) -> str:
    """One line for fault exception ``n`` taken (``fault``: the synchronous fault behind it, if any):
    the exception, what it escalated from, the cause, PC and symbol, status and address registers."""
    sysr = machine.cpu.sys
    name = exception_name(n)
    if fault is not None:
        origin = FAULT_OF_CFSR_BIT.get(fault.cfsr_bit, HARDFAULT)
        if origin != n:
            name += f" (escalated from {exception_name(origin)})"
        cause = CFSR_TEXT.get(fault.cfsr_bit) or HFSR_TEXT.get(fault.cfsr_bit) or fault.cfsr_bit
        if fault.detail:
            cause += f" ({fault.detail})"
        where = f" at PC {machine.symbol(fault.pc)}"
    else:
        causes = [CFSR_TEXT[b] for b in decode(CFSR, sysr.cfsr) if b not in ("MMARVALID", "BFARVALID")]
        cause = "; ".join(causes) or "pended, no fault status bits set"
        where = ""
    status = [f"CFSR=0x{sysr.cfsr:08X} {' '.join(decode(CFSR, sysr.cfsr)) or '-'}"]
    if sysr.hfsr:
        status.append(f"HFSR=0x{sysr.hfsr:08X} {' '.join(decode(HFSR, sysr.hfsr))}")
    if sysr.cfsr & CFSR["MMARVALID"]:
        status.append(f"MMFAR=0x{sysr.mmfar:08X}")
    if sysr.cfsr & CFSR["BFARVALID"]:
        status.append(f"BFAR=0x{sysr.bfar:08X}")
    return f"{name}: {cause}{where}; {', '.join(status)}"


def build_report(machine: FaultedBoard, n: int, *, dead_loop: bool = False, lockup: str | None = None,
                 headline: str | None = None, notes: Sequence[str] = (),
                 frame_sp: int | None = None) -> FaultReport:
    """The report for exception ``n``. ``lockup``: the core locked up (this text is the headline);
    ``headline``/``notes``: a headline and lines after it given by the caller; ``frame_sp``: where
    the faulting context's frame was stacked, when LR no longer says (a handler that went on)."""
    cpu = machine.cpu
    sysr = cpu.sys
    uc = cpu.uc
    regs = {f"r{i}": cpu.reg(f"r{i}") for i in range(13)}
    msp, psp = cpu.banked_sps()
    lr_now = cpu.reg("lr")
    stacked = None
    if frame_sp is None and not lockup and (lr_now & 0xFFFFFFF0) == 0xFFFFFFF0:
        frame_sp = psp if lr_now & 0xF == 0xD else msp
    if frame_sp is not None:
        try:
            stacked = struct.unpack("<8I", uc.mem_read(frame_sp, 32))
        except UcError:
            stacked = None
    if stacked:
        for name, value in zip(("r0", "r1", "r2", "r3", "r12", "lr", "pc", "xpsr"), stacked, strict=True):
            regs[name] = value
        regs["sp"] = frame_sp + 32 + (4 if stacked[7] & 0x200 else 0)
    else:
        regs.update(pc=cpu.pc, lr=lr_now, xpsr=cpu.reg("xpsr"), sp=cpu.reg("sp"))
    regs["msp"], regs["psp"] = msp, psp
    cfsr_bits = decode(CFSR, sysr.cfsr)
    hfsr_bits = decode(HFSR, sysr.hfsr)
    name = exception_name(n)
    pc_sym = machine.symbol(regs["pc"])
    lr_sym = machine.symbol(regs["lr"])
    last = getattr(cpu, "last_fault", None)
    if headline is None:
        headline = _headline(name, n, lockup, cfsr_bits, hfsr_bits, pc_sym)
    lines = [headline, *notes]
    if dead_loop and n in (2, 3, 4, 5, 6):
        lines.append(f"  the {name} handler at {machine.symbol(cpu.pc)} is an endless loop; stopped there")
    if last is not None and last.detail:
        # After a lockup the last fault taken is the one that led there, not the one that locked up.
        lines.append(f"  {'fault before the lockup' if lockup else 'cause'}: {last.detail}")
    lines.append(f"  CFSR  = 0x{sysr.cfsr:08X}  {' '.join(cfsr_bits) or '-'}")
    lines.append(f"  HFSR  = 0x{sysr.hfsr:08X}  {' '.join(hfsr_bits) or '-'}")
    if sysr.cfsr & CFSR["MMARVALID"]:
        lines.append(f"  MMFAR = 0x{sysr.mmfar:08X}")
    if sysr.cfsr & CFSR["BFARVALID"]:
        lines.append(f"  BFAR  = 0x{sysr.bfar:08X}")
    lines.append(f"  PC    = {pc_sym}")
    lines.append(f"  LR    = {lr_sym}")
    lines.append("  " + "  ".join(f"{k.upper():>4}={regs[k]:08X}" for k in ("r0", "r1", "r2", "r3")))
    lines.append("  " + "  ".join(f"{k.upper():>4}={regs[k]:08X}" for k in ("r4", "r5", "r6", "r7")))
    lines.append("  " + "  ".join(f"{k.upper():>4}={regs[k]:08X}" for k in ("r8", "r9", "r10", "r11")))
    lines.append("  " + "  ".join(f"{k.upper():>4}={regs[k]:08X}" for k in ("r12", "sp", "xpsr", "msp")))
    lines.append(f"  PSP={regs['psp']:08X}  time={machine.clock.now} cycles "
                 f"({machine.clock.now / machine.clock.hz:.6f} s)")
    return FaultReport(headline, name if not lockup else exception_name(HARDFAULT), sysr.cfsr, sysr.hfsr,
                       sysr.mmfar, sysr.bfar, regs, pc_sym, lr_sym, machine.clock.now, lines)


def _headline(name: str, n: int, lockup: str | None, cfsr_bits: list[str], hfsr_bits: list[str],
              pc_sym: str) -> str:
    if lockup:
        return f"firmware fault: {lockup}"
    if n in (2, 3, 4, 5, 6):
        causes = [CFSR_TEXT.get(b, b) for b in cfsr_bits if b not in ("MMARVALID", "BFARVALID")]
        causes += [HFSR_TEXT[b] for b in hfsr_bits]
        cause = "; ".join(causes) or "no fault status bits set"
        return f"firmware fault: {name} ({cause}) at {pc_sym}"
    irq = f" (IRQ {n - IRQ0})" if n >= IRQ0 else ""
    return f"firmware fault: unhandled exception {name}{irq}: its handler loops forever"
