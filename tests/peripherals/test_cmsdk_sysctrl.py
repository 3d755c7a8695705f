"""CmsdkSysCtrl: reset values, RSTINFO set by the cause of a board reset and cleared by writing one."""

from __future__ import annotations

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
