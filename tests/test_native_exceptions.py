"""Native exception entry, return and tail-chain (emulator/native/excpath.c) change nothing but speed.

Each program runs twice: as shipped (native entry/return/tail-chain, native SysTick
ticks) and with both refused (every exception through the Python path of
``CortexM3``, the reference). At ten points along the run the instruction count,
virtual time, core registers, banked stack pointers, CONTROL, masks and NVIC state
must be identical, and so must the UART transcript. ``preempt`` is an RTOS-style
scheduler (threads on PSP, SysTick pending PendSV, privileged and unprivileged
threads, SP off 8-byte alignment, BASEPRI critical sections); the native run must
have taken and left thread mode on PSP natively, thousands of times.
"""

from __future__ import annotations

import pytest
from unicorn import arm_const as A

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu import excpath
from emulator.cpu.cortexm import CORE_REGS

PROGRAMS = {"preempt": 0.25, "threads": 0.2, "nested_irq": 0.5, "timers": 0.5, "mpu_regions": 0.2,
            "fault_unmapped": 0.2, "tickless": 1.0}
POINTS = 10


class _Counting:
    """Wraps ExcPath: counts the entries from and returns to thread mode on PSP it did."""

    def __init__(self, path: excpath.ExcPath, cpu) -> None:
        self.path, self.cpu = path, cpu
        self.psp_entries = self.psp_returns = self.tail_chains = 0

    def enter(self, *args):
        on_psp = self.cpu.control() & 2 and not self.cpu.ipsr()
        result = self.path.enter(*args)
        self.psp_entries += bool(on_psp and not result[0] & excpath.DECLINED)
        return result

    def leave(self, mode, stkalign):
        result = self.path.leave(mode, stkalign)
        self.psp_returns += mode == excpath.TO_THREAD_PSP and not result[0] & excpath.DECLINED
        return result

    def tail_chain(self, *args):
        self.tail_chains += 1
        return self.path.tail_chain(*args)


def _machine(elf, native: bool) -> tuple[Machine, bytearray, _Counting]:
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    counting = _Counting(m.cpu._excpath, m.cpu)
    if native:
        m.cpu._excpath = counting
    else:
        m.cpu.native_exceptions = False
        m._tick_plan = lambda *_args: None
    return m, out, counting


def _state(m: Machine) -> tuple:
    cpu, e = m.cpu, m.exc
    return (m.instructions, m.clock.now, tuple(cpu.rr(r) for r in CORE_REGS), cpu.banked_sps(),
            cpu.rr(A.UC_ARM_REG_XPSR), cpu.control(), cpu.read_masks(), e.active, e.pending,
            cpu.sys.cfsr, cpu.sys.hfsr, m.scs.systick.value())


def _trajectory(elf, seconds: float, native: bool) -> tuple[list[tuple], bytes, _Counting]:
    m, out, counting = _machine(elf, native)
    step = m.clock.cycles(seconds) // POINTS
    states = []
    for _ in range(POINTS):
        m.run(step)
        states.append(_state(m))
    return states, bytes(out), counting


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_native_exception_paths_match_the_python_path(firmware, name):
    elf = firmware / f"{name}.elf"
    fast, fast_out, _ = _trajectory(elf, PROGRAMS[name], native=True)
    ref, ref_out, _ = _trajectory(elf, PROGRAMS[name], native=False)
    assert fast_out == ref_out
    for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
        assert a == b, f"{name}: state differs at point {i + 1}/{POINTS}"


def test_rtos_switches_stay_native(firmware):
    """preempt switches threads ~2000 times (SysTick at 10 kHz, tail-chained into PendSV):
    the entries from PSP, the returns to PSP and the tail-chains are all native."""
    _states, out, counting = _trajectory(firmware / "preempt.elf", PROGRAMS["preempt"], native=True)
    assert b"preempt: done" in out
    assert counting.psp_returns >= 1500
    assert counting.tail_chains >= 1500
    assert counting.psp_entries >= 1500
