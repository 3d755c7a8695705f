"""Helpers for the device-model tests: IRQ recorders and virtual-time steps."""

from __future__ import annotations

from emulator.bus.device import Device
from emulator.clock import Clock

HZ = 25_000_000


class IrqRecorder:
    """A sink for one IrqLine: keeps every level change it is driven to."""

    def __init__(self) -> None:
        self.edges: list[bool] = []

    def __call__(self, level: bool) -> None:
        self.edges.append(level)

    @property
    def level(self) -> bool:
        return self.edges[-1] if self.edges else False


def wire(dev: Device) -> dict[str, IrqRecorder]:
    """Connect a recorder to every IRQ output of ``dev``."""
    sinks = {}
    for name, line in dev.irq.items():
        sinks[name] = IrqRecorder()
        line.connect(sinks[name])
    return sinks


def run(clock: Clock, cycles: int) -> None:
    """Advance virtual time by ``cycles`` and fire what became due."""
    clock.advance(cycles)
    clock.fire_due()


def run_until(clock: Clock, when: int) -> None:
    """Advance virtual time to cycle ``when`` and fire what became due."""
    run(clock, when - clock.base)


def reg_offsets(dev: Device) -> list[int]:
    return [reg.offset for reg in dev.REGS.regs]
