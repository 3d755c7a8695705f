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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.loader import load_image
from emulator.machine import Machine, StopReason
from emulator.network import LinkModel, Switch
from emulator.platform import TRUSTED, LoadPolicy, PlatformError, load_platform


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
        while self.now_ns < end and any(b.stop is None for b in self.boards):
            target = min(end, self.now_ns + self.quantum_ns)
            horizon = self._idle_horizon_ns()
            if horizon is not None and horizon > target:
                target = min(end, horizon)
            for b in self.boards:
                if b.stop is not None:
                    continue
                clock = b.machine.clock
                cycles = target * clock.hz // 1_000_000_000 - clock.now
                if cycles <= 0:
                    continue
                stop = b.machine.run(cycles)
                if stop.kind not in ("time", "idle"):
                    b.stop = stop
                elif stop.kind == "idle":
                    clock.advance(max(0, target * clock.hz // 1_000_000_000 - clock.now))
                    clock.fire_due()
            self.now_ns = target
        return {b.name: b.stop for b in self.boards}

    def _idle_horizon_ns(self) -> int | None:
        """When every running board sleeps with nothing to wake it before its next timer, no
        board can act, and so send a frame, before the earliest of those timers: all may jump
        there at once instead of quantum by quantum. None while any board runs."""
        horizon: int | None = None
        for b in self.boards:
            if b.stop is not None:
                continue
            wake = b.machine.next_wake_cycles()
            if wake is None:
                return None
            if wake < 0:
                continue  # sleeps with no timer at all
            hz = b.machine.clock.hz
            ns = -(-wake * 1_000_000_000 // hz)
            horizon = ns if horizon is None else min(horizon, ns)
        return horizon


def _link(raw: Any, where: str) -> LinkModel:
    if not isinstance(raw, dict):
        raise PlatformError(f"{where}: expected a mapping of link settings")
    allowed = {"up", "loss", "delay_us", "rate_mbps", "duplicate", "reorder"}
    for k in raw:
        if k not in allowed:
            raise PlatformError(f"{where}.{k}: unknown link setting (allowed: {', '.join(sorted(allowed))})")
    try:
        link = LinkModel(up=bool(raw.get("up", True)), loss=float(raw.get("loss", 0.0)),
                         delay_ns=int(float(raw.get("delay_us", 0)) * 1000),
                         rate_bps=int(float(raw.get("rate_mbps", 0)) * 1_000_000),
                         duplicate=float(raw.get("duplicate", 0.0)), reorder=float(raw.get("reorder", 0.0)))
        link.validate()
    except (TypeError, ValueError) as e:
        raise PlatformError(f"{where}: {e}") from None
    return link


def load_simulation(path: str | Path, policy: LoadPolicy = TRUSTED) -> Simulation:
    """The simulation file ``path``; the files it names obey ``policy`` (a server's root folder)."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise PlatformError(f"{p}: cannot read simulation ({e})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("boards"), list) or not raw["boards"]:
        raise PlatformError(f"{p}: boards: expected a non-empty list of boards")
    for k in raw:
        if k not in ("name", "seed", "quantum_us", "boards", "links", "description"):
            raise PlatformError(f"{p}: {k}: unknown key (allowed: boards, description, links, name, "
                                "quantum_us, seed)")
    sim = Simulation(str(raw.get("name", p.stem)), Switch(int(raw.get("seed", 0))),
                     quantum_ns=int(float(raw.get("quantum_us", 250)) * 1000))
    if sim.quantum_ns <= 0:
        raise PlatformError(f"{p}: quantum_us: expected a positive duration")
    links = raw.get("links") or {}
    if not isinstance(links, dict):
        raise PlatformError(f"{p}: links: expected a mapping of '<board>.<device>' to link settings")
    for i, b in enumerate(raw["boards"]):
        where = f"{p}: boards[{i}]"
        if not isinstance(b, dict) or "name" not in b or "firmware" not in b:
            raise PlatformError(f"{where}: expected a mapping with 'name' and 'firmware'")
        for k in b:
            if k not in ("name", "platform", "firmware", "settings"):
                raise PlatformError(f"{where}.{k}: unknown key (allowed: firmware, name, platform, settings)")
        name = str(b["name"])
        if any(x.name == name for x in sim.boards):
            raise PlatformError(f"{where}.name: duplicate board name '{name}'")
        platform = str(b.get("platform", "mps2-an385"))
        plat_path = (policy.path(p.parent / platform, f"{where}.platform")
                     if platform.endswith((".yaml", ".yml")) or "/" in platform else platform)
        settings = b.get("settings") or {}
        if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
            raise PlatformError(f"{where}.settings: expected a mapping of device name to settings")
        machine = Machine(load_platform(plat_path, policy), overrides=settings, name=name)
        firmware = policy.path(p.parent / str(b["firmware"]), f"{where}.firmware").resolve()
        machine.load(load_image(firmware))
        sim.boards.append(Board(name, machine, firmware))
        for dev in machine.ethernet_devices():
            port_name = f"{name}.{dev}"
            link = _link(links[port_name], f"{p}: links.{port_name}") if port_name in links else None
            sim.switch.attach_device(port_name, machine.clock, machine.frame_port(dev), link)
    known = {sp.name for sp in sim.switch.ports}
    for port_name in links:
        if port_name not in known:
            raise PlatformError(f"{p}: links.{port_name}: no such board Ethernet port "
                                f"(ports: {', '.join(sorted(known)) or 'none'})")
    return sim
