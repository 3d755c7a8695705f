"""Virtual time for the CPU: instructions counted per translated block.

vboard's Unicorn build (``scripts/build_unicorn``, change budget-in-blocks)
keeps the count in the translated code: each block takes its instruction
count off a budget as it is entered and calls the ``UC_HOOK_BLOCK`` callback
of ``native/blockclock.c`` (attached with Unicorn's C API) only once the
budget ran out; Python never runs per block. The C side is built with the
host C compiler by ``scripts/setup`` (or on first use, see ``native_lib``).
Unicorn's own ``count`` limit would give exact slices but instruments every
instruction and halves the speed of translated code.

Model: a slice ends at the first block boundary at or after its budget, so
a timer event can be taken up to one block (a handful of instructions)
late; the instruction count itself is always exact (block counts plus the
position of the final PC inside the last block).

While the machine allows it (``run_slice`` with ``next_tick_first``) the hook also takes SysTick ticks,
and ``run_slice`` sleeps through WFIs to them, without leaving native code; see
``native/blockclock.c`` and the emulator README.
"""

from __future__ import annotations

import ctypes
import functools
import logging

from unicorn import UC_HOOK_BLOCK, Uc
from unicorn import arm_const as A

from emulator.native import native_lib

log = logging.getLogger("vboard.cpu")


class _Icount(ctypes.Structure):
    """Unicorn's VbIcount (scripts/build_unicorn), written by the translated code."""
    _fields_ = [("left", ctypes.c_int64), ("block_left", ctypes.c_int64), ("block", ctypes.c_uint64)]


class _State(ctypes.Structure):
    _fields_ = [
        ("emu_stop", ctypes.c_void_p),
        ("mem_read", ctypes.c_void_p),
        ("budget", ctypes.c_int64),
        ("ic", ctypes.c_void_p),
        ("mark", ctypes.c_int64),
        ("stopped", ctypes.c_int32),
        ("pad0", ctypes.c_int32),
        ("reg_read", ctypes.c_void_p),
        ("watch", ctypes.c_int32),
        ("reg_ids", ctypes.c_int32 * 3),
        ("masks", ctypes.c_uint32 * 3),
        ("pad", ctypes.c_uint32),
        ("tick_on", ctypes.c_int32),
        ("tick_active", ctypes.c_int32),
        ("slice_budget", ctypes.c_int64),
        ("tick_next", ctypes.c_int64),
        ("tick_period", ctypes.c_int64),
        ("idle", ctypes.c_int64),
        ("ticks", ctypes.c_uint64),
        ("returns", ctypes.c_uint64),
        ("vtor", ctypes.c_uint32),
        ("stkalign", ctypes.c_uint32),
        ("vector", ctypes.c_uint32),
        ("reg_ipsr", ctypes.c_int32),
        ("reg_pc", ctypes.c_int32),
        ("reg_sp", ctypes.c_int32),
        ("reg_control", ctypes.c_int32),
        ("tick_flags", ctypes.c_int32),
        ("exc_path", ctypes.c_void_p),
        ("ex_enter", ctypes.c_void_p),
        ("ex_return", ctypes.c_void_p),
        ("reg_write", ctypes.c_void_p),
        ("emu_start", ctypes.c_void_p),
        ("py_intr", ctypes.c_void_p),
        ("ex_planned_return", ctypes.c_void_p),
        ("ex_watched_entry", ctypes.c_void_p),
        ("entries", ctypes.c_uint64),
        ("ex_pend", ctypes.c_void_p),
        ("out", ctypes.c_int64 * 10),  # vb_report and vb_slice: see BlockClock.run_slice
        ("own_ic", _Icount),
        ("cache", ctypes.c_void_p),
        ("uc", ctypes.c_void_p),  # vb_slice's arguments: see BlockClock.run_slice
        ("next_budget", ctypes.c_int64),
        ("next_tick_first", ctypes.c_int64),
        ("next_watch", ctypes.c_int32),
        ("pad1", ctypes.c_int32),
        ("base", ctypes.c_int64),  # the clock's count when the running slice began: see run_slice
        ("total_ticks", ctypes.c_uint64),
        ("ret_count", ctypes.c_void_p),
        ("st_dirty", ctypes.c_void_p),
    ]

WORK_SYNC, WORK_PULL = 1, 2  # out[9]: what the caller has to do after a slice (see run_slice)
NO_SLICE = -1  # ``base`` while no slice runs


class _CacheEntry(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("size", ctypes.c_uint32), ("count", ctypes.c_uint32)]


CACHE_SLOTS = 65536


def engine_budget(uc: Uc) -> int | None:
    """The address of the engine's VbIcount, or None when the Unicorn library is a stock one
    (``scripts/build_unicorn`` did not run or failed): the block hook then runs at every block."""
    from unicorn.unicorn_py3.unicorn import uclib

    try:
        icount = uclib.uc_vb_icount
    except AttributeError:
        return None
    icount.restype, icount.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    ic = icount(uc._uch)
    if not ic:
        raise RuntimeError("uc_vb_icount failed")
    return ic


def _library() -> ctypes.CDLL:
    return native_lib.load("blockclock", (_State, "vb_sizeof"), {
        "vb_count_thumb": (ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_uint32]),
        "vb_arm": (None, [ctypes.c_void_p, ctypes.c_int64]),
        "vb_retarget": (None, [ctypes.c_void_p]),
        "vb_slice": (ctypes.c_int, [ctypes.c_void_p]),
        "vb_report": (None, [ctypes.c_void_p, ctypes.c_void_p]),
    })


class BlockClock:
    """The hook's state for one engine."""

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        lib = _library()
        self.uc = uc
        self.state = _State()
        self.state.emu_stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        self.state.mem_read = ctypes.cast(uclib.uc_mem_read, ctypes.c_void_p).value
        self.state.reg_read = ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value
        self.state.reg_write = ctypes.cast(uclib.uc_reg_write, ctypes.c_void_p).value
        self.state.emu_start = ctypes.cast(uclib.uc_emu_start, ctypes.c_void_p).value
        self.state.reg_ipsr, self.state.reg_pc = A.UC_ARM_REG_IPSR, A.UC_ARM_REG_PC
        self.state.reg_sp, self.state.reg_control = A.UC_ARM_REG_SP, A.UC_ARM_REG_CONTROL
        for i, reg in enumerate((A.UC_ARM_REG_PRIMASK, A.UC_ARM_REG_FAULTMASK, A.UC_ARM_REG_BASEPRI)):
            self.state.reg_ids[i] = reg
        ic = engine_budget(uc)
        self.in_blocks = ic is not None  # the translated code keeps the budget
        if ic is None:
            log.debug("stock Unicorn: the block hook counts every block")
            self._cache = (_CacheEntry * CACHE_SLOTS)()
            ctypes.memset(self._cache, 0xFF, ctypes.sizeof(self._cache))
            self.state.cache = ctypes.addressof(self._cache)
            ic = ctypes.addressof(self.state) + _State.own_ic.offset
        self.state.ic = ic
        self.ic = _Icount.from_address(ic)
        hook = ctypes.c_size_t()
        callback = ctypes.cast(lib.vb_block_hook if self.in_blocks else lib.vb_block_hook_stock,
                               ctypes.c_void_p)
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(hook), UC_HOOK_BLOCK, callback,
                                   ctypes.addressof(self.state), 1, 0)
        if status:
            raise RuntimeError(f"uc_hook_add failed ({status})")
        self.hook = hook.value
        self._addr = ctypes.addressof(self.state)
        self._uch = uc._uch
        self._arm = lib.vb_arm
        # A slice from the current PC in one native call, without a Python frame: ``run_slice()``,
        # Unicorn's error code, with its arguments in the state (a ctypes call converts each
        # argument it is given): ``next_budget``, and for this slice only ``next_watch`` 1: end it
        # at the first block where (PRIMASK, FAULTMASK, BASEPRI) differ from ``state.masks``, or
        # ``next_tick_first`` >= 0: take SysTick ticks natively from that many cycles in
        # (``set_ticks`` gave the rest); they are 0 and -1 again after it; ``base``, the clock's
        # count, for native code that needs the time mid-slice (NO_SLICE again after it). ``out``
        # then holds the slice's report: PC, PRIMASK, FAULTMASK, BASEPRI, instructions completed
        # (the last block up to PC, 0 at least), the halfword below PC (0 unless it belongs to the
        # last block), cycles slept in WFI, ticks taken natively, whether the budget ran out, and
        # the work left for the caller: WORK_SYNC when a natively taken tick's handler runs or the
        # ``ret_count`` given (``watch_work``) is not 0, WORK_PULL when the ``st_dirty`` given is
        # not 0. ``total_ticks`` counts the ticks of all slices. (To end it early: ``tick_on`` and
        # ``budget`` 0, then ``retarget``; ``watch_masks``.)
        self.state.uc = self._uch
        self.state.next_tick_first = -1
        self.state.base = NO_SLICE
        self.run_slice = functools.partial(lib.vb_slice, self._addr)
        self.retarget = functools.partial(lib.vb_retarget, self._addr)
        self._report = lib.vb_report
        self._lib = lib
        # ``out`` as a memoryview of int64s: ``tolist()`` reads them at half the cost of the
        # ctypes array's slice.
        self.out = memoryview(self.state.out).cast("B").cast("q")
        self._tick_params: tuple[int, int, int, bool] | None = None

    def watch_work(self, ret_count: int, st_dirty: int) -> None:
        """The addresses of the int32 and int64 whose being non-zero after a slice ``out`` reports
        as WORK_SYNC and WORK_PULL (0: none)."""
        self.state.ret_count, self.state.st_dirty = ret_count or None, st_dirty or None

    def arm(self, budget: int) -> None:
        self._arm(self._addr, budget)

    def progress(self) -> int:
        """Instructions completed before the current block of the running slice."""
        return self.state.mark - self.ic.block_left

    def progress_addresses(self) -> tuple[int, int]:
        """For native code: ``progress`` is the int64 at the first address less the one at the second."""
        return (ctypes.addressof(self.state) + _State.mark.offset,
                ctypes.addressof(self.ic) + _Icount.block_left.offset)

    def report(self) -> None:
        """``out`` again, after the PC was moved."""
        self._report(self._addr, self._uch)

    def attach_exceptions(self, path: int, enter: int, leave: int, planned_return: int,
                          watched_entry: int, pend: int, python_intr: int) -> None:
        """Native SysTick ticks, planned returns, entries when the watched masks change and pends by
        ICSR writes: excpath's state and functions (addresses), and the Python UC_HOOK_INTR callback
        every interrupt the native hook does not handle goes to. Installs the native interrupt hook."""
        from unicorn import UC_HOOK_INTR
        from unicorn.unicorn_py3.unicorn import uclib

        s = self.state
        s.exc_path, s.ex_enter, s.ex_return, s.py_intr = path, enter, leave, python_intr
        s.ex_planned_return, s.ex_watched_entry, s.ex_pend = planned_return, watched_entry, pend
        hook = ctypes.c_size_t()
        callback = ctypes.cast(self._lib.vb_intr_hook, ctypes.c_void_p)
        status = uclib.uc_hook_add(self._uch, ctypes.byref(hook), UC_HOOK_INTR, callback, self._addr, 1, 0)
        if status:
            raise RuntimeError(f"uc_hook_add failed ({status})")

    def pend_callback(self) -> tuple[int, int]:
        """(``vb_pend``, its state): for the SCS window's native ICSR writes (``emulator.cpu.scsread``)."""
        return ctypes.cast(self._lib.vb_pend, ctypes.c_void_p).value or 0, self._addr

    def set_ticks(self, period: int, vector: int, vtor: int, stkalign: bool) -> None:
        """For a ``run_slice`` with ticks: a tick every ``period`` cycles into SysTick's handler at
        ``vector`` (see ``native/blockclock.c``)."""
        params = (period, vector, vtor, stkalign)
        if params != self._tick_params:  # the state keeps them from slice to slice
            self._tick_params = params
            s = self.state
            s.tick_period, s.vector, s.vtor, s.stkalign = params

    def watch_masks(self, masks: tuple[int, int, int] | None) -> None:
        """End the running slice at the first block where (PRIMASK, FAULTMASK, BASEPRI)
        differ from ``masks``; None stops watching."""
        s = self.state
        if masks is None:
            s.watch = 0
        else:
            s.masks[0], s.masks[1], s.masks[2] = masks
            s.watch = 1
        self.retarget()
