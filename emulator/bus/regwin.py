"""Register windows served in C: reads of a device's stored-value registers without Python,
and full-word writes of the registers declared ``fast_write``.

A ``Device`` keeps its register values in ``self.r``, an ``array('I')`` whose buffer never
moves, and owns a ``RegisterWindow`` over it when its reads may be served natively
(``Device.NATIVE_READS``). The CPU maps the device window with ``native/regwin.c``'s read
callback, which answers a read from that storage when the table allows it and passes every
other read to the model's ``read`` (the Python trampoline) as before:

* a register with no ``read`` hook and no read-clear bits (a plain stored value): always;
* a register whose ``read`` hook is declared ``fast_read=True``: while the model does not
  hold the window (``Device.hold_fast_reads``). Such a hook must return the stored value
  (masked by its readable bits) whenever the model does not hold: the model holds while a
  read would have a side effect or compute something the storage does not show yet;
* only naturally aligned accesses of a size the register allows (others reach the model,
  which logs the guest error), and nothing while the device traces its registers.

A fast read never calls the CPU's ``native_sync``: it depends on no clock and no exception
state, only on the stored value, which the model changes only from Python (writes, events,
host input) or through this window, never behind the table's back. The answer is the one
``Device.read`` gives.

Writes: a full-word, aligned write of a register declared ``fast_write`` (a
``regs.FastWrite``) is stored in C as ``Device.write`` would store it (the table's
access kinds, or ``replace`` for a register whose ``write`` hook only stores), unless it
would change a bit of its ``slow`` mask or whether a pair of the device's ``IRQ_GUARDS``
registers has a bit in common: then, and for every other write, the model's ``write``
runs. So a register whose hooks only update an IRQ line
decided by those pairs (an interrupt status acknowledged, an enable mask) is stored without
Python while the line stays as it is.
"""

from __future__ import annotations

import ctypes
from array import array
from typing import TYPE_CHECKING, Any, ClassVar

from emulator.native import native_lib

if TYPE_CHECKING:
    from emulator.bus.regs import Reg, RegMap


RW_READ, RW_WRITE = 1, 2
MAX_GUARDS = 2
MASK32 = 0xFFFF_FFFF


class _Entry(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_int16),
        ("sizes", ctypes.c_uint8),
        ("held", ctypes.c_uint8),
        ("mask", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("keep", ctypes.c_uint32),
        ("store", ctypes.c_uint32),
        ("w1c", ctypes.c_uint32),
        ("w1s", ctypes.c_uint32),
        ("slow", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]


class _Window(ctypes.Structure):
    _fields_ = [
        ("slow_read", ctypes.c_void_p),
        ("slow_user", ctypes.c_void_p),
        ("regs", ctypes.POINTER(ctypes.c_uint32)),
        ("table", ctypes.POINTER(_Entry)),
        ("nwords", ctypes.c_uint32),
        ("hold", ctypes.c_uint32),
        ("off", ctypes.c_uint32),
        ("nguards", ctypes.c_uint32),
        ("fast_reads", ctypes.c_uint64),
        ("slow_write", ctypes.c_void_p),
        ("slow_write_user", ctypes.c_void_p),
        ("guard_a", ctypes.c_int32 * MAX_GUARDS),
        ("guard_b", ctypes.c_int32 * MAX_GUARDS),
        ("fast_writes", ctypes.c_uint64),
    ]


class NativeReads:
    """A window's native read callback as ``CortexM3.map_mmio`` takes it: a ``RegisterWindow``,
    or a model's own (the SCS's, ``emulator.cpu.scsread``). A subclass has ``_lib`` (its C
    library), ``port`` (its C structure, with ``slow_read``, ``slow_user``, ``off`` and
    ``fast_reads``) and names its C read function in ``READ_CALLBACK``."""

    __slots__ = ()
    READ_CALLBACK: ClassVar[str]
    WRITE_CALLBACK: ClassVar[str] = ""
    serves_writes: bool = False  # a write callback comes first too (``port`` has ``slow_write``...)
    _lib: ctypes.CDLL
    port: Any

    def callbacks(self) -> tuple[int, int]:
        """(read callback, user data) for ``uc_mmio_map`` or a ``WordFifoPort``'s slow path."""
        read = getattr(self._lib, self.READ_CALLBACK)
        return ctypes.cast(read, ctypes.c_void_p).value or 0, ctypes.addressof(self.port)

    def set_slow_path(self, read: int, user: int = 0) -> None:
        """The read callback (C function pointer, its user data) for every read not served here."""
        self.port.slow_read = read
        self.port.slow_user = user

    def write_callbacks(self) -> tuple[int, int]:
        """(write callback, user data), with ``serves_writes``: for ``uc_mmio_map`` or a
        ``WordFifoPort``'s slow path."""
        write = getattr(self._lib, self.WRITE_CALLBACK)
        return ctypes.cast(write, ctypes.c_void_p).value or 0, ctypes.addressof(self.port)

    def set_slow_write(self, write: int, user: int = 0) -> None:
        """The write callback (C function pointer, its user data) for every write not taken here."""
        self.port.slow_write = write
        self.port.slow_write_user = user

    @property
    def off(self) -> bool:
        """Every read takes the slow path (the device traces its registers)."""
        return bool(self.port.off)

    @off.setter
    def off(self, value: bool) -> None:
        self.port.off = bool(value)

    @property
    def fast_reads(self) -> int:
        """Reads answered by native code so far."""
        return self.port.fast_reads


def _library() -> ctypes.CDLL:
    lib = native_lib.load("regwin", (_Window, "rw_sizeof"), {
        "rw_peek": (ctypes.c_int, [ctypes.POINTER(_Window), ctypes.c_uint64, ctypes.c_uint,
                                   ctypes.POINTER(ctypes.c_uint32)]),
        "rw_read": (ctypes.c_uint64, [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p]),
        "rw_write": (None, [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                            ctypes.c_void_p]),
        "rw_peek_write": (ctypes.c_int, [ctypes.POINTER(_Window), ctypes.c_uint64, ctypes.c_uint,
                                         ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint32)]),
    })
    lib.rw_sizeof_entry.restype = ctypes.c_uint64
    if lib.rw_sizeof_entry() != ctypes.sizeof(_Entry):
        raise RuntimeError("regwin.c and emulator.bus.regwin disagree on the layout of _Entry")
    return lib


def is_fast(reg: Reg) -> bool:
    """Whether native code may answer reads of ``reg`` (see the module docstring)."""
    return (reg.width == 4 and reg.offset % 4 == 0 and not reg.rc_mask
            and (reg.read is None or reg.fast_read))


def is_fast_write(reg: Reg) -> bool:
    """Whether native code may store full-word writes of ``reg`` (see the module docstring)."""
    fw = reg.fast_write
    return (fw is not None and reg.width == 4 and reg.offset % 4 == 0 and 4 in reg.sizes
            and (reg.write is None or fw.replace is not None))


def _table(regs: RegMap) -> ctypes.Array[_Entry] | None:
    """The per-word table of one register map (built once per map), None with no fast register."""
    cached = regs.native_table
    if cached is not None:
        return cached or None
    fast = [reg for reg in regs.regs if is_fast(reg) or is_fast_write(reg)]
    if not fast:
        regs.native_table = ()
        return None
    table = (_Entry * (max(reg.offset for reg in fast) // 4 + 1))()
    ctypes.memset(table, 0, ctypes.sizeof(table))
    for entry in table:
        entry.index = -1  # no register
    for reg in fast:
        entry = table[reg.offset // 4]
        entry.index = reg.index
        entry.sizes = sum(s for s in set(reg.sizes) if s in (1, 2, 4))
        entry.held = reg.read is not None
        entry.mask = reg.readable_mask
        entry.flags = (RW_READ if is_fast(reg) else 0) | (RW_WRITE if is_fast_write(reg) else 0)
        fw = reg.fast_write
        if fw is not None:
            if reg.write is not None:  # the hook stores value & replace
                entry.keep, entry.store = 0, fw.replace & MASK32
            else:
                entry.keep, entry.store = ~reg.store_mask & MASK32, reg.store_mask
                entry.w1c, entry.w1s = reg.w1c_mask & MASK32, reg.w1s_mask & MASK32
            entry.slow = fw.slow & MASK32
    regs.native_table = table
    return table


class RegisterWindow(NativeReads):
    """The native side of one device's register window, over its storage ``r``. ``guards``:
    pairs of register indexes whose having a bit in common decides an IRQ line."""

    __slots__ = ("_lib", "_table", "_storage", "port", "_ref", "serves_writes")
    READ_CALLBACK = "rw_read"
    WRITE_CALLBACK = "rw_write"

    def __init__(self, regs: RegMap, storage: array, guards: tuple[tuple[int, int], ...] = ()) -> None:
        table = _table(regs)
        if table is None:
            raise ValueError("a register window needs at least one fast register")
        if storage.itemsize != 4 or len(storage) != len(regs.regs):
            raise ValueError("register storage must be one 32-bit word per register")
        self._lib = _library()
        self._table = table
        # Exporting the buffer pins it: the array can no longer be resized (BufferError),
        # so the address the C side holds stays the storage's.
        self._storage = (ctypes.c_uint32 * len(storage)).from_buffer(storage)
        p = self.port = _Window()
        p.regs = ctypes.cast(self._storage, ctypes.POINTER(ctypes.c_uint32))
        p.table = ctypes.cast(table, ctypes.POINTER(_Entry))
        p.nwords = len(table)
        if len(guards) > MAX_GUARDS:
            raise ValueError(f"a register window takes at most {MAX_GUARDS} IRQ guards")
        for i, (a, b) in enumerate(guards):
            p.guard_a[i], p.guard_b[i] = a, b
        p.nguards = len(guards)
        self.serves_writes = any(e.flags & RW_WRITE for e in table)
        self._ref = ctypes.byref(p)

    # -- the model's side ---------------------------------------------------------------------------
    @property
    def hold(self) -> bool:
        return bool(self.port.hold)

    @hold.setter
    def hold(self, value: bool) -> None:
        self.port.hold = bool(value)

    @property
    def fast_writes(self) -> int:
        """Writes stored by native code so far."""
        return self.port.fast_writes

    def peek(self, offset: int, size: int) -> int | None:
        """What a read would return without the model, or None when it would reach the model."""
        out = ctypes.c_uint32()
        if self._lib.rw_peek(self._ref, offset, size, ctypes.byref(out)):
            return out.value
        return None

    def peek_write(self, offset: int, size: int, value: int) -> int | None:
        """What a write would store without the model (storing nothing), or None when it would
        reach the model."""
        out = ctypes.c_uint32()
        if self._lib.rw_peek_write(self._ref, offset, size, value & MASK32, ctypes.byref(out)):
            return out.value
        return None
