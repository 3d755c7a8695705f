"""SysTick ticks taken natively (emulator/native/blockclock.c) change nothing but speed.

Each program runs twice for the same virtual time: as shipped, and with native
ticks refused (every tick through Python's run loop, the reference path). The
UART transcript, instruction count, virtual time, core registers and NVIC state
must be identical. Programs cover plain ticks in busy code and in WFI idle, ticks
from a thread on PSP (the native side declines), nested and tail-chained
interrupts, SVC/PendSV context switches and tickless idle with PRIMASK set.
"""

from __future__ import annotations

import pytest

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu.cortexm import CORE_REGS

PROGRAMS = {"microbench_tick": 0.2, "cpubench": 0.3, "threads": 1.0, "nested_irq": 1.0, "timers": 1.0,
            "tickless": 2.0, "hello": 0.5, "preempt": 0.25}


def _run(elf, seconds: float, native: bool, polls: int = 0) -> tuple[Machine, bytes, int]:
    m = Machine(load_platform("mps2-an385"))
    m.host_polls.extend(lambda: None for _ in range(polls))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    if not native:
        m._tick_plan = lambda *_args: None
    m.run(m.clock.cycles(seconds))
    return m, bytes(out), m.cpu.native_ticks


def _state(m: Machine) -> tuple:
    regs = tuple(m.cpu.rr(r) for r in CORE_REGS)
    e = m.exc
    return (m.instructions, m.clock.now, regs, m.cpu.banked_sps(), m.cpu.read_masks(), e.active, e.pending,
            m.scs.systick.value())


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_native_ticks_match_the_python_path(firmware, name):
    elf = firmware / f"{name}.elf"
    fast, fast_out, native = _run(elf, PROGRAMS[name], native=True)
    ref, ref_out, none = _run(elf, PROGRAMS[name], native=False)
    assert none == 0
    assert fast_out == ref_out
    assert _state(fast) == _state(ref)


def test_idle_ticks_are_taken_natively(firmware):
    """microbench_tick sleeps between 10 kHz ticks: nearly all of them stay in native code."""
    m, _out, native = _run(firmware / "microbench_tick.elf", 0.5, native=True)
    assert native >= 4900  # of 5000 ticks; about one per 100 (a slice) goes through Python


def test_host_input_keeps_a_slice_boundary_per_tick(firmware):
    """With host I/O polled at slice boundaries, every tick still ends a slice (input latency)."""
    m, _out, native = _run(firmware / "microbench_tick.elf", 0.05, native=True, polls=1)
    assert native == 0 and m.clock.now >= m.clock.cycles(0.05)
