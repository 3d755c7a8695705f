"""Exception entry, return and tail-chain in one native call each (``native/excpath.c``).

The common cases of every interrupt: thread or handler code on MSP, and
thread code on PSP as RTOS threads run (PendSV switching the PSP before the
return). ``CortexM3`` keeps the NVIC state, faults and every other case in
Python; this moves the eight-word frame and the registers with a few Unicorn
calls made from C rather than from Python.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

from unicorn import Uc
from unicorn import arm_const as A

from emulator.native import native_lib

MAX_RAM = 8
RET_PLAN_WORDS, RET_LOG = 16, 32
LOG_ENTRY = 0x10000  # a ret_log item that is an entry (ex_watched_entry), not a return
LOG_PEND = 0x20000  # a ret_log item that is a pend (ex_pend)
STKERR, VECTTBL, UNSTKERR, INVPC, DECLINED = 1, 2, 4, 8, 16
TO_HANDLER, TO_THREAD_MSP, TO_THREAD_PSP = 0, 1, 2  # leave(): the mode and stack returned to
AT_PC = 0xFFFFFFFF  # enter(): return to the current PC
_REGS = (A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3, A.UC_ARM_REG_R12,
         A.UC_ARM_REG_LR, A.UC_ARM_REG_SP, A.UC_ARM_REG_XPSR, A.UC_ARM_REG_PC, A.UC_ARM_REG_CPSR,
         A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_PSP)


PLAN_BYTES = 4 * RET_PLAN_WORDS
CLEARED_BYTES = PLAN_BYTES + 8  # what a change of the NVIC clears: the return plan, pend_n, ret_icsr_n


class _Path(ctypes.Structure):
    _fields_ = [
        ("uc", ctypes.c_void_p),
        ("read_batch", ctypes.c_void_p),
        ("write_batch", ctypes.c_void_p),
        ("mem_read", ctypes.c_void_p),
        ("mem_write", ctypes.c_void_p),
        ("regs", ctypes.c_int32 * len(_REGS)),
        ("ram_count", ctypes.c_uint32),
        ("ram_begin", ctypes.c_uint32 * MAX_RAM),
        ("ram_end", ctypes.c_uint32 * MAX_RAM),
        ("out", ctypes.c_uint32 * 4),
        ("ret_plan", ctypes.c_uint32 * RET_PLAN_WORDS),
        ("pend_n", ctypes.c_uint32),
        ("ret_icsr_n", ctypes.c_uint32),
        ("ret_stkalign", ctypes.c_uint32),
        ("ret_count", ctypes.c_int32),
        ("ret_log", ctypes.c_uint32 * RET_LOG),
        ("icsr", ctypes.c_void_p),
        ("cand_n", ctypes.c_uint32),
        ("cand_vector", ctypes.c_uint32),
        ("cand_vtor", ctypes.c_uint32),
        ("cand_stkalign", ctypes.c_uint32),
        ("cand_prio", ctypes.c_int32),
        ("cand_running", ctypes.c_int32),
        ("prio_mask", ctypes.c_uint32),
        ("group_mask", ctypes.c_uint32),
        ("entry_flags", ctypes.c_int32),
        ("cand_return", ctypes.c_uint32),
        ("pend_vector", ctypes.c_uint32),
        ("pend_vtor", ctypes.c_uint32),
        ("pend_stkalign", ctypes.c_uint32),
        ("pend_prio", ctypes.c_int32),
        ("pend_prio_mask", ctypes.c_uint32),
        ("pend_group_mask", ctypes.c_uint32),
        ("pend_return", ctypes.c_uint32),
        ("busy", ctypes.c_int32),
        ("log_vector", ctypes.c_uint32 * RET_LOG),
        ("yields", ctypes.c_uint64),
        ("pends", ctypes.c_uint64),
        ("irq_levels", ctypes.c_uint32 * RET_PLAN_WORDS),
    ]


def _library() -> ctypes.CDLL:
    path = ctypes.POINTER(_Path)
    return native_lib.load("excpath", (_Path, "ex_sizeof"), {
        "ex_enter": (ctypes.c_int, [path, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int]),
        "ex_return": (ctypes.c_int, [path, ctypes.c_int, ctypes.c_int]),
        "ex_tail_chain": (ctypes.c_int, [path, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]),
        "ex_planned_return": (ctypes.c_int, [path, ctypes.c_uint32]),
        "ex_watched_entry": (ctypes.c_int, [path, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)]),
        "ex_pend": (ctypes.c_int, [path, ctypes.POINTER(ctypes.c_uint32)]),
    })


class ExcPath:
    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        lib = _library()
        p = self._p = _Path()
        p.uc = uc._uch
        p.read_batch = ctypes.cast(uclib.uc_reg_read_batch, ctypes.c_void_p).value
        p.write_batch = ctypes.cast(uclib.uc_reg_write_batch, ctypes.c_void_p).value
        p.mem_read = ctypes.cast(uclib.uc_mem_read, ctypes.c_void_p).value
        p.mem_write = ctypes.cast(uclib.uc_mem_write, ctypes.c_void_p).value
        for i, reg in enumerate(_REGS):
            p.regs[i] = reg
        self._ref = ctypes.byref(p)
        self.plan_address = ctypes.addressof(p) + _Path.ret_plan.offset
        self._enter = lib.ex_enter
        self._return = lib.ex_return
        self._tail_chain = lib.ex_tail_chain

    def native(self) -> tuple[int, int, int, int, int, int]:
        """(state, ex_enter, ex_return, ex_planned_return, ex_watched_entry, ex_pend) addresses,
        for other native code."""
        lib = _library()
        return (ctypes.addressof(self._p), *(ctypes.cast(f, ctypes.c_void_p).value or 0 for f in (
            lib.ex_enter, lib.ex_return, lib.ex_planned_return, lib.ex_watched_entry, lib.ex_pend)))

    # -- returns from handlers Python entered, done natively (native/excpath.c ex_planned_return),
    # and entries when the watched masks change (ex_watched_entry). ``CortexM3.plan_native`` sets
    # both on the state (one call fewer each, at every slice):
    #   return plan: ``ret_stkalign`` and the PLAN_BYTES at ``plan_address``, bit n allowing the
    #     native return from exception n (``return_plan_clearer`` zeroes them);
    #   entry: ``cand_n`` (0: none) entered at ``cand_vector`` (VTOR ``cand_vtor``, group priority
    #     ``cand_prio``) when the watched masks change so that it preempts the execution priority
    #     ``cand_running`` of the active set (``prio_mask``, ``group_mask``: the NVIC's priority
    #     bits and PRIGROUP's group mask); ``cand_return``: and return from it (its bit in the return
    #     plan, with ``ret_stkalign``);
    #   the return from an IRQ whose line is high (``irq_levels``, kept by the NVIC) is declined;
    #   ``ret_icsr_n``: the exception whose planned return leaves nothing active and nothing pending
    #     (0: none): that return stores the ICSR image then (nothing pending, nothing active)
    #     instead of dropping it;
    #   pend (ex_pend, an ICSR write of PENDSVSET): ``pend_n`` (0: none) and the entry plan the pend
    #     sets (``pend_*``, as the fields above), with ``busy`` the count of exceptions active and
    #     pending and enabled in the NVIC (the pend is made from none only; native code keeps the
    #     count as it logs). A pend, its entry and its planned return done in a row leave no log
    #     items, only ``yields`` one higher.
    def return_plan_clearer(self) -> Callable[[], object]:
        """Clearing the return plan and ``pend_n`` as a callable without a Python frame (the NVIC
        calls it at every change while a plan is set)."""
        return functools.partial(ctypes.memset, self.plan_address, 0, CLEARED_BYTES)

    def level_words(self) -> memoryview:
        """The copy of the NVIC's device input lines native code reads (``irq_levels``: bit i of
        word i // 32 for IRQ i), as 32-bit words: a planned return from an IRQ whose line is high
        is declined."""
        return memoryview(self._p.irq_levels).cast("B").cast("I")

    def drop_icsr_at(self, address: int) -> None:
        """Native entries, returns and pends clear the 32-bit flag at ``address`` (the SCS's ICSR
        image: its valid flag, then its pending fields and its active set, 32 bits each); the
        return of ``ret_icsr_n`` stores that image instead."""
        self._p.icsr = address or None

    def set_ram(self, ranges: list[tuple[int, int]]) -> None:
        """Where a frame may be stacked: [begin, end) ranges of RAM (at most 8 are used)."""
        p = self._p
        kept = ranges[:MAX_RAM]
        for i, (begin, end) in enumerate(kept):
            p.ram_begin[i], p.ram_end[i] = begin, min(end, 0xFFFFFFFF)
        p.ram_count = len(kept)

    def enter(self, n: int, return_address: int, vtor: int, stkalign: bool) -> tuple[int, int, int]:
        """(EXC_* bits, vector, xPSR before entry); raises RuntimeError if Unicorn refused.
        DECLINED: nothing was done (a frame on PSP outside RAM: Python's path records the
        stacking fault). ``return_address`` AT_PC: the current PC."""
        flags = self._enter(self._ref, n, return_address & 0xFFFFFFFF, vtor, int(stkalign))
        if flags < 0:
            raise RuntimeError("exception entry: register access failed")
        return flags, self._p.out[0], self._p.out[1]

    def leave(self, mode: int, stkalign: bool) -> tuple[int, int, int]:
        """(EXC_* bits, return PC (SP when UNSTKERR), stacked xPSR); ``mode`` TO_*. DECLINED
        (to PSP, its frame unreadable): nothing was done."""
        flags = self._return(self._ref, mode, int(stkalign))
        if flags < 0:
            raise RuntimeError("exception return: register access failed")
        return flags, self._p.out[0], self._p.out[1]

    def tail_chain(self, n: int, exc_return: int, vtor: int) -> tuple[int, int]:
        """(EXC_* bits, vector): from the returning handler straight into exception ``n``."""
        flags = self._tail_chain(self._ref, n, exc_return & 0xFFFFFFFF, vtor)
        if flags < 0:
            raise RuntimeError("tail-chain: register access failed")
        return flags, self._p.out[0]
