"""``Machine._run`` makes a step's call only when the step has work (an event due, a cancelled timer
on top of the heap, a PC the masked-spin check has not seen, an enabled pending exception for a
sleeping CPU, a SysTick plan that can apply). The same programs through it and through the loop as
it was before (``run_loop_reference``, every call every turn) give the same transcripts, frames
sent and their times, final virtual time, instruction count, stop reason and masked-spin state, and
the SysTick ticks, returns and entries native code took."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from run_loop_reference import reference_run

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform

MS = 25_000  # cycles of the 25 MHz board


def _observed(m: Machine, stop, out: bytearray, sent: list) -> tuple:
    f, cpu = m.faults, m.cpu
    return (stop.kind, stop.exit_code, stop.message, bytes(out), list(sent), m.clock.now, m.instructions,
            f.spin_pc, f.spin_loop, cpu.sleeping,
            # what native code did (a plan taken or declined differently shows here first)
            cpu.native_ticks, cpu.planned_returns, cpu.watched_entries)


def _firmware_run(elf: Path, reference: bool, host_poll: bool, chunk_ms: float | None,
                  frames: list[tuple[int, bytes]] = (), until_cycles: int | None = None) -> tuple:
    m = Machine(load_platform("mps2-an385"))
    if reference:
        m._run = types.MethodType(reference_run, m)  # type: ignore[method-assign]
    out = bytearray()
    m.port("uart0").connect(out.extend)
    sent: list[tuple[int, bytes]] = []
    fp = m.frame_port("eth0")
    fp.connect(lambda frame: sent.append((m.clock.now, bytes(frame))))
    fp.set_link(True)
    if host_poll:
        m.host_polls.append(lambda: None)  # a boundary per tick: no SysTick plan, every turn in Python
    m.load(load_image(elf))
    for when, frame in frames:
        m.clock.call_at(when, lambda frame=frame: fp.deliver(frame), "frame")
    limit = until_cycles if until_cycles is not None else m.clock.cycles(10.0)
    chunk = limit if chunk_ms is None else m.clock.cycles(chunk_ms / 1000)
    while True:
        stop = m.run(min(chunk, limit - m.clock.now))
        if stop.kind != "time" or m.clock.now >= limit:
            return _observed(m, stop, out, sent)


@pytest.mark.parametrize("host_poll, chunk_ms", [(False, None), (True, None), (True, 1.0)])
@pytest.mark.parametrize("name", ["nested_irq", "timers", "preempt", "tickless", "sleeponexit"])
def test_programs_run_the_same_through_the_reference_loop(firmware, name, host_poll, chunk_ms):
    elf = firmware / f"{name}.elf"
    ours = _firmware_run(elf, False, host_poll, chunk_ms)
    assert ours[0] == "exit" and ours[1] == 0, ours[:3]
    assert ours == _firmware_run(elf, True, host_poll, chunk_ms)


BOARD_MAC, PEER_MAC = bytes.fromhex("525400123456"), bytes.fromhex("02be0c000001")


@pytest.mark.parametrize("host_poll", [False, True])
def test_frames_echoed_while_sleeping_with_primask_set_run_the_same(firmware, host_poll):
    """rawframe sleeps in `cpsid i; wfi; cpsie i` between frames: the turns where the masked-spin
    check and the wake-up question are skipped. Its DHCP phase takes 3 s of board time."""
    start = 3_100 * MS
    frames = [(start + i * 17_500 + (i % 3) * 4_000, BOARD_MAC + PEER_MAC + b"\x88\xb5" + bytes([i]) * 50)
              for i in range(60)]
    elf, until = firmware / "rawframe.elf", start + 60 * 20_000
    ours = _firmware_run(elf, False, host_poll, None, frames, until)
    assert ours[0] == "time"
    echoed = [frame for _t, frame in ours[4] if frame[12:14] == b"\x88\xb5"]
    assert len(echoed) == 60, len(echoed)
    assert ours == _firmware_run(elf, True, host_poll, None, frames, until)


MASKED_SLEEP_THEN_SPIN = """
reset:
    STORE32 SYST_RVR, {reload}
    STORE32 SYST_CVR, 0
    STORE32 SYST_CSR, 7
    ldr r4, =0
sleep:
    cpsid i
    wfi
    cpsie i
    adds r4, r4, #1
    cmp r4, #{sleeps}
    bne sleep
    cpsid i
    {tail}
systick:
    bx lr
"""


@pytest.mark.parametrize("tail, expect", [
    ("halt:\n    b halt", "fault"),                                     # a dead spin: reported
    ("ldr r0, =UART0\npoll:\n    ldr r1, [r0, #4]\n    b poll", "time"),  # a masked poll: left alone
])
def test_masked_sleeps_and_spins_stop_the_same(board, tail, expect):
    source = MASKED_SLEEP_THEN_SPIN.format(reload=MS - 1, sleeps=30, tail=tail)
    seen = []
    for reference in (False, True):
        b = board(source, {"SysTick": "systick"})
        if reference:
            b.m._run = types.MethodType(reference_run, b.m)
        stop = b.m.run(400 * MS)
        assert stop.kind == expect, stop.message
        seen.append(_observed(b.m, stop, b.uart, []) + (stop.report.headline if stop.report else None,))
    assert seen[0] == seen[1]
