"""Faults a user sees (emulator/board/faultwatch.py): a line per fault taken, accesses nothing serves,
--strict, fault storms, handlers parked in a fault, reset vectors that point nowhere."""

from __future__ import annotations

import struct
from pathlib import Path

from emulator.board.faultwatch import REPEAT_LINES, STORM
from emulator.board.loader import Image, Segment, Symbols
from emulator.board.machine import Machine
from emulator.board.platform import load_platform

MS = 25_000  # cycles of the 25 MHz board


def lines(b, level: str = "warning") -> list[str]:
    return [r.message for r in b.m.board_log.records(level=level, source="cpu")]


# A load from nothing (0x60000000), taken as BusFault; the handler skips the load and returns.
HANDLED_BUSFAULT = """
reset:
    STORE32 SHCSR, (1 << 17)        @ BusFault enabled
    ldr r0, =0x60000004
probe:
    ldr r1, [r0]
    ldr r0, =0x60000FF0
probe_again:
    ldr r1, [r0]
    EXIT
busfault:
    SKIP_FAULTING_INSN
    ldr r0, =CFSR
    ldr r1, [r0]
    str r1, [r0]
    bx lr
"""


def test_each_fault_taken_is_a_line_even_when_the_firmware_handles_it(board):
    b = board(HANDLED_BUSFAULT, {"BusFault": "busfault"})
    b.run()
    out = lines(b)
    access = [t for t in out if "no memory or device" in t]
    faults = [t for t in out if t.startswith("BusFault")]
    assert len(faults) == 2, out
    assert "precise data bus error" in faults[0] and "PRECISERR BFARVALID" in faults[0]
    assert f"at PC 0x{b['probe']:08X} <probe>" in faults[0] and "BFAR=0x60000004" in faults[0]
    # one access line per 4 KiB page: the second load is on the same page
    assert access == [f"4-byte read of 0x60000004 at PC 0x{b['probe']:08X} <probe>: "
                      "no memory or device serves this address"], out
    assert out.index(access[0]) < out.index(faults[0])


def test_strict_stops_at_the_first_access_before_the_handler_runs(board):
    b = board(HANDLED_BUSFAULT, {"BusFault": "busfault"})
    b.m.strict = True
    stop = b.run(expect="fault")
    assert "no memory or device serves this address (--strict)" in stop.report.headline
    assert b.m.cpu.pc & ~1 == b["probe"]
    assert not [t for t in lines(b) if t.startswith("BusFault")], "the BusFault is not taken"
    assert b.m.exc.active == 0


# An undefined instruction (UsageFault, escalated to HardFault: not enabled); {handler} is HardFault's.
UDF = """
reset:
    movs r0, #0
faulting:
    udf #0
    EXIT
hardfault:
{handler}
"""


def test_a_fault_the_firmware_escalates_names_its_origin(board):
    b = board(UDF.format(handler="""
    SKIP_FAULTING_INSN
    bx lr"""), {"HardFault": "hardfault"})
    b.run()
    (line,) = lines(b)
    assert line.startswith("HardFault (escalated from UsageFault): undefined instruction")
    assert "<faulting>" in line and "HFSR=0x40000000 FORCED" in line and "UNDEFINSTR" in line


def test_a_handler_that_returns_to_the_faulting_instruction_is_a_storm(board):
    b = board(UDF.format(handler="""
    bx lr"""), {"HardFault": "hardfault"})
    stop = b.run(100 * MS, expect="lockup")
    assert "fault storm" in stop.report.headline and "<faulting>" in stop.report.headline
    assert stop.report.registers["pc"] == b["faulting"]
    out = lines(b)
    assert len([t for t in out if t.startswith("HardFault")]) == REPEAT_LINES
    assert sum("further repeats are only counted" in t for t in out) == 1
    assert b.m.instructions < 3 * STORM, "stopped at the storm, not at the end of the time"
    assert lines(b, "error") == [stop.report.headline]


def test_hardfault_invpc_hardfault_storm_is_a_lockup(board):
    # The handler returns to thread mode with IPSR=3 left in the stacked xPSR: INVPC,
    # escalated to HardFault, whose handler does the same again.
    b = board(UDF.format(handler="""
    ldr r0, [sp, #28]
    orr r0, r0, #3
    str r0, [sp, #28]
    bx lr"""), {"HardFault": "hardfault"})
    stop = b.run(2000 * MS, expect="lockup")
    assert "fault storm" in stop.report.headline and "INVPC" in stop.report.headline
    assert b.m.clock.now < 100 * MS


# Loads from {count} addresses from 0x60000000 on ({step} between them), each a BusFault
# the handler skips.
PROBES = """
reset:
    STORE32 SHCSR, (1 << 17)        @ BusFault enabled
    ldr r4, =0x60000000
    ldr r5, ={count}
loop:
    ldr r1, [r4]
    {step}
    subs r5, #1
    bne loop
    EXIT
busfault:
    SKIP_FAULTING_INSN
    bx lr
"""


def test_different_faults_in_a_row_are_no_storm(board):
    # The same probe instruction on STORM + 10 different addresses: each fault is handled.
    b = board(PROBES.format(count=STORM + 10, step="adds r4, #4"), {"BusFault": "busfault"})
    b.run(2000 * MS, expect="exit")


PARKED = """
reset:
    ldr r0, =SYST_RVR
    ldr r1, ={reload}
    str r1, [r0]
    ldr r0, =SYST_CSR
    movs r1, #7
    str r1, [r0]
faulting:
    udf #0
    EXIT
hardfault:
    ldr r0, ={spins}
spin:
    subs r0, #1
    bne spin
    {after}
systick:
    bx lr
"""


def test_a_cpu_parked_in_a_fault_handler_is_stopped_after_100_ms(board):
    b = board(PARKED.format(reload=MS - 1, spins=1, after="cpsid i\nhalt:\n    b halt"),
              {"HardFault": "hardfault", "SysTick": "systick"})
    stop = b.run(1000 * MS, expect="fault")
    head = stop.report.headline
    assert "parked in the HardFault handler: halt has run for" in head, head
    assert 100 * MS < b.m.clock.now <= 112 * MS
    assert stop.report.registers["pc"] == b["faulting"], "the faulting context's registers"


def test_a_fault_handler_that_works_for_a_while_then_returns_is_not_parked(board):
    # 80 ms of counting down in the handler (two instructions a loop), then it skips the udf.
    b = board(PARKED.format(reload=MS - 1, spins=MS * 40,
                            after="SKIP_FAULTING_INSN\n    bx lr"),
              {"HardFault": "hardfault", "SysTick": "systick"})
    b.run(1000 * MS, expect="exit")


def _raw(words: bytes) -> Image:
    return Image(Path("wrong.bin"), "bin", [Segment(0, words + bytes(4096))], 0, Symbols())


def test_a_reset_vector_outside_executable_memory_is_a_lockup_at_once():
    m = Machine(load_platform("mps2-an385"))
    m.load(_raw(struct.pack("<II", 0x4B044800, 0xD0024282)))
    stop = m.run(MS)
    assert stop.kind == "lockup" and m.instructions == 0
    assert "reset vector does not point into executable memory" in stop.report.headline
    assert "SP=0x4B044800, PC=0xD0024282" in stop.report.headline
    # data RAM is mapped without execute permission on this board: also no place to start
    m.load(_raw(struct.pack("<II", 0x20001000, 0x20000101)))
    assert m.run(MS).kind == "lockup"
    m.load(_raw(struct.pack("<II", 0x20001000, 0x00000401)))
    assert m.run(MS).kind != "lockup"


def test_a_vector_with_the_thumb_bit_clear_pointing_nowhere_ends_at_once():
    # SP and the HardFault vector are garbage: stacking fails, the handler address has bit 0 clear.
    m = Machine(load_platform("mps2-an385"))
    vectors = struct.pack("<4I", 0x4B044800, 0x00000011, 0, 0xC2F1E6FC)
    code = struct.pack("<H", 0x6014)  # str r4, [r2] with r2 = 0: fine; then a store to nowhere
    m.load(_raw(vectors + code + struct.pack("<HH", 0x4A01, 0x6014) + struct.pack("<I", 0xFFFFFF2D)))
    stop = m.run(25 * MS)
    assert stop.kind == "lockup", stop


# A BusFault handler that calls two 7.5 ms functions in turn ({handler} is its loop).
TWO_FUNCTIONS = """
reset:
    STORE32 SHCSR, (1 << 17)        @ BusFault enabled
    ldr r0, =0x60000000
faulting:
    ldr r1, [r0]
    EXIT
busfault:
{handler}
delay:
    ldr r2, =93750
1:  subs r2, #1
    bne 1b
    bx lr
    .ltorg
    .balign 1024            @ another function, in another window for a program without symbol sizes
toggle:
    eor r3, r3, #1
    ldr r2, =93750
2:  subs r2, #1
    bne 2b
    bx lr
"""


def test_a_busfault_handler_looping_over_two_functions_with_primask_set_is_parked(board):
    b = board(TWO_FUNCTIONS.format(handler="""
    cpsid i
blink:
    bl delay
    bl toggle
    b blink"""), {"BusFault": "busfault"})
    # the same two functions as below, but nothing can preempt the handler
    stop = b.run(1000 * MS, expect="fault")
    assert "parked in the BusFault handler" in stop.report.headline, stop.report.headline
    assert 100 * MS < b.m.clock.now <= 125 * MS  # seen at slice boundaries (10 ms apart here)
    assert stop.report.registers["pc"] == b["faulting"]


def test_a_busfault_handler_that_irqs_may_preempt_is_parked_only_when_it_stays_in_one_function(board):
    # Two functions in turn with interrupts enabled: slice boundaries (every 10 ms) see both,
    # so it is not parked (an interrupt may still change things).
    b = board(TWO_FUNCTIONS.format(handler="""
    bl delay
    bl toggle
    b busfault"""), {"BusFault": "busfault"})
    assert b.run(300 * MS, expect="time")


def test_access_lines_stop_after_max_pages(board):
    from emulator.board.faultwatch import MAX_PAGES

    b = board(PROBES.format(count=MAX_PAGES + 20, step="add r4, r4, #0x1000"), {"BusFault": "busfault"})
    b.run(2000 * MS, expect="exit")
    out = lines(b)
    assert sum("no memory or device serves" in t for t in out) == MAX_PAGES
    assert sum(f"more than {MAX_PAGES} pages" in t for t in out) == 1
    assert sum(t.startswith("BusFault") for t in out) == MAX_PAGES + 20, "every fault is still a line"


MASKED_SPIN = """
reset:
    {watchdog}
    cpsid i
halt:
    b halt
"""
WATCHDOG = 0x40008000


def test_a_dead_spin_with_primask_set_in_thread_mode_is_stopped(board):
    b = board(MASKED_SPIN.format(watchdog=""))
    stop = b.run(1000 * MS, expect="fault")
    head = stop.report.headline
    assert "dead spin: halt branches to itself with interrupts masked (PRIMASK) in thread mode" in head, head
    assert 100 * MS < b.m.clock.now <= 125 * MS


def test_a_masked_spin_a_running_watchdog_will_end_is_left_alone(board):
    # LOAD = 200 ms, INTEN|RESEN: the watchdog's NMI comes (default handler `b .` reported as a fault).
    b = board(MASKED_SPIN.format(watchdog=f"""
    STORE32 {WATCHDOG:#x}, {200 * MS}
    STORE32 {WATCHDOG + 8:#x}, 3
"""))
    stop = b.run(1000 * MS, expect="fault")
    assert "NMI" in stop.report.headline and "dead spin" not in stop.report.headline, stop.report.headline
    assert b.m.clock.now >= 200 * MS


def test_a_masked_loop_that_polls_is_not_a_dead_spin(board):
    b = board("""
reset:
    cpsid i
    ldr r0, =UART0
poll:
    ldr r1, [r0, #4]
    b poll
""")
    b.run(300 * MS, expect="time")
