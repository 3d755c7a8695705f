"""Native SysTick ticks go to the vector Python entered last; a rewritten vector table changes
nothing but which ticks go through Python (native/blockclock.c declines, Python takes the tick
and the native side follows the new handler from then on)."""

from __future__ import annotations

from emulator.cpu.cortexm import CORE_REGS

# SysTick every 1000 cycles; after 20 ticks in handler_a the thread points the SysTick entry of
# the vector table (VTOR = 0) at handler_b with a plain store, then waits for 20 ticks there.
REWRITE = """
reset:
    movs r7, #0
    movs r6, #0
    STORE32 SYST_RVR, 999
    STORE32 SYST_CVR, 0
    STORE32 SYST_CSR, 7             @ ENABLE | TICKINT | CLKSOURCE
wait_a:
    cmp r7, #20
    blo wait_a
    ldr r0, =(15 * 4)
    ldr r1, =handler_b + 1
    str r1, [r0]
wait_b:
    cmp r6, #20
    blo wait_b
    RESULT 0, r7
    RESULT 1, r6
    STORE32 SYST_CSR, 0
    EXIT
handler_a:
    adds r7, #1
    bx lr
handler_b:
    adds r6, #1
    bx lr
"""


def _run(board, native: bool):
    b = board(REWRITE, {"SysTick": "handler_a"})
    m = b.m
    m.cpu.trace_exceptions = None  # the fixture's trace would keep every tick in Python
    if not native:
        m._tick_plan = lambda *_args: None
    b.run()
    return b, m.cpu.native_ticks


def test_a_rewritten_systick_vector_is_followed_natively_with_the_python_paths_results(board):
    fast, native = _run(board, native=True)
    ref, none = _run(board, native=False)
    assert none == 0
    state = [(b.results(2), b.m.instructions, b.m.clock.now, tuple(b.m.cpu.rr(r) for r in CORE_REGS))
             for b in (fast, ref)]
    assert state[0] == state[1]
    assert fast.results(2)[1] >= 20, "handler_b ran"
    # The first tick to each handler (and the one the native side declined) goes through Python.
    assert native >= 36, f"only {native} ticks natively: the new vector was not followed"
