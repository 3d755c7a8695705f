"""Pacing: how virtual time relates to the wall clock.

``fast`` never waits (closed simulations, CI). ``realtime`` keeps virtual
time from running ahead of the wall clock: after each slice, and before a
sleeping CPU skips to its next event, it waits until the wall clock has
caught up (or host input arrives, which ends the wait early).
"""

from __future__ import annotations

import time

from bridge.uart_endpoints import HostInput


class RealtimePacer:
    def __init__(self, hz: int, host_input: HostInput | None = None) -> None:
        self.hz = hz
        self.host_input = host_input
        self.start_wall = time.monotonic()
        self.start_cycles = 0

    def anchor(self, cycles: int) -> None:
        self.start_wall = time.monotonic()
        self.start_cycles = cycles

    def __call__(self, target_cycles: int) -> int:
        """Wait until ``target_cycles`` is due; returns the cycle count reached."""
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
