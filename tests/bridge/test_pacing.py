"""Pacing: realtime never lets virtual time run ahead of the wall clock; idle waits only for sleeps."""

from __future__ import annotations

import ctypes
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge import pacing
from bridge.pacing import TIMER_SLACK_NS, IdlePacer, RealtimePacer
from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.clock import Clock

HZ = 1000  # one cycle per millisecond: the waits are easy to see


def _elapsed(fn: Callable[[], object]) -> float:
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def test_idle_pacer_lets_work_run_ahead_of_the_wall_clock() -> None:
    clock = Clock(HZ)
    pacer = IdlePacer(clock)
    pacer.anchor(0)
    clock.advance(10 * HZ)  # a slice did 10 s of the board's work at once
    assert _elapsed(lambda: pacer(clock.now)) < 1.0   # realtime would wait 10 s here
    # The sleep that follows lasts its own 50 ms on the wall clock, counted from the work's end.
    took = _elapsed(lambda: pacer(clock.now + 50))
    assert 0.045 <= took < 1.0


def test_idle_pacer_waits_for_a_sleep_and_reports_the_cycle_reached() -> None:
    clock = Clock(HZ)
    pacer = IdlePacer(clock)
    pacer.anchor(0)
    assert pacer(clock.now) == 0
    assert 0.045 <= _elapsed(lambda: pacer(50)) < 1.0
    assert pacer(50) == 50


def test_idle_pacer_catches_up_after_work_slower_than_the_board_clock() -> None:
    """Work that took longer on the host than on the board leaves the anchor: the sleeps that
    follow are cut short until the wall clock is caught up with, as with realtime."""
    clock = Clock(HZ)
    pacer = IdlePacer(clock)
    pacer.anchor(0)
    time.sleep(0.3)  # the host was slow: 300 ms of wall time for ...
    clock.advance(10)  # ... 10 ms of the board's work
    pacer(clock.now)
    assert _elapsed(lambda: pacer(clock.now + 100)) < 0.05  # a 100 ms sleep: already past due


def _machine(elf: Path) -> Machine:
    m = Machine(load_platform("mps2-an385"))
    m.load(load_image(elf))
    return m


def test_a_busy_board_runs_ahead_of_the_wall_clock_with_idle_pacing(firmware: Path) -> None:
    """cpubench never sleeps: 1 s of board time takes far less with idle pacing, and at least
    its second with realtime."""
    m = _machine(firmware / "cpubench.elf")
    m.pacer = IdlePacer(m.clock)
    m.pacer.anchor(0)
    assert _elapsed(lambda: m.run(m.clock.hz // 5)) < 0.15  # 200 ms of board time
    m = _machine(firmware / "cpubench.elf")
    m.pacer = RealtimePacer(m.clock.hz)
    m.pacer.anchor(0)
    assert _elapsed(lambda: m.run(m.clock.hz // 5)) >= 0.19


def test_a_sleeping_board_waits_for_the_wall_clock_with_idle_pacing(firmware: Path) -> None:
    """microbench_tick sleeps between SysTick ticks (10 kHz): board time passes at the wall clock's rate."""
    m = _machine(firmware / "microbench_tick.elf")
    m.pacer = IdlePacer(m.clock)
    m.pacer.anchor(0)
    assert _elapsed(lambda: m.run(m.clock.hz // 5)) >= 0.19


def test_the_waiting_thread_gets_a_microsecond_of_timer_slack() -> None:
    """The kernel's default slack (50 µs) would stretch a 6.7 µs wire-time sleep to ~57 µs."""
    libc = ctypes.CDLL(None)
    pr_set_timerslack, pr_get_timerslack, default_ns = 29, 30, 50_000
    seen: list[int] = []

    def waiter() -> None:
        libc.prctl(pr_set_timerslack, default_ns, 0, 0, 0)  # (a thread inherits its creator's)
        seen.append(libc.prctl(pr_get_timerslack, 0, 0, 0, 0))
        pacer = RealtimePacer(1_000_000)
        pacer(pacer.start_cycles)  # due at once: no wait, the slack is set all the same
        seen.append(libc.prctl(pr_get_timerslack, 0, 0, 0, 0))

    t = threading.Thread(target=waiter)
    t.start()
    t.join(10)
    assert seen == [default_ns, TIMER_SLACK_NS]


class ScriptedTime:
    """``time`` for bridge.pacing: each ``monotonic()`` moves on by a drawn step; ``sleep`` and a
    host input's ``wait`` move it on by a drawn share of what was asked (input may end a wait early)."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.now = 100.0
        self.log: list[tuple[str, float]] = []

    def monotonic(self) -> float:
        self.now += self.r.choice([0.0, 1e-6, 3e-5, 2e-4])
        return self.now

    def sleep(self, delay: float) -> None:
        self.log.append(("sleep", delay))
        self.now += delay

    # host input
    sources = 1

    def wait(self, timeout: float | None) -> bool:
        self.log.append(("wait", timeout or 0.0))
        self.now += (timeout or 0.0) * self.r.choice([0.0, 0.5, 1.0])
        return True


class ReferenceIdlePacer(IdlePacer):
    """``IdlePacer.__call__`` as it was: a later target through ``RealtimePacer.__call__``."""

    def __call__(self, target_cycles: int) -> int:
        clock = self.clock
        now = clock.base if clock.slice_end is None else clock.now
        if target_cycles <= now:
            if self.start_wall + (now - self.start_cycles) / self.hz > pacing.time.monotonic():
                self.anchor(now)
            return target_cycles
        return RealtimePacer.__call__(self, target_cycles)


def _paced(cls: type[IdlePacer], seed: int, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    fake = ScriptedTime(seed)
    monkeypatch.setattr(pacing, "time", fake)
    monkeypatch.setattr(pacing, "set_timer_slack", lambda _ns: True)
    r = random.Random(seed * 3 + 1)
    clock = Clock(25_000_000)
    pacer = cls(clock, fake if r.random() < 0.7 else None)  # type: ignore[arg-type]
    pacer.anchor(0)
    seen: list[object] = []
    for _ in range(200):
        x = r.random()
        if x < 0.4:  # a slice's work, then the call after it
            clock.base += r.choice([35, 430, 5_000, 25_000])
            got = pacer(clock.base)
        elif x < 0.5:  # asked from within a slice (progress past base)
            clock.slice_end = clock.base + 1000
            clock.slice_progress = lambda: 500  # type: ignore[method-assign]
            got = pacer(clock.base + r.choice([0, 400, 500, 900]))
            clock.slice_end = None
        else:  # a sleep to the next event: a wire's few µs, a tick, a long timer
            target = clock.base + r.choice([168, 284, 25_000, 250_000])
            got = pacer(target)
            clock.base = max(clock.base, got)
        seen.append((got, pacer.start_wall, pacer.start_cycles, list(fake.log), fake.now))
    return seen


@pytest.mark.parametrize("first", range(0, 200, 50))
def test_idle_pacer_matches_its_calls_through_realtime(first: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """IdlePacer's own wait for a later target against the way through RealtimePacer.__call__:
    the same cycles reached, anchors, waits and sleeps, on a scripted wall clock."""
    for seed in range(first, first + 50):
        assert _paced(IdlePacer, seed, monkeypatch) == _paced(ReferenceIdlePacer, seed, monkeypatch), seed
