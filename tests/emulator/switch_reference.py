"""The switch's forwarding as it was written before its hot path was flattened: one small method per
step (``now_ns``, ``ingress``, ``_egress``, ``wire_ns``, ``_schedule``, ``_arrive``, ``FramePort.deliver``).
``tests/emulator/test_switch_paths.py`` runs the same traffic through it and through
``emulator.net.network`` and compares everything observable."""

from __future__ import annotations

import random
from collections.abc import Callable

from emulator.clock import Clock
from emulator.net.frames import DEFAULT_LINK_BPS, ETH_HEADER, ETH_MAX_VLAN_FRAME, FramePort, wire_ns
from emulator.net.network import CaptureTap, LinkModel, PortCounters


class RefPort:
    def __init__(self, switch: RefSwitch, name: str, clock: Clock, deliver: Callable[[bytes], None],
                 link: LinkModel, wire_bps: int = 0) -> None:
        self.switch, self.name, self.clock, self._deliver, self.link = switch, name, clock, deliver, link
        self.counters = PortCounters()
        self.taps: list[CaptureTap] = []
        self.busy_until_ns = 0
        self.wire_bps = wire_bps
        self.on_link_change: list[Callable[[bool], None]] = []
        self.event_name = f"frame->{name}"

    def now_ns(self) -> int:
        return self.clock.now * 1_000_000_000 // self.clock.hz

    def receive(self, frame: bytes) -> None:
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


class RefSwitch:
    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.ports: list[RefPort] = []
        self.fdb: dict[bytes, RefPort] = {}

    def add_port(self, name: str, clock: Clock, deliver: Callable[[bytes], None],
                 link: LinkModel | None = None, wire_bps: int = 0) -> RefPort:
        sp = RefPort(self, name, clock, deliver, link or LinkModel(), wire_bps)
        self.ports.append(sp)
        return sp

    def attach_device(self, name: str, clock: Clock, fp: FramePort,
                      link: LinkModel | None = None, wire_bps: int = DEFAULT_LINK_BPS) -> RefPort:
        sp = self.add_port(name, clock, fp.deliver, link, wire_bps)
        fp.connect(sp.receive)
        sp.on_link_change.append(fp.set_link)
        fp.set_link(sp.link.up)
        return sp

    def ingress(self, src: RefPort, frame: bytes, t_ns: int) -> None:
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

    def _egress(self, dst: RefPort, frame: bytes, t_ns: int) -> None:
        link = dst.link
        rng = self.rng
        if not link.up:
            dst.counters.drop("link down")
            return
        if link.loss and rng.random() < link.loss:
            dst.counters.drop("loss")
            return
        duplicate = bool(link.duplicate) and rng.random() < link.duplicate
        start = max(t_ns, dst.busy_until_ns)
        bps = link.rate_bps or dst.wire_bps
        on_wire = wire_ns(len(frame), bps) if bps else 0
        dst.busy_until_ns = start + on_wire
        at = start + on_wire + link.delay_ns
        if link.reorder and rng.random() < link.reorder:
            at += link.reorder_delay_ns
        self._schedule(dst, at, frame)
        if duplicate:
            self._schedule(dst, at, frame)

    def _schedule(self, dst: RefPort, at_ns: int, frame: bytes) -> None:
        clock = dst.clock
        when = -(-at_ns * clock.hz // 1_000_000_000)
        now = clock.now
        if when <= now and not dst.wire_bps:
            dst._arrive(frame)
            return
        clock.call_at(max(when, now), lambda: dst._arrive(frame), dst.event_name)

    def counters(self) -> dict[str, dict[str, object]]:
        return {p.name: p.counters.as_dict() for p in self.ports}
