"""Direct access to Unicorn's 32-bit registers through its C API."""

from __future__ import annotations

import ctypes

from unicorn import Uc


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
