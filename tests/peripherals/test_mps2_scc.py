"""Mps2Scc: register checklist, OSCCLK transactions, LEDs, settings, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ

from emulator.clock import Clock
from peripherals.mps2_scc import Mps2Scc

CFG0, CFG1, CFG2, CFG3, CFG4 = 0x00, 0x04, 0x08, 0x0C, 0x10
CFGDATA_RTN, CFGDATA_OUT, CFGCTRL, CFGSTAT = 0xA0, 0xA4, 0xA8, 0xAC
DLL, AID, ID = 0x100, 0xFF8, 0xFFC
START, WRITE = 1 << 31, 1 << 30
DONE, ERROR = 1, 2

RESET_VALUES = {CFG0: 0, CFG1: 0, CFG2: 0, CFG3: 0, CFG4: 0x2, CFGDATA_RTN: 0, CFGDATA_OUT: 0,
                CFGCTRL: 0x0010_0000, CFGSTAT: 0, DLL: 0xFFFF_0001, AID: 0x0020_0008, ID: 0x4104_3850}


def osc(device: int, function: int = 1) -> int:
    return (function << 20) | device


@pytest.fixture
def scc(clock: Clock) -> Mps2Scc:
    return Mps2Scc("scc", clock)


def test_reset_values(scc: Mps2Scc) -> None:
    for offset, value in RESET_VALUES.items():
        assert scc.read(offset, 4) == value, hex(offset)
    assert scc.oscclk == [50_000_000, 24_576_000, 25_000_000]


def test_reset_restores_registers_and_oscclk(scc: Mps2Scc) -> None:
    for offset in (CFG0, CFG1, CFG2, CFGDATA_OUT, DLL):
        scc.write(offset, 4, 0x5A5A_5A5A)
    scc.write(CFGCTRL, 4, START | WRITE | osc(0))
    assert scc.oscclk[0] == 0x5A5A_5A5A
    scc.reset()
    test_reset_values(scc)


def test_settings(clock: Clock) -> None:
    scc = Mps2Scc("scc", clock, scc_id=0x41043860, oscclk=[1, 2], aid=7, cfg4=3)
    assert scc.read(ID, 4) == 0x41043860
    assert scc.read(AID, 4) == 7
    assert scc.read(CFG4, 4) == 3
    scc.write(CFGCTRL, 4, START | osc(1))
    assert scc.read(CFGDATA_RTN, 4) == 2
    scc.write(CFGCTRL, 4, START | osc(2))
    assert scc.read(CFGSTAT, 4) == DONE | ERROR  # only two oscillators
    with pytest.raises(ValueError):
        Mps2Scc("scc", clock, leds=4)


def test_ro_writes_ignored(scc: Mps2Scc) -> None:
    for offset in (CFG3, CFG4, CFGSTAT, AID, ID):
        scc.write(offset, 4, 0xFFFF_FFFF)
        assert scc.read(offset, 4) == RESET_VALUES[offset], hex(offset)
    scc.write(DLL, 4, 0)  # only the lock mask [31:24] is writable
    assert scc.read(DLL, 4) == 0x00FF_0001
    scc.write(DLL, 4, 0xA5FF_FFFE)
    assert scc.read(DLL, 4) == 0xA5FF_0001


def test_rw_registers(scc: Mps2Scc) -> None:
    for offset in (CFG0, CFG2, CFGDATA_RTN, CFGDATA_OUT):
        scc.write(offset, 4, 0x1234_5678)
        assert scc.read(offset, 4) == 0x1234_5678, hex(offset)
    scc.write(CFG1, 4, 0x1FF)
    assert scc.read(CFG1, 4) == 0xFF


def test_oscclk_read_transaction(scc: Mps2Scc) -> None:
    scc.write(CFGCTRL, 4, START | osc(2))
    assert scc.read(CFGSTAT, 4) == DONE
    assert scc.read(CFGDATA_RTN, 4) == 25_000_000
    assert scc.read(CFGCTRL, 4) == osc(2)  # START is not stored
    scc.write(CFGCTRL, 4, START | osc(1))
    assert scc.read(CFGDATA_RTN, 4) == 24_576_000


def test_oscclk_write_transaction(scc: Mps2Scc) -> None:
    scc.write(CFGDATA_OUT, 4, 12_000_000)
    scc.write(CFGCTRL, 4, START | WRITE | osc(0))
    assert scc.read(CFGSTAT, 4) == DONE
    assert scc.oscclk[0] == 12_000_000
    scc.write(CFGCTRL, 4, START | osc(0))
    assert scc.read(CFGDATA_RTN, 4) == 12_000_000


@pytest.mark.parametrize("ctrl", [START | osc(3), START | osc(0, function=2), START | WRITE | osc(7)])
def test_bad_transaction_sets_error(scc: Mps2Scc, ctrl: int) -> None:
    scc.write(CFGDATA_RTN, 4, 0xDEAD)
    scc.write(CFGCTRL, 4, ctrl)
    assert scc.read(CFGSTAT, 4) == DONE | ERROR
    assert scc.read(CFGDATA_RTN, 4) == 0xDEAD
    assert scc.oscclk == [50_000_000, 24_576_000, 25_000_000]


def test_cfgctrl_write_without_start_clears_cfgstat(scc: Mps2Scc) -> None:
    scc.write(CFGCTRL, 4, START | osc(0))
    assert scc.read(CFGSTAT, 4) == DONE
    scc.write(CFGCTRL, 4, osc(1) | 0x3C0F_F000)  # reserved bits are not stored
    assert scc.read(CFGSTAT, 4) == 0
    assert scc.read(CFGCTRL, 4) == osc(1)
    assert scc.read(CFGDATA_RTN, 4) == 50_000_000


def test_led_changes_reported(scc: Mps2Scc) -> None:
    seen: list[int] = []
    scc.on_leds.append(seen.append)
    scc.write(CFG1, 4, 0x05)
    scc.write(CFG1, 4, 0x05)  # no change, no report
    scc.write(CFG1, 4, 0x81)
    assert seen == [0x05, 0x81] and scc.leds == 0x81
    scc.reset()
    assert seen == [0x05, 0x81, 0]


def test_snapshot_round_trip(scc: Mps2Scc) -> None:
    scc.write(CFG1, 4, 3)
    scc.write(CFGDATA_OUT, 4, 1000)
    scc.write(CFGCTRL, 4, START | WRITE | osc(2))
    twin = Mps2Scc("scc", Clock(HZ))
    twin.set_state(scc.get_state())
    for offset in RESET_VALUES:
        assert twin.read(offset, 4) == scc.read(offset, 4), hex(offset)
    twin.write(CFGCTRL, 4, START | osc(2))
    assert twin.read(CFGDATA_RTN, 4) == 1000
    assert twin.leds == 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF)), max_size=40))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    scc = Mps2Scc("fuzz", Clock(HZ))
    for is_write, offset, size, value in ops:
        if is_write:
            scc.write(offset, size, value)
        else:
            assert 0 <= scc.read(offset, size) < (1 << (8 * size))
    assert scc.read(ID, 4) == 0x4104_3850
    assert scc.read(DLL, 4) & 0x00FF_FFFF == 0x00FF_0001
