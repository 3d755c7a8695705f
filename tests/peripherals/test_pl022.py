"""Pl022: register checklist, FIFOs with no slave and in loopback, status polling, interrupts, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, wire

from emulator.clock import Clock
from peripherals.pl022 import Pl022

CR0, CR1, DR, SR, CPSR, IMSC, RIS, MIS, ICR, DMACR = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24
LBM, SSE = 1, 2
TFE, TNF, RNE, RFF, BSY = 1, 2, 4, 8, 16
RXI, TXI = 4, 8
IDS = {0xFE0: 0x22, 0xFE4: 0x10, 0xFE8: 0x04, 0xFEC: 0x00, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}


@pytest.fixture
def spi(clock: Clock) -> Pl022:
    return Pl022("spi0", clock)


def test_reset_values(spi: Pl022) -> None:
    expected = {CR0: 0, CR1: 0, DR: 0, SR: TFE | TNF, CPSR: 0, IMSC: 0, RIS: TXI, MIS: 0, DMACR: 0}
    for off, value in expected.items():
        assert spi.read(off, 4) == value, hex(off)
    for off, value in IDS.items():
        assert spi.read(off, 4) == value, hex(off)


def test_ro_writes_ignored(spi: Pl022) -> None:
    for off in (SR, RIS, MIS, *IDS):
        before = spi.read(off, 4)
        spi.write(off, 4, 0xFFFF)
        assert spi.read(off, 4) == before


def test_driver_polling_with_no_slave(spi: Pl022) -> None:
    """A driver's init and byte exchange: every frame answers 0, status polling ends."""
    spi.write(CR0, 4, 0x0007)          # 8-bit Motorola SPI
    spi.write(CPSR, 4, 0x1FE)
    assert spi.read(CPSR, 4) == 0xFE
    spi.write(CR1, 4, SSE)
    for byte in (0x9F, 0xAB, 0xFF):
        assert spi.read(SR, 4) & TNF
        spi.write(DR, 4, byte)
        assert spi.read(SR, 4) & RNE and not spi.read(SR, 4) & BSY
        assert spi.read(DR, 4) == 0
    assert spi.read(SR, 4) == TFE | TNF


def test_loopback_masks_to_frame_size(spi: Pl022) -> None:
    spi.write(CR0, 4, 0x0003)          # 4-bit frames
    spi.write(CR1, 4, LBM | SSE)
    spi.write(DR, 4, 0xABCD)
    assert spi.read(DR, 4) == 0xD


def test_fifos_stall_tx_when_rx_full(spi: Pl022) -> None:
    spi.write(CR0, 4, 0x000F)
    for n in range(10):                # disabled: TX fills to 8, further writes are dropped
        spi.write(DR, 4, n)
    assert spi.read(SR, 4) == BSY     # TX full (no TNF), not empty
    spi.write(CR1, 4, LBM | SSE)       # 8 move to RX
    assert spi.read(SR, 4) == TFE | TNF | RNE | RFF
    assert [spi.read(DR, 4) for _ in range(9)] == [*range(8), 0]


def test_rx_tx_interrupts(spi: Pl022) -> None:
    line = wire(spi)["irq"]
    spi.write(IMSC, 4, TXI)
    assert line.level                  # TX FIFO at most half full
    spi.write(IMSC, 4, RXI)
    assert not line.level
    spi.write(CR0, 4, 7)
    spi.write(CR1, 4, SSE)
    for n in range(4):
        spi.write(DR, 4, n)
    assert line.level and spi.read(MIS, 4) == RXI
    spi.read(DR, 4)
    assert not line.level
    spi.write(ICR, 4, 3)               # ROR/RT only: RX and TX cannot be cleared
    assert spi.read(RIS, 4) == TXI


def test_reset_and_snapshot(spi: Pl022, clock: Clock) -> None:
    spi.write(CR0, 4, 7)
    spi.write(CR1, 4, LBM | SSE)
    spi.write(DR, 4, 0x42)
    state = spi.get_state()
    twin = Pl022("spi0", Clock(HZ))
    twin.set_state(state)
    assert twin.get_state() == state and twin.read(DR, 4) == 0x42
    spi.reset()
    assert spi.read(SR, 4) == TFE | TNF and spi.read(CR1, 4) == 0 and spi.read(DR, 4) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([CR0, CR1, DR, SR, CPSR, IMSC, RIS, MIS, ICR, DMACR,
                                                          0x28, 0xFE0]),
                          st.integers(0, 0xFFFF_FFFF)), max_size=50))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int]]) -> None:
    spi = Pl022("fuzz", Clock(HZ))
    line = wire(spi)["irq"]
    for is_write, off, value in ops:
        if is_write:
            spi.write(off, 4, value)
        else:
            assert 0 <= spi.read(off, 4) <= 0xFFFF_FFFF
        assert line.level == bool(spi.read(MIS, 4))
        assert len(spi.tx) <= 8 and len(spi.rx) <= 8
