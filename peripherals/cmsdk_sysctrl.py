"""ARM CMSDK example system controller (Cortex-M System Design Kit TRM, ARM DDI0479C
§5.3 "System controller"), at 0x4001F000 on the MPS2 AN511 (Mbed OS ``CMSDK_SYSCON``).

QEMU 7.2 leaves this window to the "CMSDK AHB peripheral region" placeholder
(reads 0). Registers:

* REMAP 0x000 (bit 0; the remap itself is not modelled, logged once),
  PMUCTRL 0x004 (bit 0 EN; no power management unit here, stored),
  RESETOP 0x008 (bit 0 LOCKUPRESET: a lockup resets the board; stored, the
  lockup report stops the run instead).
* RSTINFO 0x010: why the last reset happened, write one to clear: bit 0
  SYSRESETREQ, bit 1 WDOGRESETREQ, bit 2 LOCKUPRESET. A power-on reset (a
  fresh load) clears it; a system reset sets the bit of its cause
  (``after_system_reset``), so firmware can tell a watchdog reboot.
* PID/CID block (part 0x826: PID0 0x26).

Not modelled: REMAP, the PMU, reset on lockup.
"""

from __future__ import annotations

from typing import Any

from emulator.clock import Clock
from emulator.device import Device
from emulator.regs import W1C, F, Reg, RegMap
from peripherals._common import id_regs

__all__ = ["CmsdkSysCtrl"]

SYSRESETREQ, WDOGRESETREQ, LOCKUPRESET = 1 << 0, 1 << 1, 1 << 2
_CAUSE = {"SYSRESETREQ": SYSRESETREQ, "watchdog": WDOGRESETREQ, "lockup": LOCKUPRESET}


def _remap_written(dev: CmsdkSysCtrl, old: int, value: int) -> None:
    if value & 1:
        dev.unimplemented("REMAP (the boot remap)")


class CmsdkSysCtrl(Device):
    """ARM CMSDK system controller (DDI0479C §5.3): REMAP, PMUCTRL, RESETOP, RSTINFO."""

    SIZE = 0x1000
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "REMAP", after_write=_remap_written, fields=[F("REMAP", 0)]),
        Reg(0x004, "PMUCTRL", fields=[F("EN", 0)]),
        Reg(0x008, "RESETOP", fields=[F("LOCKUPRESET", 0)]),
        Reg(0x010, "RSTINFO", fields=[F("SYSRESETREQ", 0, access=W1C), F("WDOGRESETREQ", 1, access=W1C),
                                      F("LOCKUPRESET", 2, access=W1C)]),
        *id_regs(0x26),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.reset()

    def after_system_reset(self, reason: str) -> None:
        self.set("RSTINFO", self.get("RSTINFO") | _CAUSE.get(reason, 0))
