"""The virtual network: a learning switch whose ports carry link models.

Everything runs in virtual time on the emulation thread. A frame entering a
switch port at time t (ns) is forwarded (MAC learning, flooding for
broadcast/multicast/unknown destinations) to the egress ports; each egress
link decides, with the simulation's seeded RNG, whether the frame is lost,
duplicated or reordered, and when it arrives (propagation delay plus
serialisation at the link rate, queued behind earlier frames). A board's
port is a wire of its own even when its link model sets no rate: a frame
reaches the device no earlier than the end of the previous one at
``DEFAULT_LINK_BPS`` (preamble, FCS and inter-frame gap included), so two
frames never enter a MAC at the same instant. Loss
applies in both directions of a port's link; delay, rate, duplication and
reordering on the way out to the port. Arrival is
scheduled on the clock of the port's owner, so a frame between two boards
arrives at the receiver's virtual time, and a run is reproducible from the
seed and the inputs. A port with no wire of its own (a host backend's)
takes a frame that has nothing on its way (no delay, no rate) at once, at
the sender's time, without an event: a board's transmission then reaches
the host without cutting the CPU's slice short.

Frames are ``bytes`` without FCS. Each port counts frames and bytes in and
out and drops by reason, and carries capture taps ``(t_ns, frame, dir)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.clock import Clock
from emulator.net.frames import DEFAULT_LINK_BPS, ETH_HEADER, ETH_MAX_VLAN_FRAME, FramePort, wire_ns

BROADCAST = b"\xff" * 6
CaptureTap = Callable[[int, bytes, str], None]


@dataclass
class LinkModel:
    """What a link does to the frames leaving the switch through it."""

    up: bool = True
    loss: float = 0.0          # probability a frame is dropped
    delay_ns: int = 0          # one-way propagation delay
    rate_bps: int = 0          # 0 = the port's own wire rate (a board's: 100 Mbit/s; a host's: unlimited)
    duplicate: float = 0.0     # probability a frame is delivered twice
    reorder: float = 0.0       # probability a frame is held back behind the next one
    reorder_delay_ns: int = 1_000_000

    def validate(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.delay_ns < 0 or self.rate_bps < 0 or self.reorder_delay_ns < 0:
            raise ValueError("delay and rate must not be negative")


@dataclass
class PortCounters:
    rx_frames: int = 0   # into the switch from this port
    rx_bytes: int = 0
    tx_frames: int = 0   # out of the switch to this port
    tx_bytes: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return {"rx_frames": self.rx_frames, "rx_bytes": self.rx_bytes, "tx_frames": self.tx_frames,
                "tx_bytes": self.tx_bytes, "dropped": dict(self.dropped)}


class SwitchPort:
    """One port of the switch, plugged into a device FramePort or a host backend."""

    def __init__(self, switch: Switch, name: str, clock: Clock, deliver: Callable[[bytes], None],
                 link: LinkModel, wire_bps: int = 0) -> None:
        self.switch = switch
        self.name = name
        self.clock = clock
        self._deliver = deliver
        self.link = link
        self.counters = PortCounters()
        self.taps: list[CaptureTap] = []
        self.busy_until_ns = 0
        self.wire_bps = wire_bps  # serialisation when the link model sets no rate (0: none)
        self.on_link_change: list[Callable[[bool], None]] = []
        self.event_name = f"frame->{name}"

    def now_ns(self) -> int:
        return self.clock.now * 1_000_000_000 // self.clock.hz

    def receive(self, frame: bytes) -> None:
        """A frame from the attached device or backend enters the switch now."""
        self.switch.ingress(self, frame, self.now_ns())

    def set_link(self, up: bool) -> None:
        if self.link.up != up:
            self.link.up = up
            for cb in self.on_link_change:
                cb(up)

    def _arrive(self, frame: bytes) -> None:
        c = self.counters
        c.tx_frames += 1
        c.tx_bytes += len(frame)
        if self.taps:
            t = self.now_ns()
            for tap in self.taps:
                tap(t, frame, "out")
        self._deliver(frame)


class Switch:
    """A learning switch in virtual time; ``seed`` drives every random link decision."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.ports: list[SwitchPort] = []
        self.fdb: dict[bytes, SwitchPort] = {}

    def port(self, name: str) -> SwitchPort:
        for p in self.ports:
            if p.name == name:
                return p
        raise KeyError(f"no switch port '{name}' (ports: {', '.join(p.name for p in self.ports)})")

    def add_port(self, name: str, clock: Clock, deliver: Callable[[bytes], None],
                 link: LinkModel | None = None, wire_bps: int = 0) -> SwitchPort:
        if any(p.name == name for p in self.ports):
            raise ValueError(f"switch port '{name}' exists already")
        sp = SwitchPort(self, name, clock, deliver, link or LinkModel(), wire_bps)
        self.ports.append(sp)
        return sp

    def attach_device(self, name: str, clock: Clock, fp: FramePort,
                      link: LinkModel | None = None, wire_bps: int = DEFAULT_LINK_BPS) -> SwitchPort:
        """Plug a device's frame port in: its sends enter here, deliveries go to it on its wire of
        ``wire_bps`` (0: no wire, a frame arrives at the instant it is sent)."""
        sp = self.add_port(name, clock, fp.deliver, link, wire_bps)
        fp.connect(sp.receive)
        sp.on_link_change.append(fp.set_link)
        fp.set_link(sp.link.up)
        return sp

    # -- forwarding -------------------------------------------------------------
    def ingress(self, src: SwitchPort, frame: bytes, t_ns: int) -> None:
        c = src.counters
        link = src.link
        if not link.up:
            c.drop("link down")
            return
        if link.loss and self.rng.random() < link.loss:
            c.drop("loss")
            return
        n = len(frame)
        if n < ETH_HEADER:
            c.drop("runt")
            return
        if n > ETH_MAX_VLAN_FRAME:
            c.drop("oversize")
            return
        c.rx_frames += 1
        c.rx_bytes += n
        if src.taps:
            for tap in src.taps:
                tap(t_ns, frame, "in")
        if not frame[6] & 1:
            self.fdb[frame[6:12]] = src
        target = None if frame[0] & 1 else self.fdb.get(frame[0:6])
        if target is not None:
            if target is not src:
                self._egress(target, frame, t_ns)
            return
        for p in self.ports:
            if p is not src:
                self._egress(p, frame, t_ns)

    def _egress(self, dst: SwitchPort, frame: bytes, t_ns: int) -> None:
        link = dst.link
        rng = self.rng
        if not link.up:
            dst.counters.drop("link down")
            return
        if link.loss and rng.random() < link.loss:
            dst.counters.drop("loss")
            return
        duplicate = bool(link.duplicate) and rng.random() < link.duplicate
        start = t_ns if t_ns > dst.busy_until_ns else dst.busy_until_ns
        bps = link.rate_bps or dst.wire_bps
        on_wire = wire_ns(len(frame), bps) if bps else 0
        dst.busy_until_ns = start + on_wire
        at = start + on_wire + link.delay_ns
        if link.reorder and rng.random() < link.reorder:
            at += link.reorder_delay_ns
        self._schedule(dst, at, frame)
        if duplicate:
            self._schedule(dst, at, frame)

    def _schedule(self, dst: SwitchPort, at_ns: int, frame: bytes) -> None:
        clock = dst.clock
        when = -(-at_ns * clock.hz // 1_000_000_000)  # ceil to the receiver's cycles
        now = clock.now
        if when <= now and not dst.wire_bps:
            dst._arrive(frame)
            return
        # A closure, not a partial: bridge/rpc_snapshot.py reads the port and frame from its cells.
        clock.call_at(max(when, now), lambda: dst._arrive(frame), dst.event_name)

    def counters(self) -> dict[str, dict[str, object]]:
        return {p.name: p.counters.as_dict() for p in self.ports}
