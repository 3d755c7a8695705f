"""A Cortex-M3 core on Unicorn, with the exception model Unicorn leaves out.

Unicorn (QEMU's TCG) executes Thumb-2 instructions; everything ARMv7-M adds
around them is here, written to the ARMv7-M ARM (DDI0403E) B1.5: exception
entry (PushStack, 8-byte alignment word), return (EXC_RETURN, PopStack),
tail-chaining, MSP/PSP banking, SVC, faults and their escalation, lockup.

Unicorn facts this relies on (2.1.4, checked by tests/emulator):

* ``UC_MODE_THUMB`` + ``ctl_set_cpu_model(CORTEX_M3)``; ``UC_MODE_MCLASS``
  would silently make a Cortex-M33.
* An exception return (``bx lr`` with EXC_RETURN in handler mode) arrives as
  ``UC_HOOK_INTR`` intno 8 with PC = EXC_RETURN; unstacking there and
  writing PC continues inside the same ``emu_start``.
* After writing IPSR, a read-modify-write of CPSR is needed or the next
  EXC_RETURN branch is not recognised (hflags are not rebuilt).
* The API's MSP/PSP view follows QEMU's banking, and IPSR writes through
  the API keep it consistent (R13 swaps with the mode). CONTROL.SPSEL
  writes are ignored in handler mode and unprivileged thread mode cannot
  read MSP/PSP, so every mode change goes through ``set_context``.
* An ``emu_stop`` from an MMIO callback aborts the current instruction,
  which runs again on the next ``emu_start`` (repeating its side effects),
  and PC is only synchronised per block: so a slice is ended from an MMIO
  callback at the next block boundary instead (``request_stop``).

The MPU is ``emulator.cpu.mpu`` (state, decision) and ``emulator.cpu.mputlb``
(enforcement through Unicorn's virtual TLB while it is enabled); a denied
access arrives here as an unmapped access to ``mputlb.TRAP`` and becomes a
MemManage fault (IACCVIOL, or DACCVIOL with MMFAR).

Not modelled: the FPU (there is none on an M3), unaligned-access
trapping (CCR.UNALIGN_TRP: Unicorn gives no hook for it), late arrival,
the debug halting state beyond what the GDB server needs.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_OK,
    UC_ERR_READ_UNMAPPED,
    UC_HOOK_CODE,
    UC_HOOK_INSN_INVALID,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_READ_PROT,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_THUMB,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_py3.unicorn import uclib

from emulator.bus.regwin import NativeReads
from emulator.bus.wordfifo import WordFifoPort
from emulator.clock import Clock
from emulator.cpu import blockclock, excpath
from emulator.cpu.blockclock import WORK_PULL, WORK_SYNC, BlockClock
from emulator.cpu.mpu import Mpu
from emulator.cpu.mputlb import FETCH, MpuTlb
from emulator.cpu.nvic import (
    BUSFAULT,
    HARDFAULT,
    MEMMANAGE,
    NMI,
    PENDSV,
    SVCALL,
    SYSTICK,
    USAGEFAULT,
    ExceptionState,
    exception_name,
)
from emulator.cpu.ucregs import RegisterFile, WordReader

log = logging.getLogger("vboard.cpu")

# uint64_t (*)(uc_engine*, uint64_t offset, unsigned size, void*) and the write twin.
_MMIO_READ = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint,
                              ctypes.c_void_p)
_MMIO_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                               ctypes.c_void_p)

NO_SLICE = blockclock.NO_SLICE  # CortexM3.native_base while no slice runs

# Unicorn's "until" address: never executed on any board we model (the
# top of the vendor-specific system region).
UNTIL = 0xFFFFFF00

EXC_RETURN_HANDLER = 0xFFFFFFF1
EXC_RETURN_THREAD_MSP = 0xFFFFFFF9
EXC_RETURN_THREAD_PSP = 0xFFFFFFFD

XPSR_T = 1 << 24
XPSR_ALIGN = 1 << 9
CCR_STKALIGN_BIT = 9
SCR_SLEEPONEXIT = 1 << 1

# CFSR bits (B3.2.15)
CFSR = {
    "IACCVIOL": 1 << 0, "DACCVIOL": 1 << 1, "MUNSTKERR": 1 << 3, "MSTKERR": 1 << 4,
    "MMARVALID": 1 << 7,
    "IBUSERR": 1 << 8, "PRECISERR": 1 << 9, "IMPRECISERR": 1 << 10, "UNSTKERR": 1 << 11,
    "STKERR": 1 << 12, "BFARVALID": 1 << 15,
    "UNDEFINSTR": 1 << 16, "INVSTATE": 1 << 17, "INVPC": 1 << 18, "NOCP": 1 << 19,
    "UNALIGNED": 1 << 24, "DIVBYZERO": 1 << 25,
}
HFSR = {"VECTTBL": 1 << 1, "FORCED": 1 << 30, "DEBUGEVT": 1 << 31}

FAULT_OF_CFSR_BIT = {
    **{b: MEMMANAGE for b in ("IACCVIOL", "DACCVIOL", "MUNSTKERR", "MSTKERR")},
    **{b: BUSFAULT for b in ("IBUSERR", "PRECISERR", "IMPRECISERR", "UNSTKERR", "STKERR")},
    **{b: USAGEFAULT for b in ("UNDEFINSTR", "INVSTATE", "INVPC", "NOCP", "UNALIGNED", "DIVBYZERO")},
}

CORE_REGS = [getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)] + [
    A.UC_ARM_REG_SP, A.UC_ARM_REG_LR, A.UC_ARM_REG_PC]
_FRAME_REGS = [A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3,
               A.UC_ARM_REG_R12, A.UC_ARM_REG_LR]
_MASK_REGS = (A.UC_ARM_REG_PRIMASK, A.UC_ARM_REG_FAULTMASK, A.UC_ARM_REG_BASEPRI)
_IPSR_CONTROL = (A.UC_ARM_REG_IPSR, A.UC_ARM_REG_CONTROL)
_MPU_FRAME_REGS = (A.UC_ARM_REG_IPSR, A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_SP, A.UC_ARM_REG_PSP)
_NEGATIVE_PRIORITY = (1 << NMI) | (1 << HARDFAULT)
_SYSTICK_BIT = 1 << SYSTICK
_PLANNABLE = -(1 << SVCALL)  # exceptions whose return native code may make: SVCall and up
_NO_MASKS_MATCH = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)  # a mask watch that fires at the next block
_MASK_SET = frozenset(_MASK_REGS)
# void (*)(uc_engine*, uint32_t intno, void *user_data)
_INTR_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)


@dataclass
class SystemRegisters:
    """SCB state the core itself uses; ``emulator.cpu.scs`` is its register view."""

    vtor: int = 0
    ccr: int = 0x200  # STKALIGN set at reset (Cortex-M3 r2p0 and later)
    scr: int = 0
    cfsr: int = 0
    hfsr: int = 0
    mmfar: int = 0
    bfar: int = 0

    @property
    def stkalign(self) -> bool:
        return bool(self.ccr >> CCR_STKALIGN_BIT & 1)

    @property
    def sleeponexit(self) -> bool:
        return bool(self.scr & SCR_SLEEPONEXIT)


@dataclass
class Fault:
    """A synchronous fault found while running; taken at the slice boundary."""

    cfsr_bit: str
    pc: int
    address: int | None = None
    detail: str = ""


class Lockup(Exception):
    """The core locked up (a fault while at HardFault or NMI priority)."""


class CortexM3:
    """The core: Unicorn plus exception entry/return, banking and faults."""

    CPUID = 0x410FC231

    def __init__(self, clock: Clock, exceptions: ExceptionState) -> None:
        self.clock = clock
        self.exc = exceptions
        self.sys = SystemRegisters()
        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M3)
        self.uc = uc
        self._bc = BlockClock(uc)
        self._regs = RegisterFile(uc)
        self._words = WordReader(uc)
        self._excpath = excpath.ExcPath(uc)
        self._returns = self._excpath  # the planned returns' side of it (see plan_native)
        self._returns_state = self._excpath._p
        # Returns native code made from handlers Python entered, and exceptions it entered when
        # the watched masks changed, as native_sync applied them (the properties add the yields
        # native code made whole).
        self._planned_returns = 0
        self._watched_entries = 0
        # The address of excpath's count of logged changes, whose being set at a slice's end the
        # block clock reports (with the native SysTick copy's writes: see slice_pull).
        returns = self._returns_state
        self._ret_count_at = ctypes.addressof(returns) + type(returns).ret_count.offset
        self.slice_pull = None
        # The SCS's: stores the ICSR image native reads answer with, given the highest pending,
        # enabled exception (plan_native has it at hand when the image is invalid; see scsread).
        self.store_icsr_image: Callable[[int], None] | None = None
        # That image's valid flag, which a planned return (ret_icsr_n) may set (see native_sync);
        # a flag nothing sets while there is no image.
        self._icsr_image_valid = ctypes.c_uint32()
        # May native code enter exception n at vector v when the watched masks change (the
        # machine's say: nobody observes entries, the handler is known, nothing watches the
        # slice boundary it skips)? None: never.
        self.entry_allowed: Callable[[int, int], bool] | None = None
        self._entry_armed = False
        self._vectors: dict[tuple[int, int], int] = {}  # (VTOR, n) -> vector, as last read or entered
        # Exception entry, return and tail-chain through native/excpath.c where it handles the
        # case; False: always the Python path (the reference the native one is tested against).
        self.native_exceptions = True
        self.mpu = Mpu()
        self.mputlb = MpuTlb(uc, self.mpu, self._mpu_state, lambda: self.ram_ranges)
        self.rr = self._regs.read
        self._reg_write = self._regs.write
        self._pc_buf = ctypes.c_uint32()
        # The PC as the last slice reported it, until anything may move it (a register write, an
        # exception entry or return, a step or the next slice): ``pc`` answers from it then.
        self.slice_pc: int | None = None
        self._read_pc = functools.partial(uclib.uc_reg_read, uc._uch, A.UC_ARM_REG_PC,
                                          ctypes.addressof(self._pc_buf))
        self._ipsr_buf = ctypes.c_uint32()
        self._u16 = ctypes.c_uint16()  # read_u16's
        self._u16_ptr = ctypes.cast(ctypes.pointer(self._u16), ctypes.POINTER(ctypes.c_char))
        self._mem_read = uclib.uc_mem_read
        self._read_ipsr = functools.partial(uclib.uc_reg_read, uc._uch, A.UC_ARM_REG_IPSR,
                                            ctypes.addressof(self._ipsr_buf))
        # uc_reg_read_batch of PRIMASK, FAULTMASK and BASEPRI into _mask_values (read_many without frames).
        mask_ids, self._mask_values, mask_ptrs = self._regs._batch(_MASK_REGS)
        self._read_mask_regs = functools.partial(uclib.uc_reg_read_batch, uc._uch, mask_ids, mask_ptrs, 3)
        # PRIMASK/FAULTMASK/BASEPRI as last read between slices: exceptions.known_masks (None:
        # read them again).
        exceptions.masks = self.read_masks  # exceptions.on_change: _exceptions_changed while running
        # plan_native sets the return and entry plans on excpath's state itself (see ExcPath); the
        # NVIC clears the return plan at every change while one is set.
        self._drop_return_plan = exceptions.drop_return_plan = self._returns.return_plan_clearer()
        exceptions.attach_level_words(self._excpath.level_words())
        self._plan_at = self._excpath.plan_address
        self._plan_words = (ctypes.c_uint32 * excpath.RET_PLAN_WORDS).from_address(self._plan_at)
        self._entry_params: tuple[int | bool, ...] = ()  # what the entry plan was last set to
        # The entry planned, when the plan made after it would be its return alone (nothing active
        # before it, its return planned): native_sync's entry then keeps the plan native code
        # left, which is that one (0: none).
        self._entry_then = 0
        self._pend_params: tuple[int, ...] = ()  # what the pend plan was last set to
        # Set once an ICSR write pended PendSV with nothing active and nothing pending and enabled
        # (``note_yield``): from then on the plans include the pend plan (``_plan_pend``).
        self.plans_pends = False
        # State of the current slice.
        self.running = False
        self._stop_requested = False
        self.fault: Fault | None = None
        self.sleeping = False
        self.event_register = False
        self.locked_up: str | None = None
        self.halt_reason: str | None = None
        # Hooks the machine installs.
        self.semihosting: Callable[[CortexM3], bool] | None = None
        self.on_bkpt: Callable[[CortexM3, int], bool] | None = None
        self.on_exception_entry: Callable[[int, int], None] | None = None
        # Exception n -> a vector whose entries on_exception_entry need not hear of (its owner's
        # say; the owner clears it when that changes).
        self.quiet_entries: dict[int, int] = {}
        self.on_exception_return: Callable[[int], None] | None = None
        # Every synchronous fault about to be taken, with the exception it is taken as.
        self.on_fault: Callable[[Fault, int], None] | None = None
        self.trace_exceptions: Callable[[str], None] | None = None
        self.code_ranges: list[tuple[int, int]] = []
        self.ram_ranges: list[tuple[int, int]] = []
        self._mmio_callbacks: list[tuple[object, object]] = []  # keep the trampolines alive
        self._div_hooks: list[int] = []
        # Interrupts reach _on_intr through the native hook of blockclock (which handles the
        # return from a natively taken SysTick tick itself).
        self._intr_hook = _INTR_HOOK(self._on_intr)
        self._bc.attach_exceptions(*self._excpath.native(),
                                   ctypes.cast(self._intr_hook, ctypes.c_void_p).value or 0)
        self._pend_callback = self._bc.pend_callback()
        self._progress = self._bc.progress  # the clock's view into a running slice
        self._uch = uc._uch
        # The clock's cycle count when the running slice began, for native code that needs
        # ``clock.now`` mid-slice (this plus the block clock's progress; see native_clock);
        # NO_SLICE between slices (a debugger's or RPC's memory read of a device window). The
        # block clock's ``base``, which the slice's native call puts back to NO_SLICE at its end.
        self.native_base = ctypes.c_int64.from_address(ctypes.addressof(self._bc.state)
                                                       + type(self._bc.state).base.offset)
        # After a slice: the cycles of it spent asleep in WFI and the SysTick ticks taken natively.
        self.slice_idle = 0
        self.slice_ticks = 0
        self._bc_state = self._bc.state
        self._bc_out = self._bc.out
        self._on_exceptions_change = self._exceptions_changed  # exc.on_change while a slice runs
        uc.hook_add(UC_HOOK_INSN_INVALID, self._hook_invalid)
        uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED | UC_HOOK_MEM_FETCH_UNMAPPED
                    | UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT,
                    self._hook_mem_invalid)

    # ------------------------------------------------------------------ memory

    def map_ram_ptr(self, base: int, size: int, perms: int, ptr: int) -> None:
        self.uc.mem_map_ptr(base, size, perms, ptr)
        self.ram_ranges.append((base, base + size))
        self._excpath.set_ram(self.ram_ranges)

    def map_mmio(self, base: int, size: int, read: Callable[[int, int], int],
                 write: Callable[[int, int, int], None], fifo_port: WordFifoPort | None = None,
                 reg_window: NativeReads | None = None,
                 word_writes: Mapping[int, Callable[[int], None]] | None = None,
                 word_reads: Mapping[int, Callable[[], int]] | None = None) -> None:
        """Map a device window; ``read(offset, size)``/``write(offset, size, value)``.

        With ``word_writes`` (the SCS's), every write to the window ends native ticks (what
        ``end_native_ticks`` does) and a 4-byte write to one of its offsets goes straight to
        ``word_writes[offset](value)`` rather than to ``write``; a 4-byte read of one of the
        offsets of ``word_reads`` likewise to ``word_reads[offset]()`` rather than to ``read``.

        With a ``fifo_port``, its C callbacks serve the window and pass what they do not
        take to ``read``/``write``. With a ``reg_window``, its C read callback answers reads
        of the device's stored-value registers and passes the others on (one that
        ``serves_writes`` takes writes likewise: a ``RegisterWindow``'s ``fast_write`` registers, the
        SCS's ICSR yields); behind a ``fifo_port``, it comes after the port's FIFO accesses."""

        # Registered through Unicorn's C API with our own ctypes trampolines:
        # the Python binding's wrappers add two frames to every device access.
        # A model must not raise; if one does, the access reads 0 and the
        # error is logged rather than unwinding through C.
        bc = self._bc.state
        returns = self._returns_state
        exc = self.exc
        sync = self.native_sync
        plan = self.plan_native

        device_read, device_write = read, write
        if word_reads:  # the SCS's: a 4-byte read of one of them goes straight to it
            def device_read(offset: int, sz: int) -> int:
                direct = word_reads.get(offset) if sz == 4 else None
                return read(offset, sz) if direct is None else direct()
        if word_writes is not None:  # the SCS's: every write ends native ticks (after the sync)
            def device_write(offset: int, sz: int, value: int) -> None:
                bc.tick_on = 0  # end_native_ticks(), without the call
                direct = word_writes.get(offset) if sz == 4 else None
                if direct is None:
                    write(offset, sz, value)
                else:
                    direct(value)

        def on_read(_uc: int, offset: int, sz: int, _ud: int) -> int:
            if bc.tick_active or returns.ret_count:
                sync()
            try:
                value = device_read(offset, sz) & ((1 << (8 * sz)) - 1)
            except Exception:
                log.exception("device read at 0x%08X failed", base + offset)
                value = 0
            if exc.changed:
                plan()
            return value

        def on_write(_uc: int, offset: int, sz: int, value: int, _ud: int) -> None:
            if bc.tick_active or returns.ret_count:
                sync()
            try:
                device_write(offset, sz, value)
            except Exception:
                log.exception("device write at 0x%08X failed", base + offset)
            if exc.changed:
                plan()

        read_fn = _MMIO_READ(on_read)
        write_fn = _MMIO_WRITE(on_write)
        read_cb = ctypes.cast(read_fn, ctypes.c_void_p).value or 0
        write_cb = ctypes.cast(write_fn, ctypes.c_void_p).value or 0
        read_user = write_user = 0
        if reg_window is not None:  # the window, then the trampolines
            reg_window.set_slow_path(read_cb)
            read_cb, read_user = reg_window.callbacks()
            if reg_window.serves_writes:
                reg_window.set_slow_write(write_cb)
                write_cb, write_user = reg_window.write_callbacks()
        if fifo_port is not None:  # the FIFO port first, then the above
            fifo_port.set_slow_path(read_cb, write_cb, read_user, write_user)
            read_cb, write_cb, read_user = fifo_port.callbacks()
            write_user = read_user
        status = uclib.uc_mmio_map(self.uc._uch, base, size,
                                   ctypes.c_void_p(read_cb), ctypes.c_void_p(read_user or None),
                                   ctypes.c_void_p(write_cb), ctypes.c_void_p(write_user or None))
        if status:
            raise UcError(status)
        self._mmio_callbacks.append((read_fn, write_fn))

    def read_u32(self, addr: int) -> int:
        try:
            return self._words.words(addr, 1)[0]
        except ValueError:
            raise UcError(UC_ERR_READ_UNMAPPED) from None

    def read_u16(self, addr: int) -> int:
        # self._words.halfword(addr), without its frame (the run loop's masked-spin check)
        if self._mem_read(self._uch, addr, self._u16_ptr, 2):
            raise UcError(UC_ERR_READ_UNMAPPED)
        return self._u16.value

    def read_words(self, addr: int, n: int) -> list[int]:
        try:
            return self._words.words(addr, n)
        except ValueError:
            raise UcError(UC_ERR_READ_UNMAPPED) from None

    # --------------------------------------------------------------- registers
    @property
    def pc(self) -> int:
        pc = self.slice_pc
        if pc is not None:
            return pc
        if self._read_pc():  # uc_reg_read of the PC into _pc_buf
            raise ValueError("cannot read the PC")
        return self._pc_buf.value

    @pc.setter
    def pc(self, value: int) -> None:
        self.rw(A.UC_ARM_REG_PC, value | 1)  # bit 0 keeps Thumb state

    def reg(self, name: str) -> int:
        return self.rr(getattr(A, f"UC_ARM_REG_{name.upper()}"))

    def rw(self, reg: int, value: int) -> None:
        self.slice_pc = None
        if reg in _MASK_SET:
            self.exc.known_masks = None
        self._reg_write(reg, value)

    def read_masks(self) -> tuple[int, int, int]:
        """(PRIMASK, FAULTMASK, BASEPRI). Between slices only the core's own writes change them,
        so they are read once per slice; inside one (from a hook) always afresh."""
        masks = self.exc.known_masks
        if masks is None or self.running:
            if self._read_mask_regs():
                raise ValueError("cannot read PRIMASK, FAULTMASK and BASEPRI")
            masks = tuple(self._mask_values)
            if not self.running:
                self.exc.known_masks = masks
        return masks

    def ipsr(self) -> int:
        if self._read_ipsr():  # uc_reg_read of the IPSR into _ipsr_buf (rr without its frame)
            raise ValueError("cannot read the IPSR")
        return self._ipsr_buf.value & 0x1FF

    def control(self) -> int:
        return self.rr(A.UC_ARM_REG_CONTROL)

    def banked_sps(self) -> tuple[int, int]:
        """(MSP, PSP), whatever mode and privilege the core is in."""
        ipsr = self.ipsr()
        control = self.control()
        if ipsr or not control & 1:
            return self.rr(A.UC_ARM_REG_MSP), self.rr(A.UC_ARM_REG_PSP)
        # Unprivileged thread mode: the API reads 0; in handler mode it reads
        # both banks (Unicorn's IPSR write keeps the banking consistent).
        self.rw(A.UC_ARM_REG_IPSR, 15)
        msp, psp = self.rr(A.UC_ARM_REG_MSP), self.rr(A.UC_ARM_REG_PSP)
        self.rw(A.UC_ARM_REG_IPSR, 0)
        self.rebuild_hflags()
        return msp, psp

    def rebuild_hflags(self) -> None:
        self.rw(A.UC_ARM_REG_CPSR, self.rr(A.UC_ARM_REG_CPSR))

    def set_context(self, ipsr: int, control: int, msp: int, psp: int) -> None:
        """Put the core in mode ``ipsr`` with CONTROL, MSP and PSP as given."""
        thread = ipsr == 0
        self.rw(A.UC_ARM_REG_IPSR, 15)          # handler mode: privileged
        self.rw(A.UC_ARM_REG_CONTROL, 0)        # nPRIV=0 (SPSEL ignored here)
        self.rw(A.UC_ARM_REG_IPSR, 0)           # privileged thread mode
        self.rw(A.UC_ARM_REG_MSP, msp)          # banking is exact here
        self.rw(A.UC_ARM_REG_PSP, psp)
        self.rw(A.UC_ARM_REG_CONTROL, control & (0x3 if thread else 0x1))
        if not thread:
            self.rw(A.UC_ARM_REG_IPSR, ipsr)
        self.rebuild_hflags()

    # ----------------------------------------------------------------- reset
    def reset(self, vtor: int = 0) -> None:
        """Power-on or system reset: SP and PC from the vector table at ``vtor``."""
        self.exc.reset()
        self.sys = SystemRegisters(vtor=vtor)
        self.mpu.reset()  # and the TLB follows (MpuTlb.sync)
        for r in CORE_REGS[:13]:
            self.rw(r, 0)
        self.set_context(0, 0, 0, 0)
        self.rw(A.UC_ARM_REG_PRIMASK, 0)
        self.rw(A.UC_ARM_REG_FAULTMASK, 0)
        self.rw(A.UC_ARM_REG_BASEPRI, 0)
        sp, pc = self.read_words(vtor, 2)
        self.set_context(0, 0, sp & ~3, 0)
        self.rw(A.UC_ARM_REG_LR, 0xFFFFFFFF)
        self.rw(A.UC_ARM_REG_XPSR, XPSR_T)
        self.pc = pc
        self.sleeping = False
        self.event_register = False
        self.locked_up = None
        self.halt_reason = None
        self.fault = None
        if not pc & 1:
            self.raise_fault(Fault("INVSTATE", pc & ~1, detail="reset vector has bit 0 clear"))

    # ------------------------------------------------------- exception entry
    def take_exception(self, n: int, return_address: int | None = None) -> None:
        """PushStack + ExceptionTaken (B1.5.6, B1.5.7); ``return_address`` None: the current PC."""
        push_denied = self.mputlb.check_frames and self._mpu_denies_frame(push=True)
        if not push_denied and self.native_exceptions:
            # Entry from MSP, or from thread mode on PSP: stacking and registers in one native
            # call, unless it declined (nothing done: a PSP frame outside RAM, for the path below).
            at = excpath.AT_PC if return_address is None else return_address & ~1
            self.slice_pc = None
            sysr = self.sys
            flags, vector, _xpsr = self._excpath.enter(n, at, sysr.vtor, sysr.ccr >> CCR_STKALIGN_BIT & 1)
            if not flags:  # stacked, the vector read: the common case, without the checks below
                self._entered(n, vector)
                return
            if not flags & excpath.DECLINED:
                if flags & excpath.STKERR:
                    # A stacking error: the handler still runs (B1.5.6), with BusFault pending.
                    sysr.cfsr |= CFSR["STKERR"]
                    self.exc.set_pending(BUSFAULT)
                if flags & excpath.VECTTBL:
                    sysr.hfsr |= HFSR["VECTTBL"]
                self._entered(n, vector)
                return
        if return_address is None:
            return_address = self.pc
        uc = self.uc
        control = self.control()
        ipsr = self.ipsr()
        msp, psp = self.banked_sps()
        using_psp = ipsr == 0 and bool(control & 2)
        sp = psp if using_psp else msp
        force = self.sys.stkalign
        align = bool(sp & 4) and force
        frame = (sp - 32) & (~7 if force else ~3) & 0xFFFFFFFF
        r0, r1, r2, r3, r12, lr = [self.rr(r) for r in _FRAME_REGS]
        xpsr = self.rr(A.UC_ARM_REG_XPSR)
        xpsr = (xpsr & ~XPSR_ALIGN) | (XPSR_ALIGN if align else 0)
        data = struct.pack("<8I", r0, r1, r2, r3, r12, lr, return_address & ~1 & 0xFFFFFFFF,
                           xpsr & 0xFFFFFFFF)
        if push_denied:
            # The MPU refuses the frame: nothing is stacked, the handler still runs, with
            # MemManage (MSTKERR) pending as a derived exception.
            self.sys.cfsr |= CFSR["MSTKERR"]
            self._pend_derived(MEMMANAGE)
        elif self._is_ram(frame):
            uc.mem_write(frame, data)
        else:
            # A stacking error: the handler still runs (B1.5.6), with BusFault pending.
            self.sys.cfsr |= CFSR["STKERR"]
            self.exc.set_pending(BUSFAULT)
        if using_psp:
            psp = frame
        else:
            msp = frame
        if ipsr:
            exc_return = EXC_RETURN_HANDLER
        else:
            exc_return = EXC_RETURN_THREAD_PSP if using_psp else EXC_RETURN_THREAD_MSP
        self._enter(n, exc_return, control & ~2, msp, psp)

    def _finish_entry(self, n: int, vector: int, xpsr: int) -> None:
        # IPSR = n (Unicorn keeps SP banking consistent), IT/ICI cleared, T from the vector.
        self.rw(A.UC_ARM_REG_XPSR, (xpsr & 0xF8000000) | n | (XPSR_T if vector & 1 else 0))
        self.rebuild_hflags()
        self.rw(A.UC_ARM_REG_PC, vector | 1)
        self._entered(n, vector)

    def _entered(self, n: int, vector: int, planned: bool = False) -> None:
        """``planned``: native code entered ``n`` and left the plan ``plan_native`` would make now
        (``ExceptionState.activate_planned``)."""
        if planned:
            self.exc.activate_planned(n)
        else:
            self.exc.activate(n)
        self._vectors[(self.sys.vtor, n)] = vector
        if self.mputlb.active and n <= HARDFAULT:
            self.mputlb.on_negative_priority()
        self.sleeping = False
        if self.trace_exceptions:
            self.trace_exceptions(f"enter {exception_name(n)} -> 0x{vector & ~1:08X}")
        if self.on_exception_entry and self.quiet_entries.get(n) != vector:
            self.on_exception_entry(n, vector)
        if not vector & 1:
            self.raise_fault(Fault("INVSTATE", vector & ~1, detail=f"vector of {exception_name(n)} "
                                   f"(0x{vector:08X}) has bit 0 clear"))

    def _enter(self, n: int, exc_return: int, control: int, msp: int, psp: int) -> None:
        try:
            vector = self.read_u32(self.sys.vtor + 4 * n)
        except UcError:
            vector = 0
            self.sys.hfsr |= HFSR["VECTTBL"]
        self.set_context(n, control, msp, psp)
        self.rw(A.UC_ARM_REG_LR, exc_return)
        self._finish_entry(n, vector, self.rr(A.UC_ARM_REG_XPSR))

    def _is_ram(self, addr: int) -> bool:
        """Can the 8-word frame at ``addr`` be stacked (RAM, not MMIO or a hole)?"""
        for begin, end in self.ram_ranges:
            if begin <= addr and addr + 32 <= end:
                return True
        return False

    # ------------------------------------------------------- exception return
    def exception_return(self, exc_return: int) -> None:
        """ExceptionReturn + PopStack (B1.5.8), with tail-chaining."""
        ipsr, control = self._regs.read_many(_IPSR_CONTROL)
        n = ipsr & 0x1FF
        kind = exc_return & 0xF
        if kind not in (0x1, 0x9, 0xD) or (exc_return | 0xF) != 0xFFFFFFFF or not self.exc.active >> n & 1:
            # Invalid EXC_RETURN: UsageFault INVPC, taken as if from the handler.
            self.raise_fault(Fault("INVPC", exc_return, detail=f"bad EXC_RETURN 0x{exc_return:08X}"))
            self.take_pending_fault_now(return_address=self.rr(A.UC_ARM_REG_LR))
            return
        self.exc.deactivate(n)
        if self.on_exception_return:
            self.on_exception_return(n)
        to_thread = kind != 0x1
        nxt = self.exc.deliverable() if self.exc.pending else 0
        if not nxt and self.mputlb.check_frames and self._mpu_denies_frame(False, exc_return):
            self.raise_fault(Fault("MUNSTKERR", exc_return, detail="MPU: unstacking refused"))
            self.take_pending_fault_now(return_address=exc_return)
            return
        if nxt:
            # Tail-chain: the stacked frame stays; the next handler gets the same EXC_RETURN.
            if self.trace_exceptions:
                self.trace_exceptions(f"tail-chain {exception_name(n)} -> {exception_name(nxt)}")
            if self.native_exceptions:
                self._tail_chain(nxt, exc_return)
            else:
                self._enter(nxt, exc_return, control & ~2, *self.banked_sps())
            return
        if self.native_exceptions and not control & 2 and self._return_native(n, kind):
            return
        msp, psp = self.banked_sps()
        use_psp = kind == 0xD
        sp = psp if use_psp else msp
        try:
            r0, r1, r2, r3, r12, lr, pc, xpsr = self.read_words(sp, 8)
        except UcError:
            self.sys.cfsr |= CFSR["UNSTKERR"]
            self.raise_fault(Fault("UNSTKERR", exc_return, sp, "unstacking from unmapped memory"))
            self.take_pending_fault_now(return_address=exc_return)
            return
        sp = (sp + 32 + (4 if xpsr & XPSR_ALIGN and self.sys.stkalign else 0)) & 0xFFFFFFFF
        if use_psp:
            psp = sp
        else:
            msp = sp
        new_ipsr = self._stacked_ipsr(xpsr, pc, to_thread)
        new_control = (control & ~2) | (2 if use_psp else 0) if to_thread else control & ~2
        for rid, value in zip(_FRAME_REGS, (r0, r1, r2, r3, r12, lr), strict=True):
            self.rw(rid, value)
        self.set_context(new_ipsr, new_control, msp, psp)
        self.rw(A.UC_ARM_REG_XPSR, (xpsr & ~XPSR_ALIGN & ~0x1FF) | new_ipsr)
        self._finish_return(n, pc, to_thread)

    def _tail_chain(self, n: int, exc_return: int) -> None:
        """From the returning handler straight into ``n`` (handler mode, MSP, the frame kept)."""
        self.slice_pc = None
        flags, vector = self._excpath.tail_chain(n, exc_return, self.sys.vtor)
        if flags & excpath.VECTTBL:
            self.sys.hfsr |= HFSR["VECTTBL"]
        self._entered(n, vector)

    def _return_native(self, n: int, kind: int) -> bool:
        """PopStack to handler or thread mode on MSP, or to thread mode on PSP: unstacking and
        registers in one native call. False (nothing done) when it declined (PSP unreadable)."""
        to_thread = kind != 0x1
        mode = excpath.TO_THREAD_PSP if kind == 0xD else int(to_thread)
        self.slice_pc = None
        flags, pc, xpsr = self._excpath.leave(mode, self.sys.ccr >> CCR_STKALIGN_BIT & 1)
        if flags & excpath.DECLINED:
            return False
        if flags & excpath.UNSTKERR:
            sp = pc
            self.sys.cfsr |= CFSR["UNSTKERR"]
            self.raise_fault(Fault("UNSTKERR", sp, sp, "unstacking from unmapped memory"))
            self.take_pending_fault_now(return_address=self.rr(A.UC_ARM_REG_PC))
            return True
        if flags & excpath.INVPC:
            self._stacked_ipsr(xpsr, pc, to_thread)  # records the INVPC fault
        self._returned(n, pc, to_thread)
        return True

    def _stacked_ipsr(self, xpsr: int, pc: int, to_thread: bool) -> int:
        ipsr = xpsr & 0x1FF
        if to_thread and ipsr:
            self.raise_fault(Fault("INVPC", pc, detail=f"return to thread mode with IPSR {ipsr} "
                                   "in the stacked xPSR"))
            return 0
        return ipsr

    def _finish_return(self, n: int, pc: int, to_thread: bool) -> None:
        self.rebuild_hflags()
        self.rw(A.UC_ARM_REG_PC, pc | 1)
        self._returned(n, pc, to_thread)

    def _returned(self, n: int, pc: int, to_thread: bool) -> None:
        if self.exc.active:
            self._bc.state.tick_on = 0  # native ticks need Python's NVIC idle in thread mode
        if self.mputlb.active and n <= HARDFAULT:
            self.mputlb.on_negative_priority()
        if self.trace_exceptions:
            self.trace_exceptions(f"return from {exception_name(n)} to 0x{pc & ~1:08X}")
        if to_thread and self.sys.sleeponexit and not self.exc.active:
            self.sleeping = True
            self.request_stop()
        elif self.exc.pending:
            self._exceptions_changed()

    # ------------------------------------------------------------------ faults
    def raise_fault(self, fault: Fault) -> None:
        """Record a synchronous fault; it is taken at the slice boundary."""
        if self.fault is None:
            self.fault = fault

    def take_pending_fault_now(self, return_address: int) -> None:
        """Take ``self.fault`` at once (from inside a hook)."""
        fault = self.fault
        self.fault = None
        if fault is not None:
            self._take_fault(fault, return_address)

    def take_fault(self) -> None:
        """Take the recorded fault with the faulting instruction as return address."""
        fault = self.fault
        self.fault = None
        if fault is not None:
            self._take_fault(fault, fault.pc)

    def _take_fault(self, fault: Fault, return_address: int) -> None:
        bit = fault.cfsr_bit
        target = FAULT_OF_CFSR_BIT.get(bit, HARDFAULT)
        if bit in CFSR:
            self.sys.cfsr |= CFSR[bit]
        if target == BUSFAULT and fault.address is not None and bit == "PRECISERR":
            self.sys.bfar = fault.address
            self.sys.cfsr |= CFSR["BFARVALID"]
        if target == MEMMANAGE and fault.address is not None and bit == "DACCVIOL":
            self.sys.mmfar = fault.address
            self.sys.cfsr |= CFSR["MMARVALID"]
        exec_prio = self.exc.execution_priority()
        enabled = bool(self.exc.enabled >> target & 1)
        group = self.exc.group_priority(self.exc.priority[target])
        if target != HARDFAULT and (not enabled or group >= exec_prio):
            target = HARDFAULT
            self.sys.hfsr |= HFSR["FORCED"]
        if target == HARDFAULT and exec_prio <= -1:
            where = f"PC=0x{fault.pc:08X}"
            self.locked_up = (f"lockup: {bit} fault at {where} while at priority {exec_prio} "
                              f"({'NMI' if exec_prio == -2 else 'HardFault'} active)")
            self.request_stop()
            raise Lockup(self.locked_up)
        self.last_fault = fault
        if self.on_fault:
            self.on_fault(fault, target)
        if self.trace_exceptions:
            self.trace_exceptions(f"fault {bit} at 0x{fault.pc:08X} -> {exception_name(target)}")
        self.take_exception(target, return_address)

    def _mpu_denies_frame(self, push: bool, exc_return: int = 0) -> bool:
        """Does the MPU refuse the 8-word exception frame? Pushing: below the stack in use (R13),
        with the interrupted code's privilege; popping (``exc_return``, in handler mode): at the
        stack returned to, with the privilege of the mode returned to. HardFault or NMI active
        count as negative priority (FAULTMASK is not looked at, as in ``emulator.cpu.mputlb``)."""
        ipsr, control, sp, psp = self._regs.read_many(_MPU_FRAME_REGS)
        if push:
            thread = not ipsr & 0x1FF
            frame = (sp - 32) & (~7 if self.sys.stkalign else ~3) & 0xFFFFFFFF
        else:
            thread = exc_return & 0xF != 0x1
            frame = psp if exc_return & 0xF == 0xD else sp
        privileged = not thread or not control & 1
        negative = bool(self.exc.active & _NEGATIVE_PRIORITY)
        return not self.mputlb.frame_allowed(frame, 2 if push else 1, privileged, negative)

    def _pend_derived(self, n: int) -> None:
        """Pend a fault found during exception entry; HardFault (FORCED) if it is disabled."""
        if self.exc.enabled >> n & 1:
            self.exc.set_pending(n)
        else:
            self.sys.hfsr |= HFSR["FORCED"]
            self.exc.set_pending(HARDFAULT)

    def _mpu_state(self) -> tuple[bool, bool]:
        """(privileged, at negative execution priority) for the MPU's decisions."""
        ipsr, control = self._regs.read_many(_IPSR_CONTROL)
        return bool(ipsr & 0x1FF) or not control & 1, self.exc.execution_priority() < 0

    # ------------------------------------------------------------------ hooks
    def _on_intr(self, _uch: int, intno: int, _ud: int) -> None:
        self.native_sync()
        try:
            self._hook_intr(self.uc, intno, None)
        except BaseException as e:  # as the binding does: stop, and emu_start raises it
            if self.uc._hook_exception is None:
                self.uc._hook_exception = e
            self.uc.emu_stop()
            return
        self.plan_native()

    def _hook_intr(self, uc: Uc, intno: int, _ud: object) -> None:
        try:
            if intno == 8:
                self.exception_return(self.rr(A.UC_ARM_REG_PC) | 1)
            elif intno == 2:
                self._svc(self.rr(A.UC_ARM_REG_PC))
            elif intno == 7:
                pc = self.rr(A.UC_ARM_REG_PC)
                imm = self.uc.mem_read(pc, 2)[0]
                if imm == 0xAB and self.semihosting is not None:
                    if self.semihosting(self):
                        self.request_stop()
                    self.rw(A.UC_ARM_REG_PC, (pc + 2) | 1)
                elif self.on_bkpt is not None and self.on_bkpt(self, pc):
                    self.halt_reason = "breakpoint"
                    self.request_stop()
                else:
                    # No debugger: BKPT escalates to HardFault (DEBUGEVT).
                    self.sys.hfsr |= HFSR["DEBUGEVT"]
                    self.raise_fault(Fault("DEBUGEVT", pc, detail=f"bkpt 0x{imm:02X}"))
                    self.request_stop()
            else:
                pc = self.rr(A.UC_ARM_REG_PC)
                kind = {17: "NOCP", 18: "INVSTATE", 22: "UNALIGNED", 3: "IBUSERR", 4: "PRECISERR"}
                self.raise_fault(Fault(kind.get(intno, "UNDEFINSTR"), pc, detail=f"CPU exception {intno}"))
                self.request_stop()
                # Nothing ran: stop now (with the Thumb bit clear Unicorn raises this again and
                # again at the same PC without ever reaching a block boundary).
                uc.emu_stop()
        except Lockup:
            uc.emu_stop()

    def _svc(self, next_pc: int) -> None:
        exc = self.exc
        exc.set_pending(SVCALL)
        if exc.group_priority(exc.priority[SVCALL]) < exc.execution_priority():
            exc.pending &= ~(1 << SVCALL)
            self.take_exception(SVCALL, next_pc)
        else:
            # SVC at or above its own priority escalates (B1.5.15).
            exc.pending &= ~(1 << SVCALL)
            self.raise_fault(Fault("FORCED", next_pc - 2, detail="SVC while it cannot be taken"))
            self.sys.hfsr |= HFSR["FORCED"]
            self._take_forced_hardfault(next_pc - 2)

    def _take_forced_hardfault(self, pc: int) -> None:
        fault, self.fault = self.fault, None
        if self.exc.execution_priority() <= -1:
            self.locked_up = f"lockup: HardFault at PC=0x{pc:08X} while at HardFault/NMI priority"
            self.request_stop()
            raise Lockup(self.locked_up)
        if self.on_fault and fault:
            self.on_fault(fault, HARDFAULT)
        self.take_exception(HARDFAULT, pc)

    def _hook_invalid(self, uc: Uc, _ud: object) -> bool:
        self.native_sync()
        pc = self.rr(A.UC_ARM_REG_PC)
        try:
            prev = struct.unpack("<H", uc.mem_read(pc - 2, 2))[0]
        except UcError:
            prev = 0
        if prev == 0xBF20:  # WFE: PC is already past it
            if self.event_register:
                self.event_register = False
            else:
                self.sleeping = True
                uc.emu_stop()
            return True
        if prev in (0xBF10, 0xBF40):  # YIELD, SEV
            if prev == 0xBF40:
                self.event_register = True
            return True
        self.raise_fault(Fault("UNDEFINSTR", pc, detail=f"undefined instruction at 0x{pc:08X}"))
        return False

    def _hook_mem_invalid(self, uc: Uc, access: int, address: int, size: int, value: int,
                          _ud: object) -> bool:
        self.native_sync()
        pc = self.rr(A.UC_ARM_REG_PC)
        denied = self.mputlb.take_denied(address) if self.mputlb.active else None
        if denied is not None:
            where, kind = denied
            if kind == FETCH:
                self.raise_fault(Fault("IACCVIOL", pc, None, f"MPU: instruction fetch from 0x{pc:08X}"))
            else:
                what = "write" if access in (UC_MEM_WRITE_UNMAPPED,) else "read"
                self.raise_fault(Fault("DACCVIOL", pc, where, f"MPU: {size}-byte {what} of 0x{where:08X}"))
            return False
        if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
            bit = "IBUSERR" if access == UC_MEM_FETCH_UNMAPPED else "IACCVIOL"
            self.raise_fault(Fault(bit, address, address, f"instruction fetch from 0x{address:08X}"))
        else:
            what = "read" if access in (UC_MEM_READ_UNMAPPED, UC_MEM_READ_PROT) else "write"
            self.raise_fault(Fault("PRECISERR", pc, address, f"{size}-byte {what} of 0x{address:08X}"))
        return False

    # ------------------------------------------------------- divide-by-zero trap
    def set_div0_trap(self, on: bool) -> None:
        """CCR.DIV_0_TRP: hook each SDIV/UDIV in the code ranges while it is set.

        Unicorn's divide returns 0 for a zero divisor with no way to trap, so
        the trap costs per-instruction hooks on the divide instructions only
        (found by decoding the loaded code), and only while the bit is set.
        """
        if on == bool(self._div_hooks):
            return
        uc = self.uc
        if not on:
            for h in self._div_hooks:
                uc.hook_del(h)
            self._div_hooks = []
        else:
            for begin, end in self.code_ranges:
                data = bytes(uc.mem_read(begin, end - begin))
                for off in range(0, len(data) - 3, 2):
                    hw1, hw2 = struct.unpack_from("<HH", data, off)
                    if hw1 & 0xFFD0 == 0xFB90 and hw2 & 0xF0F0 == 0xF0F0:
                        addr = begin + off
                        self._div_hooks.append(uc.hook_add(UC_HOOK_CODE, self._hook_div, hw2 & 0xF,
                                                           begin=addr, end=addr))
        for begin, end in self.code_ranges:
            uc.ctl_remove_cache(begin, end)

    def _hook_div(self, uc: Uc, address: int, _size: int, rm: int) -> None:
        self.native_sync()
        if self.rr(A.UC_ARM_REG_R0 + rm if rm < 13 else A.UC_ARM_REG_SP) == 0:
            self.raise_fault(Fault("DIVBYZERO", address, detail=f"divide by zero at 0x{address:08X}"))
            uc.emu_stop()

    # ------------------------------------------------------------- run control
    def _exceptions_changed(self) -> None:
        if not self.running:
            return
        self.end_native_ticks()
        if self.exc.deliverable():
            if self.entry_allowed is not None and self.native_exceptions:
                # The next block boundary, where the Python path would take it: a watch that
                # fires there, so that ex_watched_entry takes it when plan_native allows it (or
                # ends the slice there, as request_stop would).
                self._bc.watch_masks(_NO_MASKS_MATCH)
            else:
                self.request_stop()
        elif self.masked_pending():
            # Pending but masked: end the slice as soon as a mask register changes.
            self._bc.watch_masks(self.read_masks())

    def masked_pending(self) -> bool:
        """Is an exception pending that only PRIMASK/FAULTMASK/BASEPRI hold back?"""
        exc = self.exc
        n, prio, running = exc.preempt or exc.preemption()
        return n != 0 and prio < running

    def request_stop(self) -> None:
        """End the current slice at the end of the current translation block.

        An MMIO access cannot end the slice at once: Unicorn would abort the
        instruction and run it again, repeating the access's side effects.
        The block ends at the latest at the next branch or barrier, which is
        when the architecture requires a newly pended exception to be seen
        (after DSB/ISB; CPSIE and MSR end the block too).
        """
        if self.running and not self._stop_requested:
            self._stop_requested = True
            bc = self._bc  # the next block boundary, taking no more ticks natively
            s = bc.state
            s.tick_on = 0
            s.budget = 0
            bc.retarget()

    # ------------------------------------------------------- native SysTick ticks
    def native_ticks_allowed(self) -> bool:
        """May the next slice take SysTick ticks natively (``native/blockclock.c``)? Only
        with nothing pending, nothing but SysTick active (the handler Python just entered:
        ticks are taken natively once it returned) and nobody observing exceptions; the
        native side checks the mode, stack and masks at each tick and leaves the tick to
        Python otherwise."""
        exc = self.exc
        if exc.pending & exc.enabled or exc.active & ~_SYSTICK_BIT or self.mputlb.active:
            return False
        return (not self.sys.scr & SCR_SLEEPONEXIT and self.trace_exceptions is None
                and self.on_exception_return is None and not self._div_hooks)

    def plan_native(self) -> None:
        """What native code may do in the running slice without Python, made from Python's NVIC
        state before each slice and again after any Python code in it that changed that state
        (``exc.changed``, an SCS write outside SysTick): each such change or ``native_sync``
        makes the plan anew (a ``native_sync`` that leaves nothing active or pending needs none).

        Returns (``native/excpath.c`` ex_planned_return) from the handlers Python entered whose
        return has nothing for Python to do: the exception is not a fault (SVCall and up),
        nothing pending and enabled could follow it (nor its own input line, still high, pend it
        again: native code checks the NVIC's copy of the lines at the return), nobody observes or
        traces exceptions, no MPU checks frames, SLEEPONEXIT is clear.

        An entry (ex_watched_entry) of the exception pending and held back by the masks only,
        when the watched masks change so that it preempts: what the slice boundary the change
        makes would do, taken at that block.

        A pend (ex_pend) of PendSV by an ICSR write, from nothing active and nothing pending and
        enabled (``_plan_pend``).

        All are logged and applied to the NVIC at the next ``native_sync``, before any Python
        code looks at it."""
        exc = self.exc
        exc.changed = False
        if exc.return_plan:
            exc.return_plan = False
            self._drop_return_plan()
        pend = self.plans_pends and self._plan_pend()
        if exc.pending & exc.enabled:  # the entry plan (no return plan then)
            n, prio, running = exc.preempt or exc.preemption()
            if not exc.icsr_image and self.store_icsr_image is not None:
                self.store_icsr_image(n)  # what the firmware's next ICSR read would compute
            allowed = self.entry_allowed
            if (n >= SVCALL and allowed is not None and self.running and self.native_exceptions
                    and self.trace_exceptions is None and not self.mputlb.check_frames):
                sysr = self.sys
                vtor = sysr.vtor
                # The vector as Python last saw it (ex_watched_entry declines if the table changed).
                vector = self._vectors.get((vtor, n))
                if vector is None:
                    try:
                        vector = self._vectors[(vtor, n)] = self.read_u32(vtor + 4 * n)
                    except UcError:
                        vector = 0
                if vector & 1 and prio < running and allowed(n, vector):
                    # Its return needs no Python either when nothing else is pending and enabled
                    # (then only Python code in the handler can change that, and any that does
                    # makes the plan anew) and, as native code checks, its line is low then.
                    then_return = (not exc.pending & exc.enabled & ~(1 << n)
                                   and self.on_exception_return is None
                                   and not sysr.scr & SCR_SLEEPONEXIT)
                    stkalign = sysr.ccr >> CCR_STKALIGN_BIT & 1
                    if then_return and not exc.active:
                        # After the entry the plan below would be its return alone, with ret_icsr_n
                        # when nothing else is pending: set now, native_sync keeps it (_entry_then).
                        self._entry_then = n
                        if not exc.pending & ~(1 << n):
                            self._returns_state.ret_icsr_n = n
                    else:
                        self._entry_then = 0
                    params = (n, vector, vtor, stkalign, prio, running, exc.priority_mask,
                              ~((2 << exc.prigroup) - 1) & 0xFF, then_return)
                    p = self._returns_state  # the entry plan, on excpath's state
                    if params != self._entry_params:  # mostly the same from slice to slice
                        self._entry_params = () if pend else params  # a pend rewrites the fields
                        p.cand_return, p.ret_stkalign = then_return, stkalign
                        p.cand_vector, p.cand_vtor, p.cand_stkalign = vector, vtor, stkalign
                        p.cand_prio, p.cand_running, p.prio_mask, p.group_mask = params[4:8]
                    elif then_return:
                        p.ret_stkalign = stkalign  # a return plan set since may have changed it
                    p.cand_n = n
                    self._entry_armed = True
                    exc.return_plan = then_return or pend  # a change of the NVIC clears what C adds
                    return
            plan = 0
        else:  # the handlers (native code declines the return while an IRQ's line is high)
            plan = exc.active & _PLANNABLE
        if self._entry_armed:
            self._entry_armed = False
            self._returns_state.cand_n = 0  # no entry planned
        if (not plan or not self.running or not self.native_exceptions
                or self.trace_exceptions is not None or self.on_exception_return is not None
                or self.mputlb.check_frames or self.sys.scr & SCR_SLEEPONEXIT):
            return
        # The return plan, on excpath's state, where it is all 0 (return_plan was clear).
        self._returns_state.ret_stkalign = self.sys.ccr >> CCR_STKALIGN_BIT & 1
        if plan == exc.active and not exc.pending and not plan & (plan - 1):
            # One handler active, nothing pending: its return (made with its line low) leaves
            # nothing active and nothing pending, an ICSR image known now (ret_icsr_n).
            self._returns_state.ret_icsr_n = plan.bit_length() - 1
        if plan <= 0xFFFFFFFF:  # exceptions below 32: its first word only
            self._plan_words[0] = plan
        else:
            ctypes.memmove(self._plan_at, plan.to_bytes(excpath.PLAN_BYTES, "little"), excpath.PLAN_BYTES)
        exc.return_plan = True

    def _plan_pend(self) -> bool:
        """The pend plan (``ExcPath``): may an ICSR write of PENDSVSET pend PendSV natively
        (``native/excpath.c`` ex_pend) while nothing is active and nothing pending and enabled?
        Set, with what plan_native would then plan (PendSV's entry, and its return), when that
        entry is a native one whose Python side is bookkeeping only: PendSV's vector known and
        quiet (nobody to tell of its entries), and the same conditions as the entry plan's. The
        pend plan lasts until the next change of the NVIC Python makes besides applying the log
        (``exc.return_plan`` set, the caller keeps it so, so that such a change clears it) or the
        next plan (made after every SCS write but SysTick's: ``Machine._scs_write``)."""
        allowed = self.entry_allowed
        p = self._returns_state
        if (allowed is None or not self.running or not self.native_exceptions
                or p.ret_count  # busy is counted from the NVIC with nothing left in the log
                or self.trace_exceptions is not None or self.mputlb.check_frames):
            return False
        sysr = self.sys
        vtor = sysr.vtor
        vector = self._vectors.get((vtor, PENDSV))  # as Python last entered it (or planned to)
        if (vector is None or self.quiet_entries.get(PENDSV) != vector or not vector & 1
                or not allowed(PENDSV, vector)):
            return False
        exc = self.exc
        group_mask = ~((2 << exc.prigroup) - 1) & 0xFF
        params = (vector, vtor, sysr.ccr >> CCR_STKALIGN_BIT & 1, exc.priority[PENDSV] & group_mask,
                  exc.priority_mask, group_mask,
                  self.on_exception_return is None and not sysr.scr & SCR_SLEEPONEXIT)
        if params != self._pend_params:
            self._pend_params = params
            (p.pend_vector, p.pend_vtor, p.pend_stkalign, p.pend_prio, p.pend_prio_mask, p.pend_group_mask,
             p.pend_return) = params
        p.busy = exc.active.bit_count() + (exc.pending & exc.enabled).bit_count()
        p.pend_n = PENDSV
        exc.return_plan = True  # a change of the NVIC clears the pend plan
        self._entry_params = ()  # a pend sets the entry plan's fields
        return True

    def note_yield(self) -> None:
        """An ICSR write is about to pend PendSV through Python (``SystemControlSpace``): when it
        is a yield from nothing active and nothing pending and enabled, the firmware yields as an
        RTOS does, and the plans include the pend plan from now on (others never pay for it)."""
        exc = self.exc
        if not exc.active and not exc.pending & exc.enabled:
            self.plans_pends = True

    def native_pend(self) -> tuple[int, int]:
        """For the SCS window's native ICSR writes (``emulator.cpu.scsread``): the block clock's
        ``vb_pend`` and its state (addresses)."""
        return self._pend_callback

    @property
    def planned_returns(self) -> int:
        """Returns native code made from handlers Python entered or planned, yields' included."""
        return self._planned_returns + self._returns_state.yields

    @property
    def watched_entries(self) -> int:
        """Exceptions native code entered when the watched masks changed, yields' included."""
        return self._watched_entries + self._returns_state.yields

    @property
    def native_pends(self) -> int:
        """ICSR writes that pended PendSV in native code (``ex_pend``)."""
        return self._returns_state.pends

    def native_drops_icsr(self, address: int) -> None:
        """A planned native return clears the 32-bit flag at ``address`` (``emulator.cpu.scsread``'s
        ICSR image is valid while it is set)."""
        self._returns.drop_icsr_at(address)
        self._icsr_image_valid = ctypes.c_uint32.from_address(address) if address else ctypes.c_uint32()

    def native_sync(self) -> None:
        """Python code is about to run inside a slice: the returns native code made from
        handlers Python entered are applied to the NVIC, a SysTick handler the native side
        entered becomes Python's (its NVIC state, its return), and no more ticks are taken
        natively in this slice."""
        p = self._returns_state
        count = p.ret_count
        exc = self.exc
        if (count == 1 and (n := p.ret_log[0]) < excpath.LOG_ENTRY and exc.active == 1 << n
                and not self.plans_pends):
            # The return of the only active handler (its line low, as native code checked): what
            # the loop below makes of it, without clearing the plan, which was that return alone
            # and which native code has spent.
            # (Nothing is pending and enabled and no entry armed: a return is planned only then, and
            # a change since would have cleared the plan. plan_native would find nothing to plan.)
            p.ret_count = 0
            self._planned_returns += 1
            exc.returned_to_idle(bool(self._icsr_image_valid.value))  # stored by it (ret_icsr_n) or not
        elif (count == 1 and p.ret_log[0] == self._entry_then | excpath.LOG_ENTRY and not p.entry_flags
                and not self.plans_pends):
            # The entry alone, its return planned by native code as plan_native would plan it now
            # (see _entry_then): what the loop below makes of it, the NVIC taking it with that plan
            # (the ICSR image native code dropped), nothing to plan.
            p.ret_count = 0
            self._entry_armed = False
            self._watched_entries += 1
            self._entered(p.ret_log[0] & 0xFFFF, p.log_vector[0], True)
        elif count:
            pend = self.plans_pends and p.pend_n  # the changes below are the log's, which C counted
            # The exceptions returned from (n), entered (n | LOG_ENTRY) and pended (n | LOG_PEND)
            # natively, in order.
            p.ret_count = 0
            for i, n in enumerate(p.ret_log[:count]):
                if n < excpath.LOG_ENTRY:  # a return ex_planned_return made
                    self._planned_returns += 1
                    exc.deactivate(n)
                elif n & excpath.LOG_ENTRY:
                    # An entry ex_watched_entry made: what take_exception does after a native entry.
                    self._entry_armed = False
                    self._watched_entries += 1
                    if p.entry_flags & excpath.STKERR:
                        self.sys.cfsr |= CFSR["STKERR"]
                        exc.set_pending(BUSFAULT)
                    self._entered(n & 0xFFFF, p.log_vector[i])
                else:
                    # An ICSR write ex_pend made (LOG_PEND): its pend, and the entry plan it set
                    # (the watch is the block clock's already).
                    exc.set_pending(n & 0xFFFF, notify=False)
                    self._entry_armed = True
                    self._entry_params = ()
                    exc.return_plan = True
            if not exc.icsr_image and self._icsr_image_valid.value:
                exc.icsr_image = True  # stored by a planned return (ret_icsr_n): the NVIC's now
            if not (exc.active or exc.return_plan or self._entry_armed or exc.pending & exc.enabled):
                # Back in thread mode with nothing pending: plan_native would only find this
                # change's plan empty, so the change asks for none.
                exc.changed = False
            if pend and p.busy == exc.active.bit_count() + (exc.pending & exc.enabled).bit_count():
                p.pend_n = pend  # kept (they cleared it)
                exc.return_plan = True
        if self._bc_state.tick_active:
            s = self._bc_state
            s.tick_active = 0
            s.tick_on = 0
            exc.activate(SYSTICK)
            self.sleeping = False
            if s.tick_flags & excpath.STKERR:
                s.tick_flags = 0
                self.sys.cfsr |= CFSR["STKERR"]
                exc.set_pending(BUSFAULT)

    def end_native_ticks(self) -> None:
        """No more native ticks in this slice (the NVIC, SysTick or SCB changed): the slice
        still ends at the next tick, which Python takes."""
        s = self._bc.state
        if s.tick_active or self._returns_state.ret_count:  # else native_sync has nothing to do
            self.native_sync()
        s.tick_on = 0

    def progress(self) -> int:
        """Instructions completed before the current block of the running slice."""
        return self._bc.progress()

    def native_clock(self) -> tuple[int, int, int, int, int, int, int]:
        """For native MMIO read callbacks (``emulator.cpu.scsread``): the addresses of the slice's
        starting cycle (``native_base``, NO_SLICE between slices), of the two values the block
        clock's progress into it is the difference of (``BlockClock.progress_addresses``), of its
        ``tick_active`` and ``tick_flags``, then ``uc_reg_read`` and the IPSR's register id."""
        s = self._bc.state
        at = ctypes.addressof(s)
        state = type(s)
        return (ctypes.addressof(self.native_base), *self._bc.progress_addresses(),
                at + state.tick_active.offset, at + state.tick_flags.offset,
                ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value or 0, A.UC_ARM_REG_IPSR)

    @property
    def native_ticks(self) -> int:
        """SysTick ticks slices took natively."""
        return self._bc_state.total_ticks

    @property
    def slice_pull(self) -> tuple[ctypes.Structure, Callable[[], None]] | None:
        """(native copy, pull) of a model native code may change in a slice (SysTick's, written in
        C: emulator.cpu.scsread): pulled at the slice's end while the copy's ``st_dirty`` is set."""
        return self._slice_pull

    @slice_pull.setter
    def slice_pull(self, pull: tuple[ctypes.Structure, Callable[[], None]] | None) -> None:
        self._slice_pull = pull
        copy = None if pull is None else pull[0]
        self._bc.watch_work(self._ret_count_at,
                            0 if copy is None else ctypes.addressof(copy) + type(copy).st_dirty.offset)

    def run(self, budget: int, ticks: tuple[int, int, int] | None = None) -> int:
        """Run about ``budget`` cycles (see ``emulator.cpu.blockclock``); returns how many passed
        (instructions, plus ``slice_idle`` cycles asleep). ``ticks`` (first, period, vector):
        SysTick ticks the slice may take natively (``slice_ticks`` says how many it took)."""
        state = self._bc_state  # (one statement each: more than three names at once make a tuple)
        exc = self.exc
        clock = self.clock
        mputlb = self.mputlb
        uc = self.uc
        clock.slice_progress = self._progress
        if mputlb.flush_pending:
            mputlb.flush()
        # run_slice's arguments (see BlockClock): a watch of the masks while an exception is
        # pending, held back by them (or due), else the ticks if any.
        if exc.pending and (preempt := exc.preempt or exc.preemption())[0] and preempt[1] < preempt[2]:
            watch, masks = exc.known_masks or self.read_masks(), state.masks
            masks[0], masks[1], masks[2] = watch
            state.next_watch = 1
        elif ticks is not None:
            self._bc.set_ticks(ticks[1], ticks[2], self.sys.vtor, self.sys.ccr >> CCR_STKALIGN_BIT & 1)
            state.next_tick_first = ticks[0]
        exc.known_masks = self.slice_pc = None  # the slice may change both (its end reports them)
        self._stop_requested = False
        self.running = True
        exc.on_change = self._on_exceptions_change
        try:
            if (exc.pending & exc.enabled or exc.active & _PLANNABLE or exc.return_plan or self._entry_armed
                    or self.plans_pends):
                self.plan_native()
            else:  # what plan_native would do: nothing to plan, nothing planned to clear
                exc.changed = False
            uc._hook_exception = None
            state.next_budget = budget
            state.base = clock.base
            err = self._bc.run_slice()
            (pc, primask, faultmask, basepri, ran, before, self.slice_idle, self.slice_ticks, budget_spent,
             work) = self._bc_out.tolist()
            if work:
                if work & WORK_SYNC:
                    self.native_sync()
                if work & WORK_PULL:
                    self._slice_pull[1]()  # type: ignore[index]
        except BaseException:
            pull = self._slice_pull
            if pull is not None and pull[0].st_dirty:
                pull[1]()
            raise
        finally:
            self.running = False
            exc.on_change = None
            clock.slice_progress = _zero
            if exc.return_plan or self._entry_armed:  # nothing planned outlives its slice (a step has none)
                self._drop_plans()
        if uc._hook_exception is not None and err == UC_ERR_OK:
            raise uc._hook_exception  # (slice_idle and slice_ticks are the slice's)
        if mputlb.resume_pc is not None:  # a denied access to a split page: resume at it
            self.rw(A.UC_ARM_REG_PC, mputlb.resume_pc | 1)
            mputlb.resume_pc = None
            self._bc.report()
            (pc, primask, faultmask, basepri, ran, before, self.slice_idle, self.slice_ticks, budget_spent,
             work) = self._bc_out.tolist()
        exc.known_masks = (primask, faultmask, basepri)
        self.slice_pc = pc
        if err or pc == UNTIL or not budget_spent:  # else the slice simply ran out (err: UC_ERR_OK is 0)
            if err != UC_ERR_OK:
                if self.fault is None:
                    self.raise_fault(Fault("UNDEFINSTR" if err == 10 else "PRECISERR", pc,
                                           detail=f"Unicorn error {err} at 0x{pc:08X}"))
            elif pc == UNTIL:
                self.raise_fault(Fault("IBUSERR", UNTIL, UNTIL, "execution reached 0xFFFFFF00"))
            elif self.fault is None and before == 0xBF30:
                # emu_start returned after a WFI (0xBF30) before the budget ran out.
                self.sleeping = True
        return ran  # (not below 0: see BlockClock.run_slice)

    def _drop_plans(self) -> None:
        """The slice is over: its return plan and entry plan, if any, go."""
        exc = self.exc
        if exc.return_plan:
            exc.return_plan = False
            self._drop_return_plan()
        if self._entry_armed:
            self._entry_armed = False
            self._returns_state.cand_n = 0  # no entry planned

    def step(self) -> int:
        """Exactly one instruction (for debuggers) with Unicorn's count limit.

        Code translated before has no count instrumentation, so the cache is
        flushed first; the next normal run flushes again when the count hook
        goes away."""
        uc = self.uc
        uc.ctl_flush_tb()
        if self.mputlb.flush_pending:
            self.mputlb.flush()
        pc = self.rr(A.UC_ARM_REG_PC)
        self.running = True
        self.exc.on_change = self._exceptions_changed
        self.exc.known_masks = None
        self.slice_pc = None
        self._stop_requested = False
        self.native_base.value = self.clock.base
        self._bc.arm(1 << 62)
        try:
            uc.emu_start(pc | 1, UNTIL, 0, 1)
        except UcError as e:
            if self.fault is None:
                self.raise_fault(Fault("UNDEFINSTR" if e.errno == 10 else "PRECISERR", pc,
                                       detail=f"Unicorn error {e.errno} at 0x{pc:08X}"))
        finally:
            self.running = False
            self.exc.on_change = None
            self.exc.known_masks = None
            self.native_base.value = NO_SLICE
        if self.mputlb.resume_pc is not None:  # a denied access to a split page: step it again,
            self.rw(A.UC_ARM_REG_PC, self.mputlb.resume_pc | 1)  # now into the trap page
            self.mputlb.resume_pc = None
            return self.step()
        return 0 if self.fault is not None else 1


# Clock.slice_progress between slices, asked at every Clock.now: a builtin returning 0 (int()),
# which costs no Python frame.
_zero: Callable[[], int] = int
