"""Acceptance: runs in fast mode are a pure function of the firmware and its inputs.

Ten runs of programs that mix interrupts, SysTick and device timers give
byte-identical transcripts, the same final virtual time and the same
instruction count; so does slicing the same run differently (as the CLI does).
The programs cover the native paths: SysTick ticks taken in C (``timers``,
``tickless``), PendSV and SVC returns planned in C with threads on the PSP
(``preempt``), SysTick's CVR and ICSR read in C and its registers rewritten
at every idle (``tickless``), the instruction budget kept in the translated
blocks (all).
"""

from __future__ import annotations

import pytest

RUNS = 10


def fingerprint(vboard, elf, seconds=10.0):
    r = vboard(elf, seconds=seconds)
    assert r.stop.kind == "exit" and r.stop.exit_code == 0, r.stop
    return r.transcript, r.machine.clock.now, r.machine.instructions


@pytest.mark.parametrize("name", ["nested_irq", "timers", "preempt", "tickless"])
def test_ten_runs_are_identical(name, firmware, vboard):
    runs = [fingerprint(vboard, firmware / f"{name}.elf") for _ in range(RUNS)]
    first = runs[0]
    assert first[0].rstrip().endswith(f"{name}: done".encode())
    assert first[1] > 0 and first[2] > 0
    for i, run in enumerate(runs[1:], 2):
        assert run[0] == first[0], f"run {i}: transcript differs"
        assert run[1] == first[1], f"run {i}: final time {run[1]} != {first[1]}"
        assert run[2] == first[2], f"run {i}: instruction count {run[2]} != {first[2]}"


@pytest.mark.parametrize("chunk_ms", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("name", ["nested_irq", "sleeponexit", "preempt", "tickless"])
def test_slicing_of_the_run_does_not_matter(firmware, vboard, name, chunk_ms):
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform

    whole = fingerprint(vboard, firmware / f"{name}.elf")
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(firmware / f"{name}.elf"))
    chunk = m.clock.cycles(chunk_ms / 1000)
    for _ in range(100_000):
        stop = m.run(chunk)
        if stop.kind != "time":
            break
    assert stop.kind == "exit"
    assert (bytes(out), m.clock.now, m.instructions) == whole
