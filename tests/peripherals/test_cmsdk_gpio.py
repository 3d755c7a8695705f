"""CmsdkAhbGpio: register checklist, set/clear pairs, masked byte access, pins, level and edge interrupts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, wire

from emulator.clock import Clock
from peripherals.cmsdk_gpio import CmsdkAhbGpio

DATA, DATAOUT = 0x000, 0x004
OUTENSET, OUTENCLR, ALTFUNCSET, ALTFUNCCLR = 0x010, 0x014, 0x018, 0x01C
INTENSET, INTENCLR, INTTYPESET, INTTYPECLR = 0x020, 0x024, 0x028, 0x02C
INTPOLSET, INTPOLCLR, INTSTATUS = 0x030, 0x034, 0x038
MASKLOW, MASKHIGH = 0x400, 0x800
ID_VALUES = {0xFD0: 0x04, 0xFD4: 0, 0xFD8: 0, 0xFDC: 0, 0xFE0: 0x20, 0xFE4: 0xB8, 0xFE8: 0x1B,
             0xFEC: 0, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}
REGS = (DATA, DATAOUT, OUTENSET, OUTENCLR, ALTFUNCSET, ALTFUNCCLR, INTENSET, INTENCLR, INTTYPESET,
        INTTYPECLR, INTPOLSET, INTPOLCLR, INTSTATUS)


@pytest.fixture
def gpio(clock: Clock) -> CmsdkAhbGpio:
    return CmsdkAhbGpio("gpio0", clock)


def test_reset_values(gpio: CmsdkAhbGpio) -> None:
    for off in REGS:
        assert gpio.read(off, 4) == 0, hex(off)
    for off, value in ID_VALUES.items():
        assert gpio.read(off, 4) == value, hex(off)
    assert not any(line.level for line in gpio.irq.values())


def test_id_writes_ignored(gpio: CmsdkAhbGpio) -> None:
    for off, value in ID_VALUES.items():
        gpio.write(off, 4, 0xFFFF_FFFF)
        assert gpio.read(off, 4) == value


@pytest.mark.parametrize("set_off,clr_off", [(OUTENSET, OUTENCLR), (ALTFUNCSET, ALTFUNCCLR),
                                             (INTENSET, INTENCLR), (INTTYPESET, INTTYPECLR),
                                             (INTPOLSET, INTPOLCLR)])
def test_set_clear_pairs(gpio: CmsdkAhbGpio, set_off: int, clr_off: int) -> None:
    gpio.write(set_off, 4, 0xFFFF_00F0)   # only 16 pins exist
    assert gpio.read(set_off, 4) == gpio.read(clr_off, 4) == 0x00F0
    gpio.write(set_off, 4, 0x0101)
    assert gpio.read(set_off, 4) == 0x01F1
    gpio.write(clr_off, 4, 0x0011)
    assert gpio.read(clr_off, 4) == 0x01E0
    gpio.write(set_off + 1, 1, 0x80)       # a byte lane: bit 15 only
    assert gpio.read(set_off, 4) == 0x81E0
    gpio.write(clr_off, 1, 0xFF)           # clears the low byte, leaves the high one
    assert gpio.read(set_off, 4) == 0x8100
    assert gpio.read(set_off + 1, 1) == 0x81


def test_outputs_drive_pins_and_data_reads_pins(gpio: CmsdkAhbGpio) -> None:
    seen: list[int] = []
    gpio.on_outputs.append(seen.append)
    gpio.write(DATAOUT, 4, 0x00A5)
    assert gpio.outputs() == 0 and seen == []   # not enabled as outputs yet
    gpio.set_input(0, True)
    gpio.set_input(1, True)
    assert gpio.read(DATA, 4) == 0x0003         # inputs read the world
    gpio.write(OUTENSET, 4, 0x00FF)
    assert gpio.outputs() == 0x00A5 and seen == [0x00A5]
    assert gpio.read(DATA, 4) == 0x00A5         # outputs read back what they drive
    gpio.write(DATA, 4, 0x0F0F)                 # DATA writes DATAOUT
    assert gpio.read(DATAOUT, 4) == 0x0F0F and gpio.outputs() == 0x000F and seen[-1] == 0x000F
    gpio.write(ALTFUNCSET, 4, 0x0001)           # pin 0 handed to the (absent) alternate function
    assert gpio.output_enable() == 0x00FE and gpio.outputs() == 0x000E
    assert gpio.pin(0)                           # reads the world's input (high)
    gpio.write(DATAOUT + 1, 1, 0xFF)            # byte lane of DATAOUT
    assert gpio.read(DATAOUT, 4) == 0xFF0F
    with pytest.raises(ValueError):
        gpio.set_input(16, True)


def test_masked_byte_access(gpio: CmsdkAhbGpio) -> None:
    gpio.write(OUTENSET, 4, 0xFFFF)
    gpio.write(DATAOUT, 4, 0x1234)
    assert gpio.read(MASKLOW + 4 * 0xFF, 4) == 0x34
    assert gpio.read(MASKLOW + 4 * 0x0F, 4) == 0x04
    assert gpio.read(MASKHIGH + 4 * 0xFF, 4) == 0x1200
    assert gpio.read(MASKHIGH + 4 * 0x10, 4) == 0x1000
    gpio.write(MASKLOW + 4 * 0x03, 4, 0xFFFF_FFFF)   # bits 0 and 1 only
    assert gpio.read(DATAOUT, 4) == 0x1237
    gpio.write(MASKHIGH + 4 * 0x80, 4, 0x0000)       # bit 15 only: already 0
    gpio.write(MASKHIGH + 4 * 0x12, 4, 0x0000)       # bits 9 and 12 cleared
    assert gpio.read(DATAOUT, 4) == 0x0037


def test_level_interrupt_follows_the_pin(gpio: CmsdkAhbGpio) -> None:
    lines = wire(gpio)
    gpio.write(INTPOLSET, 4, 1 << 3)   # active high
    gpio.write(INTENSET, 4, 1 << 3)
    assert gpio.read(INTSTATUS, 4) == 0
    gpio.set_input(3, True)
    assert gpio.read(INTSTATUS, 4) == 1 << 3 and lines["pin3"].level and lines["combined"].level
    gpio.write(INTSTATUS, 4, 1 << 3)   # INTCLEAR cannot clear an active level
    assert gpio.read(INTSTATUS, 4) == 1 << 3
    gpio.set_input(3, False)
    assert gpio.read(INTSTATUS, 4) == 0 and lines["pin3"].edges == [True, False]
    gpio.write(INTPOLCLR, 4, 1 << 3)   # active low: the low pin asserts at once
    assert lines["pin3"].level and lines["combined"].edges == [True, False, True]


def test_edge_interrupt_latches_until_cleared(gpio: CmsdkAhbGpio) -> None:
    lines = wire(gpio)
    gpio.write(INTTYPESET, 4, 1 << 5)
    gpio.write(INTPOLSET, 4, 1 << 5)   # rising edge
    gpio.write(INTENSET, 4, 1 << 5)
    gpio.set_input(5, True)
    gpio.set_input(5, False)
    assert gpio.read(INTSTATUS, 4) == 1 << 5 and lines["pin5"].level   # latched after the pulse
    gpio.write(INTSTATUS, 1, 1 << 5)
    assert gpio.read(INTSTATUS, 4) == 0 and not lines["pin5"].level and not lines["combined"].level
    gpio.set_input(5, True)            # falling edges do not count with INTPOL = 1
    gpio.write(INTSTATUS, 4, 0xFFFF)
    gpio.set_input(5, False)
    assert gpio.read(INTSTATUS, 4) == 0
    gpio.write(INTENCLR, 4, 1 << 5)    # disabled: an edge does not latch
    gpio.set_input(5, True)
    gpio.write(INTENSET, 4, 1 << 5)
    assert gpio.read(INTSTATUS, 4) == 0


def test_output_edge_interrupts_too(gpio: CmsdkAhbGpio) -> None:
    """The interrupt logic watches the pin, so a pin the firmware drives can interrupt (self-test)."""
    lines = wire(gpio)
    gpio.write(OUTENSET, 4, 1 << 7)
    gpio.write(INTTYPESET, 4, 1 << 7)
    gpio.write(INTPOLCLR, 4, 1 << 7)   # falling edge
    gpio.write(INTENSET, 4, 1 << 7)
    gpio.write(DATAOUT, 4, 1 << 7)
    assert not lines["pin7"].level
    gpio.write(DATAOUT, 4, 0)
    assert lines["pin7"].level and gpio.read(INTSTATUS, 4) == 1 << 7


def test_reset_restores_everything(gpio: CmsdkAhbGpio) -> None:
    lines = wire(gpio)
    seen: list[int] = []
    gpio.on_outputs.append(seen.append)
    for off in (OUTENSET, INTENSET, INTTYPESET, INTPOLSET):
        gpio.write(off, 4, 0x00F0)
    gpio.write(ALTFUNCSET, 4, 0x0100)
    gpio.write(DATAOUT, 4, 0xFFFF)
    gpio.set_input(0, True)
    assert seen == [0x00F0]
    gpio.reset()
    for off in REGS[1:]:
        assert gpio.read(off, 4) == 0, hex(off)
    assert gpio.read(DATA, 4) == 1   # the world's input survives a board reset
    assert seen[-1] == 0 and not any(line.level for line in lines.values())


def test_snapshot_round_trip(gpio: CmsdkAhbGpio, clock: Clock) -> None:
    gpio.write(OUTENSET, 4, 0x000F)
    gpio.write(DATAOUT, 4, 0x0005)
    gpio.write(INTTYPESET, 4, 0x0100)
    gpio.write(INTPOLSET, 4, 0x0100)
    gpio.write(INTENSET, 4, 0x0100)
    gpio.set_input(8, True)
    state = gpio.get_state()
    twin = CmsdkAhbGpio("gpio0", Clock(HZ))
    lines = wire(twin)
    twin.set_state(state)
    assert twin.get_state() == state
    assert twin.read(INTSTATUS, 4) == 0x0100 and lines["pin8"].level and twin.outputs() == 0x0005


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    gpio = CmsdkAhbGpio("fuzz", Clock(HZ))
    lines = wire(gpio)
    for is_write, offset, size, value in ops:
        offset &= ~(size - 1)
        if is_write:
            gpio.write(offset, size, value & ((1 << (8 * size)) - 1))
        else:
            assert 0 <= gpio.read(offset, size) < (1 << (8 * size))
        status = gpio.intstatus()
        assert lines["combined"].level == bool(status)
        assert all(lines[f"pin{n}"].level == bool(status >> n & 1) for n in range(16))
