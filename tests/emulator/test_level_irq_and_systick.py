"""Two timing rules whose mutants the rest of the suite missed (or only hung on).

- A level-sensitive IRQ whose line is still high when its handler returns is
  pended again (B3.4.1): the handler runs until it clears the source.
- SysTick with RVR=N pends every N+1 cycles of its clock (the counter counts
  N..0, B3.3.1), the first one N+1 cycles after CVR is cleared.

And a run ended by a signal that lands inside an MMIO callback, and SysTick's next event where
its counter arithmetic puts the next 1->0 transition.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from emulator.clock import Clock
from emulator.cpu.systick import CLKSOURCE, ENABLE, TICKINT, SysTick


def test_level_irq_re_pends_on_exception_return_until_cleared(board):
    # UART0 TX (IRQ 1) is a level: TXINT stays set until INTCLEAR. The handler leaves it set twice.
    b = board("""
reset:
    UART0_TX_IRQ_ON
    movs r7, #0
    ldr r0, =UART0
    movs r1, #'X'
    str r1, [r0]
    dsb
    isb
    nop
    nop
    RESULT 0, r7
    EXIT
uart0_tx:
    adds r7, #1
    cmp r7, #3
    blt 1f
    ldr r0, =UART0 + 0x0C
    movs r1, #1
    str r1, [r0]                    @ INTCLEAR.TX: the line goes low
1:
    bx lr
""", {"IRQ1": "uart0_tx"})
    b.run()
    assert b.result(0) == 3, "the handler must run again while its level line stays high"


@pytest.mark.timeout(20)  # an off-by-one here can make the clock fire forever at one instant
@pytest.mark.parametrize("reload", [1, 2, 99, 24_999, 0xFFFFFF])
def test_systick_period_is_reload_plus_one(reload: int) -> None:
    clock = Clock(25_000_000)
    fired: list[int] = []
    st = SysTick(clock, lambda: fired.append(clock.now))
    st.write_reload(reload)
    st.write_current(0)
    start = clock.now
    st.write_csr(ENABLE | TICKINT | CLKSOURCE)
    assert st.value() == 0
    clock.advance(1)
    clock.fire_due()
    assert st.value() == reload  # reloaded on the first tick, then counts down
    for _ in range(3):
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.advance(deadline - clock.now)
        clock.fire_due()
    assert fired == [start + (reload + 1) * k for k in (1, 2, 3)]
    if reload >= 2:
        clock.advance(reload)  # N ticks after the last 1 -> 0: one tick before the next
        assert st.value() == 1 and len(fired) == 3
        clock.advance(1)
        clock.fire_due()
        assert st.value() == 0 and len(fired) == 4


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # ctypes dropped one
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_mmio_callbacks_ends_the_run_at_a_slice_boundary(board, capfd, sig) -> None:
    """A firmware that does nothing but read a device register: the signal lands inside an MMIO
    callback almost surely. It must end the run (``vboard.signals``), not be printed and dropped by
    ctypes ("Exception ignored on calling ctypes callback function")."""
    from vboard import signals

    b = board("""
reset:
    ldr r0, =UART0
loop:
    ldr r1, [r0, #4]                @ STATE: a Python device read every iteration
    b loop
""")
    with signals.run_signals() as run:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), sig))
        timer.start()
        try:
            with pytest.raises(signals.Interrupted) as ei:
                for _ in range(10_000):
                    with run.deferred():
                        b.m.run(250_000)
                    run.check()
        finally:
            timer.cancel()
    assert ei.value.exit_code == 128 + sig
    err = capfd.readouterr().err
    assert "ctypes" not in err and "Exception ignored" not in err and "Traceback" not in err, err


def next_zero_reference(st: SysTick) -> int | None:
    """The next 1->0 transition after now from the counter's own helpers (what ``_next_zero``
    computes inline)."""
    cpt = st.cycles_per_tick()
    k = st._transitions_until((st.clock.now - st.start) // cpt)
    if (not st.reload and k >= 1) or not st._first_zero():
        return None
    return st.start + st._zero_tick(k) * cpt


@pytest.mark.timeout(60)  # a transition scheduled at or before now fires forever
@pytest.mark.parametrize("seed", range(4))
def test_next_transition_matches_the_counter_arithmetic(seed: int) -> None:
    """Random programming (RVR 0 and 1 too, a stopped counter, either clock source) and random
    times: the scheduled SysTick event is at the next 1->0 transition the counter's value
    arithmetic gives."""
    import random

    rng = random.Random(seed)
    clock = Clock(25_000_000)
    st = SysTick(clock, lambda: None)
    for _ in range(3000):
        op = rng.randrange(5)
        if op == 0:
            st.write_reload(rng.choice([0, 1, 2, rng.randrange(1, 300), 0xFFFFFF]))
        elif op == 1:
            st.write_current(rng.randrange(1 << 24))
        elif op == 2:
            st.write_csr(rng.choice([0, ENABLE, ENABLE | TICKINT, ENABLE | CLKSOURCE,
                                     ENABLE | TICKINT | CLKSOURCE]))
        else:
            clock.advance(rng.choice([1, 2, rng.randrange(1, 50_000)]))
            if st.csr & ENABLE:  # the transition after a time it may be due at
                assert st._next_zero() == next_zero_reference(st)
            clock.fire_due()
        expected = next_zero_reference(st) if st.csr & ENABLE else None
        timer = st.timer
        assert (timer.when if timer is not None and not timer.cancelled else None) == expected
