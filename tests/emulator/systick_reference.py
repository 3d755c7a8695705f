"""SysTick as it was before its register writes took one clock read and no helper calls
(``emulator/cpu/systick.py`` at e7d71e5; its native copy stays None), with the later fix of
its writes: a CSR or RVR write keeps COUNTFLAG, and a write that leaves the counter running on
the same clock keeps its count and phase. The reference
``tests/emulator/test_systick_twin.py`` runs random programming through beside the model."""

from __future__ import annotations

from collections.abc import Callable

from emulator.clock import Clock, Timer
from emulator.cpu.systick import CLKSOURCE, COUNTFLAG, ENABLE, MAX, TICKINT, NativeCopy


class ReferenceSysTick:
    def __init__(self, clock: Clock, pend: Callable[[], None], ref_hz: int = 1_000_000) -> None:
        self.clock = clock
        self.pend = pend
        self.ref_hz = ref_hz
        self.timer: Timer | None = None
        # A copy of the programming for native reads of CVR (emulator.cpu.scsread), if any.
        self.native: NativeCopy | None = None
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
        self._publish()

    def _publish(self) -> None:
        """After any change of the programming: the native copy follows."""
        native = self.native
        if native is not None:
            native.st_enabled = self.csr & ENABLE
            native.st_cycles_per_tick = self.cycles_per_tick()
            native.st_start = self.start
            native.st_start_value = self.start_value
            native.st_reload = self.reload
            native.st_stopped_value = self.stopped_value

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
        return self._value_at(self.clock.now)

    def _value_at(self, now: int) -> int:
        if not self.csr & ENABLE:
            return self.stopped_value
        n = (now - self.start) // self.cycles_per_tick()
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
        was = self.csr
        now = self.clock.now
        current = self._value_at(now)
        flag = COUNTFLAG if self.countflag() else 0  # only a CSR read or a CVR write clears it
        csr = self.csr = flag | (value & 0x7)
        native = self.native
        if csr & ENABLE:
            if was & ENABLE and not (was ^ csr) & CLKSOURCE:
                return  # counting on with the same clock: the count is left alone
            self._restart(current, now)  # started, or CLKSOURCE changed
            if native is not None:
                native.st_enabled = 1
                native.st_cycles_per_tick = self.cycles_per_tick()
        elif was & ENABLE:
            self.stopped_value = current
            self._cancel()
            if native is not None:
                native.st_enabled = 0
                native.st_stopped_value = current

    def write_reload(self, value: int) -> None:
        now = self.clock.now
        current = self._value_at(now)
        if self.csr & ENABLE and self.countflag():
            self.csr |= COUNTFLAG
        self.reload = value & MAX
        if self.native is not None:
            self.native.st_reload = self.reload
        if self.csr & ENABLE:
            # In phase with the counter's clock: from its last tick at or before now.
            cpt = self.cycles_per_tick()
            self._restart(current, now - (now - self.start) % cpt)
            self.flag_cleared_at = max(self.flag_cleared_at, now)

    def write_current(self, _value: int) -> None:
        # Any write clears the counter and COUNTFLAG; the next tick reloads.
        now = self.clock.now
        self.csr &= ~COUNTFLAG
        self.flag_cleared_at = now
        self.stopped_value = 0
        if self.native is not None:
            self.native.st_stopped_value = 0
        if self.csr & ENABLE:
            self._restart(0, now)

    # -- scheduling ----------------------------------------------------------------
    def _cancel(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _restart(self, value: int, now: int) -> None:
        """Count on from ``value`` at ``now`` (the native copy's start follows)."""
        self.start = now
        self.start_value = value
        if self.flag_cleared_at < now:
            self.flag_cleared_at = now
        native = self.native
        if native is not None:
            native.st_start = now
            native.st_start_value = value
        # The first 1->0 transition: `value` ticks on, or a reload's worth from 0 (never with none).
        first = value or (self.reload + 1 if self.reload else 0)
        self._arm(now + first * self.cycles_per_tick() if first else None)

    def _schedule_next(self) -> None:
        self._arm(self._next_zero() if self.csr & ENABLE else None)

    def _arm(self, when: int | None) -> None:
        """The clock event of the next 1->0 transition at ``when`` (None: none)."""
        timer = self.timer
        if timer is not None:
            if when == timer.when and not timer.cancelled:
                return  # re-armed for the same cycle: the event stays as it is
            timer.cancel()
            self.timer = None
        if when is not None:
            self.timer = self.clock.call_at(when, self.expire, "systick")

    def _next_zero(self) -> int | None:
        """The cycle of the next 1->0 transition after now (None: never): the
        ``_transitions_until(now)``-th ``_zero_tick``, with their arithmetic inline (every tick
        asks it)."""
        cpt = self.cycles_per_tick()
        now_ticks = (self.clock.now - self.start) // cpt
        reload = self.reload
        first = self.start_value or (reload + 1 if reload else 0)  # _first_zero()
        if not first:
            return None
        if now_ticks < first:
            k = 0
        elif not reload:
            return None  # the one transition is past
        else:
            k = 1 + (now_ticks - first) // (reload + 1)
        return self.start + (first + k * (reload + 1)) * cpt

    def expire(self) -> None:
        """The 1->0 transition (a clock event)."""
        self.timer = None
        csr = self.csr
        if csr & TICKINT:
            self.pend()
        self._arm(self._next_zero() if csr & ENABLE else None)  # _schedule_next()

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
        self._publish()
