"""Direct access to Unicorn's registers and memory through its C API (ctypes)."""

from __future__ import annotations

import ctypes

from unicorn import Uc


class RegisterFile:
    """32-bit register access through the C API with one reused buffer.

    The Python binding spends several microseconds per ``reg_read`` choosing
    a value class; exception entry and return make dozens of accesses, so the
    core calls ``uc_reg_read``/``uc_reg_write`` directly.
    """

    __slots__ = ("_handle", "_buf", "_addr", "_read", "_write", "_read_batch", "_batches")

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        self._handle = uc._uch
        self._buf = ctypes.c_uint32()
        self._addr = ctypes.addressof(self._buf)
        self._read = uclib.uc_reg_read
        self._write = uclib.uc_reg_write
        self._read_batch = uclib.uc_reg_read_batch
        self._batches: dict[tuple[int, ...], tuple[ctypes.Array, ctypes.Array, ctypes.Array]] = {}

    def _batch(self, regs: tuple[int, ...]) -> tuple[ctypes.Array, ctypes.Array, ctypes.Array]:
        batch = self._batches.get(regs)
        if batch is None:
            ids = (ctypes.c_int * len(regs))(*regs)
            values = (ctypes.c_uint32 * len(regs))()
            base = ctypes.addressof(values)
            ptrs = (ctypes.c_void_p * len(regs))(*[base + 4 * i for i in range(len(regs))])
            batch = self._batches[regs] = (ids, values, ptrs)
        return batch

    def read_many(self, regs: tuple[int, ...]) -> list[int]:
        ids, values, ptrs = self._batch(regs)
        if self._read_batch(self._handle, ids, ptrs, len(regs)):
            raise ValueError(f"cannot read registers {regs}")
        return values[:]

    def read(self, reg: int) -> int:
        if self._read(self._handle, reg, self._addr):
            raise ValueError(f"cannot read register {reg}")
        return self._buf.value

    def write(self, reg: int, value: int) -> None:
        self._buf.value = value & 0xFFFFFFFF
        if self._write(self._handle, reg, self._addr):
            raise ValueError(f"cannot write register {reg}")


class WordReader:
    """Reads of a few 32-bit words, or a halfword, with one reused buffer (no allocation per call)."""

    __slots__ = ("_handle", "_buf", "_ptr", "_read")

    def __init__(self, uc: Uc, max_words: int = 8) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        self._handle = uc._uch
        self._read = uclib.uc_mem_read
        self._grow(max_words)

    def _grow(self, n: int) -> None:
        self._buf = (ctypes.c_uint32 * n)()
        self._ptr = ctypes.cast(self._buf, ctypes.POINTER(ctypes.c_char))

    def words(self, address: int, n: int) -> list[int]:
        """``n`` little-endian words at ``address``; raises ValueError if unmapped."""
        if n > len(self._buf):
            self._grow(n)
        if self._read(self._handle, address, self._ptr, 4 * n):
            raise ValueError(f"cannot read 0x{address:08X}")
        return self._buf[:n]

    def halfword(self, address: int) -> int:
        """The little-endian halfword at ``address``; raises ValueError if unmapped."""
        buf = self._buf
        buf[0] = 0
        if self._read(self._handle, address, self._ptr, 2):
            raise ValueError(f"cannot read 0x{address:08X}")
        return buf[0]
