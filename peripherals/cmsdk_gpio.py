"""ARM CMSDK AHB GPIO (Cortex-M System Design Kit TRM, ARM DDI0479C §4.2 "AHB GPIO").

Sixteen pins. QEMU 7.2 maps these windows on ``mps2-an385``/``mps2-an511`` as
read-as-zero placeholders (``hw/arm/mps2.c`` creates "cmsdk-ahb-gpio"
unimplemented devices), so this model follows the TRM; every value a
firmware can read back from a register it wrote agrees with QEMU except
DATA/DATAOUT/the set-clear registers, which read 0 there.

Registers (offsets as the TRM and CMSIS ``CMSDK_GPIO_TypeDef``):
DATA 0x000 (read: the pins; write: DATAOUT), DATAOUT 0x004, OUTENSET/OUTENCLR
0x010/0x014, ALTFUNCSET/ALTFUNCCLR 0x018/0x01C, INTENSET/INTENCLR 0x020/0x024,
INTTYPESET/INTTYPECLR 0x028/0x02C (1 = edge, 0 = level), INTPOLSET/INTPOLCLR
0x030/0x034 (1 = rising edge / high level, 0 = falling / low), INTSTATUS
(read) / INTCLEAR (write one to clear) 0x038, MASKLOWBYTE 0x400-0x7FC and
MASKHIGHBYTE 0x800-0xBFC (address bits [9:2] are the mask for data bits
[7:0] / [15:8]: a read returns the masked pins, a write changes only the
masked DATAOUT bits), the PID/CID block (part 0x820: PID0 0x20). A SET
register reads the current value and ORs what is written; its CLR twin reads
the same value and clears the bits written. Byte and halfword accesses work
as on the AHB (the set/clear/mask semantics apply per written lane).

Pins. A pin is an output when its OUTEN bit is set and its ALTFUNC bit
clear: it then drives DATAOUT. Otherwise it reads the level the world drives
(``set_input``; inputs default low, as with pull-downs). DATA reads the pin
levels, so an output reads back what it drives. The two-cycle input
synchroniser is not modelled (a level set at a sync point is seen at once).
Alternate functions themselves are not modelled: ALTFUNC only hands the pin
to a function that does not exist here (logged once).

Interrupts. Per pin, with INTEN set: a level interrupt's status follows the
pin (high with INTPOL=1, low with INTPOL=0) and cannot be cleared while the
level lasts; an edge interrupt latches on the selected edge and stays until
INTCLEAR. INTSTATUS is the OR of both kinds, masked by INTEN. Outputs:
``pin0``..``pin15`` (GPIOINT[n]) and ``combined`` (COMBINT, the OR); the
platform file wires them (AN385: GPIO0..3 combined on IRQ 6, 7, 16, 17 and
GPIO0 pins 0-7 on IRQs 24-31, per the AN385 CMSIS header).

World side (called at sync points, e.g. from the RPC layer through
``Machine.post``): ``set_input(pin, level)``, ``inputs`` (the input levels),
``outputs()`` (mask of driven-high output pins), ``output_enable()`` (mask of
pins driving), ``pin(n)`` (a pin's level), and ``on_outputs`` callbacks,
called with the new ``outputs()`` mask whenever it changes (LEDs). The RPC
``Observe.Leds`` service and Robot's LED testers watch ``on_outputs`` and
``outputs()`` (``bridge/rpc_observe.py``: pins named ``gpio1.pin8``).

Not modelled: the alternate functions, the input synchroniser latency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import id_regs

__all__ = ["CmsdkAhbGpio", "NUM_PINS"]

NUM_PINS = 16
PINS = (1 << NUM_PINS) - 1
MASK_LOW, MASK_HIGH, MASK_END = 0x400, 0x800, 0xC00
ANY_SIZE = (1, 2, 4)


def _data_read(dev: CmsdkAhbGpio) -> int:
    return dev.levels()


def _data_write(dev: CmsdkAhbGpio, value: int) -> None:
    dev._set_dataout(value & PINS)


def _dataout_read(dev: CmsdkAhbGpio) -> int:
    return dev.dataout


def _set_clr(attr: str, setting: bool) -> tuple[Callable[[CmsdkAhbGpio], int],
                                                Callable[[CmsdkAhbGpio, int], None]]:
    def read(dev: CmsdkAhbGpio) -> int:
        return getattr(dev, attr)

    def write(dev: CmsdkAhbGpio, value: int) -> None:
        old = getattr(dev, attr)
        dev._store(attr, (old | value) & PINS if setting else old & ~value & PINS)

    return read, write


def _intstatus_read(dev: CmsdkAhbGpio) -> int:
    return dev.intstatus()


def _intclear_write(dev: CmsdkAhbGpio, value: int) -> None:
    dev._clear_edges(value & PINS)


def _pair(offset: int, name: str, attr: str) -> list[Reg]:
    set_read, set_write = _set_clr(attr, True)
    clr_read, clr_write = _set_clr(attr, False)
    return [Reg(offset, f"{name}SET", sizes=ANY_SIZE, read=set_read, write=set_write),
            Reg(offset + 4, f"{name}CLR", sizes=ANY_SIZE, read=clr_read, write=clr_write)]


class CmsdkAhbGpio(Device):
    """ARM CMSDK AHB GPIO, 16 pins (DDI0479C §4.2). Not modelled: alternate functions."""

    SIZE = 0x1000
    IRQS = ("combined", *(f"pin{n}" for n in range(NUM_PINS)))
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x000, "DATA", sizes=ANY_SIZE, read=_data_read, write=_data_write,
            doc="read: pin levels; write: DATAOUT"),
        Reg(0x004, "DATAOUT", sizes=ANY_SIZE, read=_dataout_read, write=_data_write),
        *_pair(0x010, "OUTEN", "outen"),
        *_pair(0x018, "ALTFUNC", "altfunc"),
        *_pair(0x020, "INTEN", "inten"),
        *_pair(0x028, "INTTYPE", "inttype"),
        *_pair(0x030, "INTPOL", "intpol"),
        Reg(0x038, "INTSTATUS", sizes=ANY_SIZE, read=_intstatus_read, write=_intclear_write,
            doc="read: INTSTATUS; write: INTCLEAR (one clears an edge interrupt)"),
        Reg(MASK_LOW, "MASKLOWBYTE", access=RO, doc="0x400-0x7FC: address bits [9:2] mask DATA[7:0]"),
        Reg(MASK_HIGH, "MASKHIGHBYTE", access=RO, doc="0x800-0xBFC: address bits [9:2] mask DATA[15:8]"),
        *id_regs(0x20),
    )

    def __init__(self, name: str, clock: Clock, *, inputs: int = 0, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.inputs = int(inputs) & PINS
        self.on_outputs: list[Callable[[int], None]] = []
        self._lines = [self.irq[f"pin{n}"] for n in range(NUM_PINS)]
        self._combined = self.irq["combined"]
        self._driven = 0
        self.reset()

    def reset(self) -> None:
        super().reset()
        before = self._driven
        self.dataout = self.outen = self.altfunc = 0
        self.inten = self.inttype = self.intpol = 0
        self._edges = 0
        self._last_levels = self.levels()
        self._driven = 0
        self._update_irq()
        if before:
            self._outputs_changed()

    # -- pins -----------------------------------------------------------------------
    def output_enable(self) -> int:
        """Pins that drive their DATAOUT bit (OUTEN set, ALTFUNC clear)."""
        return self.outen & ~self.altfunc & PINS

    def outputs(self) -> int:
        """Pins driving high."""
        return self.dataout & self.output_enable()

    def levels(self) -> int:
        """The level on every pin: outputs drive DATAOUT, the rest read the world's inputs."""
        oe = self.output_enable()
        return (self.dataout & oe) | (self.inputs & ~oe & PINS)

    def pin(self, n: int) -> bool:
        return bool(self.levels() >> self._check_pin(n) & 1)

    def set_input(self, pin: int, level: bool) -> None:
        """The world drives input ``pin`` (a button); seen by the next read, may interrupt."""
        bit = 1 << self._check_pin(pin)
        self.inputs = self.inputs | bit if level else self.inputs & ~bit
        self._pins_changed()

    @staticmethod
    def _check_pin(n: int) -> int:
        if not 0 <= n < NUM_PINS:
            raise ValueError(f"GPIO pin {n} out of range 0..{NUM_PINS - 1}")
        return n

    # -- register state ----------------------------------------------------------------
    def _store(self, attr: str, value: int) -> None:
        setattr(self, attr, value)
        if attr == "altfunc" and value:
            self.unimplemented("alternate functions (ALTFUNC)")
        self._pins_changed()

    def _set_dataout(self, value: int) -> None:
        self.dataout = value
        self._pins_changed()

    def _pins_changed(self) -> None:
        levels = self.levels()
        changed = levels ^ self._last_levels
        rising = changed & levels
        falling = changed & ~levels
        edge_pins = self.inten & self.inttype
        self._edges |= edge_pins & ((rising & self.intpol) | (falling & ~self.intpol))
        self._last_levels = levels
        self._update_irq()
        if self.outputs() != self._driven:
            self._outputs_changed()

    def _outputs_changed(self) -> None:
        self._driven = self.outputs()
        for callback in self.on_outputs:
            callback(self._driven)

    def _clear_edges(self, bits: int) -> None:
        self._edges &= ~bits
        self._update_irq()

    def intstatus(self) -> int:
        levels = self._last_levels
        level_pins = self.inten & ~self.inttype
        active = (levels & self.intpol) | (~levels & ~self.intpol)
        return ((level_pins & active) | (self._edges & self.inten)) & PINS

    def _update_irq(self) -> None:
        status = self.intstatus()
        for n, line in enumerate(self._lines):
            line.set(status >> n & 1)
        self._combined.set(status)

    # -- masked access -----------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        if MASK_LOW <= offset < MASK_END:
            return self._masked_read(offset, size)
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if MASK_LOW <= offset < MASK_END:
            self._masked_write(offset, size, value)
            return
        reg = self.REGS.by_offset.get(offset)
        if reg is None or reg.write is None or reg.offset >= MASK_LOW:
            super().write(offset, size, value)  # ID registers, holes: logged by the base class
            return
        # Only the written byte lanes act: a byte to OUTENCLR clears bits of that byte alone.
        shift = 8 * (offset - reg.offset)
        lane = ((1 << (8 * size)) - 1) << shift
        bits = (value << shift) & lane & PINS
        if reg.offset <= 0x004:
            self._set_dataout((self.dataout & ~lane) | bits)
        else:
            reg.write(self, bits)

    @staticmethod
    def _mask(offset: int) -> int:
        mask = (offset >> 2) & 0xFF
        return mask if offset < MASK_HIGH else mask << 8

    def _masked_read(self, offset: int, size: int) -> int:
        word = self.levels() & self._mask(offset)
        shift = 8 * (offset & 3)
        return (word >> shift) & ((1 << (8 * size)) - 1)

    def _masked_write(self, offset: int, size: int, value: int) -> None:
        shift = 8 * (offset & 3)
        lanes = (((1 << (8 * size)) - 1) << shift) & PINS
        mask = self._mask(offset & ~3) & lanes
        self._set_dataout((self.dataout & ~mask) | ((value << shift) & mask))

    # -- snapshots -----------------------------------------------------------------------
    _STATE = ("inputs", "dataout", "outen", "altfunc", "inten", "inttype", "intpol", "_edges",
              "_last_levels", "_driven")

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update({k: getattr(self, k) for k in self._STATE})
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        for k in self._STATE:
            setattr(self, k, state[k])
        self._update_irq()
