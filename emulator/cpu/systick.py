"""SysTick (ARMv7-M B3.3): a 24-bit down-counter computed from the clock.

The counter is never ticked: its value and COUNTFLAG are derived from the
cycle count since it was last (re)started, and one clock event is kept for
the next 1->0 transition, which pends the SysTick exception when TICKINT.

CLKSOURCE=1 counts core cycles; CLKSOURCE=0 counts the 1 MHz reference
clock QEMU's mps2 machines provide (25 core cycles per tick at 25 MHz).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from emulator.clock import Clock, Timer

ENABLE, TICKINT, CLKSOURCE, COUNTFLAG = 1 << 0, 1 << 1, 1 << 2, 1 << 16
MAX = 0xFFFFFF
NO_EVENT_CHANGE = -2  # NativeCopy.st_op1: the writes left the clock event alone


class NativeCopy(Protocol):
    """What native code needs to compute ``SysTick.value()`` and answer ``read_csr()``
    (``emulator.cpu.scsread``). Its reads of CSR clear COUNTFLAG by storing their cycle in
    ``st_flag_cleared_at``: with a native copy, that is where the model reads the cycle.

    Native code may also do the register writes (``scsread.c``'s st_write): it then changes the
    programming here, counts the writes in ``st_dirty`` and records what they did to the clock
    event (``st_op1``, ``st_cur``, ``st_draws``), for ``SysTick.pull`` to bring into the model."""

    st_enabled: int
    st_cycles_per_tick: int
    st_start: int
    st_start_value: int
    st_reload: int
    st_stopped_value: int
    st_csr: int
    st_flag_cleared_at: int
    st_ref_cpt: int
    st_dirty: int
    st_op1: int
    st_cur: int
    st_draws: int


class SysTick:
    def __init__(self, clock: Clock, pend: Callable[[], None], ref_hz: int = 1_000_000) -> None:
        self.clock = clock
        self.pend = pend
        self.ref_hz = ref_hz
        self.timer: Timer | None = None
        # A copy of the programming for native reads of CVR (emulator.cpu.scsread), if any.
        self.native: NativeCopy | None = None
        # Its fields st_enabled, st_cycles_per_tick, st_start, st_start_value, st_reload,
        # st_stopped_value, st_csr, st_flag_cleared_at, st_dirty, st_op1, st_cur and st_draws in one
        # call: set with a copy native code writes, which ``pull`` then reads.
        self.native_fields: Callable[[], tuple[int, ...]] | None = None
        self.reset()

    def reset(self) -> None:
        self.pull()
        if self.timer:
            self.timer.cancel()
        self.timer = None
        self.csr = 0
        self._cpt = self.cycles_per_tick()
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
            native.st_csr = self.csr
            native.st_flag_cleared_at = self.flag_cleared_at
            native.st_ref_cpt = max(1, self.clock.hz // self.ref_hz)
            native.st_dirty = 0

    def pull(self) -> None:
        """After register writes native code did (``NativeCopy``): the programming back from the
        native copy, and the clock event as the writes through Python would have left it: the
        first change recorded applied to the event there is (one re-armed for its own cycle
        stays), then, when the later writes scheduled more or cancelled it, what they left, the sequence
        numbers of the others skipped (events at one cycle fire in the order they were
        scheduled). Called before Python reads SysTick or the clock schedules any event, and at
        every slice's end."""
        native = self.native
        if native is None or not getattr(native, "st_dirty", 0):  # (a copy not published yet has none)
            return
        native.st_dirty = 0
        # (a copy native code writes comes with its reader: ``ScsReadPort.programming_reader``)
        (_enabled, self._cpt, self.start, self.start_value, self.reload, self.stopped_value, self.csr,
         self.flag_cleared_at, _dirty, op1, final, draws) = self.native_fields()  # type: ignore[misc]
        if op1 == NO_EVENT_CHANGE:
            return
        timer = self.timer
        clock = self.clock
        if op1 < 0 or timer is None or timer.cancelled or timer.when != op1:
            if timer is not None:
                timer.cancelled = True  # timer.cancel()
            timer = self.timer = clock.call_at(op1, self.expire, "systick") if op1 >= 0 else None
        if draws or final < 0 <= op1:  # the later writes scheduled more, or cancelled it
            if timer is not None:
                timer.cancelled = True
            clock.skip_timers(draws - 1 if final >= 0 else draws)
            self.timer = clock.call_at(final, self.expire, "systick") if final >= 0 else None

    def _flag_cleared_at(self) -> int:
        """The cycle COUNTFLAG was last cleared at (by a native read of CSR, perhaps)."""
        native = self.native
        return self.flag_cleared_at if native is None else native.st_flag_cleared_at

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
        self.pull()
        clock = self.clock
        return self._value_at(clock.base + clock.slice_progress())  # clock.now

    def _value_at(self, now: int) -> int:
        if not self.csr & ENABLE:
            return self.stopped_value
        return self._count(now)

    def _count(self, now: int) -> int:
        """The running counter's value at ``now`` (``_cpt``: the cycles per tick while it runs)."""
        n = (now - self.start) // self._cpt
        start_value, reload = self.start_value, self.reload
        first = start_value or (reload + 1 if reload else 0)  # _first_zero()
        if not first:
            return 0
        if n < first:
            if start_value:
                return start_value - n
            return 0 if n == 0 else reload + 1 - n
        if not reload:
            return 0
        m = (n - first) % (reload + 1)
        return 0 if m == 0 else reload + 1 - m

    def countflag(self) -> bool:
        self.pull()
        clock = self.clock
        return self._countflag_at(clock.base + clock.slice_progress())

    def _countflag_at(self, now: int) -> bool:
        """COUNTFLAG at ``now``: kept in CSR, or a 1->0 transition after the cycle it was last
        cleared at (``_transitions_until`` of both, compared, with its arithmetic inline: every
        write of CSR or RVR while the counter runs asks it)."""
        csr = self.csr
        if csr & COUNTFLAG or not csr & ENABLE:
            return bool(csr & COUNTFLAG)
        cpt = self._cpt
        start = self.start
        reload = self.reload
        first = self.start_value or (reload + 1 if reload else 0)  # _first_zero()
        if not first or (now - start) // cpt < first:
            return False  # no transition yet
        native = self.native
        cleared = self.flag_cleared_at if native is None else native.st_flag_cleared_at
        if cleared <= start:
            return True
        cleared_ticks = (cleared - start) // cpt
        if cleared_ticks < first:
            return True  # the first transition came after the clearing
        if not reload:
            return False  # the one transition came before it
        period = reload + 1
        return (now - start) // cpt - first >= ((cleared_ticks - first) // period + 1) * period

    # -- register access ---------------------------------------------------------
    # Each access first brings back what writes done in C changed (``pull``), then reads the
    # clock once (``clock.now`` inline) and calls no other helper on the tickless idle's path
    # (stop, RVR, CVR, start): firmware reprograms SysTick at every sleep.
    def read_reload(self) -> int:
        self.pull()
        return self.reload

    def read_csr(self) -> int:
        native = self.native
        self.pull()
        clock = self.clock
        now = clock.base + clock.slice_progress()
        value = (self.csr & 0x7) | (COUNTFLAG if self._countflag_at(now) else 0)
        self.csr &= ~COUNTFLAG
        self.flag_cleared_at = now
        if native is not None:
            native.st_csr = self.csr
            native.st_flag_cleared_at = now
        return value

    def write_csr(self, value: int) -> None:
        """ENABLE, TICKINT, CLKSOURCE. COUNTFLAG is not touched: only a read of CSR or a write of
        CVR clears it, so a wrap before this write still reads as 1 after it (an RTOS's tickless
        idle stops SysTick with a CSR write, then reads COUNTFLAG to learn whether the sleep ran
        its length). A write that leaves it counting with the same clock leaves the count alone."""
        native = self.native
        self.pull()
        was = self.csr
        if was & ENABLE:
            clock = self.clock
            now = clock.base + clock.slice_progress()
            flag = COUNTFLAG if self._countflag_at(now) else 0
        else:
            now = -1
            flag = was & COUNTFLAG
        csr = self.csr = flag | (value & 0x7)
        if csr & ENABLE:
            if was & ENABLE and not (was ^ csr) & CLKSOURCE:  # counts on as it did
                if native is not None:
                    native.st_csr = csr
                return
            clock = self.clock
            if now < 0:
                now = clock.base + clock.slice_progress()
            current = self._count(now) if was & ENABLE else self.stopped_value  # _value_at(now)
            cpt = self._cpt = 1 if csr & CLKSOURCE else max(1, clock.hz // self.ref_hz)  # cycles_per_tick()
            self._restart(current, now)  # started, or counting another clock from the value now
            if native is not None:
                native.st_csr = csr
                native.st_enabled = 1
                native.st_cycles_per_tick = cpt
        elif was & ENABLE:  # stopped: the value stays; no event (_cpt is read again at the start)
            current = self.stopped_value = self._count(now)
            timer = self.timer  # _cancel()
            if timer is not None:
                timer.cancelled = True  # timer.cancel()
                self.timer = None
            if native is not None:
                native.st_csr = csr
                native.st_enabled = 0
                native.st_stopped_value = current
        elif native is not None:
            native.st_csr = csr

    def write_reload(self, value: int) -> None:
        """The next reload's value. A running counter counts on from where it is, in phase with
        its clock (the reference clock's ticks stay where they were), and keeps COUNTFLAG."""
        native = self.native
        self.pull()
        reload = value & MAX
        if self.csr & ENABLE:
            clock = self.clock
            now = clock.base + clock.slice_progress()
            if self._countflag_at(now):
                self.csr |= COUNTFLAG
                if native is not None:
                    native.st_csr = self.csr
            current = self._count(now)
            self.reload = reload
            if native is not None:
                native.st_reload = reload
            self._restart(current, now - (now - self.start) % self._cpt, now)
        else:
            self.reload = reload
            if native is not None:
                native.st_reload = reload

    def write_current(self, _value: int) -> None:
        # Any write clears the counter and COUNTFLAG; the next tick reloads.
        native = self.native
        self.pull()
        clock = self.clock
        now = clock.base + clock.slice_progress()
        csr = self.csr = self.csr & ~COUNTFLAG
        self.flag_cleared_at = now
        self.stopped_value = 0
        if native is not None:
            native.st_csr = csr
            native.st_flag_cleared_at = now
            native.st_stopped_value = 0
        if csr & ENABLE:
            self._restart(0, now)

    # -- scheduling ----------------------------------------------------------------
    def _cancel(self) -> None:
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _restart(self, value: int, now: int, written_at: int = -1) -> None:
        """Count on from ``value`` at ``now`` (the native copy's start follows); the clock event
        of the first 1->0 transition follows (``_arm``, inline). ``written_at``: the cycle of the
        write, when ``now`` is the reference clock's last tick before it (default: ``now``)."""
        self.start = now
        self.start_value = value
        native = self.native
        # A native read's clearing is at or before the write: whichever cleared last, it is then
        # (a wrap before it is in CSR's COUNTFLAG already).
        cleared = now if written_at < 0 else written_at
        if self.flag_cleared_at < cleared:
            self.flag_cleared_at = cleared
            if native is not None:
                native.st_flag_cleared_at = cleared
        if native is not None:
            native.st_start = now
            native.st_start_value = value
        # The first 1->0 transition: `value` ticks on, or a reload's worth from 0 (never with none).
        first = value or (self.reload + 1 if self.reload else 0)
        when = now + first * self._cpt if first else None
        timer = self.timer
        if timer is not None:
            if when == timer.when and not timer.cancelled:
                return  # re-armed for the same cycle: the event stays as it is
            timer.cancelled = True  # timer.cancel()
            self.timer = None
        if when is not None:
            self.timer = self.clock.call_at(when, self.expire, "systick")

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
        cpt = self._cpt
        clock = self.clock
        now_ticks = (clock.base + clock.slice_progress() - self.start) // cpt
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
        self.pull()
        return {"csr": self.csr, "reload": self.reload, "start": self.start,
                "start_value": self.start_value, "flag_cleared_at": self._flag_cleared_at(),
                "stopped_value": self.stopped_value}

    def set_state(self, state: dict[str, int]) -> None:
        self.pull()
        self._cancel()
        for k, v in state.items():
            setattr(self, k, v)
        self._cpt = self.cycles_per_tick()
        self._schedule_next()
        self._publish()
