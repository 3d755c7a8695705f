"""The system controller of the MPS2 AN511 image (Cortex-M3 DesignStart) at 0x4001F000:
the CMSDK example system controller (Cortex-M System Design Kit TRM, ARM DDI0479C §5.3:
REMAP, PMUCTRL, RESETOP, RSTINFO) with the clock, reset and power configuration registers
Mbed OS declares for this board (``CMSDK_SYSCON_TypeDef`` in its ``CMSDK_CM3DS.h``).

QEMU 7.2 leaves this window to the "CMSDK AHB peripheral region" placeholder (reads 0).
Mbed OS's ``SystemInit`` for the board writes AHBCLKCFG0SET and APBCLKCFG0SET first thing.

* REMAP 0x000 (bit 0; the remap itself is not modelled, logged once), PMUCTRL 0x004
  (bit 0 EN; no power management unit here, stored), RESETOP 0x008 (bit 0 LOCKUPRESET;
  stored: a lockup stops the run with a report instead), EMICTRL 0x00C (stored).
* RSTINFO 0x010: why the last reset happened, write one to clear: bit 0 SYSRESETREQ,
  bit 1 WDOGRESETREQ, bit 2 LOCKUPRESET. A power-on reset (a fresh load) clears it; a
  system reset sets the bit of its cause (``after_system_reset``), so firmware can tell a
  watchdog reboot.
* Set/clear pairs (a SET register reads the current value and ORs what is written, its
  CLR twin reads the same value and clears the bits written): AHBPER0, APBPER0 (access
  control), AHBCLKCFG0..2 and APBCLKCFG0..2 (clock gating in active, sleep and deep sleep),
  AHBPRST0, APBPRST0 (peripheral resets), PWRDNCFG0..1 (wake-up sources). Stored: clocks
  always run, peripherals are never held in reset, there is no deep sleep.
* MAINCLK, AUXCLK, PLLCTRL, PLLSTATUS, SLEEPCFG, FLASHAUXCFG, EVENTCFG, PWROVRIDE0..1,
  GPIOPADCFG0..1, TESTMODECFG: stored (reset 0; the board's values are not published).
  RTCRESET is write-only (ignored); MEMORYSTATUS reads 0.
* PID/CID block (part 0x826: PID0 0x26).

Not modelled: REMAP, the PMU, clock gating, peripheral resets, reset on lockup.
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, W1C, WO, F, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import id_regs

__all__ = ["CmsdkSysCtrl"]

SYSRESETREQ, WDOGRESETREQ, LOCKUPRESET = 1 << 0, 1 << 1, 1 << 2
_CAUSE = {"SYSRESETREQ": SYSRESETREQ, "watchdog": WDOGRESETREQ, "lockup": LOCKUPRESET}
# (offset of SET, name): the CLR twin follows at +4.
_PAIRS = ((0x020, "AHBPER0"), (0x030, "APBPER0"), (0x080, "AHBCLKCFG0"), (0x088, "AHBCLKCFG1"),
          (0x090, "AHBCLKCFG2"), (0x0A0, "APBCLKCFG0"), (0x0A8, "APBCLKCFG1"), (0x0B0, "APBCLKCFG2"),
          (0x0C0, "AHBPRST0"), (0x0C8, "APBPRST0"), (0x0D0, "PWRDNCFG0"), (0x0D8, "PWRDNCFG1"))


def _remap_written(dev: CmsdkSysCtrl, old: int, value: int) -> None:
    if value & 1:
        dev.unimplemented("REMAP (the boot remap)")


def _pair(offset: int, name: str) -> list[Reg]:
    def read(dev: CmsdkSysCtrl) -> int:
        return dev.pairs[name]

    def set_bits(dev: CmsdkSysCtrl, value: int) -> None:
        dev.pairs[name] |= value

    def clear_bits(dev: CmsdkSysCtrl, value: int) -> None:
        dev.pairs[name] &= ~value

    return [Reg(offset, f"{name}SET", sizes=(1, 2, 4), read=read, write=set_bits),
            Reg(offset + 4, f"{name}CLR", sizes=(1, 2, 4), read=read, write=clear_bits)]


class CmsdkSysCtrl(Device):
    """The AN511 system controller: REMAP, PMUCTRL, RESETOP, RSTINFO, clock/reset/power configuration."""

    SIZE = 0x1000
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "REMAP", after_write=_remap_written, fields=[F("REMAP", 0)]),
        Reg(0x004, "PMUCTRL", fields=[F("EN", 0)]),
        Reg(0x008, "RESETOP", fields=[F("LOCKUPRESET", 0)]),
        Reg(0x00C, "EMICTRL"),
        Reg(0x010, "RSTINFO", fields=[F("SYSRESETREQ", 0, access=W1C), F("WDOGRESETREQ", 1, access=W1C),
                                      F("LOCKUPRESET", 2, access=W1C)]),
        *(r for offset, name in _PAIRS for r in _pair(offset, name)),
        Reg(0x040, "MAINCLK"),
        Reg(0x044, "AUXCLK"),
        Reg(0x048, "PLLCTRL"),
        Reg(0x04C, "PLLSTATUS"),
        Reg(0x050, "SLEEPCFG"),
        Reg(0x054, "FLASHAUXCFG"),
        Reg(0x0E0, "RTCRESET", access=WO),
        Reg(0x0E4, "EVENTCFG"),
        Reg(0x0F0, "PWROVRIDE0"),
        Reg(0x0F4, "PWROVRIDE1"),
        Reg(0x0F8, "MEMORYSTATUS", access=RO),
        Reg(0x100, "GPIOPADCFG0"),
        Reg(0x104, "GPIOPADCFG1"),
        Reg(0x108, "TESTMODECFG"),
        *id_regs(0x26),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.pairs = {name: 0 for _offset, name in _PAIRS}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.pairs = {name: 0 for _offset, name in _PAIRS}

    def write(self, offset: int, size: int, value: int) -> None:
        reg = self.REGS.by_offset.get(offset)
        if reg is not None and reg.name[:-3] in self.pairs and size < 4:
            # Only the written byte lanes act: a byte to a CLR register clears bits of that byte alone.
            reg.write(self, (value << (8 * (offset - reg.offset))) & 0xFFFF_FFFF)  # type: ignore[misc]
            return
        super().write(offset, size, value)

    def after_system_reset(self, reason: str) -> None:
        self.set("RSTINFO", self.get("RSTINFO") | _CAUSE.get(reason, 0))

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["pairs"] = dict(self.pairs)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.pairs = dict(state["pairs"])
