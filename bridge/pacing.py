"""Pacing: how virtual time relates to the wall clock.

``fast`` never waits (closed simulations, CI). ``realtime`` keeps virtual
time from running ahead of the wall clock: after each slice, and before a
sleeping CPU skips to its next event, it waits until the wall clock has
caught up (or host input arrives, which ends the wait early). ``idle``
waits only for the board's sleeps: a sleep lasts its length on the wall
clock (or until host input), while the board's work runs as fast as the
host can, so virtual time runs ahead of the wall clock by the work done
faster than the board's clock would have. That is QEMU's timing without
``-icount``: a firmware timeout still takes its time while the board waits
for a real host, but a busy board is not held to 25 MHz. The price: a
timeout the firmware busy-waits out (a polling loop, no WFI) passes faster
than on the wall clock; such a firmware wants ``realtime``.
"""

from __future__ import annotations

import ctypes
import time

from bridge.uart_endpoints import HostInput
from emulator.clock import Clock

PR_SET_TIMERSLACK = 29
TIMER_SLACK_NS = 1_000


def set_timer_slack(ns: int) -> bool:
    """Let the kernel end this thread's timed waits within ``ns`` of their deadline (its default,
    50 µs, would stretch the short sleeps of a frame's wire time several-fold). True when set."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class RealtimePacer:
    def __init__(self, hz: int, host_input: HostInput | None = None) -> None:
        self.hz = hz
        self.host_input = host_input
        self.start_wall = time.monotonic()
        self.start_cycles = 0
        self._precise = False

    def anchor(self, cycles: int) -> None:
        self.start_wall = time.monotonic()
        self.start_cycles = cycles

    def __call__(self, target_cycles: int) -> int:
        """Wait until ``target_cycles`` is due; returns the cycle count reached.

        One call, no helpers: the run loop makes it after every slice and before every sleep."""
        if not self._precise:
            self._precise = set_timer_slack(TIMER_SLACK_NS)  # per thread: the one that waits
        due = self.start_wall + (target_cycles - self.start_cycles) / self.hz
        delay = due - time.monotonic()
        if delay <= 0:
            return target_cycles
        if self.host_input is not None and self.host_input.sources > 0:
            self.host_input.wait(delay)
        else:
            time.sleep(delay)
        reached = self.start_cycles + int((time.monotonic() - self.start_wall) * self.hz)
        return min(target_cycles, reached)


class IdlePacer(RealtimePacer):
    """``--pace idle``: only the board's sleeps wait for the wall clock.

    The run loop asks at the present (``clock.now``) after each slice: work done ahead of the
    wall clock moves the anchor forward instead of waiting. It asks for a later cycle before a
    sleeping CPU skips to its next event: that wait is realtime's, from the anchor. Work that
    ran slower than the board's clock leaves the anchor where it is, so the next sleeps are cut
    short until the wall clock is caught up with, as in realtime."""

    def __init__(self, clock: Clock, host_input: HostInput | None = None) -> None:
        super().__init__(clock.hz, host_input)
        self.clock = clock

    def __call__(self, target_cycles: int) -> int:
        """A target at or before the present waits for nothing (the run loop's call after every
        slice: one call, no helpers); a later one waits as in realtime."""
        clock = self.clock
        # The run loop calls between slices, where the present is ``base`` (no slice progress).
        now = clock.base if clock.slice_end is None else clock.now
        if target_cycles <= now:
            if self.start_wall + (now - self.start_cycles) / self.hz > time.monotonic():
                self.start_wall = time.monotonic()  # self.anchor(now), without the call
                self.start_cycles = now
            return target_cycles
        return RealtimePacer.__call__(self, target_cycles)
