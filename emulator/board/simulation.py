"""Several boards on one virtual switch, run in lockstep virtual time.

A simulation file (YAML) names the boards, their platform and firmware,
per-device setting overrides (a distinct MAC per board), and the link model
of each switch port::

    name: two-boards
    seed: 7                  # drives every random link decision
    quantum_us: 250          # boards run in turns of this much virtual time
    boards:
      - name: server
        platform: mps2-an385
        firmware: ../firmware/build/rawframe.elf
        settings: {eth0: {mac: "52:54:00:00:00:01"}}
      - name: client
        firmware: ../firmware/build/rawframe.elf
        settings: {eth0: {mac: "52:54:00:00:00:02"}}
    links:                   # switch port "<board>.<device>"
      client.eth0: {loss: 0.1, delay_us: 100, rate_mbps: 100}

Boards run one after another up to the same quantum boundary, always in
file order; a frame sent at virtual time t arrives at t + link delay, or
(when the receiver already ran past that) at the receiver's current time.
Both are functions of the inputs only, so runs repeat exactly.

The file is checked by one typed schema (``SimulationSpec``, pydantic, read
by ``emulator.board.yamlfile``): booleans are booleans, numbers finite and in
range, keys given once; every MAC address on the switch belongs to one
board. Errors are one line: ``FILE:LINE: key.path: what was expected``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from emulator.board.loader import load_image
from emulator.board.machine import TIME_UP, Machine, StopReason
from emulator.board.platform import TRUSTED, LoadPolicy, load_platform, read_spec
from emulator.net.network import LinkModel, Switch


@dataclass
class Board:
    name: str
    machine: Machine
    firmware: Path
    stop: StopReason | None = None


@dataclass
class Simulation:
    name: str
    switch: Switch
    boards: list[Board] = field(default_factory=list)
    quantum_ns: int = 250_000
    now_ns: int = 0

    def board(self, name: str) -> Board:
        for b in self.boards:
            if b.name == name:
                return b
        raise KeyError(f"no board '{name}' (boards: {', '.join(b.name for b in self.boards)})")

    def run(self, duration_ns: int) -> dict[str, StopReason | None]:
        """Advance every running board by ``duration_ns``; returns each board's stop."""
        end = self.now_ns + duration_ns
        running = [b for b in self.boards if b.stop is None]
        lanes = [(b, b.machine, b.machine.clock, b.machine.cpu, b.machine.clock.hz) for b in running]
        while self.now_ns < end and running:
            target = min(end, self.now_ns + self.quantum_ns)
            first = lanes[0][1]  # a horizon only while it sleeps (or polls the host): else none
            if first.cpu.sleeping or first.host_polls:
                horizon = self._idle_horizon_ns(running)
                if horizon is not None and horizon > target:
                    target = min(end, horizon)
            stopped = False
            for b, machine, clock, cpu, hz in lanes:
                due = target * hz // 1_000_000_000  # the board's cycle at ``target``
                cycles = due - clock.base  # between runs: clock.now is its base
                if cycles <= 0 or cpu.sleeping and machine.sleep_through(due):
                    continue
                stop = machine._run(cycles, None)  # machine.run(cycles) without its frame
                if stop is TIME_UP:  # the common stop, shared
                    continue
                machine.logged(stop)
                if stop.kind == "idle":
                    clock.advance(max(0, due - clock.now))
                    clock.fire_due()
                elif stop.kind != "time":
                    b.stop = stop
                    stopped = True
            self.now_ns = target
            if stopped:
                running = [b for b in running if b.stop is None]
                lanes = [lane for lane in lanes if lane[0].stop is None]
        return {b.name: b.stop for b in self.boards}

    def _idle_horizon_ns(self, running: list[Board]) -> int | None:
        """When every running board sleeps with nothing to wake it before its next timer, no
        board can act, and so send a frame, before the earliest of those timers: all may jump
        there at once instead of quantum by quantum. None while any board runs."""
        for b in running:  # first without asking: a board that runs, before any that polls the host
            if b.machine.host_polls:
                break  # (it is polled below, as a board that runs after it would not stop that)
            if not b.machine.cpu.sleeping:
                return None
        horizon: int | None = None
        for b in running:
            machine = b.machine
            if not machine.cpu.sleeping and not machine.host_polls:  # what next_wake_cycles says, sooner
                return None
            wake = machine.next_wake_cycles()
            if wake is None:
                return None
            if wake < 0:
                continue  # sleeps with no timer at all
            hz = machine.clock.hz
            ns = -(-wake * 1_000_000_000 // hz)
            horizon = ns if horizon is None else min(horizon, ns)
        return horizon


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
BoardName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class LinkSpec(_Strict):
    up: StrictBool = True
    loss: Probability = 0.0
    delay_us: Annotated[float, Field(ge=0.0, le=10_000_000.0)] = 0.0   # at most 10 s
    rate_mbps: Annotated[float, Field(ge=0.0, le=100_000.0)] = 0.0     # 0: the port's own wire rate
    duplicate: Probability = 0.0
    reorder: Probability = 0.0


class BoardEntry(_Strict):
    name: BoardName
    platform: Annotated[StrictStr, Field(min_length=1, max_length=1024)] = "mps2-an385"
    firmware: Annotated[StrictStr, Field(min_length=1, max_length=1024)]
    settings: dict[StrictStr, dict[StrictStr, Any]] = {}


class SimulationSpec(_Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    description: Annotated[StrictStr, Field(max_length=4096)] = ""
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = 0
    quantum_us: Annotated[float, Field(ge=1.0, le=1_000_000.0)] = 250.0
    boards: Annotated[list[BoardEntry], Field(min_length=1, max_length=64)]
    links: dict[StrictStr, LinkSpec] = {}


def _link(spec: LinkSpec) -> LinkModel:
    return LinkModel(up=spec.up, loss=spec.loss, delay_ns=int(spec.delay_us * 1000),
                     rate_bps=int(spec.rate_mbps * 1_000_000), duplicate=spec.duplicate, reorder=spec.reorder)


def _macs(machine: Machine) -> list[tuple[str, str]]:
    """(device, MAC as aa:bb:...) of each device of the board that has a MAC address."""
    out = []
    for name, dev in machine.devices.items():
        mac = getattr(dev, "mac", None)
        if isinstance(mac, bytes | bytearray):
            mac = ":".join(f"{b:02x}" for b in mac)
        if isinstance(mac, str):
            out.append((name, mac.lower()))
    return out


def load_simulation(path: str | Path, policy: LoadPolicy = TRUSTED) -> Simulation:
    """The simulation file ``path``; the files it names obey ``policy`` (a server's root folder)."""
    p = Path(path)
    spec, fail = read_spec(SimulationSpec, p, "simulation")
    sim = Simulation(spec.name or p.stem, Switch(spec.seed), quantum_ns=int(spec.quantum_us * 1000))
    macs: dict[str, str] = {}
    for i, b in enumerate(spec.boards):
        if any(x.name == b.name for x in sim.boards):
            raise fail(("boards", i, "name"), f"duplicate board name '{b.name}'")
        platform = b.platform
        plat_path = (policy.path(p.parent / platform, f"{p}: boards[{i}].platform")
                     if platform.endswith((".yaml", ".yml")) or "/" in platform else platform)
        machine = Machine(load_platform(plat_path, policy), overrides=b.settings, name=b.name)
        firmware = policy.path(p.parent / b.firmware, f"{p}: boards[{i}].firmware").resolve()
        machine.load(load_image(firmware))
        for dev, mac in _macs(machine):
            where = f"{b.name}.{dev}"
            if mac in macs:
                raise fail(("boards", i, "settings"), f"{where} has MAC {mac}, as {macs[mac]} has: give each "
                           f"board its own (settings: {{{dev}: {{mac: ...}}}})")
            macs[mac] = where
        sim.boards.append(Board(b.name, machine, firmware))
        for dev in machine.ethernet_devices():
            port_name = f"{b.name}.{dev}"
            link = _link(spec.links[port_name]) if port_name in spec.links else None
            sim.switch.attach_device(port_name, machine.clock, machine.frame_port(dev), link)
    known = {sp.name for sp in sim.switch.ports}
    for port_name in spec.links:
        if port_name not in known:
            raise fail(("links", port_name), f"no such board Ethernet port (ports: "
                       f"{', '.join(sorted(known)) or 'none'})")
    return sim
