"""SysTick's register accesses against the model as it was (``systick_reference.py``).

Random programming sequences (the tickless idle's stop, RVR, CVR, start among random writes
of either clock source, RVR 0 and 1, stops and restarts while running), reads of CSR (its
COUNTFLAG clears on read) and CVR, time moving on with and without the due events fired,
positions inside a slice (``clock.slice_progress``) and snapshots restored: both counters
see the same, on clocks of their own, and every read, their state, their scheduled events,
their pends and the native copy of the model's programming must agree after every step.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from emulator.clock import Clock
from emulator.cpu.systick import ENABLE, SysTick
from tests.emulator.systick_reference import ReferenceSysTick

HZ = 25_000_000
TICKLESS = [(0, 6), (1, None), (2, 0), (0, 7)]  # CSR=ctrl, RVR=span, CVR=0, CSR=ctrl|ENABLE


class Side:
    def __init__(self, cls: type) -> None:
        self.clock = Clock(HZ)
        self.progress = 0
        self.clock.slice_progress = lambda: self.progress
        self.pends: list[int] = []
        self.st = cls(self.clock, lambda: self.pends.append(self.clock.now))
        if cls is SysTick:
            self.st.native = SimpleNamespace()
            self.st.reset()

    def write(self, reg: int, value: int) -> None:
        (self.st.write_csr, self.st.write_reload, self.st.write_current)[reg](value)

    def read(self, reg: int) -> int:
        st = self.st
        return (st.read_csr, lambda: st.reload, st.value)[reg]()

    def advance(self, cycles: int, fire: bool) -> None:
        self.clock.advance(self.progress + cycles)
        self.progress = 0
        if fire:
            self.clock.fire_due()

    def observed(self) -> tuple:
        st, timer = self.st, self.st.timer
        return (st.get_state(), st.value(), st.countflag(), st.cycles_per_tick(),
                timer.when if timer is not None and not timer.cancelled else None,
                [(t.when, t.name) for t in self.clock.pending()], list(self.pends), self.clock.now)


def native_copy_agrees(st: SysTick) -> None:
    n = st.native
    assert (n.st_enabled, n.st_start, n.st_start_value, n.st_reload, n.st_stopped_value, n.st_csr,
            n.st_flag_cleared_at) == (st.csr & ENABLE, st.start, st.start_value, st.reload,
                                      st.stopped_value, st.csr, st.flag_cleared_at)
    if st.csr & ENABLE:
        assert n.st_cycles_per_tick == st.cycles_per_tick()


def random_value(rng: random.Random, reg: int) -> int:
    if reg == 0:
        return rng.choice((0, 1, 3, 5, 7, 4, 6, 2, 0x10007, rng.randrange(1 << 32)))
    if reg == 1:
        return rng.choice((0, 1, 2, 9, 24, 25, 100, 2499, 0xFFFFFF, rng.randrange(1 << 32)))
    return rng.randrange(1 << 32)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", range(8))
def test_systick_matches_the_reference_over_random_programming(seed: int) -> None:
    rng = random.Random(seed)
    model, ref = Side(SysTick), Side(ReferenceSysTick)
    both = (model, ref)
    for _ in range(4000):
        kind = rng.random()
        if kind < 0.3:
            reg = rng.randrange(3)
            value = random_value(rng, reg)
            for side in both:
                side.write(reg, value)
        elif kind < 0.4:  # the tickless idle's reprogramming, as firmware does it
            span = rng.choice((1, 2, 100, rng.randrange(1, 1 << 24)))
            for reg, value in TICKLESS:
                for side in both:
                    side.write(reg, span - 1 if value is None else value)
        elif kind < 0.6:
            reg = rng.choice((0, 0, 1, 2, 2))
            assert model.read(reg) == ref.read(reg)
        elif kind < 0.75:
            p = model.progress + rng.choice((0, 1, 2, 24, 25, 26, 400))
            for side in both:
                side.progress = p
        elif kind < 0.97:
            cycles, fire = rng.choice((0, 1, 3, 24, 25, 99, 2500, 30_000)), rng.random() < 0.8
            for side in both:
                side.advance(cycles, fire)
        else:  # a snapshot restored (on a clock at the same time)
            state = model.st.get_state()
            assert state == ref.st.get_state()
            for side in both:
                side.st.set_state(dict(state))
        assert model.observed() == ref.observed()
        native_copy_agrees(model.st)
    assert model.pends, "the sequence never let a tick pend"
