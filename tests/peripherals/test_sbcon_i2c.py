"""SbconI2c: CONTROL/CONTROLS/CONTROLC, open-drain lines with no slave (address NACK), reset, snapshots."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ

from emulator.clock import Clock
from peripherals.sbcon_i2c import SbconI2c

CONTROL, CONTROLC = 0x0, 0x4
SCL, SDA = 1, 2


def test_reset_and_set_clear(clock: Clock) -> None:
    i2c = SbconI2c("i2c", clock)
    assert i2c.read(CONTROL, 4) == 0
    i2c.write(CONTROL, 4, 0xFFFF_FFFF)   # CONTROLS: only SCL/SDA
    assert i2c.read(CONTROL, 4) == SCL | SDA
    i2c.write(CONTROLC, 4, SDA)
    assert i2c.read(CONTROL, 4) == SCL
    i2c.write(CONTROLC, 4, SCL)
    assert i2c.read(CONTROL, 4) == 0
    assert i2c.read(CONTROLC, 4) == 0xFFFF_FFFF   # write-only: -1 with a guest error, as QEMU
    assert i2c.read(0x10, 4) == 0xFFFF_FFFF
    i2c.write(CONTROL, 4, SCL | SDA)
    i2c.reset()
    assert i2c.read(CONTROL, 4) == 0


def bitbang_address(i2c: SbconI2c, addr: int) -> bool:
    """Send START and an address byte; True when a slave ACKed (pulled SDA low on the 9th clock)."""
    i2c.write(CONTROL, 4, SCL | SDA)
    i2c.write(CONTROLC, 4, SDA)           # START: SDA falls while SCL high
    i2c.write(CONTROLC, 4, SCL)
    for bit in range(7, -1, -1):
        i2c.write(CONTROL if (addr >> bit) & 1 else CONTROLC, 4, SDA)
        i2c.write(CONTROL, 4, SCL)
        i2c.write(CONTROLC, 4, SCL)
    i2c.write(CONTROL, 4, SDA)            # release SDA for the ACK bit
    i2c.write(CONTROL, 4, SCL)
    ack = not i2c.read(CONTROL, 4) & SDA
    i2c.write(CONTROLC, 4, SCL)
    return ack


def test_no_slave_answers(clock: Clock) -> None:
    i2c = SbconI2c("i2c", clock)
    assert not bitbang_address(i2c, 0x38 << 1)
    state = i2c.get_state()
    twin = SbconI2c("i2c", Clock(HZ))
    twin.set_state(state)
    assert twin.read(CONTROL, 4) == i2c.read(CONTROL, 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF)), max_size=30))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    i2c = SbconI2c("fuzz", Clock(HZ))
    for is_write, off, size, value in ops:
        off &= ~(size - 1)
        if is_write:
            i2c.write(off, size, value & ((1 << (8 * size)) - 1))
        else:
            assert 0 <= i2c.read(off, size) < (1 << (8 * size))
