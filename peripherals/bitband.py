"""Cortex-M3 bit-band alias regions (ARMv7-M Architecture Reference Manual, "Bit-banding";
Cortex-M3 TRM §3.7): each word of a 32 MiB alias region stands for one bit of a 1 MiB
target region, 0x22000000 for the SRAM at 0x20000000 and 0x42000000 for the peripherals at
0x40000000.

Behaviour follows QEMU's ``hw/arm/armv7m.c`` bit-band device (the MPS2 machines enable it):
an access at alias offset ``off`` with size ``n`` bytes reads ``n`` bytes of the target at
``(off >> 5)`` rounded down to ``n``, bit ``(off >> 2) & (8n - 1)``. A read returns that bit
(0 or 1); a write reads the target, sets or clears the bit from bit 0 of the value and writes
the result back at the same size (a read-modify-write, as the bus makes it: a device register
with side effects on read or write sees them, as on hardware). The target is reached through
the board's bus (``Device.bus_read``/``bus_write``): RAM or any device there.

Settings: ``target`` (the base of the 1 MiB region this alias maps). The window is 32 MiB.

Not modelled: the atomicity of the read-modify-write against DMA (nothing else here masters
the bus), exclusive-access monitors (LDREX/STREX to the alias).
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.clock import Clock

__all__ = ["BitBand"]

ALIAS_SIZE = 0x0200_0000
TARGET_SIZE = 0x0010_0000


class BitBand(Device):
    """One bit-band alias region: 32 MiB of words, one per bit of a 1 MiB target region."""

    SIZE = ALIAS_SIZE
    STATE_VERSION = 1

    def __init__(self, name: str, clock: Clock, *, target: int, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        target = int(target)
        if target % TARGET_SIZE:
            raise ValueError(f"target must be 1 MiB aligned, got 0x{target:X}")
        self.target = target
        self.reset()

    def _locate(self, offset: int, size: int) -> tuple[int, int]:
        address = self.target + (((offset & (ALIAS_SIZE - 1)) >> 5) & ~(size - 1))
        return address, (offset >> 2) & (8 * size - 1)

    def read(self, offset: int, size: int) -> int:
        address, bit = self._locate(offset, size)
        return (self.bus_read(address, size) >> bit) & 1

    def write(self, offset: int, size: int, value: int) -> None:
        address, bit = self._locate(offset, size)
        word = self.bus_read(address, size)
        word = word | (1 << bit) if value & 1 else word & ~(1 << bit)
        self.bus_write(address, size, word)
