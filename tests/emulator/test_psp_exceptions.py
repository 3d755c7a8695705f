"""Exceptions taken from thread mode on the process stack, on both exception paths.

The native path (emulator/native/excpath.c) handles entry from and return to
thread mode on PSP; the Python path of ``CortexM3`` is the reference. Each test
runs with ``native_exceptions`` on and off and checks the architected results
(ARMv7-M ARM B1.5.6-B1.5.8): an unprivileged thread keeps nPRIV and PSP across an
interrupt, PendSV can switch the PSP the return unstacks from, and a PSP frame
that cannot be stacked is a BusFault STKERR.
"""

from __future__ import annotations

import pytest

from emulator.cpu import excpath
from emulator.cpu.cortexm import CFSR

PSP_TOP = 0x20008000
MSP_TOP = 0x20010000
EXC_RETURN_THREAD_PSP = 0xFFFFFFFD
STKERR = CFSR["STKERR"]


def _board(board, native: bool, source: str, vectors: dict):
    b = board(source, vectors)
    b.m.cpu.native_exceptions = native
    return b


@pytest.mark.parametrize("native", [True, False])
def test_unprivileged_thread_on_psp_keeps_its_mode_across_an_interrupt(board, native):
    b = _board(board, native, f"""
reset:
    ldr r0, ={PSP_TOP:#x}
    msr psp, r0
    IRQ_ENABLE 0
    movs r0, #3             @ nPRIV + SPSEL: unprivileged thread on PSP
    msr control, r0
    isb
    ldr r0, =0x11111111
    ldr r1, =0x22222222
    ldr r2, =NVIC_ISPR      @ unprivileged: the NVIC write is a BusFault...
    ldr r3, =0x44444444
    svc #0                  @ ...so a privileged SVC pends IRQ0
    RESULT 0, r0
    RESULT 1, r1
    RESULT 2, r3
    mrs r4, control
    RESULT 3, r4
    mov r4, sp
    RESULT 4, r4
    EXIT
svc_handler:
    STORE32 NVIC_ISPR, 1    @ IRQ0 (default priority 0) waits: SVCall is active at 0 too
    bx lr
irq0:
    mov r4, lr
    RESULT 5, r4
    mrs r4, psp
    RESULT 6, r4
    mov r4, sp
    RESULT 7, r4
    mrs r4, control
    RESULT 8, r4
    ldr r4, [sp, #0]        @ MSP: nothing stacked there
    mrs r4, psp
    ldr r5, [r4, #12]       @ stacked R3
    RESULT 9, r5
    bx lr
""", {"SVCall": "svc_handler", "IRQ0": "irq0"})
    b.run()
    assert b.result(5) == EXC_RETURN_THREAD_PSP
    assert b.result(6) == PSP_TOP - 32, "the frame went on PSP (SVC's frame was popped first)"
    assert b.result(7) == MSP_TOP, "the handler runs on MSP"
    assert b.result(8) == 1, "handler mode: SPSEL clear, nPRIV kept"
    assert b.result(9) == 0x44444444
    assert (b.result(0), b.result(1), b.result(2)) == (0x11111111, 0x22222222, 0x44444444)
    assert b.result(3) == 3, "back in unprivileged thread mode on PSP"
    assert b.result(4) == PSP_TOP
    assert "tail-chain SVCall -> IRQ0" in b.trace, b.trace


@pytest.mark.parametrize("native", [True, False])
def test_pendsv_switches_the_psp_the_return_unstacks_from(board, native):
    other = PSP_TOP - 0x1000
    b = _board(board, native, f"""
reset:
    ldr r0, ={PSP_TOP:#x}
    msr psp, r0
    ldr r0, ={other - 32:#x}        @ a second thread's initial frame
    ldr r1, =0x0BADC0DE
    str r1, [r0, #0]               @ R0
    ldr r1, =thread_b
    str r1, [r0, #24]              @ PC
    ldr r1, =0x01000000
    str r1, [r0, #28]              @ xPSR: T
    movs r0, #2
    msr control, r0
    isb
    STORE32 ICSR, 0x10000000       @ PENDSVSET
    dsb
    isb
    RESULT 9, r0                   @ not reached: thread A is never resumed
    EXIT
thread_b:
    RESULT 0, r0
    mov r4, sp
    RESULT 1, r4
    mrs r4, control
    RESULT 2, r4
    EXIT
pendsv:
    ldr r0, ={other - 32:#x}
    msr psp, r0
    bx lr
""", {"PendSV": "pendsv"})
    b.run()
    assert b.result(0) == 0x0BADC0DE, "thread B's stacked R0"
    assert b.result(1) == other
    assert b.result(2) == 2
    assert b.result(9) == 0


@pytest.mark.parametrize("native", [True, False])
def test_a_psp_frame_outside_ram_is_a_stacking_busfault(board, native):
    b = _board(board, native, """
reset:
    ldr r0, =0xE000ED24            @ SHCSR: BusFault enabled
    ldr r1, =0x20000
    str r1, [r0]
    IRQ_ENABLE 0
    ldr r0, =0x60000100            @ PSP in unmapped space
    msr psp, r0
    movs r0, #2
    msr control, r0
    isb
    IRQ_PEND 0
    RESULT 9, r0                   @ not reached
    EXIT
irq0:
    mov r4, lr
    RESULT 0, r4
    mrs r4, psp
    RESULT 1, r4
    bx lr
busfault:
    ldr r0, =CFSR
    ldr r0, [r0]
    RESULT 2, r0
    mrs r4, ipsr
    RESULT 3, r4
    EXIT
""", {"IRQ0": "irq0", "BusFault": "busfault"})
    b.run()
    assert b.result(0) == EXC_RETURN_THREAD_PSP
    assert b.result(1) == 0x60000100 - 32, "PSP moved although nothing could be stacked"
    assert b.result(2) & STKERR, hex(b.result(2))
    assert b.result(3) == 5
    assert b.result(9) == 0
    # The handler still runs (B1.5.6); BusFault, at the same priority, follows it by tail-chain.
    assert b.trace[:2] == [f"enter IRQ0 -> 0x{b['irq0']:08X}", "tail-chain IRQ0 -> BusFault"], b.trace


def test_an_msp_frame_outside_ram_is_the_same_stacking_busfault_on_both_paths(board):
    """Twin: an interrupt taken on an MSP outside RAM. The native entry stacks nothing and reports
    STKERR (``take_exception``'s path for non-zero flags); the Python path is the reference: same
    CFSR, stack pointer, EXC_RETURN, IPSR and trace."""
    seen = []
    for native in (True, False):
        b = _board(board, native, """
reset:
    ldr r0, =0xE000ED24            @ SHCSR: BusFault enabled
    ldr r1, =0x20000
    str r1, [r0]
    IRQ_ENABLE 0
    ldr r0, =0x60000100            @ MSP in unmapped space
    mov sp, r0
    IRQ_PEND 0
    isb
    RESULT 9, r0                   @ not reached
    EXIT
irq0:
    mov r4, lr
    RESULT 0, r4
    mov r4, sp
    RESULT 1, r4
    bx lr
busfault:
    ldr r0, =CFSR
    ldr r0, [r0]
    RESULT 2, r0
    mrs r4, ipsr
    RESULT 3, r4
    EXIT
""", {"IRQ0": "irq0", "BusFault": "busfault"})
        flags = []
        if native:
            enter = b.m.cpu._excpath.enter
            b.m.cpu._excpath.enter = lambda *a, enter=enter, log=flags: (r := enter(*a), log.append(r[0]))[0]
        b.run()
        assert b.result(2) & STKERR, hex(b.result(2))
        seen.append(([b.result(i) for i in (0, 1, 2, 3, 9)], b.trace[:2]))
        if native:
            assert flags and flags[0] == excpath.STKERR, flags  # the native entry made it
    assert seen[0] == seen[1]
