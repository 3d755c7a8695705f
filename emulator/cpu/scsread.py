"""SysTick's CVR and CSR, the SCB's ICSR and the plain registers read without Python (``native/scsread.c``).

The SCS window's read callback answers word reads of SYST_CVR, SYST_CSR and ICSR in C and passes
every other read to the model's Python ``read``, as ``emulator.bus.regwin`` does for
stored-value registers. The answers are the model's own:

* CVR: ``SysTick.value()`` computed from the counter's programming, which ``SysTick``
  copies here whenever it changes (``publish``), and the clock's cycle count mid-slice:
  the count when the slice began (``CortexM3.native_base``) plus the block clock's
  progress, which is what ``clock.now`` is inside a slice.
* CSR: ``SysTick.read_csr()`` likewise, from the CSR and the cycle COUNTFLAG was last
  cleared at, both copied here; the read clears COUNTFLAG by storing its own cycle there,
  which is where the model reads that cycle from. A COUNTFLAG bit kept in the CSR (from a
  snapshot) sends the read to Python.
* ICSR: the IPSR read from the core, the pending fields as the model last computed them
  (valid until ``ExceptionState`` drops them on any change of its pending, enabled,
  priority or active state), and RETTOBASE from the IPSR and the active set.

* The plain registers (AIRCR, IPR, SHPR1-3, ISER/ICER): aligned reads of the sizes the
  register table allows, from a copy of each word's value the SCS model stores here
  (``publish``) whenever the state it shows changes.

A read here never calls the CPU's ``native_sync``: no answer depends on whether a
natively taken SysTick handler is Python's yet (C adds it to the active set itself).

Writes: a word write of ICSR whose only action bit is PENDSVSET (an RTOS's yield), inside a slice,
is offered to the block clock (``vb_pend``), which pends PendSV in native state when the CPU's plan
allows it (``CortexM3.plan_native``, the pend plan) and leaves it to ``native_sync`` to tell the
NVIC. Word writes of SysTick's CSR, RVR and CVR inside a slice (an RTOS's tickless idle reprograms
SysTick at every sleep) are done in C as ``SysTick.write_csr``/``write_reload``/``write_current`` do
them, into the native copy, which then holds the programming until the model pulls it
(``SysTick.pull``: the changes of its clock event recorded in C are applied then) before Python
reads SysTick or schedules an event, and at the slice's end (``CortexM3.run``). C declines (the
write goes to Python as before) while ``native_sync`` has work, when a clock event would be
scheduled before the slice's end, and under register tracing. Every other write, and one declined,
goes to the model's ``write`` through the CPU's trampoline.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.bus.regwin import NativeReads
from emulator.native import native_lib

if TYPE_CHECKING:
    from emulator.cpu.cortexm import CortexM3

ACTIVE_SEVERAL = -1
SCS_WORDS = 0x400


class _Port(ctypes.Structure):
    _fields_ = [
        ("slow_read", ctypes.c_void_p),
        ("slow_user", ctypes.c_void_p),
        ("base", ctypes.c_void_p),
        ("mark", ctypes.c_void_p),
        ("block_left", ctypes.c_void_p),
        ("tick_active", ctypes.c_void_p),
        ("tick_flags", ctypes.c_void_p),
        ("reg_read", ctypes.c_void_p),
        ("reg_ipsr", ctypes.c_int32),
        ("off", ctypes.c_uint32),
        ("st_enabled", ctypes.c_int64),
        ("st_cycles_per_tick", ctypes.c_int64),
        ("st_start", ctypes.c_int64),
        ("st_start_value", ctypes.c_int64),
        ("st_reload", ctypes.c_int64),
        ("st_stopped_value", ctypes.c_int64),
        ("st_csr", ctypes.c_int64),
        ("st_flag_cleared_at", ctypes.c_int64),
        ("st_dirty", ctypes.c_int64),
        ("st_op1", ctypes.c_int64),
        ("st_cur", ctypes.c_int64),
        ("st_draws", ctypes.c_int64),
        ("icsr_valid", ctypes.c_uint32),
        ("icsr_bits", ctypes.c_uint32),
        ("active", ctypes.c_int32),
        ("pad", ctypes.c_uint32),
        ("fast_reads", ctypes.c_uint64),
        ("plain", ctypes.c_uint32 * SCS_WORDS),
        ("plain_sizes", ctypes.c_uint8 * SCS_WORDS),
        ("slow_write", ctypes.c_void_p),
        ("slow_write_user", ctypes.c_void_p),
        ("pend", ctypes.c_void_p),
        ("pend_state", ctypes.c_void_p),
        ("fast_writes", ctypes.c_uint64),
        ("st_writes", ctypes.c_uint32),
        ("st_pad", ctypes.c_uint32),
        ("tick_on", ctypes.c_void_p),
        ("ret_count", ctypes.c_void_p),
        ("slice_budget", ctypes.c_void_p),
        ("st_ref_cpt", ctypes.c_int64),
        ("st_fast_writes", ctypes.c_uint64),
    ]


def _library() -> ctypes.CDLL:
    return native_lib.load("scsread", (_Port, "sr_sizeof"), {
        "sr_peek": (ctypes.c_int, [ctypes.POINTER(_Port), ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint,
                                   ctypes.POINTER(ctypes.c_uint32)]),
        "sr_read": (ctypes.c_uint64, [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p]),
    })


# excpath.c stores the ICSR image through one pointer (its icsr_image_t): the valid flag, the
# pending fields and the active set, in a row.
if not (_Port.icsr_valid.offset + 4 == _Port.icsr_bits.offset
        and _Port.icsr_bits.offset + 4 == _Port.active.offset):
    raise RuntimeError("excpath.c's icsr_image_t does not match scsread.c's ICSR image")


# SysTick.pull reads the programming and the record of the writes in one piece, in this order.
PROGRAMMING = ("st_enabled", "st_cycles_per_tick", "st_start", "st_start_value", "st_reload",
               "st_stopped_value", "st_csr", "st_flag_cleared_at", "st_dirty", "st_op1", "st_cur", "st_draws")
_PROGRAMMING = struct.Struct(f"<{len(PROGRAMMING)}q")
if [getattr(_Port, name).offset for name in PROGRAMMING] != [
        _Port.st_enabled.offset + 8 * i for i in range(len(PROGRAMMING))]:
    raise RuntimeError("scsread.c's SysTick fields are not in SysTick.pull's order")


class ScsReadPort(NativeReads):
    """The native read side of the SCS window (the ``map_mmio`` interface of a RegisterWindow)."""

    __slots__ = ("_lib", "port", "_ref", "_cpu")
    READ_CALLBACK = "sr_read"
    WRITE_CALLBACK = "sr_write"
    serves_writes = True

    def __init__(self, cpu: CortexM3) -> None:
        self._lib = _library()
        self._cpu = cpu
        p = self.port = _Port()
        (p.base, p.mark, p.block_left, p.tick_active, p.tick_flags, p.reg_read,
         p.reg_ipsr) = cpu.native_clock()
        self._ref = ctypes.byref(p)
        # A return native code makes from a handler Python entered changes the active set: the
        # image is dropped there and then (the next read takes the slow path).
        cpu.native_drops_icsr(ctypes.addressof(p) + _Port.icsr_valid.offset)
        p.pend, p.pend_state = cpu.native_pend()
        # SysTick's writes: they end native ticks as any SCS write does; they are declined while
        # native changes wait for native_sync and for a clock event before the slice's end.
        bc = cpu._bc_state
        p.tick_on = ctypes.addressof(bc) + type(bc).tick_on.offset
        p.slice_budget = ctypes.addressof(bc) + type(bc).slice_budget.offset
        returns = cpu._returns_state
        p.ret_count = ctypes.addressof(returns) + type(returns).ret_count.offset
        p.st_writes = 1

    # -- the model's side ---------------------------------------------------------------------------
    def store_icsr(self, bits: int, active: int) -> None:
        """ICSR's fields besides VECTACTIVE and RETTOBASE, valid until the NVIC drops them."""
        p = self.port
        p.icsr_bits = bits
        # The active set as the C side keeps it: 0 none, n only exception n, or ACTIVE_SEVERAL.
        p.active = 0 if not active else ACTIVE_SEVERAL if active & (active - 1) else active.bit_length() - 1
        p.icsr_valid = 1

    def programming_reader(self) -> Callable[[], tuple[int, ...]]:
        """A call answering the SysTick fields of ``PROGRAMMING`` as they are now, in that order."""
        return functools.partial(_PROGRAMMING.unpack_from, self.port, _Port.st_enabled.offset)

    def serve_plain(self, offset: int, sizes: tuple[int, ...]) -> None:
        """Answer aligned reads of ``sizes`` within the word at ``offset`` from its published value."""
        self.port.plain_sizes[offset >> 2] = sum(sizes)

    def publish(self, offset: int, value: int) -> None:
        """The value a read of the plain register at ``offset`` returns from now on."""
        self.port.plain[offset >> 2] = value

    @property
    def pend_writes(self) -> bool:
        """Are ICSR writes of PENDSVSET offered to native code (else all writes are Python's)?"""
        return bool(self.port.pend)

    @pend_writes.setter
    def pend_writes(self, on: bool) -> None:
        self.port.pend = self._cpu.native_pend()[0] if on else None

    @property
    def systick_writes(self) -> bool:
        """Are SysTick's CSR, RVR and CVR word writes served in C (else all are Python's)?"""
        return bool(self.port.st_writes)

    @systick_writes.setter
    def systick_writes(self, on: bool) -> None:
        self.port.st_writes = bool(on)

    @property
    def systick_fast_writes(self) -> int:
        """SysTick register writes served in C."""
        return self.port.st_fast_writes

    def drop_icsr(self) -> None:
        self.port.icsr_valid = 0

    def peek(self, offset: int, size: int) -> int | None:
        """What a read would return without the model, or None when it would reach the model
        (a CSR read answered clears COUNTFLAG, as the firmware's)."""
        out = ctypes.c_uint32()
        if self._lib.sr_peek(self._ref, self._cpu.uc._uch, offset, size, ctypes.byref(out)):
            return out.value
        return None
