"""Pieces shared by the CMSDK models: ID register blocks and a down-counter.

* ``id_regs(pid0)`` declares the twelve PrimeCell-style identification
  registers (PID4..PID7, PID0..PID3, CID0..CID3 at 0xFD0..0xFFC) that every
  CMSDK APB peripheral carries (ARM DDI0479C, "Peripheral ID registers").
  Only PID0 differs between the UART (0x21), the timer (0x22) and the dual
  timer (0x23). Writes are ignored and logged as guest errors, as QEMU does.
* ``DownCounter`` is the arithmetic of QEMU's ``ptimer`` with the policies
  the CMSDK timers use (WRAP_AFTER_ONE_PERIOD, TRIGGER_ONLY_ON_DECREMENT,
  NO_IMMEDIATE_RELOAD): the count goes ``c0, c0-1, ..., 1, 0``, an expiry
  happens on the 1 -> 0 step, the counter holds 0 for one tick and then
  reloads ``limit`` (period ``limit + 1`` ticks). With ``limit == 0`` or
  ``oneshot`` it stays at 0. Nothing ticks: the count is computed from the
  clock on demand and only the next expiry time is ever asked for.
* ``ro_write`` is the ``write`` of a read-only register: a guest error, ignored.
* ``ClockEvent`` is the one scheduled event a model keeps on the clock: its
  deadline (saved in snapshots), cancelling it, and firing it with the cycle it
  was due at, also when a register access finds it due before the clock fired it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, Reg
from emulator.clock import Clock, Timer

__all__ = ["ClockEvent", "DownCounter", "id_regs", "ro_write"]

MASK32 = 0xFFFF_FFFF

_ID_NAMES = ("PID4", "PID5", "PID6", "PID7", "PID0", "PID1", "PID2", "PID3",
             "CID0", "CID1", "CID2", "CID3")


def ro_write(dev: Device, value: int) -> None:
    """A register's ``write``: the guest wrote a read-only register; logged, ignored."""
    dev.guest_error(f"write of 0x{value:X} to a read-only register ignored")


def _id_write(dev: Device, value: int) -> None:
    dev.guest_error(f"write of 0x{value:X} to a read-only ID register")


def id_regs(pid0: int) -> list[Reg]:
    """The CMSDK PID/CID block (0xFD0..0xFFC); ``pid0`` is the part number."""
    values = (0x04, 0x00, 0x00, 0x00, pid0, 0xB8, 0x1B, 0x00, 0x0D, 0xF0, 0x05, 0xB1)
    return [Reg(0xFD0 + 4 * i, name, reset=v, access=RO, sizes=(1, 2, 4), write=_id_write)
            for i, (name, v) in enumerate(zip(_ID_NAMES, values, strict=True))]


class DownCounter:
    """A ptimer-like down-counter on the machine clock (times are CPU cycles).

    ``div`` cycles per tick; ticks happen at ``t0 + n * div``. The caller
    must ``sync(now)`` before changing ``div``, ``limit`` or ``oneshot``, so
    the count already elapsed is kept.
    """

    __slots__ = ("c0", "div", "limit", "oneshot", "running", "t0")

    def __init__(self) -> None:
        self.c0 = 0
        self.t0 = 0
        self.div = 1
        self.limit = 0
        self.oneshot = False
        self.running = False

    def _count_at_tick(self, n: int) -> int:
        if n <= self.c0:
            return self.c0 - n
        if self.oneshot or self.limit == 0:
            return 0
        return self.limit - ((n - self.c0 - 1) % (self.limit + 1))

    def count(self, now: int) -> int:
        if not self.running:
            return self.c0
        return self._count_at_tick((now - self.t0) // self.div)

    def sync(self, now: int) -> None:
        """Fold elapsed whole ticks into ``c0``; ``t0`` becomes the last tick."""
        if self.running:
            n = (now - self.t0) // self.div
            self.c0 = self._count_at_tick(n)
            self.t0 += n * self.div

    def start(self, now: int) -> None:
        self.running = True
        self.t0 = now

    def stop(self, now: int) -> None:
        self.sync(now)
        self.running = False

    def load(self, now: int, value: int) -> None:
        """Set the count and restart the tick phase at ``now``."""
        self.c0 = value
        self.t0 = now

    def _next_expiry_tick(self, n_min: int) -> int | None:
        if self.c0 > 0 and n_min <= self.c0:
            return self.c0
        if self.oneshot or self.limit == 0:
            return None
        first = self.c0 + 1 + self.limit
        if n_min <= first:
            return first
        period = self.limit + 1
        return first + -(-(n_min - first) // period) * period

    def next_expiry(self, not_before: int) -> int | None:
        """The first 1 -> 0 step at or after cycle ``not_before``, or None."""
        if not self.running:
            return None
        n_min = max(0, -(-(not_before - self.t0) // self.div))
        n = self._next_expiry_tick(n_min)
        return None if n is None else self.t0 + n * self.div

    def get_state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def set_state(self, state: dict[str, Any]) -> None:
        for k in self.__slots__:
            setattr(self, k, state[k])


class ClockEvent:
    """A model's one scheduled event: ``fire(when)`` runs with the cycle it was due at."""

    __slots__ = ("_clock", "_fire", "_label", "_timer", "deadline")

    def __init__(self, clock: Clock, label: str, fire: Callable[[int], None]) -> None:
        self._clock = clock
        self._label = label
        self._fire = fire
        self._timer: Timer | None = None
        self.deadline: int | None = None

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self.deadline = None

    def schedule(self, when: int) -> None:
        self.deadline = when
        self._timer = self._clock.call_at(when, self._due, self._label)

    def catch_up(self) -> None:
        """Fire the event if it is due but the clock has not fired it yet (no fire_due)."""
        if self.deadline is not None and self.deadline <= self._clock.now:
            self._fire(self.deadline)

    def _due(self) -> None:
        when = self.deadline if self.deadline is not None else self._clock.now
        self._timer = None
        self.deadline = None
        self._fire(when)
