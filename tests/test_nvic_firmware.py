"""nvic_irqs (firmware/tests/nvic_irqs.c) on a board with 64 IRQs: IRQs 40 and 47 run their handlers.

The AN385 run (32 IRQs) is compared with QEMU in test_differential.py. QEMU's
only MPS2 machine with 64 IRQs is the AN511, which needs its own link map;
until then this runs the AN385 build on an AN385 whose NVIC has 64 IRQs and
checks the lines the ARMv7-M manual fixes.
"""

from __future__ import annotations

from dataclasses import replace

from emulator.loader import load_image
from emulator.machine import Machine
from emulator.platform import load_platform


def test_irq_40_and_47_are_taken_in_priority_order(firmware):
    m = Machine(replace(load_platform("mps2-an385"), num_irq=64))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(firmware / "nvic_irqs.elf"))
    stop = m.run(m.clock.cycles(2.0))
    assert stop.kind == "exit" and stop.exit_code == 0, (stop, bytes(out))
    lines = bytes(out).decode().splitlines()
    assert lines[0] == "nvic_irqs: ICTR.INTLINESNUM 1 (64 IRQs)"
    for line in ("ISER1 0x00008100", "ISPR1 0x00008100", "VECTPENDING 63", "order BA",
                 "IPSR in handlers 63 56", "IABR1 in handlers 0x00008000 0x00000100",
                 "nothing left pending or active ok", "ICER1 disables ok", "nvic_irqs: done"):
        assert line in lines, line
    assert not [x for x in lines if x.endswith("FAIL")]
