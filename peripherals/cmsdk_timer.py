"""ARM CMSDK APB timer (Cortex-M System Design Kit TRM, ARM DDI0479C §4.4).

Behaviour follows QEMU's ``hw/timer/cmsdk-apb-timer.c`` (ptimer with
WRAP_AFTER_ONE_PERIOD | TRIGGER_ONLY_ON_DECREMENT | NO_IMMEDIATE_RELOAD).

A 32-bit down-counter clocked by PCLK, one tick per CPU cycle (the AN385
runs core, APB and timers at 25 MHz). While CTRL.EN is set VALUE counts
down; the 1 -> 0 step is the expiry, which latches INTSTATUS when CTRL.IRQEN
is set; the counter holds 0 for one tick and then reloads RELOAD, so a
periodic timer expires every RELOAD + 1 ticks. Writing RELOAD also loads
VALUE; writing either restarts the count from that cycle. With RELOAD = 0
the counter stops at 0 after reaching it; if it is already 0 nothing
counts, so there is no interrupt (QEMU: RELOAD=0 -> no interrupt).
The IRQ output is INTSTATUS (QEMU; IRQEN gates the latch, not the output).

VALUE is computed from ``clock.now`` on read; exactly one clock event is
scheduled, for the next expiry that can change INTSTATUS (none while
INTSTATUS is already set or IRQEN is clear); it is re-armed on every write
to CTRL, VALUE, RELOAD and INTCLEAR. The FreeRTOS ``IntQueueTimer.c`` demo
programs INTCLEAR=1, RELOAD=N, CTRL=IRQEN|EN.

Not modelled: EXTIN (CTRL.SELEXTEN / SELEXTCLK: external enable and clock;
logged once as unimplemented, the timer then counts PCLK as if unset).
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import W1C, F, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import MASK32, ClockEvent, DownCounter, id_regs

__all__ = ["CmsdkApbTimer"]

EN, SELEXTEN, SELEXTCLK, IRQEN = 1 << 0, 1 << 1, 1 << 2, 1 << 3
CTRL_MASK = 0xF
INT_IRQ = 1 << 0


def _ctrl_write(dev: CmsdkApbTimer, value: int) -> None:
    dev._write_ctrl(value & CTRL_MASK)


def _value_read(dev: CmsdkApbTimer) -> int:
    return dev._counter.count(dev.clock.now)


def _value_write(dev: CmsdkApbTimer, value: int) -> None:
    dev._write_value(value & MASK32)


def _reload_write(dev: CmsdkApbTimer, value: int) -> None:
    dev._write_reload(value & MASK32)


def _intclear_written(dev: CmsdkApbTimer, old: int, value: int) -> None:
    dev._update_irq()
    dev._arm(dev.clock.now + 1)


class CmsdkApbTimer(Device):
    """ARM CMSDK APB timer (DDI0479C §4.4). Not modelled: EXTIN."""

    SIZE = 0x1000
    IRQS = ("timer",)
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "CTRL", write=_ctrl_write,
            fields=[F("EN", 0), F("SELEXTEN", 1), F("SELEXTCLK", 2), F("IRQEN", 3)]),
        Reg(0x004, "VALUE", read=_value_read, write=_value_write, doc="current count, from the clock"),
        Reg(0x008, "RELOAD", write=_reload_write, doc="writing also loads VALUE"),
        Reg(0x00C, "INTSTATUS", fields=[F("IRQ", 0, access=W1C)], after_write=_intclear_written,
            doc="read: INTSTATUS; write: INTCLEAR (W1C)"),
        *id_regs(0x22),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self._i_ctrl = self.REGS["CTRL"].index
        self._i_reload = self.REGS["RELOAD"].index
        self._i_int = self.REGS["INTSTATUS"].index
        self._counter = DownCounter()
        self._event = ClockEvent(clock, f"{self.name}.expiry", self._expire)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._event.cancel()
        self._counter = DownCounter()
        self._update_irq()

    # -- interrupts -----------------------------------------------------------
    def _update_irq(self) -> None:
        self.irq["timer"].set(self.r[self._i_int] & INT_IRQ)

    # -- register writes ---------------------------------------------------------
    def _catch_up(self) -> None:
        self._event.catch_up()

    def _write_ctrl(self, value: int) -> None:
        self._catch_up()
        now = self.clock.now
        if value & (SELEXTEN | SELEXTCLK):
            self.unimplemented("EXTIN (CTRL.SELEXTEN/SELEXTCLK)")
        c = self._counter
        was = self.r[self._i_ctrl]
        if was & EN and not value & EN:
            c.stop(now)
        elif value & EN and not was & EN:
            c.start(now)
        self.r[self._i_ctrl] = value
        self._arm(now + 1)

    def _write_value(self, value: int) -> None:
        self._catch_up()
        now = self.clock.now
        self._counter.load(now, value)
        self._arm(now + 1)

    def _write_reload(self, value: int) -> None:
        self._catch_up()
        now = self.clock.now
        self.r[self._i_reload] = value
        c = self._counter
        c.limit = value
        c.load(now, value)
        self._arm(now + 1)

    # -- the one scheduled event ---------------------------------------------------
    def _arm(self, not_before: int) -> None:
        """Schedule the next expiry that can change INTSTATUS, if any."""
        self._event.cancel()
        ctrl = self.r[self._i_ctrl]
        if not (ctrl & EN and ctrl & IRQEN) or self.r[self._i_int] & INT_IRQ:
            return
        when = self._counter.next_expiry(not_before)
        if when is not None:
            self._event.schedule(when)

    def _expire(self, when: int) -> None:
        self._event.cancel()
        if self.r[self._i_ctrl] & IRQEN:
            self.r[self._i_int] |= INT_IRQ
            self._update_irq()
        self._arm(when + 1)

    @property
    def deadline(self) -> int | None:
        """The cycle of the scheduled expiry event, if one is armed."""
        return self._event.deadline

    # -- snapshots -------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(counter=self._counter.get_state(), deadline=self._event.deadline)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._event.cancel()
        self._counter = DownCounter()
        self._counter.set_state(state["counter"])
        if state["deadline"] is not None:
            self._event.schedule(state["deadline"])
        self._update_irq()
