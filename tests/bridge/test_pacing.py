"""Pacing: realtime never lets virtual time run ahead of the wall clock; idle waits only for sleeps."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from pathlib import Path

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
