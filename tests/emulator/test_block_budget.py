"""The budget kept in translated blocks (scripts/build_unicorn, budget-in-blocks) counts
exactly what the block hook counted at every block.

Each program runs for the same virtual time twice: on the engine's budget (each block
takes its instruction count, known at translation, off a budget and calls the hook only
when nothing is left) and with the hook called at every block, decoding each block's
instructions itself (the path of a stock Unicorn). UART transcript, instruction count,
virtual time, registers and NVIC state must be identical: the slices end at the same
instruction, with and without native ticks, masked-pending watches and WFI sleeps.
"""

from __future__ import annotations

import pytest

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu import blockclock
from emulator.cpu.cortexm import CORE_REGS

PROGRAMS = {"cpubench": 0.3, "threads": 1.0, "nested_irq": 1.0, "timers": 1.0, "tickless": 2.0,
            "hello": 0.5, "preempt": 0.25, "microbench_tick": 0.2, "yield_switch": 0.12}


def _run(elf, seconds: float) -> tuple[Machine, bytes]:
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    m.run(m.clock.cycles(seconds))
    return m, bytes(out)


def _state(m: Machine) -> tuple:
    e = m.exc
    return (m.instructions, m.clock.now, tuple(m.cpu.rr(r) for r in CORE_REGS), m.cpu.banked_sps(),
            m.cpu.read_masks(), e.active, e.pending)


def test_the_engine_keeps_the_budget():
    assert Machine(load_platform("mps2-an385")).cpu._bc.in_blocks, \
        "the Unicorn library has no uc_vb_icount (run scripts/setup)"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_budget_in_blocks_matches_a_hook_at_every_block(firmware, monkeypatch, name):
    elf = firmware / f"{name}.elf"
    fast, fast_out = _run(elf, PROGRAMS[name])
    assert fast.cpu._bc.in_blocks
    monkeypatch.setattr(blockclock, "engine_budget", lambda _uc: None)
    ref, ref_out = _run(elf, PROGRAMS[name])
    assert not ref.cpu._bc.in_blocks
    assert fast.instructions > 0
    assert fast_out == ref_out
    assert _state(fast) == _state(ref)
