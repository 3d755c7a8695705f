"""A device's MMIO trampolines (``CortexM3.map_mmio``'s ``on_read``/``on_write``) in a slice in
which native code returned from a handler Python entered: before the device model runs, that
return is Python's (``native_sync``), so an interrupt the access raises pends at once; and what the
access changed is planned anew (``plan_native``). Compared with the same program with every
exception entry and return in Python."""

from __future__ import annotations

from emulator.cpu.cortexm import CORE_REGS

# UART0's TX interrupt (IRQ 1, raised by each DATA write): its handler acknowledges it (the line
# falls, so its return may be native) and records how many turns (r6) the thread's loop made since
# its write; the thread writes again after each handler, eight times.
DEVICE_WRITES_AFTER_NATIVE_RETURNS = """
reset:
    movs r7, #0
    UART0_TX_IRQ_ON
    ldr r4, =UART0
again:
    mov r5, r7
    movs r6, #0
    movs r1, #'x'
    str r1, [r4]                    @ DATA: the TX interrupt rises
spin:
    adds r6, #1
    cmp r7, r5
    beq spin
    cmp r7, #8
    bne again
    EXIT
uart_tx:
    STORE32 UART0 + 0x0C, 1         @ INTCLEAR: TX (the line falls)
    ldr r0, =RES
    str r6, [r0, r7, lsl #2]        @ the thread's turns since its write
    adds r7, #1
    bx lr
"""


def _run(board, native: bool):
    b = board(DEVICE_WRITES_AFTER_NATIVE_RETURNS, {"IRQ1": "uart_tx"})
    m = b.m
    m.cpu.trace_exceptions = None  # the fixture's trace would keep every return in Python
    m.cpu.native_exceptions = native
    b.run()
    return b, m.cpu.planned_returns


def test_a_device_write_after_a_native_return_pends_its_interrupt_at_once(board):
    """Without the sync the write's interrupt waits for the slice's end (tens of thousands of
    turns); without the new plan no return is native."""
    fast, planned = _run(board, native=True)
    ref, none = _run(board, native=False)
    assert none == 0 and planned >= 4, f"{planned} returns natively"
    assert fast.results(8) == ref.results(8)
    state = [(b.m.instructions, b.m.clock.now, tuple(b.m.cpu.rr(r) for r in CORE_REGS)) for b in (fast, ref)]
    assert state[0] == state[1]
