"""``CortexM3.pc`` between slices answers from the PC the last slice reported (``slice_pc``)
until anything may move it: at every slice boundary and after every exception the machine takes
there it must equal the register, over programs that enter and leave exceptions natively and in
Python (PSP threads, tail-chains, faults, SLEEPONEXIT, frames taken with PRIMASK set)."""

from __future__ import annotations

import pytest
from unicorn import arm_const as A

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform

BOARD_MAC, PEER_MAC = bytes.fromhex("525400123456"), bytes.fromhex("02be0c000001")


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("name", ["preempt", "nested_irq", "tickless", "fault_unmapped", "sleeponexit",
                                  "rawframe"])
def test_pc_between_slices_is_the_register(firmware, name, native):
    m = Machine(load_platform("mps2-an385"))
    m.load(load_image(firmware / f"{name}.elf"))
    cpu = m.cpu
    cpu.native_exceptions = native  # False: every entry and return through Python's register writes
    checks = {"cached": 0, "read": 0}

    def check(what: str) -> None:
        checks["cached" if cpu.slice_pc is not None else "read"] += 1
        assert cpu.pc == cpu.rr(A.UC_ARM_REG_PC), f"{name}: PC after {what}"

    def wrap(method_name: str) -> None:
        method = getattr(cpu, method_name)

        def wrapped(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            finally:
                check(method_name)
        setattr(cpu, method_name, wrapped)

    for method_name in ("run", "take_exception", "take_fault"):
        wrap(method_name)
    if name == "rawframe":
        m.run(m.clock.cycles(3.5))  # its DHCP tries, then it serves
        frame = BOARD_MAC + PEER_MAC + b"\x88\xb5" + bytes(60)
        for _ in range(5):
            m.post(lambda: m.frame_port("eth0").deliver(frame))
            m.run(m.clock.cycles(0.01))
    else:
        m.run(m.clock.cycles(0.2))
    assert checks["cached"] > 0, checks  # the cache answered (and was right)
