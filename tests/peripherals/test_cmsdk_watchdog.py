"""CmsdkApbWatchdog: register checklist, LOCK, timeouts at N-1/N/N+1, NMI line, reset request, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run, wire

from emulator.clock import Clock
from peripherals.cmsdk_watchdog import UNLOCK_KEY, CmsdkApbWatchdog

LOAD, VALUE, CTRL, INTCLR, RIS, MIS, LOCK, ITCR, ITOP = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14, 0xC00, 0xF00, 0xF04
INTEN, RESEN = 1, 2
ID_VALUES = {0xFD0: 0x04, 0xFD4: 0, 0xFD8: 0, 0xFDC: 0, 0xFE0: 0x24, 0xFE4: 0xB8, 0xFE8: 0x1B,
             0xFEC: 0, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}


class Board:
    def __init__(self, dev: CmsdkApbWatchdog) -> None:
        self.resets: list[str] = []
        dev.request_system_reset = self.resets.append


@pytest.fixture
def wdog(clock: Clock) -> CmsdkApbWatchdog:
    return CmsdkApbWatchdog("watchdog", clock)


def test_reset_values(wdog: CmsdkApbWatchdog) -> None:
    assert wdog.read(LOAD, 4) == 0xFFFF_FFFF and wdog.read(VALUE, 4) == 0xFFFF_FFFF
    for off in (CTRL, INTCLR, RIS, MIS, LOCK, ITCR, ITOP):
        assert wdog.read(off, 4) == 0, hex(off)
    for off, value in ID_VALUES.items():
        assert wdog.read(off, 4) == value, hex(off)


def test_ro_writes_ignored(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    for off in (VALUE, RIS, MIS, *ID_VALUES):
        before = wdog.read(off, 4)
        wdog.write(off, 4, 0x1234)
        assert wdog.read(off, 4) == before, hex(off)
    wdog.write(CTRL, 4, 0xFFFF_FFFC)
    assert wdog.read(CTRL, 4) == 0
    run(clock, 1000)
    assert wdog.read(VALUE, 4) == 0xFFFF_FFFF   # INTEN clear: the counter does not run


def test_lock_blocks_writes(wdog: CmsdkApbWatchdog) -> None:
    wdog.write(LOCK, 4, 1)
    assert wdog.read(LOCK, 4) == 1
    wdog.write(LOAD, 4, 100)
    wdog.write(CTRL, 4, INTEN)
    assert wdog.read(LOAD, 4) == 0xFFFF_FFFF and wdog.read(CTRL, 4) == 0
    wdog.write(LOCK, 4, UNLOCK_KEY)
    assert wdog.read(LOCK, 4) == 0
    wdog.write(LOAD, 4, 100)
    assert wdog.read(LOAD, 4) == 100 and wdog.read(VALUE, 4) == 100


@pytest.mark.parametrize("n", [1, 2, 25_000])
def test_timeouts_at_n_minus_1_n_n_plus_1(wdog: CmsdkApbWatchdog, clock: Clock, n: int) -> None:
    board, line = Board(wdog), wire(wdog)["int"]
    wdog.write(LOAD, 4, n)
    wdog.write(CTRL, 4, INTEN | RESEN)
    run(clock, n - 1)
    assert wdog.read(VALUE, 4) == 1 and wdog.read(RIS, 4) == 0 and not line.level
    run(clock, 1)
    assert wdog.read(RIS, 4) == 1 and wdog.read(MIS, 4) == 1 and line.edges == [True]
    assert board.resets == []
    run(clock, n)          # the count holds 0 one tick and reloads: the next timeout is n + 1 later
    assert board.resets == []
    run(clock, 1)
    assert board.resets == ["watchdog"] and wdog.deadline is None


def test_feeding_prevents_the_timeout(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    board, line = Board(wdog), wire(wdog)["int"]
    wdog.write(LOAD, 4, 1000)
    wdog.write(CTRL, 4, INTEN | RESEN)
    for _ in range(20):
        run(clock, 900)
        wdog.write(INTCLR, 4, 1)
    assert wdog.read(VALUE, 4) == 1000 and line.edges == [] and board.resets == []
    run(clock, 1000)
    assert line.level
    wdog.write(INTCLR, 4, 0)       # any value clears and reloads
    assert not line.level and wdog.read(RIS, 4) == 0 and wdog.read(VALUE, 4) == 1000


def test_no_reset_without_resen(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    board = Board(wdog)
    wdog.write(LOAD, 4, 10)
    wdog.write(CTRL, 4, INTEN)
    run(clock, 1000)
    assert wdog.read(RIS, 4) == 1 and board.resets == []


def test_inten_gates_the_line_and_reloads(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    line = wire(wdog)["int"]
    wdog.write(LOAD, 4, 50)
    wdog.write(CTRL, 4, INTEN)
    run(clock, 50)
    assert line.level
    wdog.write(CTRL, 4, 0)         # MIS = RIS & INTEN; the counter stops
    assert not line.level and wdog.read(RIS, 4) == 1 and wdog.read(MIS, 4) == 0
    frozen = wdog.read(VALUE, 4)
    run(clock, 500)
    assert wdog.read(VALUE, 4) == frozen
    wdog.write(CTRL, 4, INTEN)     # 0 -> 1 reloads from LOAD
    assert wdog.read(VALUE, 4) == 50 and line.level


def test_integration_test_outputs(wdog: CmsdkApbWatchdog) -> None:
    board, line = Board(wdog), wire(wdog)["int"]
    wdog.write(ITOP, 4, 2)
    assert not line.level          # ITCR clear: ITOP has no effect
    wdog.write(ITCR, 4, 1)
    assert line.level and wdog.read(ITOP, 4) == 0   # write-only
    wdog.write(ITOP, 4, 1)
    assert not line.level and board.resets == ["watchdog"]


def test_reset_restores_registers(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    line = wire(wdog)["int"]
    wdog.write(LOAD, 4, 10)
    wdog.write(CTRL, 4, INTEN)
    run(clock, 10)
    wdog.write(LOCK, 4, 0)
    wdog.reset()
    assert wdog.read(LOAD, 4) == 0xFFFF_FFFF and wdog.read(CTRL, 4) == 0 and wdog.read(LOCK, 4) == 0
    assert not line.level and wdog.deadline is None


def test_snapshot_round_trip(wdog: CmsdkApbWatchdog, clock: Clock) -> None:
    wdog.write(LOAD, 4, 1000)
    wdog.write(CTRL, 4, INTEN | RESEN)
    run(clock, 400)
    state = wdog.get_state()
    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = CmsdkApbWatchdog("watchdog", clock2)
    line = wire(twin)["int"]
    twin.set_state(state)
    assert twin.get_state() == state and twin.deadline == 1000
    for c, dev in ((clock, wdog), (clock2, twin)):
        assert dev.read(VALUE, 4) == 600
        run(c, 600)
        assert dev.read(RIS, 4) == 1
    assert line.edges == [True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([LOAD, VALUE, CTRL, INTCLR, RIS, MIS, LOCK, ITCR,
                                                          ITOP, 0xFE0, 0x18, 0x800]),
                          st.integers(0, 0xFFFF_FFFF), st.integers(0, 5000)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    clock = Clock(HZ)
    wdog = CmsdkApbWatchdog("fuzz", clock)
    Board(wdog)
    for is_write, offset, value, delay in ops:
        if is_write:
            wdog.write(offset, 4, value if offset != LOAD else value % 10_000)
        else:
            assert 0 <= wdog.read(offset, 4) <= 0xFFFF_FFFF
        run(clock, delay)
