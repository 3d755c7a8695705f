"""Mps2Fpgaio: register checklist, LEDs and buttons, 1 Hz/100 Hz clocks, prescaler, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run

from emulator.clock import Clock
from peripherals.mps2_fpgaio import Mps2Fpgaio

LED0, BUTTON, CLK1HZ, CLK100HZ, COUNTER, PRESCALE, PSCNTR, MISC = (
    0x00, 0x08, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x4C)
ALL = (LED0, BUTTON, CLK1HZ, CLK100HZ, COUNTER, PRESCALE, PSCNTR, MISC)
CYCLES_100HZ = HZ // 100


@pytest.fixture
def io(clock: Clock) -> Mps2Fpgaio:
    return Mps2Fpgaio("fpgaio", clock)


def test_reset_values(io: Mps2Fpgaio) -> None:
    for offset in ALL:
        assert io.read(offset, 4) == 0, hex(offset)


def test_reset_restarts_counters_and_turns_leds_off(io: Mps2Fpgaio, clock: Clock) -> None:
    seen: list[int] = []
    io.on_leds.append(seen.append)
    io.write(LED0, 4, 3)
    io.write(PRESCALE, 4, 9)
    io.write(MISC, 4, 0xFF)
    io.write(COUNTER, 4, 77)
    run(clock, 3 * HZ)
    assert io.read(CLK1HZ, 4) == 3
    io.reset()
    for offset in ALL:
        assert io.read(offset, 4) == 0, hex(offset)
    assert seen == [3, 0]
    run(clock, HZ)
    assert io.read(CLK1HZ, 4) == 1


def test_unmapped_offsets_read_zero(io: Mps2Fpgaio) -> None:
    for offset in (0x04, 0x28, 0x50, 0xFFC):
        io.write(offset, 4, 0xFFFF_FFFF)
        assert io.read(offset, 4) == 0


def test_led0_two_bits_reported_on_change(io: Mps2Fpgaio) -> None:
    seen: list[int] = []
    io.on_leds.append(seen.append)
    io.write(LED0, 4, 0xFF)
    assert io.read(LED0, 4) == 3 and io.leds == 3
    io.write(LED0, 4, 0x7)
    io.write(LED0, 4, 0x1)
    assert seen == [3, 1]


def test_button_is_read_only_world_driven(clock: Clock) -> None:
    io = Mps2Fpgaio("fpgaio", clock, buttons=0b10)
    assert io.read(BUTTON, 4) == 0b10
    io.write(BUTTON, 4, 0)
    assert io.read(BUTTON, 4) == 0b10
    io.press_button(0)
    assert io.read(BUTTON, 4) == 0b11
    io.release_button(1)
    assert io.read(BUTTON, 4) == 0b01
    with pytest.raises(ValueError):
        io.press_button(2)


def test_misc_reads_as_written(io: Mps2Fpgaio) -> None:
    io.write(MISC, 4, 0xA5A5_0001)
    assert io.read(MISC, 4) == 0xA5A5_0001


def test_clk100hz_at_n_minus_1_n_n_plus_1(io: Mps2Fpgaio, clock: Clock) -> None:
    run(clock, CYCLES_100HZ - 1)
    assert io.read(CLK100HZ, 4) == 0
    run(clock, 1)
    assert io.read(CLK100HZ, 4) == 1
    run(clock, 1)
    assert io.read(CLK100HZ, 4) == 1
    run(clock, HZ - CYCLES_100HZ - 2)
    assert io.read(CLK1HZ, 4) == 0 and io.read(CLK100HZ, 4) == 99
    run(clock, 1)
    assert io.read(CLK1HZ, 4) == 1 and io.read(CLK100HZ, 4) == 100


def test_clock_counter_write_sets_base(io: Mps2Fpgaio, clock: Clock) -> None:
    run(clock, 12345)
    io.write(CLK1HZ, 4, 1000)
    io.write(CLK100HZ, 4, 0xFFFF_FFFF)
    assert io.read(CLK1HZ, 4) == 1000
    assert io.read(CLK100HZ, 4) == 0xFFFF_FFFF
    run(clock, HZ - 1)
    assert io.read(CLK1HZ, 4) == 1000
    run(clock, 1)
    assert io.read(CLK1HZ, 4) == 1001
    assert io.read(CLK100HZ, 4) == 99  # wrapped at 32 bits


def test_pscntr_and_counter_prescale(io: Mps2Fpgaio, clock: Clock) -> None:
    io.write(PRESCALE, 4, 5)
    io.write(PSCNTR, 4, 7)
    # QEMU's sequence: PSCNTR 7 6 5 4 3 2 1 0 5 4 3 2 1 0 5, COUNTER +1 at each reload
    expected = [(7, 0), (6, 0), (5, 0), (4, 0), (3, 0), (2, 0), (1, 0), (0, 0), (5, 1), (4, 1),
                (3, 1), (2, 1), (1, 1), (0, 1), (5, 2)]
    for k, (pscntr, counter) in enumerate(expected):
        if k:
            run(clock, 1)
        assert (io.read(PSCNTR, 4), io.read(COUNTER, 4)) == (pscntr, counter), k


def test_pscntr_big_jump_matches_small_steps(clock: Clock) -> None:
    a = Mps2Fpgaio("a", clock)
    b = Mps2Fpgaio("b", clock)
    for dev in (a, b):
        dev.write(PRESCALE, 4, 999)
    for _ in range(100):
        run(clock, 777)
        a.read(PSCNTR, 4)
    assert (a.read(PSCNTR, 4), a.read(COUNTER, 4)) == (b.read(PSCNTR, 4), b.read(COUNTER, 4))
    assert a.read(COUNTER, 4) == 1 + (77700 - 1) // 1000  # PSCNTR starts at 0: first tick reloads


def test_prescale_zero_counts_every_tick(io: Mps2Fpgaio, clock: Clock) -> None:
    run(clock, 10)
    assert io.read(PSCNTR, 4) == 0 and io.read(COUNTER, 4) == 10


def test_prescale_clock_setting(clock: Clock) -> None:
    io = Mps2Fpgaio("fpgaio", clock, prescale_hz=1_000_000)  # one tick every 25 cycles
    run(clock, 24)
    assert io.read(COUNTER, 4) == 0
    run(clock, 1)
    assert io.read(COUNTER, 4) == 1
    run(clock, 2500)
    assert io.read(COUNTER, 4) == 101
    io.write(COUNTER, 4, 5)
    assert io.read(COUNTER, 4) == 5
    with pytest.raises(ValueError):
        Mps2Fpgaio("x", clock, prescale_hz=0)


def test_snapshot_round_trip(io: Mps2Fpgaio, clock: Clock) -> None:
    io.write(LED0, 4, 2)
    io.press_button(1)
    io.write(PRESCALE, 4, 100)
    io.write(PSCNTR, 4, 50)
    io.write(CLK1HZ, 4, 40)
    run(clock, 777)
    state = io.get_state()
    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = Mps2Fpgaio("fpgaio", clock2)
    twin.set_state(state)
    for c in (clock, clock2):
        run(c, 12_345_678)
    for offset in ALL:
        assert twin.read(offset, 4) == io.read(offset, 4), hex(offset)
    assert twin.read(COUNTER, 4) > 0 and twin.read(CLK1HZ, 4) == 40


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF), st.integers(0, 10**9)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int, int]]) -> None:
    clock = Clock(HZ)
    io = Mps2Fpgaio("fuzz", clock)
    for is_write, offset, size, value, delay in ops:
        if is_write:
            io.write(offset, size, value)
        else:
            assert 0 <= io.read(offset, size) < (1 << (8 * size))
        run(clock, delay)
    assert io.read(LED0, 4) <= 3
