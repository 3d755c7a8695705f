"""SysTick (ARMv7-M B3.3): a 24-bit down-counter computed from the clock.

The counter is never ticked: its value and COUNTFLAG are derived from the
cycle count since it was last (re)started, and one clock event is kept for
the next 1->0 transition, which pends the SysTick exception when TICKINT.

CLKSOURCE=1 counts core cycles; CLKSOURCE=0 counts the 1 MHz reference
clock QEMU's mps2 machines provide (25 core cycles per tick at 25 MHz).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.clock import Clock, Timer

ENABLE, TICKINT, CLKSOURCE, COUNTFLAG = 1 << 0, 1 << 1, 1 << 2, 1 << 16
MAX = 0xFFFFFF


class SysTick:
    def __init__(self, clock: Clock, pend: Callable[[], None], ref_hz: int = 1_000_000) -> None:
        self.clock = clock
        self.pend = pend
        self.ref_hz = ref_hz
        self.timer: Timer | None = None
        self.reset()

    def reset(self) -> None:
        if self.timer:
            self.timer.cancel()
        self.timer = None
        self.csr = 0
        self.reload = 0
        self.start = 0          # cycle at which counting (re)started
        self.start_value = 0    # counter value at ``start``
        self.flag_cleared_at = 0
        self.stopped_value = 0

    # -- time arithmetic ----------------------------------------------------
    def cycles_per_tick(self) -> int:
        if self.csr & CLKSOURCE:
            return 1
        return max(1, self.clock.hz // self.ref_hz)

    def _first_zero(self) -> int:
        """Ticks from ``start`` to the first 1->0 transition (0 = never)."""
        if self.start_value:
            return self.start_value
        return self.reload + 1 if self.reload else 0

    def _zero_tick(self, index: int) -> int:
        """Tick (from start) of the index-th transition to 0."""
        return self._first_zero() + index * (self.reload + 1)

    def _transitions_until(self, ticks: int) -> int:
        first = self._first_zero()
        if not first or ticks < first:
            return 0
        if not self.reload:
            return 1
        return 1 + (ticks - first) // (self.reload + 1)

    def value(self) -> int:
        if not self.csr & ENABLE:
            return self.stopped_value
        n = (self.clock.now - self.start) // self.cycles_per_tick()
        first = self._first_zero()
        if not first:
            return 0
        if n < first:
            if self.start_value:
                return self.start_value - n
            return 0 if n == 0 else self.reload + 1 - n
        if not self.reload:
            return 0
        m = (n - first) % (self.reload + 1)
        return 0 if m == 0 else self.reload + 1 - m

    def countflag(self) -> bool:
        if not self.csr & ENABLE:
            return bool(self.csr & COUNTFLAG)
        cpt = self.cycles_per_tick()
        now_ticks = (self.clock.now - self.start) // cpt
        cleared = self.flag_cleared_at
        cleared_ticks = (cleared - self.start) // cpt if cleared > self.start else -1
        return self._transitions_until(now_ticks) > max(0, self._transitions_until(cleared_ticks)) \
            or bool(self.csr & COUNTFLAG)

    # -- register access ---------------------------------------------------------
    def read_csr(self) -> int:
        value = (self.csr & 0x7) | (COUNTFLAG if self.countflag() else 0)
        self.csr &= ~COUNTFLAG
        self.flag_cleared_at = self.clock.now
        return value

    def write_csr(self, value: int) -> None:
        was_enabled = self.csr & ENABLE
        current = self.value()
        self.csr = (self.csr & COUNTFLAG) | (value & 0x7)
        if self.csr & ENABLE and not was_enabled:
            self._restart(current)
        elif not self.csr & ENABLE and was_enabled:
            self.stopped_value = current
            self._cancel()
        elif self.csr & ENABLE:
            self._restart(current)  # CLKSOURCE may have changed

    def write_reload(self, value: int) -> None:
        current = self.value()
        self.reload = value & MAX
        if self.csr & ENABLE:
            self._restart(current)

    def write_current(self, _value: int) -> None:
        # Any write clears the counter and COUNTFLAG; the next tick reloads.
        self.csr &= ~COUNTFLAG
        self.flag_cleared_at = self.clock.now
        self.stopped_value = 0
        if self.csr & ENABLE:
            self._restart(0)

    # -- scheduling ----------------------------------------------------------------
    def _cancel(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _restart(self, value: int) -> None:
        self.start = self.clock.now
        self.start_value = value
        if self.flag_cleared_at < self.start:
            self.flag_cleared_at = self.start
        self._schedule_next()

    def _schedule_next(self) -> None:
        self._cancel()
        if not self.csr & ENABLE:
            return
        cpt = self.cycles_per_tick()
        now_ticks = (self.clock.now - self.start) // cpt
        k = self._transitions_until(now_ticks)
        if not self.reload and k >= 1:
            return
        if not self._first_zero():
            return
        when = self.start + self._zero_tick(k) * cpt
        self.timer = self.clock.call_at(when, self.expire, "systick")

    def expire(self) -> None:
        """The 1->0 transition (a clock event)."""
        self.timer = None
        if self.csr & TICKINT:
            self.pend()
        self._schedule_next()

    # -- snapshots --------------------------------------------------------------------
    def get_state(self) -> dict[str, int]:
        return {"csr": self.csr, "reload": self.reload, "start": self.start,
                "start_value": self.start_value, "flag_cleared_at": self.flag_cleared_at,
                "stopped_value": self.stopped_value}

    def set_state(self, state: dict[str, int]) -> None:
        self._cancel()
        for k, v in state.items():
            setattr(self, k, v)
        self._schedule_next()
