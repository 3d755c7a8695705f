"""A named placeholder for a window the board decodes but vboard does not model.

QEMU's ``hw/misc/unimp.c`` (TYPE_UNIMPLEMENTED_DEVICE) maps such windows on
the MPS2 machines (``hw/arm/mps2.c``: the GPIO blocks, I2S, VGA, the reserved
holes between peripheral regions, the rest of each 64 KiB peripheral region):
every read returns 0, every write is ignored, and each access is logged under
``-d unimp``. Firmware depends on this: a stock RTOS board init writes the
CMSDK GPIO ALTFUNCSET registers and, on QEMU, carries on.

Here, as there: reads are 0 (any size), writes are ignored. The first access
to each placeholder is logged once in the board log, as a warning naming the
device, the access and the instruction that made it (PC and symbol), so a user sees
which part of the board the firmware reached for; later accesses are counted
(``accesses``) but not logged, so a polling loop does not flood the log.

Settings: ``size`` (the window in bytes, a multiple of 4 KiB as the bus maps
whole pages) and ``label`` (the name QEMU gives the window, e.g. "RESERVED 4";
the device name is used when absent).

Not modelled: anything behind the window (by definition). Unlike QEMU, which
can map a placeholder under real devices at a lower priority, a placeholder
here is one contiguous window: the platform file lists the pieces around the
real devices, as QEMU's flattened memory tree shows them.
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import log_unimp
from emulator.clock import Clock

__all__ = ["UnimplementedDevice"]

PAGE = 0x1000


class UnimplementedDevice(Device):
    """Reads 0, ignores writes, logs the first access with PC and symbol (QEMU ``unimp.c``)."""

    STATE_VERSION = 1

    def __init__(self, name: str, clock: Clock, *, size: int = PAGE, label: str = "",
                 **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        size = int(size)
        if size <= 0 or size % PAGE:
            raise ValueError(f"size must be a positive multiple of 0x{PAGE:X}, got 0x{size:X}")
        self.SIZE = size
        self.label = str(label) or name
        self.accesses = 0
        self.first_access: str | None = None
        self.reset()

    def reset(self) -> None:
        super().reset()  # nothing to restore; the first-access record survives resets (one line per run)

    def _seen(self, kind: str, offset: int, size: int, value: int | None) -> None:
        self.accesses += 1
        if self.first_access is not None:
            return
        what = f"{kind} of {size} byte(s) at +0x{offset:X}" + ("" if value is None else f" (0x{value:X})")
        where = ""
        if self.board_log is not None:  # the load or store of this address, when the window is mapped
            where = (self.board_log.where() if self.mmio_base is None
                     else self.board_log.where(self.mmio_base + offset))
        self.first_access = f"{what}{' at PC ' + where if where else ''}"
        message = (f"unimplemented device '{self.label}': first access: {self.first_access} "
                   "(reads 0, writes ignored)")
        if self.board_log is not None:
            self.board_log.warning(self.name, message)
        else:
            log_unimp.warning("%s: %s", self.name, message)

    def read(self, offset: int, size: int) -> int:
        self._seen("read", offset, size, None)
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        self._seen("write", offset, size, value)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(accesses=self.accesses, first_access=self.first_access)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.accesses = state["accesses"]
        self.first_access = state["first_access"]
