"""The base class of every memory-mapped device model.

A model declares ``SIZE`` (its window), ``REGS`` (a ``RegMap``), the IRQ
outputs it drives (``IRQS``, names only: the platform file wires them) and
optionally byte ports (``BYTE_PORTS``, serial streams) and frame ports
(``FRAME_PORTS``, Ethernet; see ``emulator.net.frames``). The machine gives it the clock and
the wired IRQ lines; models never see NVIC numbers and do no host I/O.

Register values live in ``self.r``, an ``array('I')`` indexed by the
register's position in the table: 32-bit unsigned values, stored in place
(``self.r[i] = v``, never a new ``self.r``), because native code answers
reads of stored-value registers from that memory (``emulator/bus/regwin.py``,
``register_window``). ``self.get('NAME')``/``self.set('NAME', v)`` are the
readable forms for hooks. ``read``/``write`` are the MMIO entry points.
A model whose ``read`` hook is declared ``fast_read`` calls
``hold_fast_reads(True)`` while that hook would do more than return the
stored value; full-word writes of a register declared ``fast_write`` may be
stored natively too, as long as they leave the ``IRQ_GUARDS`` pairs' line
where it is.

The machine that maps a device gives it ``board_log`` (whose ``where()``
names the instruction making the current access) and
``request_system_reset(reason)``, which resets the board the way
AIRCR.SYSRESETREQ does (a watchdog's reset output), and
``bus_read``/``bus_write``, the board's bus as the CPU sees it (RAM and the
other devices; the bit-band aliases forward through it); a device alone, as
in unit tests, gets harmless defaults. ``after_system_reset(reason)`` runs
after ``reset()`` when the board, not power, was reset.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable
from typing import Any, ClassVar

from emulator.boardlog import BoardLog
from emulator.bus.regs import RegMap, log_guest, log_trace, log_unimp
from emulator.bus.regwin import NativeReads, RegisterWindow, is_fast
from emulator.clock import Clock
from emulator.net.frames import FramePort


class IrqLine:
    """One interrupt output of a device, wired by the platform to a sink.

    ``level`` and ``sink`` are read by a device's hot path that does what ``set`` does inline
    (``Lan9118._update_irq``)."""

    __slots__ = ("name", "level", "sink")

    def __init__(self, name: str, sink: Callable[[bool], None] | None = None) -> None:
        self.name = name
        self.level = False
        self.sink = sink

    def connect(self, sink: Callable[[bool], None]) -> None:
        """Wire the line; a sink connected while the line is high sees it high at once."""
        self.sink = sink
        if self.level:
            sink(True)

    def rewire(self, sink: Callable[[bool], None]) -> None:
        """Send later changes to ``sink`` instead; the present level is not replayed."""
        self.sink = sink

    def set(self, level: bool) -> None:
        level = bool(level)
        if level != self.level:
            self.level = level
            if self.sink is not None:
                self.sink(level)

    def pulse(self) -> None:
        self.set(True)
        self.set(False)


class OrGate:
    """Several device lines driving one NVIC input (e.g. the AN385 overrun IRQ 12)."""

    __slots__ = ("_levels", "_sink", "_inputs")

    def __init__(self, sink: Callable[[bool], None]) -> None:
        self._levels: set[int] = set()
        self._sink = sink
        self._inputs = 0

    def rewire(self, sink: Callable[[bool], None]) -> None:
        """Send later changes of the gate's output to ``sink``; the present level is not replayed."""
        self._sink = sink

    def input(self) -> Callable[[bool], None]:
        key = self._inputs
        self._inputs += 1

        def drive(level: bool, _key: int = key) -> None:
            before = bool(self._levels)
            if level:
                self._levels.add(_key)
            else:
                self._levels.discard(_key)
            after = bool(self._levels)
            if after != before:
                self._sink(after)

        return drive


class BytePort:
    """A serial byte stream between a device and the outside world.

    Device side: ``send(data)`` puts bytes on the wire; the device sets
    ``on_receive`` to accept bytes the world delivers (at a sync point).
    World side: ``connect(listener)`` to get what the device sends;
    ``deliver(data)`` to hand bytes to the device.
    """

    __slots__ = ("name", "_listeners", "on_receive")

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[bytes], None]] = []
        self.on_receive: Callable[[bytes], None] | None = None

    def connect(self, listener: Callable[[bytes], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[bytes], None]) -> None:
        self._listeners.remove(listener)

    def send(self, data: bytes) -> None:
        for listener in self._listeners:
            listener(data)

    def deliver(self, data: bytes) -> None:
        if self.on_receive is not None:
            self.on_receive(data)


class Device:
    SIZE: ClassVar[int] = 0x1000
    REGS: ClassVar[RegMap] = RegMap()
    IRQS: ClassVar[tuple[str, ...]] = ()
    BYTE_PORTS: ClassVar[tuple[str, ...]] = ()
    FRAME_PORTS: ClassVar[tuple[str, ...]] = ()
    STATE_VERSION: ClassVar[int] = 1
    # Whether native code may answer reads of stored-value registers (emulator/bus/regwin.py).
    # None: when the class keeps Device.read. A class that overrides read() sets True only if
    # its override ends in Device.read for every declared register and changes no stored value
    # before it.
    NATIVE_READS: ClassVar[bool | None] = None
    # Pairs of register names whose having a bit in common decides an IRQ line (e.g. a status
    # and its enable mask): a native write of a ``fast_write`` register that would change one
    # goes to the model (emulator/bus/regwin.py).
    IRQ_GUARDS: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        self.name = name
        self.clock = clock
        self.irq: dict[str, IrqLine] = {n: IrqLine(f"{name}.{n}") for n in self.IRQS}
        self.ports: dict[str, BytePort] = {n: BytePort(f"{name}.{n}") for n in self.BYTE_PORTS}
        self.frame_ports: dict[str, FramePort] = {n: FramePort(f"{name}.{n}") for n in self.FRAME_PORTS}
        self.r = array("I", bytes(4 * len(self.REGS.regs)))
        # Native reads of the stored-value registers (None: the class allows none, or has none).
        self.register_window: RegisterWindow | None = None
        if self._native_reads_allowed():
            guards = tuple((self.REGS[a].index, self.REGS[b].index) for a, b in self.IRQ_GUARDS)
            self.register_window = RegisterWindow(self.REGS, self.r, guards)
        self.log = logging.getLogger(f"vboard.device.{name}")
        # The machine's board log (set when the device is placed on a board): guest errors and
        # unimplemented features go there instead of Python logging.
        self.board_log: BoardLog | None = None
        # Where the machine mapped the device's window (None: not on a bus).
        self.mmio_base: int | None = None
        self._unimp_seen: set[str] = set()
        self.trace = log_trace.isEnabledFor(logging.DEBUG)
        # Set by the machine that maps the device (defaults serve a device on its own, in tests).
        self.request_system_reset: Callable[[str], None] = self._no_board_reset
        # The board's bus as the CPU sees it (RAM and other devices), for a device that forwards
        # accesses (the bit-band aliases): bus_read(address, size) -> int, bus_write(address, size, value).
        self.bus_read: Callable[[int, int], int] = self._no_bus_read
        self.bus_write: Callable[[int, int, int], None] = self._no_bus_write
        if settings:
            unknown = ", ".join(sorted(settings))
            raise ValueError(f"{type(self).__name__} takes no setting(s) {unknown}")

    # -- register storage -------------------------------------------------
    @classmethod
    def _native_reads_allowed(cls) -> bool:
        allowed = cls.read is Device.read if cls.NATIVE_READS is None else cls.NATIVE_READS
        return allowed and any(is_fast(reg) for reg in cls.REGS.regs)

    def hold_fast_reads(self, hold: bool) -> None:
        """While held, reads of ``fast_read`` registers reach the model's read hooks."""
        window = self.register_window
        if window is not None:
            window.port.hold = hold

    def native_register_window(self) -> NativeReads | None:
        """The window the CPU maps, tracing decided now (a traced device is all Python)."""
        window = self.register_window
        if window is not None:
            window.off = self.trace
        return window

    def get(self, name: str) -> int:
        return self.r[self.REGS.by_name[name].index]

    def set(self, name: str, value: int) -> None:
        self.r[self.REGS.by_name[name].index] = value

    def reset(self) -> None:
        """Restore the table's reset values; subclasses then reset state and IRQs."""
        for reg in self.REGS.regs:
            self.r[reg.index] = reg.reset

    # -- MMIO entry points --------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        reg = self.REGS.by_offset.get(offset & ~(size - 1) if size < 4 else offset)
        if reg is None:
            reg = self.REGS.by_offset.get(offset)
        if reg is None:
            self.guest_error(f"read of unmapped offset 0x{offset:03X} (size {size})")
            return 0
        if size not in reg.sizes and reg.width >= size:
            self.guest_error(f"{size}-byte read of {reg.name} (allowed: {reg.sizes})")
        value = reg.read(self) if reg.read is not None else self.r[reg.index] & reg.readable_mask
        if reg.rc_mask:
            self.r[reg.index] &= ~reg.rc_mask
        shift = 8 * (offset - reg.offset)
        value = (value >> shift) & ((1 << (8 * size)) - 1)
        if self.trace:
            log_trace.debug("%s: read  %s+%d = 0x%X", self.name, reg.name, offset - reg.offset, value)
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        reg = self.REGS.by_offset.get(offset)
        if reg is None:
            self.guest_error(f"write of 0x{value:X} to unmapped offset 0x{offset:03X} (size {size})")
            return
        if size not in reg.sizes and reg.width >= size:
            self.guest_error(f"{size}-byte write of {reg.name} (allowed: {reg.sizes})")
        shift = 8 * (offset - reg.offset)
        if size < reg.width:
            lane = ((1 << (8 * size)) - 1) << shift
            old_full = reg.read(self) if reg.read is not None and size in reg.sizes else self.r[reg.index]
            # Other byte lanes keep their value, except write-one-to-clear bits,
            # which must not be cleared by a write to a neighbouring lane.
            value = (old_full & ~lane & ~reg.w1c_mask) | ((value << shift) & lane)
            w1_lane = lane
        else:
            w1_lane = -1
        if self.trace:
            log_trace.debug("%s: write %s = 0x%X", self.name, reg.name, value)
        if reg.write is not None:
            reg.write(self, value)
            return
        old = self.r[reg.index]
        new = (old & ~reg.store_mask) | (value & reg.store_mask)
        if reg.w1c_mask:
            new &= ~(value & reg.w1c_mask & w1_lane)
        if reg.w1s_mask:
            new |= value & reg.w1s_mask & w1_lane
        self.r[reg.index] = new
        if reg.after_write is not None:
            reg.after_write(self, old, value)

    def after_system_reset(self, reason: str) -> None:
        """Called after ``reset()`` when the board (not power) reset, with the cause."""

    def _no_bus_read(self, address: int, size: int) -> int:
        self.guest_error(f"bus read of 0x{address:08X} with no board")
        return 0

    def _no_bus_write(self, address: int, size: int, value: int) -> None:
        self.guest_error(f"bus write of 0x{address:08X} with no board")

    def _no_board_reset(self, reason: str) -> None:
        self.guest_error(f"system reset requested ({reason}) with no board to reset")

    # -- logging --------------------------------------------------------------
    def guest_error(self, message: str) -> None:
        if self.board_log is not None:
            self.board_log.warning(self.name, message)
        else:
            log_guest.warning("%s: %s", self.name, message)

    def unimplemented(self, feature: str) -> None:
        if feature not in self._unimp_seen:
            self._unimp_seen.add(feature)
            if self.board_log is not None:
                self.board_log.info(self.name, f"{feature} is not modelled")
            else:
                log_unimp.info("%s: %s is not modelled", self.name, feature)

    # -- snapshots ---------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Versioned device state; subclasses add their own keys."""
        return {"version": self.STATE_VERSION, "regs": self.r.tolist()}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("version") != self.STATE_VERSION:
            raise ValueError(f"{self.name}: snapshot state version {state.get('version')} "
                             f"does not match {self.STATE_VERSION}")
        regs = state["regs"]
        if len(regs) != len(self.r):
            raise ValueError(f"{self.name}: snapshot has {len(regs)} registers, the model {len(self.r)}")
        self.r[:] = array("I", regs)  # in place: the register window holds this storage

    def describe(self) -> str:
        return f"{type(self).__name__} '{self.name}'\n{self.REGS.table()}"
