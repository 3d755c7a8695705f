"""BitBand: each alias word is one bit of the target, reads and read-modify-writes through the bus."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clock import Clock
from peripherals.bitband import BitBand

TARGET = 0x2000_0000


class Bus:
    """A little memory standing for the board's bus, with an access log."""

    def __init__(self) -> None:
        self.mem = bytearray(64)
        self.log: list[tuple[str, int, int]] = []

    def read(self, address: int, size: int) -> int:
        self.log.append(("r", address, size))
        off = address - TARGET
        return int.from_bytes(self.mem[off:off + size], "little")

    def write(self, address: int, size: int, value: int) -> None:
        self.log.append(("w", address, size))
        off = address - TARGET
        self.mem[off:off + size] = value.to_bytes(size, "little")


@pytest.fixture
def alias(clock: Clock) -> tuple[BitBand, Bus]:
    dev = BitBand("bitband", clock, target=TARGET)
    bus = Bus()
    dev.bus_read, dev.bus_write = bus.read, bus.write
    return dev, bus


def alias_offset(byte: int, bit: int) -> int:
    return byte * 32 + bit * 4


def test_word_access_sets_clears_and_reads_one_bit(alias) -> None:  # noqa: ANN001
    dev, bus = alias
    dev.write(alias_offset(5, 3), 4, 1)           # byte 5 bit 3 = word 4 bit 11
    assert bus.mem[5] == 0x08 and bus.log == [("r", TARGET + 4, 4), ("w", TARGET + 4, 4)]
    assert dev.read(alias_offset(5, 3), 4) == 1 and dev.read(alias_offset(5, 2), 4) == 0
    dev.write(alias_offset(5, 7), 4, 0xFFFF_FFFE)  # only bit 0 of the value counts: clear
    assert bus.mem[5] == 0x08
    dev.write(alias_offset(5, 3), 4, 0)
    assert bus.mem[5] == 0


def test_byte_and_halfword_accesses_use_their_size(alias) -> None:  # noqa: ANN001
    dev, bus = alias
    dev.write(alias_offset(9, 6), 1, 1)
    assert bus.mem[9] == 0x40 and bus.log[-1] == ("w", TARGET + 9, 1)
    dev.write(alias_offset(9, 1), 2, 1)            # halfword at byte 8, bit 9
    assert bus.mem[9] == 0x42 and bus.log[-1] == ("w", TARGET + 8, 2)


def test_target_must_be_aligned(clock: Clock) -> None:
    with pytest.raises(ValueError, match="1 MiB aligned"):
        BitBand("b", clock, target=0x2000_1000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.integers(0, 7), st.booleans()), max_size=40))
def test_alias_agrees_with_plain_bit_operations(ops: list[tuple[int, int, bool]]) -> None:
    dev = BitBand("bitband", Clock(1), target=TARGET)
    bus = Bus()
    dev.bus_read, dev.bus_write = bus.read, bus.write
    shadow = bytearray(64)
    for byte, bit, value in ops:
        dev.write(alias_offset(byte, bit), 4, int(value))
        shadow[byte] = shadow[byte] | (1 << bit) if value else shadow[byte] & ~(1 << bit)
        assert dev.read(alias_offset(byte, bit), 4) == int(value)
    assert bus.mem == shadow
