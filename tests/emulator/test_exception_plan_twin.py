"""What native code does without Python in a slice (``CortexM3.plan_native``: returns from handlers
Python entered, entries where the watched masks change) and how Python takes it back
(``native_sync``) change nothing but speed, against every exception through the Python path:

- a device input line is copied to native code at each change (``ExceptionState.level_words``),
  which declines a planned return while the IRQ's line is high (the line pends it again at its
  return): a line's change makes no new plan;
- an entry native code made with its return planned keeps the plan it left (``activate_planned``),
  and the planned return of the only active handler leaves no plan to clear.

Both sides give the same results, transcripts, instruction counts, virtual times and NVIC states
(at every millisecond of a simulation, with the frames on the wire and their times), and the native
side took its short paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.board.machine import Machine
from emulator.board.simulation import load_simulation

SIMULATIONS = Path(__file__).resolve().parents[2] / "platforms" / "simulations"


def _python_path(m: Machine) -> None:
    """Every exception entry and return through Python, no SysTick tick taken natively."""
    m.cpu.native_exceptions = False
    m._tick_plan = lambda *_args: None  # type: ignore[method-assign]


def _both_paths(board, source: str, handlers: dict[str, str], cycles: int, observe) -> list:
    """(stop kind, the machine) of ``source`` run natively and through Python, each with what
    ``observe(board, machine)`` adds, in that order."""
    seen = []
    for native in (True, False):
        b = board(source, handlers)
        b.m.cpu.trace_exceptions = None  # (a tracer keeps every exception in Python)
        if not native:
            _python_path(b.m)
        stop = b.run(cycles)
        seen.append((stop.kind, b.m, *observe(b, b.m)))
    return seen


# UART0's TX interrupt (IRQ 1) is a level until INTCLEAR. The handler leaves it high twice (its
# return pends it again), then clears it and raises it again while it runs (a byte sent, polled
# until INTSTATUS.TX), then clears it; thread code raises it once more and waits.
LEVEL_LINE = """
reset:
    UART0_TX_IRQ_ON
    movs r7, #0
    ldr r0, =UART0
    movs r1, #'X'
    str r1, [r0]
wait_first:
    cmp r7, #4
    blt wait_first
    ldr r0, =UART0
    movs r1, #'Y'
    str r1, [r0]
wait_second:
    cmp r7, #5
    blt wait_second
    RESULT 0, r7
    RESULT 1, r6
    EXIT
uart0_tx:
    adds r7, #1
    cmp r7, #3
    blt leave_high
    ldr r0, =UART0
    movs r1, #1
    str r1, [r0, #0x0C]             @ INTCLEAR.TX: the line goes low
    cmp r7, #3
    bne leave
    movs r1, #'Z'
    str r1, [r0]
poll:
    adds r6, #1
    ldr r1, [r0, #0x0C]
    tst r1, #1
    beq poll                        @ the line is high again, its handler active
leave:
leave_high:
    bx lr
"""


def test_level_lines_at_planned_returns_match_the_python_path(board):
    native, python = _both_paths(board, LEVEL_LINE, {"IRQ1": "uart0_tx"}, 4_000_000, lambda b, m: (
        b.results(2), bytes(b.uart), m.instructions, m.clock.now, m.exc.pending, m.exc.active,
        m.exc.irq_level))
    assert native[1].cpu.planned_returns >= 2  # the returns with the line low
    assert native[2][0] == 5 and native[2][1] > 0, native
    assert (native[0], *native[2:]) == (python[0], *python[2:])


# IRQ0 pended with PRIMASK set and let in by CPSIE (entered natively from the second round on, its
# return planned at the entry); its handler pends IRQ1, of lower priority, which must follow its
# return at once (a tail-chain: the change cleared the plan) before thread code counts on.
CHANGE_IN_NATIVE_ENTRY = """
reset:
    IRQ_PRIO 0, 0x40
    IRQ_PRIO 1, 0x80
    IRQ_ENABLE 0
    IRQ_ENABLE 1
    movs r5, #0
round:
    cpsid i
    IRQ_PEND 0
    movs r4, #0
    cpsie i
count:
    adds r4, #1
    cmp r4, #200
    blt count
    adds r5, #1
    cmp r5, #4
    blt round
    EXIT
irq0:
    adds r4, #1000
    STORE32 NVIC_ISPR, 2
    bx lr
irq1:
    ldr r0, =RES
    str r4, [r0, r5, lsl #2]
    bx lr
"""


# IRQ1 pends IRQ0, of higher priority, which preempts it, writes an SCS register (Python takes its
# entry in and plans both returns) and returns natively, IRQ1 still active; IRQ1 then writes an SCS
# register (Python takes that return in), reads the active set (IABR) and returns.
NESTED_RETURN = """
reset:
    IRQ_PRIO 0, 0x40
    IRQ_PRIO 1, 0x80
    IRQ_ENABLE 0
    IRQ_ENABLE 1
    movs r5, #0
round:
    IRQ_PEND 1
    adds r5, #1
    cmp r5, #4
    blt round
    RESULT 0, r4
    RESULT 1, r6
    EXIT
irq0:
    adds r4, #1
    IRQ_PRIO 3, 0x80
    bx lr
irq1:
    push {lr}
    adds r4, #100
    IRQ_PEND 0
    IRQ_PRIO 2, 0x80
    ldr r0, =NVIC_IABR
    ldr r1, [r0]
    adds r6, r1                     @ IRQ1 alone active: 2
    adds r4, #100
    pop {pc}
"""


@pytest.mark.parametrize("source, expect", [(CHANGE_IN_NATIVE_ENTRY, [1000] * 4),
                                            (NESTED_RETURN, [804, 8, 0, 0])])
def test_changes_in_natively_planned_handlers_match_the_python_path(board, source, expect):
    native, python = _both_paths(board, source, {"IRQ0": "irq0", "IRQ1": "irq1"}, 400_000, lambda b, m: (
        b.results(4), m.instructions, m.clock.now, m.exc.pending, m.exc.active))
    assert native[1].cpu.watched_entries + native[1].cpu.planned_returns >= 3
    assert (native[0], native[2]) == ("exit", expect), native
    assert (native[0], *native[2:]) == (python[0], *python[2:])


# IRQ0 taken once, then pended with PRIMASK set and MSP outside RAM: the unmask enters it (natively:
# a stacking error, STKERR), its handler runs and BusFault follows it.
STACKING_ERROR_AT_UNMASK = """
reset:
    ldr r0, =0xE000ED24             @ SHCSR: BusFault enabled
    ldr r1, =0x20000
    str r1, [r0]
    IRQ_ENABLE 0
    IRQ_PEND 0
    cpsid i
    IRQ_PEND 0
    ldr r0, =0x60000100             @ MSP in unmapped space
    mov sp, r0
    cpsie i
    RESULT 9, r0                    @ not reached
    EXIT
irq0:
    adds r4, #1
    mov r5, sp
    bx lr
busfault:
    ldr r0, =CFSR
    ldr r0, [r0]
    RESULT 0, r0
    RESULT 1, r4
    RESULT 2, r5
    EXIT
"""


def test_a_stacking_error_at_a_native_entry_matches_the_python_path(board):
    native, python = _both_paths(board, STACKING_ERROR_AT_UNMASK, {"IRQ0": "irq0", "BusFault": "busfault"},
                                 400_000, lambda b, m: (b.results(10), m.instructions, m.clock.now,
                                                        m.exc.pending, m.exc.active, m.cpu.sys.cfsr))
    assert native[1].cpu.watched_entries == 1
    assert native[2][:3] == [1 << 12, 2, 0x60000100 - 32], native  # STKERR; MSP moved anyway
    assert (native[0], *native[2:]) == (python[0], *python[2:])


def _simulation_run(name: str, native: bool, step_ns: int = 1_000_000) -> tuple:
    sim = load_simulation(SIMULATIONS / f"{name}.yaml")
    outs, wire, steps = [], [], []
    for b in sim.boards:
        if not native:
            _python_path(b.machine)
        outs.append(bytearray())
        b.machine.port("uart0").connect(outs[-1].extend)
    for sp in sim.switch.ports:
        sp.taps.append(lambda t, frame, way, port=sp.name: wire.append((port, t, way, bytes(frame))))
    while sim.board("client").stop is None and sim.now_ns < 60_000_000_000:
        sim.run(step_ns)
        steps.append([(m.clock.now, m.instructions, m.cpu.pc, m.exc.pending, m.exc.active, m.exc.irq_level,
                       m.cpu.read_masks()) for m in (b.machine for b in sim.boards)])
    stops = [(b.stop.kind, b.stop.exit_code) if b.stop else None for b in sim.boards]
    work = [(b.machine.cpu.planned_returns, b.machine.cpu.watched_entries) for b in sim.boards]
    return (sim.now_ns, stops, [bytes(out) for out in outs], wire, steps), work


@pytest.mark.parametrize("name", ["echo-pair", "rawping-pair"])
def test_simulations_match_the_python_exception_path(firmware, name):
    """echo-pair's boards take each frame's interrupt natively where the masks let it in (its
    return planned at the entry) or through Python between slices, and return natively once the
    handler lowered the line."""
    ours, work = _simulation_run(name, native=True)
    assert ours[1][-1] == ("exit", 0), ours[1]
    reference, _ = _simulation_run(name, native=False)
    assert ours == reference
    planned_returns, watched_entries = (sum(counts) for counts in zip(*work, strict=True))
    assert planned_returns >= 100 and watched_entries >= 20, work
