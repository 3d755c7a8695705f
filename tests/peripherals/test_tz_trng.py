"""TzTrng: the Mbed TZ-TRNG driver's sequence completes; seeded, deterministic words; IRQ; snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run, wire

from emulator.clock import Clock
from peripherals.tz_trng import TzTrng

IMR, ISR, ICR, CONFIG, VALID, EHR0 = 0x100, 0x104, 0x108, 0x10C, 0x110, 0x114
SRC_ENABLE, SAMPLE_CNT1, DEBUG_CONTROL, SW_RESET, BUSY = 0x12C, 0x130, 0x138, 0x140, 0x1B8


@pytest.fixture
def trng(clock: Clock) -> TzTrng:
    return TzTrng("trng", clock)


def test_reset_values(trng: TzTrng) -> None:
    expected = {IMR: 0xF, ISR: 0, CONFIG: 0, VALID: 0, SRC_ENABLE: 0, SAMPLE_CNT1: 0xFFFF, DEBUG_CONTROL: 0,
                BUSY: 0, **{EHR0 + 4 * i: 0 for i in range(6)}}
    for off, value in expected.items():
        assert trng.read(off, 4) == value, hex(off)


def read_ehr(trng: TzTrng, clock: Clock, sample_cnt: int = 100) -> list[int]:
    """One EHR the way Mbed's TZ-TRNG driver reads it (startTrngHW, CC_HalWaitInterrupt, 6 words)."""
    trng.write(SAMPLE_CNT1, 4, sample_cnt)
    assert trng.read(SAMPLE_CNT1, 4) == sample_cnt   # the driver spins until it reads back
    trng.write(SRC_ENABLE, 4, 0)
    trng.write(CONFIG, 4, 0)
    trng.write(DEBUG_CONTROL, 4, 0xA)
    trng.write(IMR, 4, 0xFFFFFFC5)
    trng.write(ICR, 4, 0xFFFF_FFFF)
    trng.write(SRC_ENABLE, 4, 1)
    assert trng.read(BUSY, 4) == 1
    run(clock, 192 * sample_cnt - 1)
    assert not trng.read(ISR, 4) & 1
    run(clock, 1)
    assert trng.read(ISR, 4) & 1 and trng.read(VALID, 4) == 1
    words = [trng.read(EHR0 + 4 * i, 4) for i in range(6)]
    trng.write(SRC_ENABLE, 4, 0)   # LLF_RND_TurnOffTrng
    trng.write(ICR, 4, 0xFFFF_FFFF)
    return words


def test_driver_sequence_is_deterministic_and_varied(trng: TzTrng, clock: Clock) -> None:
    first = [w for _ in range(4) for w in read_ehr(trng, clock)]
    assert len(set(first)) == len(first)                     # no repeats in 24 words
    ones = sum(bin(w).count("1") for w in first)
    assert 0.4 < ones / (32 * len(first)) < 0.6              # balanced bits
    twin_clock = Clock(HZ)
    twin = TzTrng("trng", twin_clock)
    assert [w for _ in range(4) for w in read_ehr(twin, twin_clock)] == first   # same seed, same words
    other_clock = Clock(HZ)
    other = TzTrng("trng", other_clock, seed=1)
    assert read_ehr(other, other_clock) != first[:6]


def test_irq_and_clear(trng: TzTrng, clock: Clock) -> None:
    line = wire(trng)["irq"]
    trng.write(SAMPLE_CNT1, 4, 1)
    trng.write(IMR, 4, 0xE)            # EHR_VALID unmasked
    trng.write(SRC_ENABLE, 4, 1)
    run(clock, 192)
    assert line.level
    trng.write(ICR, 4, 1)
    assert not line.level and trng.read(ISR, 4) == 0


def test_continuous_collection_and_sw_reset(trng: TzTrng, clock: Clock) -> None:
    trng.write(SAMPLE_CNT1, 4, 1)
    trng.write(SRC_ENABLE, 4, 1)
    run(clock, 192)
    a = [trng.read(EHR0 + 4 * i, 4) for i in range(6)]   # reading word 5 starts the next EHR
    assert trng.read(VALID, 4) == 0 and trng.read(BUSY, 4) == 1
    run(clock, 192)
    b = [trng.read(EHR0 + 4 * i, 4) for i in range(6)]
    assert a != b
    trng.write(SW_RESET, 4, 1)
    assert trng.read(SAMPLE_CNT1, 4) == 0xFFFF and trng.read(BUSY, 4) == 0


def test_snapshot_round_trip(trng: TzTrng, clock: Clock) -> None:
    trng.write(SAMPLE_CNT1, 4, 10)
    trng.write(SRC_ENABLE, 4, 1)
    run(clock, 100)
    state = trng.get_state()
    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = TzTrng("trng", clock2)
    twin.set_state(state)
    assert twin.get_state() == state
    run(clock, 1820)
    run(clock2, 1820)
    assert [twin.read(EHR0 + 4 * i, 4) for i in range(6)] == [trng.read(EHR0 + 4 * i, 4) for i in range(6)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0x0FC, 0x1F0), st.integers(0, 0xFFFF_FFFF),
                          st.integers(0, 50_000)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    clock = Clock(HZ)
    trng = TzTrng("fuzz", clock)
    line = wire(trng)["irq"]
    for is_write, off, value, delay in ops:
        off &= ~3
        if is_write:
            trng.write(off, 4, value if off != SAMPLE_CNT1 else value & 0xFF)
        else:
            assert 0 <= trng.read(off, 4) <= 0xFFFF_FFFF
        run(clock, delay)
        assert line.level == bool(trng.read(ISR, 4) & ~trng.read(IMR, 4) & 0xF)
