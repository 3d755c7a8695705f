"""Direct access to Unicorn state: the instruction counter, 32-bit registers.

How many instructions Unicorn has run in the current ``emu_start``:

Unicorn 2.1.4 counts the instructions of a ``count``-limited run in a private
field of its handle (``uc->emu_counter``) and offers no API to read it, yet
an exact count is what virtual time is made of when a run stops early (WFI,
an MMIO write that pends an interrupt). This module finds the field once per
process by experiment: it runs a known number of instructions on a scratch
engine and looks for the 64-bit word that holds exactly that count, twice,
next to the word holding the limit. The field is then read through ctypes,
which costs far less than any Unicorn API call.
"""

from __future__ import annotations

import ctypes
import struct
from functools import cache

from unicorn import UC_ARCH_ARM, UC_MODE_THUMB, Uc
from unicorn.arm_const import UC_CPU_ARM_CORTEX_M3

_SCAN_BYTES = 64 * 1024
_CODE_BASE = 0x1000


class CounterNotFound(RuntimeError):
    pass


def _program(adds: int) -> bytes:
    # `adds r2, #1` repeated, then `wfi`, which ends emu_start normally.
    return struct.pack("<H", 0x3201) * adds + struct.pack("<H", 0xBF30)


def _run(adds: int, limit: int) -> bytes:
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M3)
    uc.mem_map(0, 0x10000)
    uc.mem_write(_CODE_BASE, _program(adds))
    uc.emu_start(_CODE_BASE | 1, 0xF0000000, 0, limit)
    snapshot = ctypes.string_at(uc._uch.value, _SCAN_BYTES)
    del uc
    return snapshot


@cache
def counter_offset() -> int:
    """Byte offset of ``emu_counter`` in Unicorn's handle; raises CounterNotFound."""
    runs = [(37, 5001), (211, 7003)]
    snaps = [_run(adds, limit) for adds, limit in runs]
    for off in range(0, _SCAN_BYTES - 16, 8):
        ok = True
        for (adds, limit), snap in zip(runs, snaps, strict=True):
            counter, following = struct.unpack_from("<QQ", snap, off)
            if counter != adds + 1 or following != limit:
                ok = False
                break
        if ok:
            return off
    raise CounterNotFound("could not locate Unicorn's instruction counter")


def counter_of(uc: Uc) -> ctypes.c_uint64:
    """A live view of ``uc``'s instruction counter (``.value`` to read)."""
    return ctypes.c_uint64.from_address(uc._uch.value + counter_offset())


class RegisterFile:
    """32-bit register access through the C API with one reused buffer.

    The Python binding spends several microseconds per ``reg_read`` choosing
    a value class; exception entry and return make dozens of accesses, so the
    core calls ``uc_reg_read``/``uc_reg_write`` directly.
    """

    __slots__ = ("_handle", "_buf", "_addr", "_read", "_write")

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        self._handle = uc._uch
        self._buf = ctypes.c_uint32()
        self._addr = ctypes.addressof(self._buf)
        self._read = uclib.uc_reg_read
        self._write = uclib.uc_reg_write

    def read(self, reg: int) -> int:
        if self._read(self._handle, reg, self._addr):
            raise ValueError(f"cannot read register {reg}")
        return self._buf.value

    def write(self, reg: int, value: int) -> None:
        self._buf.value = value & 0xFFFFFFFF
        if self._write(self._handle, reg, self._addr):
            raise ValueError(f"cannot write register {reg}")
