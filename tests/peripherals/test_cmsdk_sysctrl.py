"""CmsdkSysCtrl: reset values, RSTINFO set by the cause of a board reset and cleared by writing one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clock import Clock
from peripherals.cmsdk_sysctrl import CmsdkSysCtrl

REMAP, PMUCTRL, RESETOP, RSTINFO = 0x0, 0x4, 0x8, 0x10


def test_registers_and_reset_cause(clock: Clock) -> None:
    sc = CmsdkSysCtrl("sysctrl", clock)
    for off in (REMAP, PMUCTRL, RESETOP, RSTINFO):
        assert sc.read(off, 4) == 0
    assert sc.read(0xFE0, 4) == 0x26
    sc.write(PMUCTRL, 4, 0xFFFF_FFFF)
    sc.write(RESETOP, 4, 0xFFFF_FFFF)
    assert sc.read(PMUCTRL, 4) == 1 and sc.read(RESETOP, 4) == 1
    sc.write(RSTINFO, 4, 7)                  # W1C: nothing to clear, nothing set
    assert sc.read(RSTINFO, 4) == 0
    sc.reset()
    sc.after_system_reset("watchdog")
    assert sc.read(RSTINFO, 4) == 2
    sc.after_system_reset("SYSRESETREQ")
    assert sc.read(RSTINFO, 4) == 3
    sc.write(RSTINFO, 4, 2)
    assert sc.read(RSTINFO, 4) == 1
    sc.reset()                               # power-on reset clears the record
    assert sc.read(RSTINFO, 4) == 0


def test_mbed_system_init_and_set_clear_pairs(clock: Clock) -> None:
    """Mbed OS's SystemInit for ARM_CM3DS_MPS2 enables the AHB and APB clocks."""
    sc = CmsdkSysCtrl("sysctrl", clock)
    sc.write(0x080, 4, 0xF)            # AHBCLKCFG0SET = GPIO
    sc.write(0x0A0, 4, 0xF9B7)         # APBCLKCFG0SET = timers, UARTs, I2C, WDOG, QSPI, SPI, TRNG
    assert sc.read(0x080, 4) == sc.read(0x084, 4) == 0xF
    assert sc.read(0x0A0, 4) == 0xF9B7
    sc.write(0x0A4, 4, 0x0100)         # APBCLKCFG0CLR: the watchdog's clock
    assert sc.read(0x0A0, 4) == 0xF8B7
    sc.write(0x0A0, 4, 0)              # writing zeros to SET changes nothing
    assert sc.read(0x0A4, 4) == 0xF8B7
    sc.write(0x0A5, 1, 0x08)           # a byte to the CLR register: bit 11 only
    assert sc.read(0x0A0, 4) == 0xF0B7
    sc.write(0x0A1, 1, 0x08)           # ... and back through SET
    assert sc.read(0x0A0, 4) == 0xF8B7
    for off in (0x020, 0x030, 0x088, 0x090, 0x0A8, 0x0B0, 0x0C0, 0x0C8, 0x0D0, 0x0D8):
        assert sc.read(off, 4) == 0, hex(off)
    sc.write(0x0F8, 4, 0xFFFF)         # MEMORYSTATUS is read-only
    assert sc.read(0x0F8, 4) == 0
    sc.reset()
    assert sc.read(0x080, 4) == 0 and sc.read(0x0A0, 4) == 0


def test_snapshot_round_trip(clock: Clock) -> None:
    sc = CmsdkSysCtrl("sysctrl", clock)
    sc.write(PMUCTRL, 4, 1)
    sc.write(0x0A0, 4, 0x30)
    sc.after_system_reset("lockup")
    twin = CmsdkSysCtrl("sysctrl", Clock(1))
    twin.set_state(sc.get_state())
    assert twin.read(RSTINFO, 4) == 4 and twin.read(PMUCTRL, 4) == 1 and twin.read(0x0A0, 4) == 0x30


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF)), max_size=30))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int]]) -> None:
    sc = CmsdkSysCtrl("fuzz", Clock(1))
    for is_write, off, size, value in ops:
        off &= ~(size - 1)
        if is_write:
            sc.write(off, size, value & ((1 << (8 * size)) - 1))
        else:
            assert 0 <= sc.read(off, size) < (1 << (8 * size))
