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
from functools import partial

from emulator.clock import Clock
from emulator.net.frames import (
    DEFAULT_LINK_BPS,
    ETH_HEADER,
    ETH_MAX_VLAN_FRAME,
    ETH_MIN_FRAME,
    ETH_WIRE_OVERHEAD,
    FramePort,
)

BROADCAST = b"\xff" * 6
CaptureTap = Callable[[int, bytes, str], None]


@dataclass(slots=True)
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


@dataclass(slots=True)
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
                 link: LinkModel, wire_bps: int = 0, device: FramePort | None = None) -> None:
        self.switch = switch
        self.name = name
        self.clock = clock
        self._deliver = deliver
        self._device = device  # deliveries go to this device's port (its FramePort.deliver written out)
        self.link = link
        self.counters = PortCounters()
        self.taps: list[CaptureTap] = []
        self.busy_until_ns = 0
        self.wire_bps = wire_bps  # serialisation when the link model sets no rate (0: none)
        self.on_link_change: list[Callable[[bool], None]] = []
        self.event_name = f"frame->{name}"

    def now_ns(self) -> int:
        return self.clock.now * 1_000_000_000 // self.clock.hz

    def set_link(self, up: bool) -> None:
        if self.link.up != up:
            self.link.up = up
            for cb in self.on_link_change:
                cb(up)

    # The path of every frame: ``receive`` (the switch's ingress), one ``Switch._egress`` per
    # port it leaves by (the learned one, or all others), then ``_arrive`` now or in an event
    # at its time. A frame to a learned port behind a link that does nothing to it (between two
    # boards, every frame) is forwarded by ``receive`` itself.
    def receive(self, frame: bytes) -> None:
        """A frame from the attached device or backend enters the switch now: counted, tapped,
        learned and forwarded."""
        link = self.link
        if link.loss or not link.up:
            if not link.up:
                self.counters.drop("link down")
                return
            if self.switch.rng.random() < link.loss:
                self.counters.drop("loss")
                return
        n = len(frame)
        if n < ETH_HEADER or n > ETH_MAX_VLAN_FRAME:
            self.counters.drop("runt" if n < ETH_HEADER else "oversize")
            return
        c = self.counters
        c.rx_frames += 1
        c.rx_bytes += n
        clock = self.clock
        now = clock.base + clock.slice_progress()  # clock.now; constant while the frame is handed on
        t_ns = now * 1_000_000_000 // clock.hz
        if self.taps:
            for tap in self.taps:
                tap(t_ns, frame, "in")
        fdb = self.switch.fdb
        if not frame[6] & 1:
            fdb[frame[6:12]] = self
        target = None if frame[0] & 1 else fdb.get(frame[0:6])
        if target is not None:
            if target is self:
                return
            link = target.link
            if link.loss or link.duplicate or link.reorder or link.delay_ns or not link.up:
                self.switch._egress_modelled(target, frame, t_ns, clock, now)
                return
            # A learned port behind a link that does nothing to the frame: Switch._egress,
            # _serialised and _launch written out (the path of every frame between two boards).
            busy = target.busy_until_ns
            at = t_ns if t_ns > busy else busy
            if bps := link.rate_bps or target.wire_bps:
                at += ((n if n > ETH_MIN_FRAME else ETH_MIN_FRAME) + ETH_WIRE_OVERHEAD) * 8_000_000_000 // bps
            target.busy_until_ns = at
            dclock = target.clock
            dnow = now if dclock is clock else dclock.base + dclock.slice_progress()
            when = -(-at * dclock.hz // 1_000_000_000)
            if when <= dnow and not target.wire_bps:
                Switch._launch(target, frame, at, clock, now)  # delivered in place
            else:
                when = when if when > dnow else dnow
                dclock.call_at(when, arrival(target, frame), target.event_name)
            return
        switch = self.switch
        for p in switch.ports:
            if p is not self:
                switch._egress(p, frame, t_ns, clock, now)

    def _arrive(self, frame: bytes) -> None:
        c = self.counters
        c.tx_frames += 1
        c.tx_bytes += len(frame)
        if self.taps:
            t = self.now_ns()
            for tap in self.taps:
                tap(t, frame, "out")
        if (fp := self._device) is None:
            self._deliver(frame)
            return
        fp.rx_frames += 1
        if (on_receive := fp.on_receive) is not None:
            on_receive(frame)


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
                 link: LinkModel | None = None, wire_bps: int = 0,
                 device: FramePort | None = None) -> SwitchPort:
        if any(p.name == name for p in self.ports):
            raise ValueError(f"switch port '{name}' exists already")
        sp = SwitchPort(self, name, clock, deliver, link or LinkModel(), wire_bps, device)
        self.ports.append(sp)
        return sp

    def attach_device(self, name: str, clock: Clock, fp: FramePort,
                      link: LinkModel | None = None, wire_bps: int = DEFAULT_LINK_BPS) -> SwitchPort:
        """Plug a device's frame port in: its sends enter here, deliveries go to it on its wire of
        ``wire_bps`` (0: no wire, a frame arrives at the instant it is sent)."""
        sp = self.add_port(name, clock, fp.deliver, link, wire_bps, fp)
        fp.connect(sp.receive)
        sp.on_link_change.append(fp.set_link)
        fp.set_link(sp.link.up)
        return sp

    def _egress(self, dst: SwitchPort, frame: bytes, t_ns: int, clock: Clock, now: int) -> None:
        """``frame``, entered at ``t_ns`` (cycle ``now`` of ``clock``), leaves by ``dst``."""
        link = dst.link
        if link.loss or link.duplicate or link.reorder or link.delay_ns or not link.up:
            self._egress_modelled(dst, frame, t_ns, clock, now)
        else:  # a link that is up and does nothing to the frame: one copy, no draws, no delay
            self._launch(dst, frame, self._serialised(dst, frame, t_ns), clock, now)

    def _egress_modelled(self, dst: SwitchPort, frame: bytes, t_ns: int, clock: Clock, now: int) -> None:
        """``_egress`` through a link that may drop, duplicate, delay or reorder the frame."""
        link = dst.link
        rng = self.rng
        if not link.up:
            dst.counters.drop("link down")
            return
        if link.loss and rng.random() < link.loss:
            dst.counters.drop("loss")
            return
        copies = 2 if link.duplicate and rng.random() < link.duplicate else 1
        at = self._serialised(dst, frame, t_ns) + link.delay_ns
        if link.reorder and rng.random() < link.reorder:
            at += link.reorder_delay_ns
        for _ in range(copies):
            self._launch(dst, frame, at, clock, now)

    @staticmethod
    def _serialised(dst: SwitchPort, frame: bytes, t_ns: int) -> int:
        """When ``frame``, ready at ``t_ns``, has left by ``dst``: after the frames before it, and
        its serialisation at the link's rate (frames.wire_ns, written out); the port is busy
        until then."""
        busy = dst.busy_until_ns
        at = t_ns if t_ns > busy else busy
        bps = dst.link.rate_bps or dst.wire_bps
        if bps:
            n = len(frame)
            at += ((n if n > ETH_MIN_FRAME else ETH_MIN_FRAME) + ETH_WIRE_OVERHEAD) * 8_000_000_000 // bps
        dst.busy_until_ns = at
        return at

    @staticmethod
    def _launch(dst: SwitchPort, frame: bytes, at: int, clock: Clock, now: int) -> None:
        """``frame`` arrives at ``dst``'s end at ``at`` ns: now, in place, when that has passed and
        no wire is modelled (what _arrive does), else as an event of the receiver's clock."""
        dclock = dst.clock
        if dclock is not clock:
            now = dclock.base + dclock.slice_progress()  # dclock.now, without the property
        when = -(-at * dclock.hz // 1_000_000_000)  # ceil to the receiver's cycles
        if when <= now and not dst.wire_bps:
            c = dst.counters
            c.tx_frames += 1
            c.tx_bytes += len(frame)
            if dst.taps:
                t = now * 1_000_000_000 // dclock.hz
                for tap in dst.taps:
                    tap(t, frame, "out")
            dst._deliver(frame)
        else:
            dclock.call_at(when if when > now else now, arrival(dst, frame), dst.event_name)

    def counters(self) -> dict[str, dict[str, object]]:
        return {p.name: p.counters.as_dict() for p in self.ports}


_arrive = SwitchPort._arrive


def arrival(port: SwitchPort, frame: bytes) -> Callable[[], None]:
    """The event that hands ``frame`` to ``port``'s end (what the switch schedules): it calls
    ``_arrive`` itself (a partial: no Python frame of its own), and ``arrival_of`` reads (port,
    frame) back from it, what bridge/rpc_snapshot.py saves of a frame in flight."""
    return partial(_arrive, port, frame)


def arrival_of(callback: object) -> tuple[SwitchPort, bytes] | None:
    """(port, frame) of an event made by ``arrival`` (or ``Switch._launch``), else None."""
    if type(callback) is partial and callback.func is _arrive:
        port, frame = callback.args
        return port, frame
    return None
