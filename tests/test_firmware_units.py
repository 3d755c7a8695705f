"""Firmware building blocks checked on the board itself.

``tickless`` checks the BSP's tickless idle (``systick_idle_ticks``) against a
free-running timer: exact tick counts on vboard, where time is a function of
the instructions run. It is not compared with QEMU, whose SysTick follows the
host clock and loses periods when the host is busy. ``vnet_checksum`` (the
stack's Internet checksum against a reference) is deterministic and also runs
on QEMU in ``test_differential.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "firmware" / "golden"


@pytest.mark.parametrize("name", ["tickless", "vnet_checksum"])
def test_program_passes_on_vboard(name, firmware, vboard):
    board = vboard(firmware / f"{name}.elf", seconds=20.0)
    text = board.transcript.decode(errors="replace")
    assert board.stop.kind == "exit" and board.stop.exit_code == 0, (board.stop, text)
    assert "FAIL" not in text and text.rstrip().endswith(f"{name}: done"), text
    assert board.transcript == (GOLDEN / f"{name}.txt").read_bytes(), text


def test_tickless_idle_sleeps_through_ticks(firmware):
    """The sleeps are real: far fewer SysTick interrupts are taken than ticks are counted."""
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform
    from emulator.cpu.nvic import SYSTICK

    m = Machine(load_platform("mps2-an385"))
    taken = {"systick": 0}
    entry = m.cpu.on_exception_entry

    def count(n: int, vector: int) -> None:
        taken["systick"] += n == SYSTICK
        if entry is not None:
            entry(n, vector)

    m.cpu.on_exception_entry = count
    m.load(load_image(firmware / "tickless.elf"))
    stop = m.run(m.clock.cycles(20.0))
    assert stop.kind == "exit" and stop.exit_code == 0, stop
    address = m.symbols.address("tick_count")
    assert address is not None
    ticks = m.cpu.read_u32(address)
    board_ms = m.clock.now * 1000 // m.clock.hz
    assert abs(ticks - board_ms) <= 1, (ticks, board_ms)  # counted ticks = board time
    # The full sleeps alone span 318 ticks with 6 interrupts; UART output in between ticks normally.
    assert taken["systick"] < board_ms // 2, (taken, board_ms, ticks)
