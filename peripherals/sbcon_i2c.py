"""ARM SBCon two-wire serial bus interface, the bit-banged I2C of the MPS2 boards
(ARM "Versatile I2C"; MPS2 TRM; QEMU ``hw/i2c/arm_sbcon_i2c.c``).

QEMU creates four on ``mps2-an385``/``mps2-an511`` (touch screen 0x40022000,
audio 0x40023000, shield 0 0x40029000, shield 1 0x4002A000), with no IRQ.

* CONTROL (0x000) read: bit 0 SCL as driven, bit 1 SDA as the bus carries it;
  write: CONTROLS, sets the written SCL/SDA bits (only bits 1:0 count).
* CONTROLC (0x004) write: clears the written bits. Reads of 0x004 and any
  other offset return 0xFFFFFFFF with a guest error (QEMU returns -1).
* The lines are open-drain with pull-ups. No I2C slave is attached to any of
  the buses (as in QEMU without ``-device``), so nothing ever pulls SDA low:
  SDA reads as driven, which a driver's address phase sees as a NACK.
  At reset both outputs are 0 (QEMU's zeroed state), so CONTROL reads 0
  until the first write (QEMU samples SDA only on writes).

Not modelled: any slave device (touch controller, audio codec).
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import WO, F, Reg, RegMap
from emulator.clock import Clock

__all__ = ["SbconI2c"]

SCL, SDA = 1 << 0, 1 << 1
MASK32 = 0xFFFF_FFFF


def _control_read(dev: SbconI2c) -> int:
    return (dev.out & SCL) | (dev.sda_in << 1)


def _controls_write(dev: SbconI2c, value: int) -> None:
    dev._drive(dev.out | (value & (SCL | SDA)))


def _controlc_read(dev: SbconI2c) -> int:
    dev.guest_error("read of the write-only CONTROLC register")
    return MASK32


def _controlc_write(dev: SbconI2c, value: int) -> None:
    dev._drive(dev.out & ~value & (SCL | SDA))


class SbconI2c(Device):
    """ARM SBCon bit-banged I2C (QEMU ``arm_sbcon_i2c``): no slave on the bus."""

    SIZE = 0x1000
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "CONTROL", read=_control_read, write=_controls_write,
            fields=[F("SCL", 0), F("SDA", 1)], doc="read: the lines; write: CONTROLS (set)"),
        Reg(0x004, "CONTROLC", access=WO, read=_controlc_read, write=_controlc_write,
            fields=[F("SCL", 0, access=WO), F("SDA", 1, access=WO)]),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.out = 0
        self.sda_in = 0
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.out = 0
        self.sda_in = 0

    def read(self, offset: int, size: int) -> int:
        if offset & ~3 not in (0x000, 0x004):
            self.guest_error(f"read of unmapped offset 0x{offset:03X}")
            return MASK32 & ((1 << (8 * size)) - 1)
        return super().read(offset, size)

    def _drive(self, out: int) -> None:
        self.out = out
        self.sda_in = 1 if out & SDA else 0  # open drain, pull-up, no slave pulling low

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(out=self.out, sda_in=self.sda_in)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.out, self.sda_in = state["out"], state["sda_in"]
