"""CmsdkApbTimer: register checklist, expiry at N-1/N/N+1, reload, one scheduled event, snapshots."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run, run_until, wire

from emulator.clock import Clock
from peripherals.cmsdk_timer import CmsdkApbTimer

CTRL, VALUE, RELOAD, INTSTATUS = 0x00, 0x04, 0x08, 0x0C
EN, SELEXTEN, SELEXTCLK, IRQEN = 1, 2, 4, 8
ID_VALUES = {0xFD0: 0x04, 0xFD4: 0, 0xFD8: 0, 0xFDC: 0, 0xFE0: 0x22, 0xFE4: 0xB8, 0xFE8: 0x1B,
             0xFEC: 0, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}


@pytest.fixture
def timer(clock: Clock) -> CmsdkApbTimer:
    return CmsdkApbTimer("timer0", clock)


def own_events(clock: Clock) -> list:
    return [t for t in clock.pending() if t.name.startswith("timer0")]


def test_reset_values(timer: CmsdkApbTimer) -> None:
    for offset in (CTRL, VALUE, RELOAD, INTSTATUS):
        assert timer.read(offset, 4) == 0, hex(offset)
    for offset, value in ID_VALUES.items():
        assert timer.read(offset, 4) == value, hex(offset)
    assert not timer.irq["timer"].level


def test_reset_restores_registers_cancels_event_and_lowers_line(timer: CmsdkApbTimer, clock: Clock) -> None:
    sink = wire(timer)["timer"]
    timer.write(RELOAD, 4, 10)
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 10)
    assert sink.level
    timer.write(INTSTATUS, 4, 1)
    assert [t.when for t in own_events(clock)] == [21]
    run(clock, 5)
    timer.reset()
    for offset in (CTRL, VALUE, RELOAD, INTSTATUS):
        assert timer.read(offset, 4) == 0, hex(offset)
    assert own_events(clock) == [] and not sink.level
    run(clock, 100)
    assert timer.read(VALUE, 4) == 0 and timer.read(INTSTATUS, 4) == 0


def test_ro_writes_ignored(timer: CmsdkApbTimer) -> None:
    for offset, value in ID_VALUES.items():
        timer.write(offset, 4, 0xFFFF_FFFF)
        assert timer.read(offset, 4) == value
    timer.write(CTRL, 4, 0xFFFF_FFF0)
    assert timer.read(CTRL, 4) == 0
    timer.write(INTSTATUS, 4, 0xFFFF_FFFF)
    assert timer.read(INTSTATUS, 4) == 0


def test_value_counts_down_one_per_cycle(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(RELOAD, 4, 1000)
    assert timer.read(VALUE, 4) == 1000
    run(clock, 300)
    assert timer.read(VALUE, 4) == 1000  # not enabled: frozen
    timer.write(CTRL, 4, EN)
    run(clock, 1)
    assert timer.read(VALUE, 4) == 999
    run(clock, 299)
    assert timer.read(VALUE, 4) == 700


@pytest.mark.parametrize("n", [1, 2, 25_000])
def test_expiry_at_n_minus_1_n_n_plus_1(timer: CmsdkApbTimer, clock: Clock, n: int) -> None:
    sink = wire(timer)["timer"]
    timer.write(INTSTATUS, 4, 1)
    timer.write(RELOAD, 4, n)
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, n - 1)
    assert timer.read(VALUE, 4) == 1
    assert timer.read(INTSTATUS, 4) == 0 and not sink.level
    run(clock, 1)
    assert timer.read(VALUE, 4) == 0
    assert timer.read(INTSTATUS, 4) == 1 and sink.edges == [True]
    run(clock, 1)
    assert timer.read(VALUE, 4) == n  # held 0 for one tick, then reloaded
    timer.write(INTSTATUS, 4, 1)
    assert sink.edges == [True, False]
    # periodic: next 1 -> 0 step is RELOAD + 1 ticks after the first one
    run_until(clock, 2 * n)
    assert timer.read(INTSTATUS, 4) == 0
    run(clock, 1)
    assert timer.read(INTSTATUS, 4) == 1 and sink.edges == [True, False, True]


def test_exactly_one_event_is_scheduled(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(RELOAD, 4, 100)
    timer.write(CTRL, 4, EN | IRQEN)
    assert [t.when for t in own_events(clock)] == [100]
    timer.write(RELOAD, 4, 50)  # re-armed, not added
    assert [t.when for t in own_events(clock)] == [50]
    run(clock, 50)
    assert own_events(clock) == []  # INTSTATUS set: further expiries change nothing
    run(clock, 40)
    timer.write(INTSTATUS, 4, 1)
    assert [t.when for t in own_events(clock)] == [101]


def test_no_interrupt_without_irqen(timer: CmsdkApbTimer, clock: Clock) -> None:
    sink = wire(timer)["timer"]
    timer.write(RELOAD, 4, 10)
    timer.write(CTRL, 4, EN)
    assert own_events(clock) == []
    run(clock, 100)
    assert timer.read(INTSTATUS, 4) == 0 and sink.edges == []
    # IRQEN later: the next expiry interrupts
    timer.write(CTRL, 4, EN | IRQEN)
    value = timer.read(VALUE, 4)
    run(clock, value - 1)
    assert timer.read(INTSTATUS, 4) == 0
    run(clock, 1)
    assert timer.read(INTSTATUS, 4) == 1 and sink.level


def test_reload_zero_never_interrupts(timer: CmsdkApbTimer, clock: Clock) -> None:
    sink = wire(timer)["timer"]
    timer.write(CTRL, 4, EN | IRQEN)
    assert own_events(clock) == []
    run(clock, 1_000_000)
    assert timer.read(VALUE, 4) == 0 and timer.read(INTSTATUS, 4) == 0 and sink.edges == []


def test_value_write_with_reload_zero_counts_once_then_stops(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(CTRL, 4, EN | IRQEN)
    timer.write(VALUE, 4, 5)
    run(clock, 4)
    assert timer.read(VALUE, 4) == 1 and timer.read(INTSTATUS, 4) == 0
    run(clock, 1)
    assert timer.read(VALUE, 4) == 0 and timer.read(INTSTATUS, 4) == 1  # the 1 -> 0 step
    timer.write(INTSTATUS, 4, 1)
    run(clock, 1000)
    assert timer.read(VALUE, 4) == 0 and timer.read(INTSTATUS, 4) == 0


def test_value_write_restarts_the_count(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(RELOAD, 4, 100)
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 60)
    timer.write(VALUE, 4, 30)
    run(clock, 29)
    assert timer.read(INTSTATUS, 4) == 0 and timer.read(VALUE, 4) == 1
    run(clock, 1)
    assert timer.read(INTSTATUS, 4) == 1
    run(clock, 1)
    assert timer.read(VALUE, 4) == 100


def test_disable_freezes_and_enable_resumes(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(RELOAD, 4, 100)
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 40)
    timer.write(CTRL, 4, IRQEN)
    assert own_events(clock) == []
    run(clock, 500)
    assert timer.read(VALUE, 4) == 60 and timer.read(INTSTATUS, 4) == 0
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 59)
    assert timer.read(INTSTATUS, 4) == 0
    run(clock, 1)
    assert timer.read(INTSTATUS, 4) == 1


def test_intclear_rearms_on_the_period_grid(timer: CmsdkApbTimer, clock: Clock) -> None:
    """Expiries stay on the RELOAD + 1 grid whenever INTSTATUS is cleared."""
    timer.write(RELOAD, 4, 9)  # period 10: expiries at 9, 19, 29, ...
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 15)
    timer.write(INTSTATUS, 4, 1)
    assert [t.when for t in own_events(clock)] == [19]


def test_extin_logged_once_as_unimplemented(timer: CmsdkApbTimer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vboard.unimplemented"):
        timer.write(CTRL, 4, SELEXTEN)
        timer.write(CTRL, 4, SELEXTCLK)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("timer0: EXTIN (CTRL.SELEXTEN/SELEXTCLK) is not modelled") == 1
    assert timer.read(CTRL, 4) == SELEXTCLK


def test_snapshot_round_trip_with_pending_deadline(timer: CmsdkApbTimer, clock: Clock) -> None:
    timer.write(RELOAD, 4, 1000)
    timer.write(CTRL, 4, EN | IRQEN)
    run(clock, 400)
    state = timer.get_state()
    assert state["deadline"] == 1000

    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = CmsdkApbTimer("timer0", clock2)
    sink = wire(twin)["timer"]
    twin.set_state(state)
    assert [t.when for t in own_events(clock2)] == [1000]
    for c, dev in ((clock, timer), (clock2, twin)):
        assert dev.read(VALUE, 4) == 600
        assert dev.read(CTRL, 4) == EN | IRQEN
        run(c, 599)
        assert dev.read(INTSTATUS, 4) == 0
        run(c, 1)
        assert dev.read(INTSTATUS, 4) == 1
        run(c, 1)
        assert dev.read(VALUE, 4) == 1000
    assert sink.edges == [True]
    assert timer.get_state() == twin.get_state()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF), st.integers(0, 100_000)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int, int]]) -> None:
    clock = Clock(HZ)
    timer = CmsdkApbTimer("fuzz", clock)
    sink = wire(timer)["timer"]
    for is_write, offset, size, value, delay in ops:
        if is_write:
            timer.write(offset, size, value)
        else:
            assert 0 <= timer.read(offset, size) < (1 << (8 * size))
        run(clock, delay)
        assert sink.level == bool(timer.read(INTSTATUS, 4) & 1)
        assert len([t for t in clock.pending() if t.name.startswith("fuzz")]) <= 1
