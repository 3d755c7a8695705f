"""ARM CMSDK APB watchdog (Cortex-M System Design Kit TRM, ARM DDI0479C §4.7; the SP805 model).

Behaviour follows the TRM and QEMU's ``hw/watchdog/cmsdk-apb-watchdog.c`` in
its current form (ptimer with WRAP_AFTER_ONE_PERIOD | TRIGGER_ONLY_ON_DECREMENT
| NO_IMMEDIATE_RELOAD, the arithmetic of ``peripherals._common.DownCounter``):

* A 32-bit down-counter clocked by WDOGCLK, one tick per CPU cycle (the MPS2
  boards clock it from the 25 MHz SYSCLK). It runs while CTRL.INTEN is set
  (TRM: "set HIGH to enable the counter and the interrupt"); INTEN going
  0 -> 1 reloads it from LOAD. Writing LOAD reloads it too (and the counter
  keeps running or stays stopped). Reset: LOAD = VALUE = 0xFFFFFFFF, stopped.
* The 1 -> 0 step is a timeout. The first one sets RIS and reloads the count;
  a second one while RIS is still set asserts the reset output and stops the
  counter. INTCLR (any value) clears RIS and reloads the count ("feeding").
* WDOGINT (output ``int``) is MIS = RIS & INTEN. The MPS2 boards wire it to the
  NMI (QEMU ``hw/arm/mps2.c``: ``qdev_get_gpio_in_named(armv7m, "NMI", 0)``);
  the platform file says ``irqs: {int: nmi}``.
* WDOGRES: with CTRL.RESEN set the second timeout resets the board through
  the machine's reset path, the one AIRCR.SYSRESETREQ takes
  (``request_system_reset("watchdog")``; QEMU: ``watchdog_perform_action``).
* LOCK (0xC00): writing 0x1ACCE551 unlocks, any other value locks; reads 1
  while locked. While locked every other write is ignored (guest error).
* ITCR.ENABLE (integration test mode) makes the outputs follow ITOP:
  ITOP.WDOGINT drives the interrupt, ITOP.WDOGRES requests the reset.
* INTCLR and ITOP read 0 (write-only, a guest error as in QEMU); writes to
  VALUE, RIS, MIS and the IDs are ignored (guest error). PID0 = 0x24.

Time is computed on read; one clock event is armed for the next timeout.

QEMU 7.2 (the reference binary) differs: its counter runs from reset whatever
INTEN says, so VALUE counts down before the firmware enables the watchdog and
INTEN does not reload it. Firmware that writes LOAD before enabling INTEN (as
the CMSIS and RTOS drivers do) sees the same timeouts on both.

Not modelled: the WDOGCLKEN clock enable (always on), the Luminary variant.
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, WO, F, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import MASK32, ClockEvent, DownCounter, id_regs

__all__ = ["CmsdkApbWatchdog", "UNLOCK_KEY"]

UNLOCK_KEY = 0x1ACCE551
INTEN, RESEN = 1 << 0, 1 << 1
ITCR_ENABLE = 1 << 0
ITOP_WDOGRES, ITOP_WDOGINT = 1 << 0, 1 << 1


def _locked_guard(dev: CmsdkApbWatchdog) -> bool:
    if dev.locked:
        dev.guest_error("write to a locked watchdog ignored (unlock with 0x1ACCE551 in LOCK)")
        return True
    return False


def _load_read(dev: CmsdkApbWatchdog) -> int:
    return dev._counter.limit


def _load_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev._write_load(value & MASK32)


def _value_read(dev: CmsdkApbWatchdog) -> int:
    dev._catch_up()
    return dev._counter.count(dev.clock.now)


def _ctrl_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev._write_ctrl(value & (INTEN | RESEN))


def _intclr_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev._feed()


def _wo_read(dev: CmsdkApbWatchdog) -> int:
    dev.guest_error("read of a write-only register (INTCLR/ITOP)")
    return 0


def _ris_read(dev: CmsdkApbWatchdog) -> int:
    dev._catch_up()
    return dev.ris


def _mis_read(dev: CmsdkApbWatchdog) -> int:
    dev._catch_up()
    return dev.ris & dev.get("CTRL") & INTEN


def _ro_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev.guest_error(f"write of 0x{value:X} to a read-only register ignored")


def _lock_read(dev: CmsdkApbWatchdog) -> int:
    return int(dev.locked)


def _lock_write(dev: CmsdkApbWatchdog, value: int) -> None:
    dev.locked = value != UNLOCK_KEY


def _itcr_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev.set("ITCR", value & ITCR_ENABLE)
        dev._update_irq()


def _itop_write(dev: CmsdkApbWatchdog, value: int) -> None:
    if not _locked_guard(dev):
        dev.set("ITOP", value & (ITOP_WDOGRES | ITOP_WDOGINT))
        dev._update_irq()


class CmsdkApbWatchdog(Device):
    """ARM CMSDK APB watchdog (DDI0479C §4.7): NMI on the first timeout, reset on the second."""

    SIZE = 0x1000
    IRQS = ("int",)
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "LOAD", reset=MASK32, read=_load_read, write=_load_write, doc="writing reloads VALUE"),
        Reg(0x004, "VALUE", access=RO, read=_value_read, write=_ro_write,
            doc="current count, from the clock"),
        Reg(0x008, "CTRL", write=_ctrl_write, fields=[F("INTEN", 0), F("RESEN", 1)]),
        Reg(0x00C, "INTCLR", access=WO, read=_wo_read, write=_intclr_write,
            doc="any write clears RIS and reloads the count"),
        Reg(0x010, "RIS", access=RO, read=_ris_read, write=_ro_write, fields=[F("RIS", 0, access=RO)]),
        Reg(0x014, "MIS", access=RO, read=_mis_read, write=_ro_write, fields=[F("MIS", 0, access=RO)]),
        Reg(0xC00, "LOCK", read=_lock_read, write=_lock_write, doc="0x1ACCE551 unlocks, other values lock"),
        Reg(0xF00, "ITCR", write=_itcr_write, fields=[F("ENABLE", 0)]),
        Reg(0xF04, "ITOP", access=WO, read=_wo_read, write=_itop_write,
            fields=[F("WDOGRES", 0, access=WO), F("WDOGINT", 1, access=WO)]),
        *id_regs(0x24),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self._event = ClockEvent(clock, f"{self.name}.timeout", self._timeout)
        self.resets_requested = 0
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._event.cancel()
        self._counter = DownCounter()
        self._counter.limit = MASK32
        self._counter.c0 = MASK32
        self.ris = 0
        self.res = 0
        self.locked = False
        self._update_irq()

    # -- outputs --------------------------------------------------------------------------
    def _update_irq(self) -> None:
        if self.get("ITCR") & ITCR_ENABLE:
            itop = self.get("ITOP")
            wdogint, wdogres = bool(itop & ITOP_WDOGINT), bool(itop & ITOP_WDOGRES)
        else:
            ctrl = self.get("CTRL")
            wdogint, wdogres = bool(self.ris and ctrl & INTEN), bool(self.res and ctrl & RESEN)
        self.irq["int"].set(wdogint)
        if wdogres:
            self.resets_requested += 1
            self.request_system_reset("watchdog")

    # -- register writes ---------------------------------------------------------------------
    def _catch_up(self) -> None:
        self._event.catch_up()

    def _write_load(self, value: int) -> None:
        self._catch_up()
        c = self._counter
        c.limit = value
        c.load(self.clock.now, value)
        self._arm(self.clock.now + 1)

    def _write_ctrl(self, value: int) -> None:
        self._catch_up()
        now = self.clock.now
        c = self._counter
        was = self.get("CTRL")
        if value & INTEN and not was & INTEN:
            c.load(now, c.limit)
            c.start(now)
        elif was & INTEN and not value & INTEN:
            c.stop(now)
        self.set("CTRL", value)
        self._update_irq()
        self._arm(now + 1)

    def _feed(self) -> None:
        self._catch_up()
        self.ris = 0
        self._counter.load(self.clock.now, self._counter.limit)
        self._update_irq()
        self._arm(self.clock.now + 1)

    # -- the one scheduled event ---------------------------------------------------------------
    def _arm(self, not_before: int) -> None:
        self._event.cancel()
        if self.res or not self._counter.running:
            return
        when = self._counter.next_expiry(not_before)
        if when is not None:
            self._event.schedule(when)

    def _timeout(self, when: int) -> None:
        self._event.cancel()
        c = self._counter
        if not self.ris:
            self.ris = 1  # the count holds 0 for a tick and reloads: the next timeout is LOAD + 1 later
            self._update_irq()
            self._arm(when + 1)
        else:
            self.res = 1
            c.stop(when)
            self._update_irq()

    @property
    def deadline(self) -> int | None:
        """The cycle of the next timeout event, if one is armed."""
        return self._event.deadline

    # -- snapshots ------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(counter=self._counter.get_state(), deadline=self._event.deadline, ris=self.ris,
                     res=self.res, locked=self.locked)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._event.cancel()
        self._counter = DownCounter()
        self._counter.set_state(state["counter"])
        self.ris, self.res, self.locked = state["ris"], state["res"], state["locked"]
        if state["deadline"] is not None:
            self._event.schedule(state["deadline"])
        self.irq["int"].set(bool(self.ris and self.get("CTRL") & INTEN))
