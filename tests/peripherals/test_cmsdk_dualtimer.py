"""CmsdkApbDualTimer: register checklist, modes, prescaler, RIS/MIS, test mode, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run, run_until, wire

from emulator.clock import Clock
from peripherals.cmsdk_dualtimer import CmsdkApbDualTimer

LOAD, VALUE, CONTROL, INTCLR, RIS, MIS, BGLOAD = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14, 0x18
T2 = 0x20
ITCR, ITOP = 0xF00, 0xF04
ONESHOT, SIZE32, INTEN, PERIODIC, ENABLE = 0x01, 0x02, 0x20, 0x40, 0x80
DIV16, DIV256 = 0x04, 0x08
ID_VALUES = {0xFD0: 0x04, 0xFD4: 0, 0xFD8: 0, 0xFDC: 0, 0xFE0: 0x23, 0xFE4: 0xB8, 0xFE8: 0x1B,
             0xFEC: 0, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}


@pytest.fixture
def dt(clock: Clock) -> CmsdkApbDualTimer:
    return CmsdkApbDualTimer("dualtimer", clock)


def test_reset_values(dt: CmsdkApbDualTimer) -> None:
    for base in (0, T2):
        assert dt.read(base + LOAD, 4) == 0
        assert dt.read(base + VALUE, 4) == 0xFFFF_FFFF
        assert dt.read(base + CONTROL, 4) == 0x20
        assert dt.read(base + INTCLR, 4) == 0
        assert dt.read(base + RIS, 4) == 0
        assert dt.read(base + MIS, 4) == 0
        assert dt.read(base + BGLOAD, 4) == 0
    assert dt.read(ITCR, 4) == 0 and dt.read(ITOP, 4) == 0
    for offset, value in ID_VALUES.items():
        assert dt.read(offset, 4) == value, hex(offset)
    assert not any(line.level for line in dt.irq.values())


def test_reset_restores_everything(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    sinks = wire(dt)
    dt.write(LOAD, 4, 5)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    dt.write(T2 + LOAD, 4, 7)
    run(clock, 5)
    assert sinks["combined"].level
    dt.reset()
    test_reset_values(dt)
    assert not sinks["combined"].level and not sinks["timer1"].level
    assert [t for t in clock.pending() if t.name.startswith("dualtimer")] == []


def test_ro_writes_ignored(dt: CmsdkApbDualTimer) -> None:
    dt.write(VALUE, 4, 0x1234)
    assert dt.read(VALUE, 4) == 0xFFFF_FFFF
    dt.write(RIS, 4, 1)
    dt.write(MIS, 4, 1)
    assert dt.read(RIS, 4) == 0 and dt.read(MIS, 4) == 0
    dt.write(CONTROL, 4, 0xFFFF_FF10)  # only ONESHOT/SIZE/PRESCALE/INTEN/MODE/ENABLE exist
    assert dt.read(CONTROL, 4) == 0
    for offset, value in ID_VALUES.items():
        dt.write(offset, 4, 0xFF)
        assert dt.read(offset, 4) == value


@pytest.mark.parametrize("n", [1, 3, 100_000])
def test_periodic_32bit_expiry_at_n_minus_1_n_n_plus_1(dt: CmsdkApbDualTimer, clock: Clock, n: int) -> None:
    sinks = wire(dt)
    dt.write(LOAD, 4, n)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    run(clock, n - 1)
    assert dt.read(VALUE, 4) == 1 and dt.read(RIS, 4) == 0 and not sinks["timer1"].level
    run(clock, 1)
    assert dt.read(VALUE, 4) == 0
    assert dt.read(RIS, 4) == 1 and dt.read(MIS, 4) == 1
    assert sinks["timer1"].edges == [True] and sinks["combined"].edges == [True]
    assert sinks["timer2"].edges == []
    run(clock, 1)
    assert dt.read(VALUE, 4) == n
    dt.write(INTCLR, 4, 0)  # any value clears
    assert dt.read(RIS, 4) == 0 and sinks["timer1"].edges == [True, False]
    run_until(clock, 2 * n)
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1


def test_free_running_16bit_wraps(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(CONTROL, 4, ENABLE | INTEN)
    run(clock, 0xFFFE)
    assert dt.read(VALUE, 4) == 0xFFFF_0001  # upper half is what reset left there
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(VALUE, 4) == 0xFFFF_0000 and dt.read(RIS, 4) == 1
    run(clock, 1)
    assert dt.read(VALUE, 4) == 0xFFFF_FFFF
    dt.write(INTCLR, 4, 1)
    run_until(clock, 0xFFFF + 0x10000 - 1)  # the period is 0x10000 ticks
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1


def test_free_running_ignores_load_as_limit(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 10)  # loads the count, but the wrap is at 0xFFFFFFFF
    dt.write(CONTROL, 4, ENABLE | SIZE32 | INTEN)
    run(clock, 11)
    assert dt.read(VALUE, 4) == 0xFFFF_FFFF and dt.read(RIS, 4) == 1


def test_16bit_load_masks_count_keeps_upper_half(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 0x0012_0005)
    assert dt.read(VALUE, 4) == 0x0012_0005
    assert dt.read(LOAD, 4) == 0x0012_0005
    dt.write(CONTROL, 4, ENABLE | PERIODIC | INTEN)
    run(clock, 5)
    assert dt.read(VALUE, 4) == 0x0012_0000 and dt.read(RIS, 4) == 1
    run(clock, 1)
    assert dt.read(VALUE, 4) == 0x0012_0005


def test_prescale_divides_the_tick(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 10)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN | DIV16)
    run(clock, 15)
    assert dt.read(VALUE, 4) == 10
    run(clock, 1)
    assert dt.read(VALUE, 4) == 9
    run_until(clock, 159)
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1 and dt.read(VALUE, 4) == 0
    dt.write(T2 + LOAD, 4, 2)
    dt.write(T2 + CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN | DIV256)
    start = clock.now
    run_until(clock, start + 2 * 256 - 1)
    assert dt.read(T2 + RIS, 4) == 0
    run(clock, 1)
    assert dt.read(T2 + RIS, 4) == 1


def test_oneshot_expires_once_and_stops(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 50)
    dt.write(CONTROL, 4, ENABLE | ONESHOT | PERIODIC | SIZE32 | INTEN)
    run(clock, 49)
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1
    dt.write(INTCLR, 4, 1)
    run(clock, 10_000)
    assert dt.read(VALUE, 4) == 0 and dt.read(RIS, 4) == 0
    assert dt.deadlines == (None, None)
    dt.write(LOAD, 4, 5)  # a LOAD write restarts an expired one-shot timer
    run(clock, 5)
    assert dt.read(RIS, 4) == 1


def test_mis_is_ris_masked_by_inten(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    sinks = wire(dt)
    dt.write(T2 + LOAD, 4, 4)
    dt.write(T2 + CONTROL, 4, ENABLE | PERIODIC | SIZE32)
    run(clock, 4)
    assert dt.read(T2 + RIS, 4) == 1 and dt.read(T2 + MIS, 4) == 0
    assert sinks["timer2"].edges == [] and sinks["combined"].edges == []
    dt.write(T2 + CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    assert dt.read(T2 + MIS, 4) == 1
    assert sinks["timer2"].edges == [True] and sinks["combined"].edges == [True]
    assert sinks["timer1"].edges == []
    dt.write(T2 + INTCLR, 4, 1)
    assert sinks["timer2"].edges == [True, False] and sinks["combined"].edges == [True, False]


def test_combined_is_or_of_both(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    sinks = wire(dt)
    for base, n in ((0, 10), (T2, 20)):
        dt.write(base + LOAD, 4, n)
        dt.write(base + CONTROL, 4, ENABLE | ONESHOT | SIZE32 | INTEN | PERIODIC)
    run(clock, 20)
    assert sinks["timer1"].level and sinks["timer2"].level and sinks["combined"].edges == [True]
    dt.write(INTCLR, 4, 1)
    assert sinks["combined"].level
    dt.write(T2 + INTCLR, 4, 1)
    assert sinks["combined"].edges == [True, False]


def test_bgload_changes_next_period_not_the_count(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 100)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    run(clock, 30)
    dt.write(BGLOAD, 4, 10)
    assert dt.read(VALUE, 4) == 70 and dt.read(LOAD, 4) == 10 and dt.read(BGLOAD, 4) == 10
    run(clock, 70)
    assert dt.read(RIS, 4) == 1
    dt.write(INTCLR, 4, 1)
    run(clock, 1)
    assert dt.read(VALUE, 4) == 10
    run(clock, 9)
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1


def test_disable_freezes_the_count(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 100)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    run(clock, 25)
    dt.write(CONTROL, 4, PERIODIC | SIZE32 | INTEN)
    run(clock, 1000)
    assert dt.read(VALUE, 4) == 75 and dt.read(RIS, 4) == 0
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN)
    run(clock, 75)
    assert dt.read(RIS, 4) == 1


def test_size_switch_keeps_upper_half(dt: CmsdkApbDualTimer) -> None:
    dt.write(CONTROL, 4, SIZE32)
    dt.write(LOAD, 4, 0xABCD_1234)
    dt.write(CONTROL, 4, 0)
    assert dt.read(VALUE, 4) == 0xABCD_1234
    dt.write(CONTROL, 4, SIZE32)
    assert dt.read(VALUE, 4) == 0xABCD_1234


def test_integration_test_mode_drives_outputs(dt: CmsdkApbDualTimer) -> None:
    sinks = wire(dt)
    dt.write(ITOP, 4, 0b11)
    assert sinks["combined"].edges == []  # ITOP only matters with ITCR.ENABLE
    dt.write(ITCR, 4, 1)
    assert sinks["timer1"].level and sinks["timer2"].level and sinks["combined"].level
    dt.write(ITOP, 4, 0b10)
    assert not sinks["timer1"].level and sinks["timer2"].level
    assert dt.read(ITOP, 4) == 0  # write-only
    dt.write(ITCR, 4, 0)
    assert not sinks["timer2"].level and not sinks["combined"].level


def test_undefined_prescale_logged_as_guest_error(dt: CmsdkApbDualTimer, clock: Clock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="vboard.guest_error"):
        dt.write(LOAD, 4, 1)
        dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | 0x0C)
    assert any("PRESCALE=0b11" in r.getMessage() for r in caplog.records)
    run(clock, 255)
    assert dt.read(RIS, 4) == 0
    run(clock, 1)
    assert dt.read(RIS, 4) == 1  # treated as /256


def test_snapshot_round_trip_with_pending_deadlines(dt: CmsdkApbDualTimer, clock: Clock) -> None:
    dt.write(LOAD, 4, 1000)
    dt.write(CONTROL, 4, ENABLE | PERIODIC | SIZE32 | INTEN | DIV16)
    dt.write(T2 + LOAD, 4, 300)
    dt.write(T2 + CONTROL, 4, ENABLE | ONESHOT | INTEN | PERIODIC)
    run(clock, 123)
    state = dt.get_state()
    assert state["deadlines"] == [16000, 300]

    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = CmsdkApbDualTimer("dualtimer", clock2)
    sinks = wire(twin)
    twin.set_state(state)
    assert twin.deadlines == (16000, 300)
    for c, dev in ((clock, dt), (clock2, twin)):
        assert dev.read(VALUE, 4) == 1000 - 123 // 16
        assert dev.read(T2 + VALUE, 4) == 300 - 123  # LOAD wrote the upper half too
        run_until(c, 299)
        assert dev.read(T2 + RIS, 4) == 0
        run(c, 1)
        assert dev.read(T2 + RIS, 4) == 1
        run_until(c, 15999)
        assert dev.read(RIS, 4) == 0
        run(c, 1)
        assert dev.read(RIS, 4) == 1
    assert sinks["timer2"].edges == [True] and sinks["timer1"].edges == [True]
    assert dt.get_state() == twin.get_state()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF), st.integers(0, 100_000)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int, int]]) -> None:
    clock = Clock(HZ)
    dt = CmsdkApbDualTimer("fuzz", clock)
    sinks = wire(dt)
    for is_write, offset, size, value, delay in ops:
        if is_write:
            dt.write(offset, size, value)
        else:
            assert 0 <= dt.read(offset, size) < (1 << (8 * size))
        run(clock, delay)
        assert sinks["combined"].level == (sinks["timer1"].level or sinks["timer2"].level)
        if not dt.read(ITCR, 4):
            assert sinks["timer1"].level == bool(dt.read(MIS, 4))
