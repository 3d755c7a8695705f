"""RTOS yields (ICSR writes of PENDSVSET) pended in C (``scsread.c`` -> ``blockclock.c`` vb_pend ->
``excpath.c`` ex_pend), against the same program with every write through Python and with every
exception through the Python path: the same event log (where PendSV ran), results, instruction
count and virtual time.

The program yields in the states a native pend must get right or leave to Python: plainly, under
BASEPRI and PRIMASK (PendSV waits for the unmask), with an SCS read right behind the write (the
pend applied to the NVIC mid-block), twice in a row, from an SVC handler, after raising PendSV's
priority above BASEPRI (an SHPR3 write), after moving the vector table (a VTOR write) to one whose
PendSV handler reads the SCS, and all along with SysTick ticking.
"""

from __future__ import annotations

import pytest

PENDSVSET = 0x10000000
ROUNDS = 12

SOURCE = f"""
    .equ PENDSVSET, {PENDSVSET:#x}
    .equ CPUID, 0xE000ED00
    .equ RAM_TABLE, 0x20002000

    .macro YIELD
    STORE32 ICSR, PENDSVSET
    dsb
    isb
    .endm

    .macro ROUNDS_OF body
    movs r4, #{ROUNDS}
1:
    \\body
    subs r4, r4, #1
    bne 1b
    .endm

    .macro PLAIN
    YIELD
    LOG 1
    .endm

    .macro UNDER_BASEPRI
    movs r0, #0x80
    msr basepri, r0
    YIELD
    LOG 2
    movs r0, #0
    msr basepri, r0
    isb
    LOG 3
    .endm

    .macro UNDER_PRIMASK
    cpsid i
    YIELD
    LOG 4
    cpsie i
    LOG 5
    .endm

    .macro READ_BEHIND
    ldr r0, =ICSR
    ldr r1, =PENDSVSET
    ldr r2, =CPUID
    str r1, [r0]
    ldr r3, [r0]            @ ICSR right behind the write: its image was dropped, Python answers
    ldr r2, [r2]
    ldr r2, =RES + 64
    str r3, [r2]
    dsb
    isb
    LOG 6
    .endm

    .macro TWICE
    ldr r0, =ICSR
    ldr r1, =PENDSVSET
    str r1, [r0]
    str r1, [r0]
    dsb
    isb
    LOG 7
    .endm

    .macro FROM_SVC
    svc #0
    LOG 8
    .endm

reset:
    STORE32 SHPR3, 0xC0E00000       @ SysTick 0xC0, PendSV 0xE0
    STORE32 SYST_RVR, 299
    STORE32 SYST_CVR, 0
    STORE32 SYST_CSR, 7
    ROUNDS_OF PLAIN
    ROUNDS_OF UNDER_BASEPRI
    ROUNDS_OF UNDER_PRIMASK
    ROUNDS_OF READ_BEHIND
    ROUNDS_OF TWICE
    ROUNDS_OF FROM_SVC
    STORE32 SHPR3, 0xC0400000       @ PendSV at 0x40: above BASEPRI 0x80 now
    ROUNDS_OF UNDER_BASEPRI
    ROUNDS_OF PLAIN
    @ the vector table copied to RAM, PendSV's entry to pendsv_reading, then VTOR moved there
    ldr r0, =0
    ldr r1, =RAM_TABLE
    movs r2, #80
2:
    ldr r3, [r0], #4
    str r3, [r1], #4
    subs r2, r2, #1
    bne 2b
    ldr r0, =RAM_TABLE + 4 * 14
    ldr r1, =pendsv_reading + 1
    str r1, [r0]
    STORE32 VTOR, RAM_TABLE
    ROUNDS_OF PLAIN
    ROUNDS_OF UNDER_PRIMASK
    ROUNDS_OF TWICE
    STORE32 SYST_CSR, 0
    ldr r0, =RES
    ldr r1, [r0, #4]
    ldr r2, [r0, #8]
    ldr r3, [r0, #12]
    EXIT

pendsv:
    ldr r0, =RES + 4
    ldr r1, [r0]
    adds r1, #1
    str r1, [r0]
    LOG 9
    bx lr

pendsv_reading:
    ldr r0, =CPUID
    ldr r0, [r0]                @ an SCS read in the handler: Python looks at the NVIC mid-handler
    ldr r1, =RES + 8
    str r0, [r1]
    LOG 10
    bx lr

svc_handler:
    YIELD                       @ from handler mode: PendSV (lower priority) waits for the return
    LOG 11
    bx lr

systick:
    ldr r0, =RES + 12
    ldr r1, [r0]
    adds r1, #1
    str r1, [r0]
    bx lr
"""

VECTORS = {"PendSV": "pendsv", "SVCall": "svc_handler", "SysTick": "systick"}


def _run(board, native: bool, pends: bool) -> tuple:
    b = board(SOURCE, VECTORS)
    m = b.m
    m.cpu.trace_exceptions = None  # tracing turns every native plan off
    m.cpu.native_exceptions = native
    m.scs.native_reads.pend_writes = pends
    b.run(5_000_000)
    return (b.log(), b.results(17), m.instructions, m.clock.now, bytes(b.uart)), m.cpu


def test_yields_pended_natively_match_the_python_paths(board):
    fast, cpu = _run(board, native=True, pends=True)
    python_writes, table_cpu = _run(board, native=True, pends=False)
    python, _ = _run(board, native=False, pends=False)
    assert fast == python_writes == python
    log = fast[0]
    assert log.count(9) + log.count(10) == 11 * ROUNDS, "a PendSV per round (the double pends one)"
    assert fast[1][3] > 10, "SysTick ticked along"
    # The plain yields, those under the masks and those after the SHPR3 and VTOR writes: pended in
    # C (not the double's second, nor the SVC handler's, nor the first PendSV's, which Python
    # enters and finds quiet).
    assert cpu.native_pends >= 8 * ROUNDS
    assert table_cpu.native_pends == 0
    assert cpu.watched_entries == table_cpu.watched_entries
    assert cpu.planned_returns == table_cpu.planned_returns


@pytest.mark.parametrize("masks", ["basepri", "primask"])
def test_a_masked_yield_waits_for_the_unmask(board, masks):
    """Under BASEPRI 0x80 or PRIMASK, PendSV at 0xE0 runs right after the unmask (log 2 9 3 and
    4 9 5), pended natively or not."""
    fast, _cpu = _run(board, native=True, pends=True)
    log = fast[0]
    start = ROUNDS * 2
    if masks == "basepri":
        assert log[start:start + 3] == bytes([2, 9, 3])
    else:
        start += ROUNDS * 3
        assert log[start:start + 3] == bytes([4, 9, 5])
