"""Snapshots of running boards: CPU registers, all RAM, device state, clock and pending events.

Taken and restored on the emulation thread between two ``Machine.run`` calls
(a slice boundary), so nothing is half-done. What a board snapshot holds:

- the Unicorn core registers (R0-R12, LR, PC, xPSR, MSP, PSP, CONTROL,
  PRIMASK, FAULTMASK, BASEPRI) and the core's own state kept in Python
  (SCB fault/system registers, sleeping, event register);
- the exception state (priorities, enables, pending, active, PRIGROUP,
  device IRQ levels);
- every RAM region, whole (``machine._ram``);
- each device's ``get_state()`` (SCS with SysTick, DWT, the platform devices);
- the clock, and its pending events: devices re-arm theirs in
  ``set_state``; frames in flight on the virtual switch are re-scheduled here;
  then every event gets back its place in the original firing order, so a
  restored run repeats the original one exactly;
- for a simulation, the switch: its random generator, MAC table, link
  models, per-port counters and queues.

Not carried (``not_restored`` says so when it matters): host-side state
(a libslirp/passt/TAP/socket backend's connections, capture files being written,
frames posted by host threads but not yet applied) and a realtime pacer's
wall-clock anchor (re-anchored at load).
"""

from __future__ import annotations

import dataclasses
import heapq
import io
import itertools
import pickle
import zlib
from dataclasses import dataclass, field
from typing import Any

from unicorn import arm_const as A

from emulator.board.machine import Machine
from emulator.clock import Clock
from emulator.cpu.cortexm import SystemRegisters
from emulator.net.network import Switch, arrival, arrival_of

FORMAT = "vboard-snapshot-1"
_CORE = [getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)] + [A.UC_ARM_REG_LR]
_FRAME_PREFIX = "frame->"


class SnapshotError(Exception):
    """A snapshot that cannot be taken or applied; says why."""


@dataclass
class BoardSnapshot:
    name: str
    regs: dict[str, Any]
    cpu: dict[str, Any]
    exc: dict[str, Any]
    ram: list[bytes]
    devices: dict[str, Any]
    clock: dict[str, Any]
    machine: dict[str, Any]


@dataclass
class Snapshot:
    name: str
    time_ns: int
    boards: list[BoardSnapshot]
    switch: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    not_restored: list[str] = field(default_factory=list)

    def size(self) -> int:
        return sum(sum(len(r) for r in b.ram) for b in self.boards)

    def to_bytes(self) -> bytes:
        return FORMAT.encode() + b"\n" + zlib.compress(pickle.dumps(self, protocol=5), 1)

    @staticmethod
    def from_bytes(data: bytes) -> Snapshot:
        head, _, body = data.partition(b"\n")
        if head != FORMAT.encode():
            raise SnapshotError("not a vboard snapshot file (or another format version)")
        try:
            snap = _SnapshotUnpickler(io.BytesIO(zlib.decompress(body))).load()
        except SnapshotError:
            raise
        except Exception as e:  # noqa: BLE001
            raise SnapshotError(f"corrupt snapshot file ({e})") from None
        if not isinstance(snap, Snapshot):
            raise SnapshotError("corrupt snapshot file")
        return snap


class _SnapshotUnpickler(pickle.Unpickler):
    """Rebuilds only what a snapshot holds: a file that names any other class or function (code a
    crafted pickle would run) is refused."""

    ALLOWED = {("bridge.rpc_snapshot", "Snapshot"), ("bridge.rpc_snapshot", "BoardSnapshot"),
               ("emulator.board.machine", "StopReason"), ("builtins", "set"), ("builtins", "frozenset"),
               ("builtins", "bytearray"), ("collections", "OrderedDict"), ("collections", "deque")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise SnapshotError(f"not a vboard snapshot file (it names {module[:40]}.{name[:40]})")
        return super().find_class(module, name)


# ------------------------------------------------------------------------ save
def _frame_of(timer: Any) -> tuple[str, bytes] | None:
    """(port name, frame) of a switch delivery event."""
    got = arrival_of(timer.callback)
    return None if got is None else (got[0].name, got[1])


def save_board(name: str, m: Machine) -> BoardSnapshot:
    cpu = m.cpu
    rr = cpu.rr
    msp, psp = cpu.banked_sps()
    regs = {
        "core": [rr(r) for r in _CORE], "pc": cpu.pc, "xpsr": rr(A.UC_ARM_REG_XPSR), "msp": msp, "psp": psp,
        "control": cpu.control(), "ipsr": cpu.ipsr(), "primask": rr(A.UC_ARM_REG_PRIMASK),
        "faultmask": rr(A.UC_ARM_REG_FAULTMASK), "basepri": rr(A.UC_ARM_REG_BASEPRI),
    }
    cpu_state = {"sys": dataclasses.asdict(cpu.sys), "sleeping": cpu.sleeping,
                 "event_register": cpu.event_register, "locked_up": cpu.locked_up,
                 "halt_reason": cpu.halt_reason, "fault": cpu.fault,
                 "last_fault": getattr(cpu, "last_fault", None)}
    exc = m.exc
    exc_state = {"priority": list(exc.priority), "enabled": exc.enabled, "pending": exc.pending,
                 "active": exc.active, "prigroup": exc.prigroup, "irq_level": exc.irq_level}
    ram = [bytes(r.buffer) for r in m._ram]
    devices = {"scs": m.scs.get_state(), "dwt": {**m.dwt.get_state(), "cyc_base": m.dwt.cyc_base,
                                                 "cyc_start": m.dwt.cyc_start}}
    for dname, dev in m.devices.items():
        devices[dname] = dev.get_state()
    pending = m.clock.pending()
    order = [(t.when, t.name) for t in pending]
    frames = []
    for t in pending:
        if t.name.startswith(_FRAME_PREFIX):
            got = _frame_of(t)
            if got is not None:
                frames.append((t.when, got[0], got[1]))
    clock = {"base": m.clock.base, "order": order, "frames": frames}
    mach = {"instructions": m.instructions, "semihost_in": list(m.semihost_in),
            "semihost_errno": m.semihosting.errno,
            "frame_ports": {f"{d}.{n}": (fp.link_up, fp.tx_frames, fp.rx_frames)
                            for d, dev in m.devices.items() for n, fp in dev.frame_ports.items()}}
    return BoardSnapshot(name, regs, cpu_state, exc_state, ram, devices, clock, mach)


def save_switch(sw: Switch) -> dict[str, Any]:
    return {
        "rng": sw.rng.getstate(),
        "fdb": {mac: p.name for mac, p in sw.fdb.items()},
        "ports": {p.name: {"link": dataclasses.asdict(p.link), "busy": p.busy_until_ns,
                           "counters": dataclasses.asdict(p.counters)} for p in sw.ports},
    }


# --------------------------------------------------------------------- restore
def restore_board(snap: BoardSnapshot, m: Machine, switch: Switch | None) -> list[str]:
    """Apply ``snap`` to ``m``; returns the pending events it could not re-create."""
    if len(snap.ram) != len(m._ram) or any(len(a) != len(r.buffer) for a, r in zip(snap.ram, m._ram,
                                                                                      strict=True)):
        raise SnapshotError(f"board '{snap.name}': the snapshot's memory map differs from this board's")
    missing = set(snap.devices) - {"scs", "dwt", *m.devices}
    if missing:
        raise SnapshotError(f"board '{snap.name}': snapshot has devices this board lacks: "
                            f"{', '.join(sorted(missing))}")
    cpu, clock = m.cpu, m.clock
    for saved, ram in zip(snap.ram, m._ram, strict=True):
        ram.buffer[:] = saved
    cpu.uc.ctl_flush_tb()
    clock.clear()
    clock.base = snap.clock["base"]
    # Devices first (they re-arm their events and drive their IRQ lines) ...
    try:
        m.scs.set_state(snap.devices["scs"])
        dwt = dict(snap.devices["dwt"])
        m.dwt.cyc_base, m.dwt.cyc_start = dwt.pop("cyc_base"), dwt.pop("cyc_start")
        m.dwt.set_state(dwt)
        for dname, dev in m.devices.items():
            if dname in snap.devices:
                dev.set_state(snap.devices[dname])
    except (KeyError, ValueError, TypeError) as e:
        raise SnapshotError(f"board '{snap.name}': device state does not apply ({e})") from None
    # ... then the core and the exception state exactly as saved.
    r = snap.regs
    cpu.set_context(r["ipsr"], r["control"], r["msp"], r["psp"])
    for rid, value in zip(_CORE, r["core"], strict=True):
        cpu.rw(rid, value)
    cpu.rw(A.UC_ARM_REG_PRIMASK, r["primask"])
    cpu.rw(A.UC_ARM_REG_FAULTMASK, r["faultmask"])
    cpu.rw(A.UC_ARM_REG_BASEPRI, r["basepri"])
    cpu.rw(A.UC_ARM_REG_XPSR, (r["xpsr"] & ~0x1FF) | r["ipsr"])
    cpu.pc = r["pc"]
    cpu.rebuild_hflags()
    c = snap.cpu
    cpu.sys = SystemRegisters(**c["sys"])
    cpu.set_div0_trap(bool(cpu.sys.ccr & 0x10))
    cpu.sleeping, cpu.event_register = c["sleeping"], c["event_register"]
    cpu.locked_up, cpu.halt_reason, cpu.fault = c["locked_up"], c["halt_reason"], c["fault"]
    cpu.last_fault = c["last_fault"]
    e = snap.exc
    exc = m.exc
    exc.priority = list(e["priority"])
    exc.enabled, exc.pending, exc.active = e["enabled"], e["pending"], e["active"]
    exc.prigroup, exc.irq_level = e["prigroup"], e["irq_level"]
    mach = snap.machine
    m.instructions = mach["instructions"]
    m.semihost_in = list(mach["semihost_in"])
    m.semihosting.errno = mach["semihost_errno"]
    m.semihosting.exit = None
    for d, dev in m.devices.items():
        for n, fp in dev.frame_ports.items():
            saved = mach["frame_ports"].get(f"{d}.{n}")
            if saved is not None:
                fp.link_up, fp.tx_frames, fp.rx_frames = saved
    m._reset_reason = None
    m._stop = None
    # Frames in flight on the switch towards this board.
    if switch is not None:
        for when, port_name, frame in snap.clock["frames"]:
            try:
                port = switch.port(port_name)
            except KeyError:
                continue
            clock.call_at(when, arrival(port, frame), _FRAME_PREFIX + port_name)
    return _reorder(clock, snap.clock["order"])


def _reorder(clock: Clock, order: list[tuple[int, str]]) -> list[str]:
    """Give the re-armed events their original firing order; names of the ones not re-armed."""
    rank: dict[tuple[int, str], list[int]] = {}
    for i, key in enumerate(order):
        rank.setdefault(tuple(key), []).append(i)  # type: ignore[arg-type]
    heap = clock._heap
    live = sorted((t for t in heap if not t.cancelled), key=lambda t: (t.when, t.seq))
    extra = len(order)
    for t in live:
        slots = rank.get((t.when, t.name))
        if slots:
            t.seq = slots.pop(0)
        else:
            t.seq = extra  # re-armed by a device although not pending at save: after the saved ones
            extra += 1
    heap[:] = live
    heapq.heapify(heap)
    clock._seq = itertools.count(extra)
    return sorted({f"{name}@{when}" for (when, name), slots in rank.items() for _ in slots})


def restore_switch(state: dict[str, Any], sw: Switch) -> None:
    sw.rng.setstate(state["rng"])
    by_name = {p.name: p for p in sw.ports}
    sw.fdb = {mac: by_name[n] for mac, n in state["fdb"].items() if n in by_name}
    for name, ps in state["ports"].items():
        p = by_name.get(name)
        if p is None:
            continue
        # Set directly: the devices' own link state came back with their state.
        for k, v in ps["link"].items():
            setattr(p.link, k, v)
        p.busy_until_ns = ps["busy"]
        cnt = ps["counters"]
        for k, v in cnt.items():
            setattr(p.counters, k, dict(v) if isinstance(v, dict) else v)
