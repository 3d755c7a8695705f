"""Declared register tables: the datasheet's register list as data.

A device class declares ``REGS = RegMap(Reg(...), ...)``. The table drives
dispatch (offset -> register, built once per class), reset values, access
kinds per field, allowed access sizes, the register trace and the docs.

Write semantics per field access kind:

* ``RW``  stored as written.
* ``RO``  writes ignored (value comes from the reset value or device state).
* ``WO``  stored, reads as 0 unless the register has a ``read`` hook.
* ``W1C`` writing 1 clears the bit, 0 leaves it.
* ``W1S`` writing 1 sets the bit, 0 leaves it.
* ``RC``  reading clears the field (after the read value is taken).
* ``SC``  self-clearing: the write is seen by the hooks, the stored bit is 0.
* ``RSVD`` reserved: reads 0, writes ignored.

Hooks (plain functions taking the device first, bound once per class):

* ``read(dev) -> int``               replaces the stored value on read.
* ``write(dev, value) -> None``      replaces the default store entirely.
* ``after_write(dev, old, new)``     runs after the default store.

Reads of a register without a ``read`` hook and without ``RC`` bits, and of one
declared ``fast_read=True``, may be answered by native code from the stored
value (``emulator/bus/regwin.py``). Full-word writes of a register declared
``fast_write=FastWrite(...)`` may be stored by native code too, when they need
no hook (see ``FastWrite``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

log_guest = logging.getLogger("vboard.guest_error")
log_unimp = logging.getLogger("vboard.unimplemented")
log_trace = logging.getLogger("vboard.trace")


class Access(Enum):
    RW = "rw"
    RO = "ro"
    WO = "wo"
    W1C = "w1c"
    W1S = "w1s"
    RC = "rc"
    SC = "sc"
    RSVD = "reserved"


RW, RO, WO, W1C, W1S, RC, SC, RSVD = (
    Access.RW, Access.RO, Access.WO, Access.W1C, Access.W1S, Access.RC, Access.SC, Access.RSVD,
)


@dataclass(frozen=True)
class F:
    """A register field: name, least significant bit, width, access, reset."""

    name: str
    lsb: int
    width: int = 1
    access: Access = RW
    reset: int = 0

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class FastWrite:
    """A register whose full-word writes native code may store (``emulator/bus/regwin.py``):
    by the table's access kinds, or with ``replace`` (for a ``write`` hook that stores
    ``value & replace`` and nothing else) as that. A write that would change a bit of
    ``slow``, or whether a pair of the device's ``IRQ_GUARDS`` registers has a bit in common,
    reaches the model: otherwise its hooks must do nothing but the store and an IRQ update
    that those pairs decide."""

    replace: int | None = None
    slow: int = 0


# Hooks take the device first: a model's own class (a ``Device`` subclass), hence ``Any``.
ReadHook = Callable[[Any], int]
WriteHook = Callable[[Any, int], None]
AfterWriteHook = Callable[[Any, int, int], None]


@dataclass
class Reg:
    """One register. Without fields the whole register has ``access``."""

    offset: int
    name: str
    reset: int = 0
    fields: list[F] = field(default_factory=list)
    access: Access = RW
    sizes: tuple[int, ...] = (4,)
    width: int = 4
    read: ReadHook | None = None
    write: WriteHook | None = None
    after_write: AfterWriteHook | None = None
    doc: str = ""
    # The ``read`` hook returns the stored value (readable bits) whenever the model does not
    # hold its fast reads (``Device.hold_fast_reads``): native code may then answer the read.
    fast_read: bool = False
    # Full-word writes native code may store (see FastWrite); None: every write is Python's.
    fast_write: FastWrite | None = None
    # Derived masks, filled by __post_init__.
    store_mask: int = 0
    w1c_mask: int = 0
    w1s_mask: int = 0
    rc_mask: int = 0
    readable_mask: int = 0
    index: int = -1

    def __post_init__(self) -> None:
        full = (1 << (8 * self.width)) - 1
        if not self.fields:
            self.fields = [F(self.name, 0, 8 * self.width, self.access, self.reset)]
        else:
            reset = self.reset
            for f in self.fields:
                reset |= (f.reset << f.lsb) & f.mask
            self.reset = reset
        for f in self.fields:
            if f.access in (RW, WO):
                self.store_mask |= f.mask
            elif f.access is W1C:
                self.w1c_mask |= f.mask
            elif f.access is W1S:
                self.w1s_mask |= f.mask
            elif f.access is RC:
                self.rc_mask |= f.mask
            if f.access not in (WO, RSVD, SC):
                self.readable_mask |= f.mask
        self.store_mask &= full
        self.reset &= full

    def field(self, name: str) -> F:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name}")


class RegMap:
    """The register table of one device class; offset lookup built once."""

    def __init__(self, *regs: Reg) -> None:
        self.regs: list[Reg] = list(regs)
        self.by_offset: dict[int, Reg] = {}
        self.by_name: dict[str, Reg] = {}
        # The per-word table of native/regwin.c, built on first use by emulator.bus.regwin.
        self.native_table: Any = None
        for i, reg in enumerate(self.regs):
            reg.index = i
            for k in range(reg.width):
                if reg.offset + k in self.by_offset:
                    raise ValueError(f"register {reg.name} overlaps {self.by_offset[reg.offset + k].name}")
                self.by_offset[reg.offset + k] = reg
            if reg.name in self.by_name:
                raise ValueError(f"duplicate register name {reg.name}")
            self.by_name[reg.name] = reg

    def __iter__(self) -> Iterable[Reg]:
        return iter(self.regs)

    def __getitem__(self, name: str) -> Reg:
        return self.by_name[name]

    def table(self) -> str:
        """A plain-text register table, for docs and `vboard describe`."""
        lines = []
        for r in self.regs:
            fields = ", ".join(
                f"{f.name}[{f.lsb + f.width - 1}:{f.lsb}]:{f.access.value}" if f.width > 1
                else f"{f.name}[{f.lsb}]:{f.access.value}"
                for f in r.fields
            )
            lines.append(f"0x{r.offset:03X} {r.name:<14} reset=0x{r.reset:08X} {fields}")
        return "\n".join(lines)
