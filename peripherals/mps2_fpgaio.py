"""MPS2 FPGA I/O block, "FPGAIO" (ARM AN385 / AN505 application notes, FPGAIO registers).

Behaviour follows QEMU's ``hw/misc/mps2-fpgaio.c`` as ``hw/arm/mps2.c``
configures it for ``mps2-an385`` (2 LEDs, no DBGCTRL, no SWITCH).

* LED0 (bits 1:0) reads as written; changes are reported to the ``on_leds``
  callbacks (world side) with the new value, also when reset turns them off.
* BUTTON (bits 1:0) is read-only; the world sets it with ``press_button(n)``
  / ``release_button(n)`` (at a sync point) or the ``buttons`` setting.
* CLK1HZ / CLK100HZ are free-running 32-bit counters since reset, computed
  from ``clock.now``; a write sets the counter to that value at that cycle.
* PSCNTR is a down-counter at ``prescale_hz`` (default 25 MHz, QEMU's AN385
  ``prescale-clk``). When it reaches 0 it reloads PRESCALE one tick later and
  COUNTER increments at that moment; with PRESCALE = 0 it sticks at 0 and
  COUNTER increments every tick (QEMU's resync_counter arithmetic). PSCNTR,
  COUNTER and PRESCALE are writable; PRESCALE does not reload PSCNTR.
* MISC reads as written; its effects (SPI/CLCD chip selects) are not
  modelled (logged once).

Counters are exact: elapsed prescale ticks are ``floor((now - origin) *
prescale_hz / hz)`` from a fixed origin, so repeated reads never lose time.
Nothing is scheduled: the block has no interrupt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, F, Reg, RegMap
from emulator.clock import Clock

__all__ = ["Mps2Fpgaio"]

MASK32 = 0xFFFF_FFFF
NUM_LEDS = 2
NUM_BUTTONS = 2
DEFAULT_PRESCALE_HZ = 25_000_000


def _led_written(dev: Mps2Fpgaio, old: int, value: int) -> None:
    dev._leds_changed(old)


def _button_read(dev: Mps2Fpgaio) -> int:
    return dev.buttons


def _clk1hz_read(dev: Mps2Fpgaio) -> int:
    return dev._free_count(0)


def _clk1hz_write(dev: Mps2Fpgaio, value: int) -> None:
    dev._free_set(0, value & MASK32)


def _clk100hz_read(dev: Mps2Fpgaio) -> int:
    return dev._free_count(1)


def _clk100hz_write(dev: Mps2Fpgaio, value: int) -> None:
    dev._free_set(1, value & MASK32)


def _counter_read(dev: Mps2Fpgaio) -> int:
    dev._resync()
    return dev._counter


def _counter_write(dev: Mps2Fpgaio, value: int) -> None:
    dev._resync()
    dev._counter = value & MASK32


def _prescale_write(dev: Mps2Fpgaio, value: int) -> None:
    dev._resync()
    dev.set("PRESCALE", value & MASK32)


def _pscntr_read(dev: Mps2Fpgaio) -> int:
    dev._resync()
    return dev._pscntr


def _pscntr_write(dev: Mps2Fpgaio, value: int) -> None:
    dev._resync()
    dev._pscntr = value & MASK32


def _misc_written(dev: Mps2Fpgaio, old: int, value: int) -> None:
    dev.unimplemented("MISC control bits")


class Mps2Fpgaio(Device):
    """MPS2 FPGAIO (AN385). Not modelled: MISC effects."""

    SIZE = 0x1000
    STATE_VERSION = 1
    FREQS = (1, 100)  # CLK1HZ, CLK100HZ
    REGS = RegMap(
        Reg(0x000, "LED0", fields=[F("LED", 0, NUM_LEDS)], after_write=_led_written),
        Reg(0x008, "BUTTON", fields=[F("BUTTON", 0, NUM_BUTTONS, RO)], read=_button_read),
        Reg(0x010, "CLK1HZ", read=_clk1hz_read, write=_clk1hz_write),
        Reg(0x014, "CLK100HZ", read=_clk100hz_read, write=_clk100hz_write),
        Reg(0x018, "COUNTER", read=_counter_read, write=_counter_write),
        Reg(0x01C, "PRESCALE", write=_prescale_write),
        Reg(0x020, "PSCNTR", read=_pscntr_read, write=_pscntr_write),
        Reg(0x04C, "MISC", after_write=_misc_written),
    )

    def __init__(self, name: str, clock: Clock, *, prescale_hz: int = DEFAULT_PRESCALE_HZ,
                 buttons: int = 0, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        if prescale_hz <= 0:
            raise ValueError("prescale_hz must be positive")
        self.prescale_hz = int(prescale_hz)
        self.buttons = int(buttons) & ((1 << NUM_BUTTONS) - 1)
        self.on_leds: list[Callable[[int], None]] = []
        self._i_led = self.REGS["LED0"].index
        self._i_prescale = self.REGS["PRESCALE"].index
        self._free_base = [0, 0]  # cycle at which CLK1HZ / CLK100HZ read 0
        self._ps_origin = 0       # cycle from which prescale ticks are counted
        self._ps_synced = 0       # prescale ticks already folded into PSCNTR/COUNTER
        self._pscntr = 0
        self._counter = 0
        self.reset()

    def reset(self) -> None:
        leds_before = self.r[self._i_led]
        super().reset()
        now = self.clock.now
        self._free_base = [now, now]
        self._ps_origin = now
        self._ps_synced = 0
        self._pscntr = 0
        self._counter = 0
        self._leds_changed(leds_before)

    # -- world side ------------------------------------------------------------------
    @property
    def leds(self) -> int:
        return self.r[self._i_led]

    def press_button(self, n: int) -> None:
        self._check_button(n)
        self.buttons |= 1 << n

    def release_button(self, n: int) -> None:
        self._check_button(n)
        self.buttons &= ~(1 << n)

    @staticmethod
    def _check_button(n: int) -> None:
        if not 0 <= n < NUM_BUTTONS:
            raise ValueError(f"button {n} out of range 0..{NUM_BUTTONS - 1}")

    def _leds_changed(self, old: int) -> None:
        new = self.leds
        if new != old:
            for callback in self.on_leds:
                callback(new)

    # -- CLK1HZ / CLK100HZ ------------------------------------------------------------------
    def _free_count(self, k: int) -> int:
        return ((self.clock.now - self._free_base[k]) * self.FREQS[k] // self.clock.hz) & MASK32

    def _free_set(self, k: int, value: int) -> None:
        # The smallest elapsed time that reads back as `value`.
        hz, f = self.clock.hz, self.FREQS[k]
        self._free_base[k] = self.clock.now - (-(-value * hz // f))

    # -- PSCNTR / COUNTER --------------------------------------------------------------------
    def _resync(self) -> None:
        total = (self.clock.now - self._ps_origin) * self.prescale_hz // self.clock.hz
        ticks = total - self._ps_synced
        if ticks <= 0:
            return
        self._ps_synced = total
        prescale = self.r[self._i_prescale]
        if ticks < self._pscntr:
            self._pscntr -= ticks
        elif prescale == 0:
            self._counter = (self._counter + ticks - self._pscntr) & MASK32
            self._pscntr = 0
        else:
            y = ticks - self._pscntr + prescale
            self._pscntr = prescale - (y % (prescale + 1))
            self._counter = (self._counter + y // (prescale + 1)) & MASK32

    # -- snapshots -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(buttons=self.buttons, free_base=list(self._free_base), ps_origin=self._ps_origin,
                     ps_synced=self._ps_synced, pscntr=self._pscntr, counter=self._counter)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.buttons = state["buttons"]
        self._free_base = list(state["free_base"])
        self._ps_origin = state["ps_origin"]
        self._ps_synced = state["ps_synced"]
        self._pscntr = state["pscntr"]
        self._counter = state["counter"]
