"""ARM CMSDK APB dual-input timer (ARM DDI0479C §4.5; the SP804 programmer's model).

Behaviour follows QEMU's ``hw/timer/cmsdk-apb-dualtimer.c``. Two identical
down-counters, Timer1 at +0x00 and Timer2 at +0x20, each with LOAD, VALUE,
CONTROL, INTCLR, RIS, MIS, BGLOAD; then TIMERITCR/TIMERITOP (integration
test) and the PID/CID block (PID0 = 0x23).

CONTROL: ONESHOT[0], SIZE[1] (32-bit), PRESCALE[3:2] (TIMCLK / 1, 16, 256),
INTEN[5], MODE[6] (1 = periodic), ENABLE[7]. Reset: CONTROL = 0x20 (INTEN),
VALUE = 0xFFFFFFFF, LOAD = 0: a disabled, free-running, 16-bit counter.
TIMCLK = PCLK = ``clock.hz`` (25 MHz on AN385).

* Free-running: the counter wraps from 0 to 0xFFFF / 0xFFFFFFFF.
* Periodic: it reloads LOAD (masked to 16 bits in 16-bit mode).
* One-shot: it stops at 0.
Each 1 -> 0 step sets RIS; MIS = RIS & INTEN drives the module's output
(the counter holds 0 one tick before it reloads, QEMU's ptimer policy, so a
periodic timer expires every LOAD + 1 ticks). A LOAD write loads the count
and restarts the prescaler; BGLOAD sets the reload value only. Any write to
INTCLR clears RIS. With TIMERITCR.ENABLE the outputs follow TIMERITOP.
Outputs: timer1, timer2 and combined (OR); the AN385 wires combined
(TIMINTC) to IRQ 10.

Choices where the TRM is ambiguous, all as QEMU:
* In 16-bit mode the upper half of VALUE reads back what the last LOAD write
  (or the switch from 32-bit mode) left there; at reset 0xFFFF.
* LOAD and BGLOAD read back the last value written to either.
* PRESCALE = 3 (undefined) divides by 256 and is logged as a guest error.
* A CONTROL write that changes PRESCALE or sets ENABLE restarts the tick
  phase at that cycle; other CONTROL writes keep it.
* LOAD = 0 in periodic mode: the counter stops at 0.

Not modelled: TIMCLKEN (the clock enable input), per-timer TIMCLK sources.
Counters are computed from ``clock.now`` on read; each module keeps one
clock event, for its next expiry while RIS is clear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, WO, F, Reg, RegMap
from emulator.clock import Clock, Timer
from peripherals._common import MASK32, DownCounter, id_regs

__all__ = ["CmsdkApbDualTimer"]

ONESHOT, SIZE32, INTEN, MODE_PERIODIC, ENABLE = 1 << 0, 1 << 1, 1 << 5, 1 << 6, 1 << 7
PRESCALE_LSB, PRESCALE_MASK = 2, 0b11 << 2
CONTROL_MASK = ONESHOT | SIZE32 | PRESCALE_MASK | INTEN | MODE_PERIODIC | ENABLE
DIVISORS = (1, 16, 256, 256)
ITCR_ENABLE = 1 << 0
ITOP_TIMINT1, ITOP_TIMINT2 = 1 << 0, 1 << 1


def _module_regs(i: int) -> list[Reg]:
    base = 0x20 * i
    n = i + 1

    def load_read(dev: CmsdkApbDualTimer) -> int:
        return dev.r[dev._i_load[i]]

    def load_write(dev: CmsdkApbDualTimer, value: int) -> None:
        dev._write_load(i, value & MASK32, background=False)

    def bgload_write(dev: CmsdkApbDualTimer, value: int) -> None:
        dev._write_load(i, value & MASK32, background=True)

    def value_read(dev: CmsdkApbDualTimer) -> int:
        return dev._value(i)

    def control_write(dev: CmsdkApbDualTimer, value: int) -> None:
        dev._write_control(i, value & CONTROL_MASK)

    def intclr_write(dev: CmsdkApbDualTimer, value: int) -> None:
        dev._intclr(i)

    def mis_read(dev: CmsdkApbDualTimer) -> int:
        return dev._mis(i)

    ctrl_fields = [F("ONESHOT", 0), F("SIZE", 1), F("PRESCALE", 2, 2), F("INTEN", 5, reset=1),
                   F("MODE", 6), F("ENABLE", 7)]
    return [
        Reg(base + 0x00, f"TIMER{n}LOAD", write=load_write),
        Reg(base + 0x04, f"TIMER{n}VALUE", reset=0xFFFF_FFFF, access=RO, read=value_read,
            doc="current count, from the clock"),
        Reg(base + 0x08, f"TIMER{n}CONTROL", fields=ctrl_fields, write=control_write),
        Reg(base + 0x0C, f"TIMER{n}INTCLR", access=WO, write=intclr_write, doc="any write clears RIS"),
        Reg(base + 0x10, f"TIMER{n}RIS", fields=[F("RIS", 0, access=RO)]),
        Reg(base + 0x14, f"TIMER{n}MIS", fields=[F("MIS", 0, access=RO)], read=mis_read),
        Reg(base + 0x18, f"TIMER{n}BGLOAD", read=load_read, write=bgload_write,
            doc="reload value without touching the count; reads as LOAD"),
    ]


def _it_written(dev: CmsdkApbDualTimer, old: int, value: int) -> None:
    dev._update_irq()


class CmsdkApbDualTimer(Device):
    """ARM CMSDK APB dual-input timer (DDI0479C §4.5). Not modelled: TIMCLKEN."""

    SIZE = 0x1000
    IRQS = ("timer1", "timer2", "combined")
    STATE_VERSION = 1
    REGS = RegMap(
        *_module_regs(0),
        *_module_regs(1),
        Reg(0xF00, "TIMERITCR", fields=[F("ENABLE", 0)], after_write=_it_written),
        Reg(0xF04, "TIMERITOP", fields=[F("TIMINT1", 0, access=WO), F("TIMINT2", 1, access=WO)],
            after_write=_it_written),
        *id_regs(0x23),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        regs = self.REGS
        self._i_load = tuple(regs[f"TIMER{n}LOAD"].index for n in (1, 2))
        self._i_ctrl = tuple(regs[f"TIMER{n}CONTROL"].index for n in (1, 2))
        self._i_ris = tuple(regs[f"TIMER{n}RIS"].index for n in (1, 2))
        self._i_itcr = regs["TIMERITCR"].index
        self._i_itop = regs["TIMERITOP"].index
        self._counters = [DownCounter(), DownCounter()]
        self._hi = [MASK32, MASK32]  # upper VALUE half kept while in 16-bit mode
        self._timers: list[Timer | None] = [None, None]
        self._deadlines: list[int | None] = [None, None]
        self._callbacks: tuple[Callable[[], None], ...] = (lambda: self._on_timer(0),
                                                            lambda: self._on_timer(1))
        self.reset()

    def reset(self) -> None:
        super().reset()
        for i in (0, 1):
            self._cancel(i)
            c = DownCounter()
            c.c0 = 0xFFFF
            c.limit = 0xFFFF
            self._counters[i] = c
            self._hi[i] = MASK32
        self._update_irq()

    # -- interrupts -------------------------------------------------------------
    def _mis(self, i: int) -> int:
        return int(bool(self.r[self._i_ris[i]] & 1 and self.r[self._i_ctrl[i]] & INTEN))

    def _update_irq(self) -> None:
        if self.r[self._i_itcr] & ITCR_ENABLE:
            itop = self.r[self._i_itop]
            t1, t2 = bool(itop & ITOP_TIMINT1), bool(itop & ITOP_TIMINT2)
        else:
            t1, t2 = bool(self._mis(0)), bool(self._mis(1))
        self.irq["timer1"].set(t1)
        self.irq["timer2"].set(t2)
        self.irq["combined"].set(t1 or t2)

    # -- counter configuration ------------------------------------------------------
    def _configure(self, i: int) -> None:
        """Derive the counter's divisor, limit and mode from CONTROL and LOAD."""
        ctrl = self.r[self._i_ctrl[i]]
        c = self._counters[i]
        mask = MASK32 if ctrl & SIZE32 else 0xFFFF
        c.div = DIVISORS[(ctrl & PRESCALE_MASK) >> PRESCALE_LSB]
        c.limit = self.r[self._i_load[i]] & mask if ctrl & MODE_PERIODIC else mask
        c.oneshot = bool(ctrl & ONESHOT)

    def _value(self, i: int) -> int:
        count = self._counters[i].count(self.clock.now)
        if not self.r[self._i_ctrl[i]] & SIZE32:
            return (self._hi[i] & 0xFFFF_0000) | count
        return count

    def _catch_up(self, i: int) -> None:
        deadline = self._deadlines[i]
        if deadline is not None and deadline <= self.clock.now:
            self._expire(i, deadline)

    def _write_control(self, i: int, new: int) -> None:
        self._catch_up(i)
        now = self.clock.now
        c = self._counters[i]
        c.sync(now)
        old = self.r[self._i_ctrl[i]]
        changed = old ^ new
        if new & PRESCALE_MASK == PRESCALE_MASK:
            self.guest_error(f"TIMER{i + 1}CONTROL.PRESCALE=0b11 is undefined (treated as /256)")
        if changed & SIZE32:
            if new & SIZE32:
                c.c0 = (self._hi[i] & 0xFFFF_0000) | (c.c0 & 0xFFFF)
            else:
                self._hi[i] = c.c0
                c.c0 &= 0xFFFF
        if changed & ENABLE and not new & ENABLE:
            c.running = False
        self.r[self._i_ctrl[i]] = new
        self._configure(i)
        if new & ENABLE and (changed & (ENABLE | PRESCALE_MASK)):
            c.start(now)
        self._arm(i, now + 1)
        self._update_irq()

    def _write_load(self, i: int, value: int, background: bool) -> None:
        self._catch_up(i)
        now = self.clock.now
        c = self._counters[i]
        c.sync(now)
        self.r[self._i_load[i]] = value
        self._configure(i)
        if not background:
            self._hi[i] = value
            mask = MASK32 if self.r[self._i_ctrl[i]] & SIZE32 else 0xFFFF
            c.load(now, value & mask)
        self._arm(i, now + 1)

    def _intclr(self, i: int) -> None:
        self._catch_up(i)
        self.r[self._i_ris[i]] = 0
        self._arm(i, self.clock.now + 1)
        self._update_irq()

    # -- scheduled expiries -------------------------------------------------------------
    def _cancel(self, i: int) -> None:
        timer = self._timers[i]
        if timer is not None:
            timer.cancel()
        self._timers[i] = None
        self._deadlines[i] = None

    def _arm(self, i: int, not_before: int) -> None:
        """Schedule module i's next expiry, unless RIS is already set."""
        self._cancel(i)
        if self.r[self._i_ris[i]] & 1:
            return
        when = self._counters[i].next_expiry(not_before)
        if when is not None:
            self._schedule(i, when)

    def _schedule(self, i: int, when: int) -> None:
        self._deadlines[i] = when
        self._timers[i] = self.clock.call_at(when, self._callbacks[i], f"{self.name}.timer{i + 1}")

    def _on_timer(self, i: int) -> None:
        deadline = self._deadlines[i]
        when = deadline if deadline is not None else self.clock.now
        self._timers[i] = None
        self._deadlines[i] = None
        self._expire(i, when)

    def _expire(self, i: int, when: int) -> None:
        self._cancel(i)
        self.r[self._i_ris[i]] = 1
        self._update_irq()
        self._arm(i, when + 1)

    @property
    def deadlines(self) -> tuple[int | None, int | None]:
        """The cycles of the two modules' scheduled expiry events."""
        return self._deadlines[0], self._deadlines[1]

    # -- snapshots ----------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(counters=[c.get_state() for c in self._counters], hi=list(self._hi),
                     deadlines=list(self._deadlines))
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._hi = list(state["hi"])
        for i in (0, 1):
            self._cancel(i)
            c = DownCounter()
            c.set_state(state["counters"][i])
            self._counters[i] = c
            if state["deadlines"][i] is not None:
                self._schedule(i, state["deadlines"][i])
        self._update_irq()
