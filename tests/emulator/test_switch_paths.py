"""The switch's flattened forwarding path against the step-by-step reference it replaced
(``switch_reference.py``): the same random traffic, with every link model (and links that do
nothing to a frame, ``Switch._egress``'s own path), taps, board and host ports on one clock or on
clocks of their own (in step or one ahead), gives the same deliveries at the same cycles, the same
captures, counters, drops, FDB, random state and pending events."""

from __future__ import annotations

import random
from typing import Any

import pytest
from switch_reference import RefSwitch

from emulator.clock import Clock
from emulator.net.frames import FramePort
from emulator.net.network import LinkModel, Switch

MACS = [bytes([2, 0, 0, 0, 0, i]) for i in range(6)] + [b"\xff" * 6, bytes([1, 0, 0x5E, 0, 0, 1])]


def _link(r: random.Random) -> LinkModel:
    if r.random() < 0.4:  # a link that does nothing to a frame (Switch._egress's own path)
        return LinkModel(rate_bps=r.choice([0, 0, 10_000_000]))
    return LinkModel(loss=r.choice([0, 0, 0.2]), delay_ns=r.choice([0, 0, 3000]),
                     rate_bps=r.choice([0, 0, 10_000_000]), duplicate=r.choice([0, 0, 0.3]),
                     reorder=r.choice([0, 0, 0.3]), reorder_delay_ns=r.choice([1000, 50_000]))


def _traffic(switch: Any, seed: int) -> tuple[Any, ...]:
    """Random sends, host frames, link changes and time steps; everything observable afterwards."""
    r = random.Random(seed)
    log: list[tuple[Any, ...]] = []
    clocks = [Clock(25_000_000), Clock(25_000_000), Clock(1_000_000_000)]
    if r.random() < 0.5:
        clocks[1] = clocks[0]  # two boards' ports on one clock (one machine), or a clock each
    fps = []
    for i in range(3):
        fp = FramePort(f"eth{i}")
        ck = clocks[i % 2]
        fp.on_receive = lambda f, i=i, ck=ck: log.append(("device", i, ck.now, f))
        wire_bps = r.choice([100_000_000, 100_000_000, 0, 10**9])
        sp = switch.attach_device(f"board{i}", ck, fp, _link(r), wire_bps)
        if r.random() < 0.5:
            sp.taps.append(lambda t, f, d, i=i: log.append(("tap", i, t, f, d)))
        fps.append(fp)
    hosts = []
    for j in range(2):
        ck = r.choice(clocks)
        deliver = lambda f, j=j, ck=ck: log.append(("host", j, ck.now, f))  # noqa: E731
        hp = switch.add_port(f"host{j}", ck, deliver, _link(r))
        if r.random() < 0.5:
            hp.taps.append(lambda t, f, d, j=j: log.append(("host tap", j, t, f, d)))
        hosts.append(hp)
    distinct = list(dict.fromkeys(clocks))
    for step in range(400):
        a = r.random()
        if a < 0.35:
            size = r.choice([10, 14, 60, 64, 200, 1514, 1518, 1600])
            f = r.choice(MACS) + r.choice(MACS[:6] + MACS[7:]) + b"\x88\xb5" + step.to_bytes(4, "big")
            r.choice(fps).send((f + bytes(max(0, size - len(f))))[:size])
        elif a < 0.6:
            f = r.choice(MACS) + r.choice(MACS[:6]) + b"\x08\x00" + step.to_bytes(4, "big")
            r.choice(hosts).receive(f + bytes(r.choice([0, 50, 1400])))
        elif a < 0.63:
            p = r.choice(switch.ports)
            p.set_link(not p.link.up)
        elif a < 0.68:  # one clock runs ahead of the others (boards in quanta of their own)
            ck = r.choice(distinct)
            ck.advance(r.choice([1, 100, 10_000]) * (40 if ck.hz == 1_000_000_000 else 1))
            ck.fire_due()
        else:
            dt = r.choice([1, 10, 100, 1000, 10_000])
            for ck in distinct:
                ck.advance(dt * 40 if ck.hz == 1_000_000_000 else dt)
                ck.fire_due()
    pending = [[(t.when, t.name) for t in ck.pending()] for ck in distinct]
    for ck in distinct:
        ck.run_for(10**8)
    return (log, switch.counters(), switch.rng.getstate(), {m: p.name for m, p in switch.fdb.items()},
            [(fp.tx_frames, fp.rx_frames, fp.link_up) for fp in fps], [p.busy_until_ns for p in switch.ports],
            pending)


@pytest.mark.parametrize("first", range(0, 200, 50))
def test_the_flattened_path_matches_the_reference(first: int) -> None:
    for seed in range(first, first + 50):
        got = _traffic(Switch(seed), seed)
        want = _traffic(RefSwitch(seed), seed)
        assert len(got[0]) > 20, "the traffic must deliver something"
        for what, g, w in zip(("log", "counters", "rng", "fdb", "frame ports", "busy", "pending"), got, want,
                              strict=True):
            assert g == w, f"seed {seed}: {what} differ"
