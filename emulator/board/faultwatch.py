"""Faults a user must see even when the firmware handles them, and the ways a run gets stuck.

The machine's ``FaultWatch`` writes to the board log (source ``cpu``):

* every fault exception taken, one ``warning`` line: the exception (and what
  it escalated from), the cause from CFSR/HFSR, the faulting PC and its
  symbol, the status registers and MMFAR/BFAR when valid. The same fault at
  the same PC and address is logged ``REPEAT_LINES`` times in a row, then
  counted;
* an access to an address no memory or device serves, once per 4 KiB page:
  the address, the access and the PC with its symbol (Renode warns the same
  way about non-existing peripherals), for the first ``MAX_PAGES`` pages.
  With ``strict`` the first one stops the run before the BusFault is taken.

and stops the run with a fault report (the machine returns it) when:

* **a fault storm**: the same fault at the same PC and address is taken
  ``STORM`` times in a row (a handler that returns to the faulting
  instruction, or a HardFault -> INVPC -> HardFault loop): a lockup. At
  about 20 µs of host time per fault this bounds a storm to a few
  milliseconds of wall time, whatever ``--max-time`` says;
* **a CPU parked in a fault handler**: while a HardFault, MemManage,
  BusFault or UsageFault handler is active, for more than ``PARK_S`` of
  board time either the PC seen at slice boundaries stays in one function
  (a ``while (1)`` after printing a crash dump, a branch to itself), or
  no interrupt can preempt the handler (HardFault, or PRIMASK/FAULTMASK
  set: a blinking-LED loop over several functions is parked too). Checked
  only at slice boundaries and only while a fault handler is active, so
  firmware that does not fault pays one integer test per slice;
* **a reset vector that points nowhere executable** (a wrong image): a
  lockup at once, as QEMU reports for the same image.

A handler parked on purpose (waiting for a watchdog to reset the board) is
stopped too: 100 ms of board time is far longer than any handler that
recovers takes.

* **a dead spin with interrupts masked** anywhere else (an assert or error
  hook that does ``cpsid i`` and ``b .``, in thread mode or an interrupt
  handler): PRIMASK set and the PC on the same branch-to-itself at slice
  boundaries for more than ``PARK_S``, with nothing left to wake it: no NMI
  pending and no device wired to NMI with a timeout armed (a running
  watchdog would end the spin with its NMI or reset, so it is left alone).
  A spin that polls a device, or masks with BASEPRI only (higher-priority
  interrupts still run), is not stopped; ``--max-time`` bounds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from unicorn import UcError

from emulator.board.faultreport import FaultedBoard, FaultReport, build_report, fault_line
from emulator.boardlog import BoardLog
from emulator.cpu.cortexm import FAULT_OF_CFSR_BIT, Fault
from emulator.cpu.nvic import BUSFAULT, HARDFAULT, MEMMANAGE, NMI, USAGEFAULT, ExceptionState, exception_name

FAULT_EXCEPTIONS = (HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT)
FAULT_ACTIVE = sum(1 << n for n in FAULT_EXCEPTIONS)  # bits of ExceptionState.active
REPEAT_LINES = 3     # log lines for the same fault in a row before they are only counted
STORM = 1000         # the same fault in a row this often is a lockup
PARK_S = 0.1         # board time a fault handler may spin in one function
PAGE = 0x1000
BRANCH_TO_SELF = 0xE7FE  # Thumb `b .`
MAX_PAGES = 256      # pages with an access line; a firmware that probes more is told once


class WatchedBoard(FaultedBoard, Protocol):
    """What the watch uses of the board (``Machine`` is one; naming it here would be an import circle)."""

    board_log: BoardLog
    exc: ExceptionState
    strict: bool


@dataclass
class Stuck:
    """Why the watch wants the run to stop: the machine returns ``StopReason(kind, report)``."""

    kind: str  # "fault" or "lockup"
    report: FaultReport


class FaultWatch:
    def __init__(self, machine: WatchedBoard) -> None:
        self.m = machine
        self.park_cycles = int(PARK_S * machine.clock.hz)
        self.pages_seen: set[int] = set()
        self._served: list[tuple[int, int]] = []
        self.nmi_sources: list[Any] = []  # devices wired to the NMI input (the machine sets them)
        self.spin_pc = -1                 # the PC seen with PRIMASK set at the last boundary (-1: none)
        self._spin_since = 0
        # ... and whether it is a branch to itself. While it is not, a check at the same PC has
        # nothing to do: the run loop skips it (reading only the PC).
        self.spin_loop = False
        self._executable: list[tuple[int, int]] = []
        self.reset()

    def reset(self) -> None:
        self._last_key: tuple[str, int, int | None] | None = None
        self._repeats = 0
        self._storm: str | None = None
        self._announced = 0           # the fault exception on_fault has just logged
        self._entry: tuple[int, int] | None = None  # (exception, frame address) of the fault handler
        self._park_fn: str | None = None
        self._park_since = 0          # since when the PC stays in _park_fn
        self._masked_since = -1       # since when nothing but NMI could preempt the handler (-1: not)

    # ------------------------------------------------------------ the memory map
    def add_window(self, base: int, size: int, executable: bool = False) -> None:
        """Something serves [base, base + size) (memory or a device window)."""
        self._served.append((base, base + size))
        if executable:
            self._executable.append((base, base + size))

    def served(self, address: int) -> bool:
        return any(lo <= address < hi for lo, hi in self._served)

    # ---------------------------------------------------------- faults taken
    def on_fault(self, fault: Fault, target: int) -> None:
        """The core takes ``fault`` as exception ``target`` (called before the entry)."""
        key = (fault.cfsr_bit, fault.pc, fault.address)
        if key == self._last_key:
            self._repeats += 1
        else:
            if self._repeats >= REPEAT_LINES:
                self.m.board_log.warning("cpu", f"(that fault was taken {self._repeats + 1} times in a row)")
            self._last_key, self._repeats = key, 0
        self._announced = target
        if self._repeats < REPEAT_LINES:
            self.m.board_log.warning("cpu", fault_line(self.m, fault, target))
        elif self._repeats == REPEAT_LINES:
            self.m.board_log.warning("cpu", "the same fault again; further repeats are only counted")
        if self._repeats + 1 >= STORM and self._storm is None:
            origin = exception_name(FAULT_OF_CFSR_BIT.get(fault.cfsr_bit, HARDFAULT))
            self._storm = (f"lockup: fault storm: {origin} ({fault.cfsr_bit}) at {self.m.symbol(fault.pc)} "
                           f"taken {STORM} times in a row (its handler returns to the faulting "
                           "instruction or faults again)")

    def on_entry(self, n: int) -> Stuck | None:
        """Exception ``n`` was entered (frame stacked, LR = EXC_RETURN)."""
        if n not in FAULT_EXCEPTIONS:
            return None
        m = self.m
        lr = m.cpu.reg("lr")
        msp, psp = m.cpu.banked_sps()
        self._entry = (n, psp if lr & 0xF == 0xD else msp)
        self._park_fn, self._park_since = None, m.clock.now
        self._masked_since = m.clock.now if n == HARDFAULT else -1
        if self._announced != n:  # pended, not a synchronous fault (e.g. a stacking error)
            m.board_log.warning("cpu", fault_line(m, None, n))
        self._announced = 0
        if self._storm is not None:
            report = build_report(m, n, headline=f"firmware fault: {self._storm}")
            self._storm = None
            return Stuck("lockup", report)
        return None

    # ------------------------------------------------- accesses nothing serves
    def before_fault(self, fault: Fault) -> Stuck | None:
        """A recorded fault, before it is taken: report an access nothing serves."""
        if fault.cfsr_bit not in ("PRECISERR", "IBUSERR") or fault.address is None:
            return None
        address = fault.address
        if self.served(address):
            return None
        page = address // PAGE
        if page in self.pages_seen:
            return None
        self.pages_seen.add(page)
        m = self.m
        if len(self.pages_seen) > MAX_PAGES and not m.strict:
            if len(self.pages_seen) == MAX_PAGES + 1:
                m.board_log.warning("cpu", f"accesses nothing serves on more than {MAX_PAGES} pages; "
                                    "no more lines for them")
            return None
        access = fault.detail or f"access to 0x{address:08X}"
        if fault.cfsr_bit == "IBUSERR":  # the PC is the address: LR tells where the call came from
            where = f" (LR {m.symbol(m.cpu.reg('lr'))})"
        else:
            where = f" at PC {m.symbol(fault.pc)}"
        text = f"{access}{where}: no memory or device serves this address"
        m.board_log.warning("cpu", text)
        if not m.strict:
            return None
        report = build_report(m, BUSFAULT, headline=f"firmware fault: {text} (--strict)",
                              notes=["  stopped at the first access nothing serves (--strict); "
                                     "without --strict the firmware gets a BusFault"])
        return Stuck("fault", report)

    # ------------------------------------------------------ a parked handler
    def check_parked(self, symbol_of: Callable[[int], str | None]) -> Stuck | None:
        """At a slice boundary while a fault handler is active: is it spinning in one function, or
        running where no interrupt can preempt it (HardFault, PRIMASK or FAULTMASK set)?"""
        m = self.m
        pc = m.cpu.pc & ~1
        name = symbol_of(pc)
        fn = name.split("+", 1)[0] if name else f"0x{pc & ~0xFF:08X}"
        now = m.clock.now
        if fn != self._park_fn:
            self._park_fn, self._park_since = fn, now
        primask, faultmask, _basepri = m.cpu.read_masks()
        if primask & 1 or faultmask & 1 or m.exc.active >> HARDFAULT & 1:
            if self._masked_since < 0:
                self._masked_since = now
        else:
            self._masked_since = -1
        since = min(self._park_since, now if self._masked_since < 0 else self._masked_since)
        if now - since <= self.park_cycles:
            return None
        active = m.exc.active & FAULT_ACTIVE
        n = self._entry[0] if self._entry else (active & -active).bit_length() - 1
        where = name.split("+", 1)[0] if name else f"code around 0x{pc:08X} (no symbol)"
        headline = (f"firmware fault: parked in the {exception_name(n)} handler: {where} has run for "
                    f"{(now - since) / m.clock.hz * 1000:.0f} ms of board time without "
                    f"returning (at {m.symbol(pc)})")
        frame = self._entry[1] if self._entry else None
        report = build_report(m, n, headline=headline, frame_sp=frame,
                              notes=["  the registers below are the faulting context's (the stacked frame)"])
        return Stuck("fault", report)

    # --------------------------------------------------- a spin with PRIMASK set
    def timing_masked_spin(self) -> bool:
        """Is a branch to itself with PRIMASK set being timed (its boundaries count)?"""
        return self.spin_pc >= 0 and self.spin_loop

    def check_masked_spin(self, symbol_of: Callable[[int], str | None],
                          pc: int | None = None) -> Stuck | None:
        """At a slice boundary with PRIMASK set (no fault handler active): a dead spin?
        ``pc``: the core's PC (bit 0 clear) if the caller has read it."""
        m = self.m
        if pc is None:
            pc = m.cpu.pc & ~1
        now = m.clock.now
        if pc != self.spin_pc:
            try:
                self.spin_loop = m.cpu.read_u16(pc) == BRANCH_TO_SELF
            except UcError:
                self.spin_loop = False
            self.spin_pc, self._spin_since = pc, now
            return None
        if not self.spin_loop or now - self._spin_since <= self.park_cycles or m.exc.pending >> NMI & 1:
            return None
        if any(getattr(dev, "deadline", None) is not None for dev in self.nmi_sources):
            return None  # a running watchdog: its NMI or reset ends the spin
        name = symbol_of(pc)
        where = name.split("+", 1)[0] if name else f"code at 0x{pc:08X} (no symbol)"
        ipsr = m.cpu.ipsr()
        context = f"the {exception_name(ipsr)} handler" if ipsr else "thread mode"
        headline = (f"firmware fault: dead spin: {where} branches to itself with interrupts masked "
                    f"(PRIMASK) in {context} for {(now - self._spin_since) / m.clock.hz * 1000:.0f} ms "
                    f"of board time, and nothing is left to wake it (at {m.symbol(pc)})")
        return Stuck("fault", build_report(m, ipsr, headline=headline))

    # ------------------------------------------------------------- the reset vector
    def check_reset_vector(self) -> Stuck | None:
        """After a reset: does the reset vector point into executable memory?"""
        m = self.m
        pc = m.cpu.pc & ~1
        if any(lo <= pc < hi for lo, hi in self._executable):
            return None
        vtor = m.cpu.sys.vtor
        sp, pc = m.cpu.read_words(vtor, 2)
        text = (f"lockup: the reset vector does not point into executable memory: SP=0x{sp:08X}, "
                f"PC=0x{pc:08X} read from the vector table at 0x{vtor:08X} (a wrong image, or one "
                "linked for another address?)")
        report = build_report(m, HARDFAULT, lockup=text)
        return Stuck("lockup", report)
