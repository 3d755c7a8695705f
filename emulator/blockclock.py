"""Virtual time for the CPU: instructions counted per translated block.

The native hook in ``native/blockclock.c`` is attached with Unicorn's C API
as a ``UC_HOOK_BLOCK`` callback; Python never runs per block. It is built
with the host C compiler by ``scripts/setup`` (or on first use, see
``native_lib``). Unicorn's own ``count`` limit would give exact slices but
instruments every instruction and halves the speed of translated code.

Model: a slice ends at the first block boundary at or after its budget, so
a timer event can be taken up to one block (a handful of instructions)
late; the instruction count itself is always exact (block counts plus the
position of the final PC inside the last block).
"""

from __future__ import annotations

import ctypes
import logging

from unicorn import UC_HOOK_BLOCK, Uc
from unicorn import arm_const as A

from emulator import native_lib

log = logging.getLogger("vboard.cpu")

CACHE_SLOTS = 65536


class _CacheEntry(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("size", ctypes.c_uint32), ("count", ctypes.c_uint32)]


class _State(ctypes.Structure):
    _fields_ = [
        ("emu_stop", ctypes.c_void_p),
        ("mem_read", ctypes.c_void_p),
        ("budget", ctypes.c_int64),
        ("executed", ctypes.c_int64),
        ("block_start", ctypes.c_int64),
        ("block_addr", ctypes.c_uint64),
        ("block_size", ctypes.c_uint32),
        ("stopped", ctypes.c_int32),
        ("blocks", ctypes.c_uint64),
        ("reg_read", ctypes.c_void_p),
        ("watch", ctypes.c_int32),
        ("reg_ids", ctypes.c_int32 * 3),
        ("masks", ctypes.c_uint32 * 3),
        ("pad", ctypes.c_uint32),
        ("cache", _CacheEntry * CACHE_SLOTS),
    ]


def _library() -> ctypes.CDLL:
    return native_lib.load("blockclock", (_State, "vb_sizeof"), {
        "vb_count_thumb": (ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_uint32]),
        "vb_arm": (None, [ctypes.c_void_p, ctypes.c_int64]),
        "vb_slice_end": (ctypes.c_int64, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64,
                                          ctypes.c_void_p]),
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
        for i, reg in enumerate((A.UC_ARM_REG_PRIMASK, A.UC_ARM_REG_FAULTMASK, A.UC_ARM_REG_BASEPRI)):
            self.state.reg_ids[i] = reg
        lib.vb_invalidate(ctypes.byref(self.state))
        self._count = lib.vb_count_thumb
        hook = ctypes.c_size_t()
        callback = ctypes.cast(lib.vb_block_hook, ctypes.c_void_p)
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(hook), UC_HOOK_BLOCK, callback,
                                   ctypes.addressof(self.state), 1, 0)
        if status:
            raise RuntimeError(f"uc_hook_add failed ({status})")
        self.hook = hook.value
        self._addr = ctypes.addressof(self.state)
        self._uch = uc._uch
        self._arm = lib.vb_arm
        self._slice_end = lib.vb_slice_end
        self._before = ctypes.c_uint32()
        self._before_ref = ctypes.addressof(self._before)

    def arm(self, budget: int) -> None:
        self._arm(self._addr, budget)

    def slice_end(self, pc: int) -> tuple[int, int]:
        """(instructions the slice completed, the halfword below ``pc`` or 0): one native call."""
        ran = self._slice_end(self._addr, self._uch, pc, self._before_ref)
        return ran, self._before.value

    def watch_masks(self, masks: tuple[int, int, int] | None) -> None:
        """End the slice at the first block where (PRIMASK, FAULTMASK, BASEPRI) differ
        from ``masks``; None stops watching."""
        s = self.state
        if masks is None:
            s.watch = 0
            return
        s.masks[0], s.masks[1], s.masks[2] = masks
        s.watch = 1

    def invalidate(self) -> None:
        """Forget cached block counts (code was rewritten)."""
        _library().vb_invalidate(ctypes.byref(self.state))
