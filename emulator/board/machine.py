"""A board: the core, its memory and devices, and the slice loop that runs it.

The loop (PyBoy's run-until-next-event): fire due clock events, take a
deliverable exception, then run the CPU until the next event or the end of
the requested time, whichever is first. WFI sleeps straight to the next
event. Host input enters through ``post()`` (thread-safe) and is applied at
slice boundaries only, so device state is touched by this thread alone.

Exceptions pended between slices are taken before the next instruction;
those pended during a slice (an MMIO write, a device line) end the slice at
the end of the current translation block, i.e. at the latest at the next
branch or barrier (see ``CortexM3.request_stop``). While a pending
exception is masked by PRIMASK/BASEPRI/FAULTMASK the native block hook
watches those registers and ends the slice at the first block where they
changed (CPSIE and MSR end a block, so the unmask is seen right after the
instruction). Everything here is deterministic.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from unicorn import UC_PROT_ALL, UC_PROT_READ, UC_PROT_WRITE, UcError
from unicorn.arm_const import UC_ARM_REG_PC

from emulator.board.faultreport import FaultReport, build_report
from emulator.board.faultwatch import FAULT_ACTIVE, FaultWatch, Stuck
from emulator.board.loader import FirmwareError, Image, Symbols
from emulator.board.platform import NMI_IRQN, Platform, PlatformError, resolve_model
from emulator.board.semihosting import Semihosting
from emulator.boardlog import BoardLog
from emulator.bus.device import BytePort, Device, IrqLine, OrGate
from emulator.clock import Clock
from emulator.cpu.accesspc import accesses
from emulator.cpu.cortexm import CORE_REGS, CortexM3, Lockup
from emulator.cpu.nvic import HARDFAULT, NMI, SYSTICK, USAGEFAULT, ExceptionState
from emulator.cpu.scs import Dwt, SystemControlSpace
from emulator.cpu.systick import TICKINT
from emulator.net.frames import FramePort

log = logging.getLogger("vboard.machine")

SCS_BASE = 0xE000E000
DWT_BASE = 0xE0001000
MAX_SLICE = 250_000
SYSTICK_REGS, SYSTICK_REGS_END = 0x010, 0x020  # SCS offsets of SYST_CSR..SYST_CALIB


@dataclass(frozen=True)
class StopReason:
    """Why ``Machine.run`` returned (immutable: the common ones are shared, as ``TIME_UP``)."""

    kind: str  # "time", "exit", "fault", "lockup", "idle", "halt", "breakpoint", "condition"
    exit_code: int | None = None
    report: FaultReport | None = None
    message: str = ""


TIME_UP = StopReason("time")  # the requested time ran out: every run that ends so returns it


@dataclass
class _Ram:
    region: Any
    buffer: Any
    address: int


@dataclass
class Machine:
    platform: Platform
    # Per-device setting overrides, e.g. {"eth0": {"mac": "52:54:00:12:34:57"}}.
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = ""
    # Stop at the first access no memory or device serves instead of giving the firmware a BusFault.
    strict: bool = False
    clock: Clock = field(init=False)
    devices: dict[str, Device] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        plat = self.platform
        self.clock = Clock(plat.clock_hz)
        self.board_log = BoardLog(self._now, plat.clock_hz)
        self.faults = FaultWatch(self)
        self._locked: StopReason | None = None  # a reset that locked up (stays until the next reset)
        self.exc = ExceptionState(plat.num_irq, plat.priority_bits)
        self.cpu = CortexM3(self.clock, self.exc)
        self.clock.on_earlier_deadline = self.cpu.request_stop
        self.scs = SystemControlSpace("scs", self.cpu, self.request_reset)
        self.dwt = Dwt("dwt", self.clock)
        self.semihost_out = BytePort("semihosting")
        self.semihost_in: list[int] = []
        self.semihosting = Semihosting(self.semihost_out.send, self._semihost_readc,
                                       lambda: self.clock.now, plat.clock_hz)
        self.cpu.semihosting = self.semihosting
        self.cpu.on_exception_entry = self._on_exception_entry
        self.cpu.on_fault = self.faults.on_fault
        self.cpu.entry_allowed = self._native_entry_allowed
        self._until: Callable[[], bool] | None = None  # the running _run's condition
        self.image: Image | None = None
        self.symbols = Symbols()
        self.inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._timer_heap = self.clock.timer_heap()  # the same list for the clock's life
        # Realtime pacing: wait until a cycle count is due; returns the count reached.
        self.pacer: Callable[[int], int] | None = None
        self.idle_wait: Callable[[float | None], bool] | None = None
        # Host I/O the bridge does on this thread at slice boundaries (network sockets).
        self.host_polls: list[Callable[[], None]] = []
        self.instructions = 0
        self._reset_reason: str | None = None
        self._stop: StopReason | None = None
        self._stepping = False
        self._dead_loop: dict[int, bool] = {}  # vector -> its handler is `b .` (code is not rewritten)
        # The SysTick vector Python entered last (0: none yet): native ticks go there. Should the
        # vector table change, the native side declines the tick and Python takes it as before.
        self._systick_vector = 0
        self._ram: list[_Ram] = []
        self.on_reset: list[Callable[[str], None]] = []
        # Observers of exception entry and return: (kind "enter"|"return", exception number),
        # called on this thread at the virtual time of the event (timelines, bridge/trace.py).
        self.exception_observers: list[Callable[[str, int], None]] = []
        # Observers of the NVIC input lines the devices drive: (IRQ number, level), on a change.
        self.irq_observers: list[Callable[[int, bool], None]] = []
        self._map_memory()
        self._windows = [(b, b + r.region.size, f"memory '{r.region.name}'")
                         for r in self._ram for b in (r.region.base, *r.region.aliases)]
        self._device_windows: list[tuple[int, int, Device]] = []
        self._map_devices()
        self.board_log.where = self.where
        for dev in (self.scs, self.dwt, *self.devices.values()):
            dev.board_log = self.board_log
            dev.reset()

    def _now(self) -> int:
        return self.clock.now

    # ------------------------------------------------------------ construction
    def _map_memory(self) -> None:
        for region in self.platform.memory:
            buf = mmap.mmap(-1, region.size)
            addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
            perms = UC_PROT_ALL if region.executable else UC_PROT_READ | UC_PROT_WRITE
            for base in (region.base, *region.aliases):
                self.cpu.map_ram_ptr(base, region.size, perms, addr)
                self.faults.add_window(base, region.size, region.executable)
            self._ram.append(_Ram(region, buf, addr))

    def _map_devices(self) -> None:
        self._attach(SCS_BASE, self.scs, self._scs_write, self.scs.word_writes(), self.scs.word_reads())
        self._attach(DWT_BASE, self.dwt)
        gates: dict[int, list[tuple[Device, str]]] = {}
        unknown = set(self.overrides) - {spec.name for spec in self.platform.devices}
        if unknown:
            raise PlatformError(f"{self.platform.path}: settings given for unknown device(s) "
                                f"{', '.join(sorted(unknown))}")
        for spec in self.platform.devices:
            cls = resolve_model(spec, self.platform.path)
            settings = {**spec.settings, **self.overrides.get(spec.name, {})}
            try:
                dev = cls(spec.name, self.clock, **settings)
            except (TypeError, ValueError) as e:
                raise PlatformError(f"{self.platform.path}: device '{spec.name}': {str(e)[:200]}") from None
            except Exception as e:  # noqa: BLE001 - a model's own bug: one line, not a traceback
                raise PlatformError(f"{self.platform.path}: device '{spec.name}': its model {spec.model} "
                                    f"failed to build ({type(e).__name__}: {str(e)[:120]})") from None
            if not isinstance(dev, Device):
                raise PlatformError(f"{self.platform.path}: device '{spec.name}': {spec.model} "
                                    "is not an emulator.bus.device.Device")
            for line in spec.irqs:
                if line not in dev.irq:
                    raise PlatformError(f"{self.platform.path}: device '{spec.name}': irqs.{line}: "
                                        f"{type(dev).__name__} has no IRQ output '{line}' "
                                        f"(it has: {', '.join(dev.irq) or 'none'})")
            for line, irq in spec.irqs.items():
                gates.setdefault(irq, []).append((dev, line))
            dev.request_system_reset = self.request_reset
            dev.bus_read, dev.bus_write = self.bus_read, self.bus_write
            self.devices[spec.name] = dev
            if spec.base is not None:
                self._attach(spec.base, dev)
        self._attach_serial_peers()
        self.faults.nmi_sources = [dev for dev, _line in gates.get(NMI_IRQN, [])]
        self._irq_sources = gates
        self._irq_inputs: list[tuple[int, IrqLine | OrGate]] = []  # what drives each NVIC input
        for irq, sources in gates.items():
            sink = self._irq_sink(irq)
            if len(sources) == 1:
                dev, line = sources[0]
                dev.irq[line].connect(sink)
                self._irq_inputs.append((irq, dev.irq[line]))
            else:
                gate = OrGate(sink)
                for dev, line in sources:
                    dev.irq[line].connect(gate.input())
                self._irq_inputs.append((irq, gate))

    def _attach_serial_peers(self) -> None:
        """Devices with an ``attach: <uart>`` setting (e.g. a Wi-Fi module) talk over that UART."""
        for spec in self.platform.devices:
            target = spec.settings.get("attach")
            if not target:
                continue
            where = f"{self.platform.path}: device '{spec.name}': settings.attach"
            if target not in self.devices or "serial" not in self.devices[target].ports:
                raise PlatformError(f"{where}: '{target}' is not a device with a serial port")
            if "serial" not in self.devices[spec.name].ports:
                raise PlatformError(f"{where}: {spec.model} has no serial port to attach")
            uart, peer = self.port(target), self.devices[spec.name].ports["serial"]
            uart.connect(peer.deliver)
            peer.connect(uart.deliver)

    def _irq_sink(self, irq: int) -> Callable[[bool], None]:
        exc, observers = self.exc, self.irq_observers
        if irq == NMI_IRQN:
            def nmi(level: bool) -> None:  # the NMI input pends on a rising level
                if level:
                    exc.set_pending(NMI)
                for observer in observers:
                    observer(irq, level)

            return nmi

        if not observers:  # straight to the NVIC: one call per edge (observe_irqs rewires)
            return partial(exc.irq_input, irq)

        def sink(level: bool) -> None:
            exc.irq_input(irq, level)
            for observer in observers:
                observer(irq, level)

        return sink

    def observe_irqs(self, observer: Callable[[int, bool], None]) -> None:
        """Call ``observer(irq, level)`` at every change of an NVIC input line the devices drive."""
        self.irq_observers.append(observer)
        for irq, driver in self._irq_inputs:
            driver.rewire(self._irq_sink(irq))  # the level stays: nothing is replayed

    def _scs_write(self, offset: int, size: int, value: int) -> None:
        """The SCS window's writes the CPU's write trampoline (``map_mmio``) does not send straight
        to SysTick (``SystemControlSpace.word_writes``); it has synced the native side (``native_sync``) and
        ended native ticks (NVIC, SCB or SysTick may change: Python takes the next tick) before."""
        self.scs.write(offset, size, value)
        if not SYSTICK_REGS <= offset < SYSTICK_REGS_END:
            self.exc.changed = True  # the SCB too (SCR, CCR, VTOR, MPU): the CPU plans anew

    def _attach(self, base: int, dev: Device, write: Callable[[int, int, int], None] | None = None,
                word_writes: dict[int, Callable[[int], None]] | None = None,
                word_reads: dict[int, Callable[[], int]] | None = None) -> None:
        dev.mmio_base = base
        size = (dev.SIZE + 0xFFF) & ~0xFFF
        self._check_free(base, size, f"device '{dev.name}'")
        self._device_windows.append((base, base + size, dev))
        self.cpu.map_mmio(base, size, dev.read, write or dev.write, getattr(dev, "fifo_port", None),
                          dev.native_register_window(), word_writes, word_reads)
        self.faults.add_window(base, size)

    def bus_read(self, address: int, size: int) -> int:
        """A data read as the CPU would make it (RAM or a device), for devices that forward accesses."""
        if self._in_ram(address, size):
            return int.from_bytes(self.cpu.uc.mem_read(address, size), "little")
        dev, base = self._device_at(address)
        if dev is None:
            log.warning("bus read of 0x%08X: nothing there", address)
            return 0
        return dev.read(address - base, size)

    def bus_write(self, address: int, size: int, value: int) -> None:
        if self._in_ram(address, size):
            self.cpu.uc.mem_write(address, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
            return
        dev, base = self._device_at(address)
        if dev is None:
            log.warning("bus write of 0x%08X: nothing there", address)
            return
        dev.write(address - base, size, value)

    def _in_ram(self, address: int, size: int) -> bool:
        return any(lo <= address and address + size <= hi for lo, hi in self.cpu.ram_ranges)

    def _device_at(self, address: int) -> tuple[Device | None, int]:
        for base, end, dev in self._device_windows:
            if base <= address < end:
                return dev, base
        return None, 0

    def _check_free(self, base: int, size: int, what: str) -> None:
        """A window that would overlap memory or another device is a platform error, not a UcError."""
        taken = self._windows
        for start, end, other in taken:
            if base < end and start < base + size:
                raise PlatformError(f"{self.platform.path}: {what} at 0x{base:08X} (0x{size:X} bytes) "
                                    f"overlaps {other} at 0x{start:08X}-0x{end - 1:08X}")
        taken.append((base, base + size, what))

    def device(self, name: str) -> Device:
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(f"no device '{name}' on {self.platform.name} "
                           f"(devices: {', '.join(self.devices)})") from None

    def port(self, device: str, port: str = "serial") -> BytePort:
        return self.device(device).ports[port]

    def frame_port(self, device: str, port: str = "eth") -> FramePort:
        dev = self.device(device)
        if port not in dev.frame_ports:
            raise KeyError(f"device '{device}' has no frame port '{port}'")
        return dev.frame_ports[port]

    def ethernet_devices(self) -> list[str]:
        return [name for name, dev in self.devices.items() if dev.frame_ports]

    # -------------------------------------------------------------- firmware
    def load(self, image: Image) -> None:
        for seg in image.segments:
            if not self._fits(seg.address, len(seg.data)):
                raise FirmwareError(f"{image.path}: segment at 0x{seg.address:08X} "
                                    f"({len(seg.data)} bytes) lies outside the memory of "
                                    f"{self.platform.name}")
        self.image = image
        self.symbols = image.symbols
        self._dead_loop.clear()
        self.cpu.quiet_entries.clear()  # they rest on _dead_loop
        self._systick_vector = 0
        self.cpu.code_ranges = image.code_ranges()
        self._write_segments()
        self.reset()

    def _fits(self, address: int, size: int) -> bool:
        for ram in self._ram:
            for base in (ram.region.base, *ram.region.aliases):
                if base <= address and address + size <= base + ram.region.size:
                    return True
        return False

    def _write_segments(self) -> None:
        assert self.image is not None
        for seg in self.image.segments:
            self.cpu.uc.mem_write(seg.address, seg.data)

    def reset(self) -> None:
        """Power-on reset of the devices and the core (memory is kept)."""
        for dev in (self.scs, self.dwt, *self.devices.values()):
            dev.reset()
        self.cpu.reset()
        self._replay_irq_levels()
        self.faults.reset()
        self._locked = self._stopped_by(self.faults.check_reset_vector())

    def _replay_irq_levels(self) -> None:
        """The NVIC's reset forgets its inputs' levels: tell it again which device lines are high
        (a line that idles high, as a LAN9118 pin wired the QEMU way, pends at once)."""
        for irq, sources in self._irq_sources.items():
            if irq != NMI_IRQN and any(dev.irq[line].level for dev, line in sources):
                self.exc.irq_input(irq, True)

    def request_reset(self, reason: str) -> None:
        self._reset_reason = reason
        self.cpu.request_stop()

    def _system_reset(self, reason: str) -> None:
        log.info("system reset (%s) at %d cycles", reason, self.clock.now)
        if self.image is not None:
            self._write_segments()  # as QEMU does: the image is reloaded, other RAM kept
        self.clock.clear()
        self.reset()
        for dev in self.devices.values():
            dev.after_system_reset(reason)
        for cb in self.on_reset:
            cb(reason)

    # ------------------------------------------------------------ host input
    def post(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the emulation thread at the next slice boundary."""
        self.inbox.put(action)

    def _apply_inbox(self) -> None:
        inbox = self.inbox
        while True:
            try:
                action = inbox.get_nowait()
            except queue.Empty:
                return
            action()

    def _semihost_readc(self) -> int:
        return self.semihost_in.pop(0) if self.semihost_in else -1

    def stop(self, reason: StopReason) -> None:
        """End ``run`` at the next slice boundary (from a device or hook)."""
        self._stop = reason
        self.cpu.request_stop()

    # --------------------------------------------------------------- running
    def observe_exceptions(self, observer: Callable[[str, int], None]) -> None:
        """Call ``observer("enter"|"return", n)`` at every exception entry and return."""
        self.exception_observers.append(observer)
        self.cpu.on_exception_return = self._on_exception_return
        self.cpu.quiet_entries.clear()  # every entry goes to _on_exception_entry again

    def _on_exception_return(self, n: int) -> None:
        for observer in self.exception_observers:
            observer("return", n)

    def _stopped_by(self, stuck: Stuck | None) -> StopReason | None:
        return None if stuck is None else self._stop_reason(stuck)

    @staticmethod
    def _stop_reason(stuck: Stuck) -> StopReason:
        return StopReason(stuck.kind, report=stuck.report, message=stuck.report.headline)

    def _on_exception_entry(self, n: int, vector: int) -> None:
        for observer in self.exception_observers:
            observer("enter", n)
        if HARDFAULT <= n <= USAGEFAULT:
            stop = self._stopped_by(self.faults.on_entry(n))
            if stop is not None:
                self.stop(stop)
                return
        dead = self._dead_loop.get(vector)
        if dead is None:
            try:
                dead = bytes(self.cpu.uc.mem_read(vector & ~1, 2)) == b"\xfe\xe7"  # `b .`
            except UcError:
                dead = False
            self._dead_loop[vector] = dead
        if dead:  # a handler that loops forever
            report = build_report(self, n, dead_loop=True)
            self._stop = StopReason("fault", report=report, message=report.headline)
            self.cpu.request_stop()
        elif n == SYSTICK:
            self._systick_vector = vector
        elif not self.exception_observers and not HARDFAULT <= n <= USAGEFAULT:
            # Nothing to do at its next entries at this vector: the CPU need not call (until
            # load or observe_exceptions clears this).
            self.cpu.quiet_entries[n] = vector

    def _native_entry_allowed(self, n: int, vector: int) -> bool:
        """May native code take exception ``n`` (vector ``vector``) where the watched masks change,
        skipping the slice boundary this loop would take it at? Only when that boundary has
        nothing to do but take it: nobody observes entries, the handler is known not to be a
        dead loop, no condition is checked per boundary (stepping, ``until``), no fault handler
        is parked and no masked spin is being timed."""
        return (self._dead_loop.get(vector) is False and not self.exception_observers
                and self._until is None and not self._stepping
                and not self.exc.active & FAULT_ACTIVE
                and not (self.faults.spin_pc >= 0 and self.faults.spin_loop))  # timing_masked_spin()

    def run(self, cycles: int | None = None, until: Callable[[], bool] | None = None) -> StopReason:
        """Run for ``cycles`` of virtual time (None: until something stops it).

        A stop with a fault report also goes to the board log: its headline, level error."""
        return self.logged(self._run(cycles, until))

    def logged(self, stop: StopReason) -> StopReason:
        """``stop``, its fault report's headline (if it has one) written to the board log."""
        if stop.report is not None:
            self.board_log.error("cpu", stop.report.headline)
        return stop

    def _run(self, cycles: int | None, until: Callable[[], bool] | None) -> StopReason:
        cpu = self.cpu  # (one statement each: four or more names at once build and unpack a tuple)
        clock = self.clock
        exc = self.exc
        faults = self.faults
        end = None if cycles is None else clock.base + clock.slice_progress() + cycles  # clock.now + cycles
        self._stop = None
        self._until = until
        if self._locked is not None:
            return self._locked
        inbox = self.inbox
        host_polls = self.host_polls
        semihosting = self.semihosting
        heap = self._timer_heap
        # Looked at inline: a call is made only when it has something to do (an event due, a
        # cancelled timer on top, a PC the masked-spin check has not seen, an enabled pending
        # exception for a sleeping CPU, a SysTick plan that can apply, a pacer). ``heap``: the
        # clock's timers (``Clock.timer_heap``).
        try:
            # The common turn first: awake, nothing to apply, poll, fire, stop, take or watch (no
            # condition, pacer or stepping), the masks known with PRIMASK clear. It is the loop's
            # first turn with those answers given, in one test; a run it does not end goes on
            # through the loop's top (``test_run_loop_twin``). (``heap[0][0]``: the top's ``when``.)
            now = clock.base
            if (end is not None and now < end and until is None and not exc.pending and not cpu.sleeping
                    and not host_polls and (not heap or heap[0][0] > now) and inbox.empty()
                    and semihosting.exit is None and self._reset_reason is None and cpu.halt_reason is None
                    and cpu.fault is None and not exc.active & FAULT_ACTIVE and self.pacer is None
                    and not self._stepping and (masks := exc.known_masks) is not None and not masks[0] & 1):
                if faults.spin_pc >= 0:
                    faults.spin_pc = -1
                self._slice(now, end, heap[0][0] if heap and not heap[0].cancelled else clock.next_deadline(),
                            None)
                if (clock.base >= end and not exc.pending and (not heap or heap[0][0] > clock.base)
                        and self._settled()):
                    return TIME_UP
            while True:
                if not inbox.empty():
                    self._apply_inbox()
                for poll in host_polls:
                    poll()
                if heap and heap[0].when <= clock.base:
                    clock.fire_due()
                # One look for the rare stops and the fault, then each in its order.
                if (semihosting.exit is not None or self._stop is not None or self._reset_reason is not None
                        or cpu.halt_reason is not None or cpu.fault is not None):
                    if semihosting.exit is not None:
                        code = semihosting.exit.code
                        semihosting.exit = None
                        return StopReason("exit", exit_code=code)
                    if self._stop is not None:
                        return self._stop
                    if self._reset_reason is not None:
                        reason, self._reset_reason = self._reset_reason, None
                        self._system_reset(reason)
                        continue
                    if cpu.halt_reason is not None:
                        reason, cpu.halt_reason = cpu.halt_reason, None
                        return StopReason(reason)
                    stop = self._stopped_by(faults.before_fault(cpu.fault))
                    if stop is not None:
                        return stop
                    cpu.take_fault()
                    continue
                if exc.pending:
                    n = exc.deliverable()
                    if n:
                        cpu.take_exception(n)
                        # No time passed: what was checked above stands, unless the entry stopped
                        # the run, recorded a fault or left an exception (a stacking error's
                        # BusFault) that preempts its handler.
                        if self._stop is not None or cpu.fault is not None or exc.deliverable():
                            continue
                if until is not None and until():
                    return StopReason("condition")
                # masks: (PRIMASK, FAULTMASK, BASEPRI) when read for this turn, else None
                if exc.active & FAULT_ACTIVE:
                    masks = None
                    stop = self._stopped_by(faults.check_parked(self.symbols.lookup))
                    if stop is not None:
                        return stop
                elif (masks := exc.known_masks or cpu.read_masks())[0] & 1:  # PRIMASK: a dead spin?
                    pc = cpu.slice_pc  # the PC the last slice reported, while no write changed it
                    if pc is None or pc & ~1 != faults.spin_pc or faults.spin_loop:
                        pc = (cpu.rr(UC_ARM_REG_PC) if pc is None else pc) & ~1
                        if pc != faults.spin_pc or faults.spin_loop:  # else the check has nothing to do
                            stuck = faults.check_masked_spin(self.symbols.lookup, pc)
                            if stuck is not None:
                                return self._stop_reason(stuck)
                elif faults.spin_pc >= 0:
                    faults.spin_pc = -1
                now = clock.base  # between slices: no progress to add
                if end is not None and now >= end:
                    return TIME_UP
                deadline = heap[0].when if heap and not heap[0].cancelled else clock.next_deadline()
                # Asleep and not woken (WFI wakes on an exception that would preempt if PRIMASK were
                # clear), with the masks of this turn.
                if cpu.sleeping and not (exc.pending & exc.enabled and self._wakeup(masks)):
                    if deadline is not None:
                        target = deadline if end is None or deadline < end else end
                    else:
                        if self.idle_wait is not None and self.idle_wait(None):
                            continue  # host input arrived (or may still): virtual time stood still
                        if end is None:
                            return StopReason("idle", message="the CPU sleeps and nothing is left to wake it")
                        target = end
                    if self.pacer is not None:
                        reached = self.pacer(target)
                        target = reached if reached > now else now
                    clock.base += target - now  # clock.advance(target - now), without the call
                else:
                    cpu.sleeping = False  # woken, or awake: run now (nothing checked above has changed)
                    self._slice(now, end, deadline, until)
                # At the end with nothing for the loop's top to do (nothing due or pending, no
                # condition, no host polls, and _settled): done, without another turn.
                if (end is not None and not host_polls and clock.base >= end and not exc.pending
                        and until is None and (not heap or heap[0].when > clock.base) and self._settled()):
                    return TIME_UP
        except Lockup as e:
            report = build_report(self, 3, lockup=str(e))
            return StopReason("lockup", report=report, message=report.headline)

    def _slice(self, now: int, end: int | None, deadline: int | None,
               until: Callable[[], bool] | None) -> None:
        """One CPU slice from ``now`` (the clock's base) of budget cycles (at least 1): to
        ``deadline`` (with a SysTick plan, the next other one), ``end``, MAX_SLICE, whichever
        comes first; the clock and the instruction count follow it. A plan only for a slice that
        can reach the tick: else it would run the same without."""
        cpu, clock = self.cpu, self.clock
        ticks = None
        if (deadline is not None and (end is None or deadline < end)
                and deadline - now < MAX_SLICE and self.pacer is None and not self.host_polls):
            ticks = self._tick_plan(now, deadline, until)
            if ticks is not None:  # the slice may run through SysTick ticks
                deadline = ticks[3]
        budget = MAX_SLICE if deadline is None or deadline - now >= MAX_SLICE else deadline - now
        if end is not None and end - now < budget:
            budget = end - now
        if budget < 1:
            budget = 1
        clock.slice_end = now + budget
        try:
            if self._stepping:
                ran, idle = cpu.step(), 0
            else:
                ran = cpu.run(budget, ticks)
                idle = cpu.slice_idle
        finally:
            clock.slice_end = None
        clock.base += ran  # clock.advance(ran), without the call
        self.instructions += ran - idle
        if ticks is not None and cpu.slice_ticks:
            self._native_ticks_taken(now, ticks)
        if self.pacer is not None:
            self.pacer(clock.base)

    def step(self) -> StopReason:
        """Run exactly one instruction through the run loop (for debuggers).

        Ends when one instruction completed or the PC moved (an exception was
        taken first, with nothing run). A WFI stepped this way acts as a NOP,
        which the architecture allows.
        """
        start, pc0 = self.instructions, self.cpu.pc
        self._stepping = True
        try:
            return self.run(until=lambda: self.instructions > start or self.cpu.pc != pc0)
        finally:
            self._stepping = False

    def _tick_plan(self, now: int, deadline: int, until: Callable[[], bool] | None
                   ) -> tuple[int, int, int, int | None] | None:
        """When SysTick is the next event, nothing watches exceptions and neither realtime
        pacing nor host I/O polled at slice boundaries wants a boundary per tick: (cycles to
        its tick, its period, its vector, the next other deadline) for a slice that takes its
        ticks natively (``CortexM3.run``); else None. Posted host input (``post``) waits for
        the slice's end, at most ``MAX_SLICE`` cycles."""
        systick = self.scs.systick
        timer = systick.timer
        if timer is None or timer.when != deadline or not systick.csr & TICKINT or not systick.reload:
            return None
        vector = self._systick_vector  # odd once Python took the first tick and checked the handler
        if (not vector & 1 or until is not None or self._stepping or self.pacer is not None or self.host_polls
                or self.exception_observers or not self.cpu.native_ticks_allowed()):
            return None
        period = (systick.reload + 1) * systick.cycles_per_tick()
        # The next other deadline: the event on top when it is not SysTick's (at the same cycle),
        # else the earlier of its two children when not cancelled; else the clock looks deeper.
        heap = self._timer_heap
        if heap[0] is not timer:
            return deadline - now, period, vector, deadline
        n = len(heap)
        if n == 1:
            return deadline - now, period, vector, None
        second = heap[1] if n == 2 or heap[1] < heap[2] else heap[2]
        return (deadline - now, period, vector,
                second[0] if not second.cancelled else self.clock.next_deadline(besides=timer))

    def _native_ticks_taken(self, start: int, ticks: tuple[int, int, int, int | None]) -> None:
        """The slice from ``start`` took ticks natively: SysTick's next event follows the last of them."""
        clock = self.clock
        systick = self.scs.systick
        timer = systick.timer
        if timer is not None and not timer.cancelled and timer[0] == start + ticks[0]:  # (timer.when)
            when = start + ticks[0] + self.cpu.slice_ticks * ticks[1]
            if not clock.move_top(timer, when):  # (mostly on top: it was the slice's deadline)
                timer.cancel()
                systick.timer = clock.call_at(when, systick.expire, "systick")

    def next_wake_cycles(self) -> int | None:
        """While the CPU sleeps and nothing is due: the cycle of its next timer event (-1: none).
        None when it runs, or something (an exception, host input, a reset, an exit) is due."""
        cpu = self.cpu
        for poll in self.host_polls:
            poll()
        if (not cpu.sleeping or not self.inbox.empty() or self._stop is not None
                or self._reset_reason is not None or cpu.fault is not None or cpu.halt_reason is not None
                or self.semihosting.exit is not None or self.exc.deliverable() or self._wakeup()):
            return None
        deadline = self.clock.next_deadline()
        if deadline is not None and deadline <= self.clock.now:
            return None
        return -1 if deadline is None else deadline

    def sleep_through(self, cycle: int) -> bool:
        """What ``run(cycle - clock.now)`` does, without it, when that is only sleeping there: the CPU
        sleeps, nothing is due before or at ``cycle``, nothing can wake it or stop the run, and
        nothing watches (a condition, a pacer, host polls or waits, a masked spin timed). Then the
        clock is at ``cycle`` and True; else nothing happened and False."""
        cpu, exc, heap = self.cpu, self.exc, self._timer_heap
        if (not cpu.sleeping or exc.pending & exc.enabled or heap and heap[0].when <= cycle or self.host_polls
                or self.pacer is not None or self.idle_wait is not None or self._locked is not None
                or not self._settled()):
            return False
        self._stop = self._until = None
        self.clock.base = cycle
        return True

    def _settled(self) -> bool:
        """Nothing the run loop's top would act on but time: no input, no stop, reset, halt or
        fault, no fault handler active, and the masks known with no masked spin left to look at
        (a spin mark that no longer applies is cleared, as the loop's top clears it)."""
        cpu, exc, faults = self.cpu, self.exc, self.faults
        if (not self.inbox.empty() or self.semihosting.exit is not None or self._stop is not None
                or self._reset_reason is not None or cpu.halt_reason is not None or cpu.fault is not None
                or exc.active & FAULT_ACTIVE or (masks := exc.known_masks) is None):
            return False
        if masks[0] & 1:
            pc = cpu.slice_pc
            return pc is not None and pc & ~1 == faults.spin_pc and not faults.spin_loop
        if faults.spin_pc >= 0:
            faults.spin_pc = -1
        return True

    def _wakeup(self, masks: tuple[int, int, int] | None = None) -> bool:
        """WFI wakes on an exception that would preempt if PRIMASK were clear. ``masks``: the
        core's (PRIMASK, FAULTMASK, BASEPRI) if the caller has them."""
        exc = self.exc
        if not exc.pending & exc.enabled:
            return False
        _n, prio, _active = exc.preempt or exc.preemption()  # prio: the highest pending one's group priority
        _primask, faultmask, basepri = self.cpu.read_masks() if masks is None else masks
        return prio < exc.execution_priority(masks=(0, faultmask, basepri))

    # ------------------------------------------------------------- inspection
    def where(self, address: int | None = None) -> str:
        """The PC and its symbol. Inside a device's read or write Unicorn's PC is the start of
        the translation block; given the ``address`` accessed, the load or store making the access
        is found in the block (``emulator.cpu.accesspc``)."""
        cpu = self.cpu
        pc = cpu.pc & ~1
        if cpu.running and address is not None:
            pc = self._access_pc(pc, address)
        return self.symbol(pc)

    def _access_pc(self, start: int, address: int) -> int:
        cpu = self.cpu
        for length in (128, 16):
            try:
                code = bytes(cpu.uc.mem_read(start, length))
                break
            except UcError:
                continue
        else:
            return start
        rr, regs = cpu.rr, CORE_REGS
        for at, first, size in accesses(code, start, lambda n: rr(regs[n])):
            if first <= address < first + size:
                return at
        return start

    def symbol(self, address: int) -> str:
        name = self.symbols.lookup(address & ~1)
        return f"0x{address:08X}" + (f" <{name}>" if name else "")
