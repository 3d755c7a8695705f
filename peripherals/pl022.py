"""ARM PrimeCell PL022 synchronous serial port (ARM DDI0194H, "PrimeCell SSP (PL022) TRM").

Behaviour follows QEMU's ``hw/ssi/pl022.c``, which the MPS2 machines create
at 0x40020000/0x40021000 (ORed to IRQ 11), 0x40025000 (IRQ 22) and
0x40026000/0x40027000 (ORed to IRQ 24):

* Eight-entry TX and RX FIFOs of up to 16-bit frames (CR0.DSS + 1 bits). With
  CR1.SSE set, each TX entry is transferred at once (line speed is not
  modelled) while the RX FIFO has room: in loopback (CR1.LBM) the frame comes
  back, otherwise the bus answers 0 (no slave is attached to any MPS2 SSP
  here, as in QEMU). A full RX FIFO stalls the transmitter (QEMU's choice:
  drivers that fill TX and then drain RX keep working).
* SR: TFE, TNF, RNE, RFF, BSY (BSY while the TX FIFO holds data). Reset
  0x3 (TFE | TNF).
* RIS: RXRIS when the RX FIFO holds 4 or more, TXRIS when the TX FIFO holds 4
  or fewer (recomputed on every change: reset 0x8); RORRIS/RTRIS are never
  raised (no overrun: TX stalls; no timeout). ICR (W1C) clears ROR/RT only.
  The IRQ output (SSPINTR) is RIS & IMSC.
* CPSR stored (& 0xFF); the clock rate and frame format are ignored.
  DMACR reads 0 (DMA is not modelled, logged once). Peripheral (slave) mode
  is not modelled (QEMU prints an error): logged once.
* PeriphID/PCellID at 0xFE0..0xFFC: 0x22, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1.

Drivers' init and status polling (write CR0/CPSR/CR1, wait for TNF, write
DR, wait for RNE or !BSY, read DR) complete as on QEMU.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, WO, F, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import ro_write

__all__ = ["Pl022"]

FIFO_DEPTH = 8
LBM, SSE, MS = 1 << 0, 1 << 1, 1 << 2
TFE, TNF, RNE, RFF, BSY = 1, 2, 4, 8, 16
ROR, RT, RX, TX = 1, 2, 4, 8
_ID = (0x22, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1)
_ID_NAMES = ("SSPPeriphID0", "SSPPeriphID1", "SSPPeriphID2", "SSPPeriphID3",
             "SSPPCellID0", "SSPPCellID1", "SSPPCellID2", "SSPPCellID3")


def _after_cr0(dev: Pl022, old: int, value: int) -> None:
    dev._update_irq()


def _after_cr1(dev: Pl022, old: int, value: int) -> None:
    if value & MS and value & SSE:
        dev.unimplemented("peripheral (slave) mode (CR1.MS)")
    dev._transfer()


def _dr_read(dev: Pl022) -> int:
    return dev._pop()


def _dr_write(dev: Pl022, value: int) -> None:
    dev._push(value)


def _sr_read(dev: Pl022) -> int:
    return dev.status()


def _ris_read(dev: Pl022) -> int:
    return dev.ris


def _mis_read(dev: Pl022) -> int:
    return dev.ris & dev.get("SSPIMSC")


def _after_imsc(dev: Pl022, old: int, value: int) -> None:
    dev._update_irq()


def _icr_write(dev: Pl022, value: int) -> None:
    dev.ris &= ~(value & (ROR | RT))
    dev._update_irq()


def _dmacr_write(dev: Pl022, value: int) -> None:
    if value & 3:
        dev.unimplemented("DMA (SSPDMACR)")


class Pl022(Device):
    """ARM PL022 SSP (DDI0194H) as QEMU models it: no slave attached, instant transfers."""

    SIZE = 0x1000
    IRQS = ("irq",)
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "SSPCR0", after_write=_after_cr0,
            fields=[F("DSS", 0, 4), F("FRF", 4, 2), F("SPO", 6), F("SPH", 7), F("SCR", 8, 8)]),
        Reg(0x004, "SSPCR1", after_write=_after_cr1,
            fields=[F("LBM", 0), F("SSE", 1), F("MS", 2), F("SOD", 3)]),
        Reg(0x008, "SSPDR", read=_dr_read, write=_dr_write, doc="TX FIFO on write, RX FIFO on read"),
        Reg(0x00C, "SSPSR", access=RO, reset=TFE | TNF, read=_sr_read, write=ro_write,
            fields=[F("TFE", 0, access=RO, reset=1), F("TNF", 1, access=RO, reset=1), F("RNE", 2, access=RO),
                    F("RFF", 3, access=RO), F("BSY", 4, access=RO)]),
        Reg(0x010, "SSPCPSR", fields=[F("CPSDVSR", 0, 8)]),
        Reg(0x014, "SSPIMSC", after_write=_after_imsc,
            fields=[F("RORIM", 0), F("RTIM", 1), F("RXIM", 2), F("TXIM", 3)]),
        Reg(0x018, "SSPRIS", access=RO, reset=TX, read=_ris_read, write=ro_write),
        Reg(0x01C, "SSPMIS", access=RO, read=_mis_read, write=ro_write),
        Reg(0x020, "SSPICR", access=WO, write=_icr_write,
            fields=[F("RORIC", 0, access=WO), F("RTIC", 1, access=WO)]),
        Reg(0x024, "SSPDMACR", access=RO, write=_dmacr_write, doc="DMA not modelled: reads 0"),
        *(Reg(0xFE0 + 4 * i, n, reset=v, access=RO, write=ro_write) for i, (n, v) in
          enumerate(zip(_ID_NAMES, _ID, strict=True))),
    )

    def __init__(self, name: str, clock: Clock, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.tx: deque[int] = deque()
        self.rx: deque[int] = deque()
        self.ris = TX
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.tx.clear()
        self.rx.clear()
        self._update_irq()

    def _mask(self) -> int:
        return (1 << ((self.get("SSPCR0") & 0xF) + 1)) - 1

    def status(self) -> int:
        sr = 0
        if not self.tx:
            sr |= TFE
        if len(self.tx) < FIFO_DEPTH:
            sr |= TNF
        if self.rx:
            sr |= RNE
        if len(self.rx) == FIFO_DEPTH:
            sr |= RFF
        if self.tx:
            sr |= BSY
        return sr

    def _push(self, value: int) -> None:
        if len(self.tx) < FIFO_DEPTH:
            self.tx.append(value & self._mask())
        self._transfer()

    def _pop(self) -> int:
        value = self.rx.popleft() if self.rx else 0
        self._transfer()
        return value

    def _transfer(self) -> None:
        if self.get("SSPCR1") & SSE:
            loopback = bool(self.get("SSPCR1") & LBM)
            while self.tx and len(self.rx) < FIFO_DEPTH:
                frame = self.tx.popleft()
                self.rx.append((frame if loopback else 0) & self._mask())
        self._update_irq()

    def _update_irq(self) -> None:
        ris = self.ris & (ROR | RT)
        if len(self.rx) >= 4:
            ris |= RX
        if len(self.tx) <= 4:
            ris |= TX
        self.ris = ris
        self.irq["irq"].set(ris & self.get("SSPIMSC"))

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(tx=list(self.tx), rx=list(self.rx), ris=self.ris)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.tx, self.rx, self.ris = deque(state["tx"]), deque(state["rx"]), state["ris"]
        self._update_irq()
