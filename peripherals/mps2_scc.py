"""MPS2 FPGA system control block, "SCC" (ARM MPS2 TRM 100112 and AN385 §3.x).

Behaviour follows QEMU's ``hw/misc/mps2-scc.c`` as configured by
``hw/arm/mps2.c`` for ``mps2-an385``.

* CFG0 (remap, bit 0) and CFG1 (the user LEDs, bits 7:0) read as written;
  LED changes are reported to ``on_leds`` callbacks (world side).
* CFG2 reads as written (on AN385 QEMU treats it as absent; firmware does
  not touch it). CFG3 (user switches) reads 0. CFG4 is the board revision,
  setting ``cfg4`` (default 0x2, as QEMU's AN385).
* CFGCTRL/CFGSTAT/CFGDATA_RTN/CFGDATA_OUT: the serial configuration channel
  to the motherboard controller. A CFGCTRL write clears CFGSTAT; with START
  (bit 31) the transaction completes at once: FUNCTION (bits 25:20) must be
  1 (OSCCLK) and DEVICE (bits 11:0) below the number of oscillators, else
  CFGSTAT.ERROR. WRITE (bit 30) stores CFGDATA_OUT into that OSCCLK, otherwise
  CFGDATA_RTN receives it. START and the reserved bits are not stored.
  CFGCTRL resets to 0x00100000 (FUNCTION = 1).
* DLL reads 0xFFFF0001 at reset (all DLLs locked); only the lock mask
  bits 31:24 are writable. AID (setting ``aid``, 0x00200008) and ID
  (setting ``scc_id``, 0x41043850 = AN385) are read-only.
* Setting ``oscclk``: the oscillator frequencies, default QEMU's
  [50000000, 24576000, 25000000]. They are reported only; the machine clock
  does not follow an OSCCLK write.

Not modelled: the memory remap driven by CFG0 bit 0 (logged once), the
effect of OSCCLK writes on any clock, the MCC configuration beyond OSCCLK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, RSVD, SC, F, Reg, RegMap
from emulator.clock import Clock

__all__ = ["Mps2Scc"]

DEFAULT_OSCCLK = (50_000_000, 24_576_000, 25_000_000)
DEFAULT_SCC_ID = 0x4104_3850
DEFAULT_AID = 0x0020_0008
DEFAULT_CFG4 = 0x2

CFGCTRL_DEVICE_MASK = 0xFFF
CFGCTRL_FUNCTION_LSB, CFGCTRL_FUNCTION_MASK = 20, 0x3F << 20
CFGCTRL_WRITE, CFGCTRL_START = 1 << 30, 1 << 31
CFGSTAT_DONE, CFGSTAT_ERROR = 1 << 0, 1 << 1
FUNCTION_OSCCLK = 1


def _cfg0_written(dev: Mps2Scc, old: int, value: int) -> None:
    if dev.get("CFG0") & 1:
        dev.unimplemented("CFG0 bit 0 (memory remap)")


def _cfg1_written(dev: Mps2Scc, old: int, value: int) -> None:
    dev._leds_changed(old)


def _cfgctrl_written(dev: Mps2Scc, old: int, value: int) -> None:
    dev._cfg_transaction(value)


def _id_read(dev: Mps2Scc) -> int:
    return dev.scc_id


def _aid_read(dev: Mps2Scc) -> int:
    return dev.aid


def _cfg4_read(dev: Mps2Scc) -> int:
    return dev.cfg4


class Mps2Scc(Device):
    """MPS2 SCC (FPGA system control). Not modelled: remap, OSCCLK effects."""

    SIZE = 0x1000
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "CFG0", after_write=_cfg0_written, doc="bit 0: remap"),
        Reg(0x004, "CFG1", fields=[F("LEDS", 0, 8)], after_write=_cfg1_written, doc="user LEDs"),
        Reg(0x008, "CFG2"),
        Reg(0x00C, "CFG3", access=RO, doc="user switches, read 0"),
        Reg(0x010, "CFG4", access=RO, read=_cfg4_read, doc="board revision"),
        Reg(0x0A0, "CFGDATA_RTN"),
        Reg(0x0A4, "CFGDATA_OUT"),
        Reg(0x0A8, "CFGCTRL", reset=0x0010_0000, after_write=_cfgctrl_written,
            fields=[F("DEVICE", 0, 12), F("RES1", 12, 8, RSVD), F("FUNCTION", 20, 6),
                    F("RES2", 26, 4, RSVD), F("WRITE", 30), F("START", 31, access=SC)]),
        Reg(0x0AC, "CFGSTAT", fields=[F("DONE", 0, access=RO), F("ERROR", 1, access=RO)]),
        Reg(0x100, "DLL", reset=0xFFFF_0001,
            fields=[F("LOCKED", 0, access=RO, reset=1), F("DLL_LOCKED", 16, 8, RO, reset=0xFF),
                    F("DLL_LOCK_MASK", 24, 8, reset=0xFF)]),
        Reg(0xFF8, "AID", access=RO, read=_aid_read),
        Reg(0xFFC, "ID", access=RO, read=_id_read),
    )

    def __init__(self, name: str, clock: Clock, *, scc_id: int = DEFAULT_SCC_ID,
                 oscclk: Sequence[int] = DEFAULT_OSCCLK, aid: int = DEFAULT_AID,
                 cfg4: int = DEFAULT_CFG4, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.scc_id = int(scc_id) & 0xFFFF_FFFF
        self.aid = int(aid) & 0xFFFF_FFFF
        self.cfg4 = int(cfg4) & 0xFFFF_FFFF
        self.oscclk_reset: tuple[int, ...] = tuple(int(f) & 0xFFFF_FFFF for f in oscclk)
        self.oscclk: list[int] = list(self.oscclk_reset)
        self.on_leds: list[Callable[[int], None]] = []
        self._i_cfg1 = self.REGS["CFG1"].index
        self.reset()

    def reset(self) -> None:
        leds_before = self.r[self._i_cfg1] & 0xFF
        super().reset()
        self.oscclk = list(self.oscclk_reset)
        self._leds_changed(leds_before)

    @property
    def leds(self) -> int:
        return self.r[self._i_cfg1] & 0xFF

    def _leds_changed(self, old: int) -> None:
        new = self.leds
        if new != old & 0xFF:
            for callback in self.on_leds:
                callback(new)

    def _cfg_transaction(self, value: int) -> None:
        self.set("CFGSTAT", 0)
        if not value & CFGCTRL_START:
            return
        ctrl = self.get("CFGCTRL")
        device = ctrl & CFGCTRL_DEVICE_MASK
        function = (ctrl & CFGCTRL_FUNCTION_MASK) >> CFGCTRL_FUNCTION_LSB
        status = CFGSTAT_DONE
        kind = "write" if ctrl & CFGCTRL_WRITE else "read"
        if function != FUNCTION_OSCCLK or device >= len(self.oscclk):
            self.guest_error(f"config {kind}: bad function {function} device {device}")
            status |= CFGSTAT_ERROR
        elif ctrl & CFGCTRL_WRITE:
            self.oscclk[device] = self.get("CFGDATA_OUT")
        else:
            self.set("CFGDATA_RTN", self.oscclk[device])
        self.set("CFGSTAT", status)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["oscclk"] = list(self.oscclk)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.oscclk = list(state["oscclk"])
