"""The NVIC keeps its derived values (highest pending, group priorities) until its state changes,
and the device-line path (``irq_input``) does in one call what assigning ``irq_level`` and
``set_pending`` do. Both against a reference computed from scratch, over random walks through
every way the state changes."""

from __future__ import annotations

import random

import pytest

from emulator.cpu.nvic import (
    HARDFAULT,
    IRQ0,
    MEMMANAGE,
    NMI,
    PENDSV,
    SVCALL,
    SYSTICK,
    THREAD_PRIORITY,
    USAGEFAULT,
    ExceptionState,
)

NUM_IRQ = 8
CONFIGURABLE = [MEMMANAGE, MEMMANAGE + 1, USAGEFAULT, SVCALL, PENDSV, SYSTICK,
                *range(IRQ0, IRQ0 + NUM_IRQ)]
ALL = [NMI, HARDFAULT, *CONFIGURABLE]


def group_of(exc: ExceptionState, prio: int) -> int:
    return prio if prio < 0 else prio & ~((2 << exc.prigroup) - 1) & 0xFF


def reference(exc: ExceptionState, masks: tuple[int, int, int], active: int | None = None
              ) -> tuple[int, int, int, int]:
    """(highest pending enabled, the active set's group priority, execution priority with
    ``masks``, deliverable), from the sets as they are now (B1.5.4)."""
    state = exc.__dict__
    act = state["active"] if active is None else active
    running = min([THREAD_PRIORITY] + [group_of(exc, exc.priority[n]) for n in range(exc.count)
                                       if act >> n & 1])
    cand = [n for n in range(exc.count) if (state["pending"] & state["enabled"]) >> n & 1]
    hp = min(cand, key=lambda n: (exc.priority[n], n)) if cand else 0
    primask, faultmask, basepri = masks
    best = running
    if basepri & exc.priority_mask:
        best = min(best, group_of(exc, basepri & exc.priority_mask))
    if primask & 1:
        best = min(best, 0)
    if faultmask & 1:
        best = min(best, -1)
    deliverable = hp if hp and group_of(exc, exc.priority[hp]) < best else 0
    return hp, running, best, deliverable


def random_change(rng: random.Random, exc: ExceptionState) -> None:
    n = rng.choice(ALL)
    op = rng.randrange(14)
    if op == 0:
        exc.set_pending(n)
    elif op == 1:
        exc.clear_pending(n)
    elif op == 2:
        exc.set_enabled(n, rng.random() < 0.7)
    elif op == 3:
        exc.irq_input(rng.randrange(NUM_IRQ), rng.random() < 0.5)
    elif op == 4:
        exc.activate(n)
    elif op == 5:
        exc.deactivate(n)
    elif op == 6:
        exc.set_priority(n, rng.randrange(256))
    elif op == 7:
        exc.prigroup = rng.randrange(8)
    elif op == 8:  # as an SCS write or a snapshot restore does
        exc.pending = exc.pending ^ (1 << n)
    elif op == 9:
        exc.active = exc.active ^ (1 << n)
    elif op == 10:
        exc.enabled = exc.enabled ^ (1 << n)
    elif op == 11:
        prio = list(exc.priority)
        prio[n] = rng.randrange(256) & exc.priority_mask if n > HARDFAULT else prio[n]
        exc.priority = prio
    elif op == 12 and rng.random() < 0.05:
        exc.reset()


@pytest.mark.parametrize("priority_bits", [3, 8])
@pytest.mark.parametrize("seed", range(6))
def test_derived_values_follow_every_change(seed: int, priority_bits: int) -> None:
    rng = random.Random(seed)
    exc = ExceptionState(NUM_IRQ, priority_bits)
    masks = (0, 0, 0)
    exc.masks = lambda: masks
    for _ in range(3000):
        random_change(rng, exc)
        if rng.random() < 0.2:
            masks = (rng.randrange(2), int(rng.random() < 0.2), rng.randrange(256))
        # The core's cached copy, when it has one, is what masks() answers.
        exc.known_masks = masks if rng.random() < 0.5 else None
        hp, running, best, deliverable = reference(exc, masks)
        expected = (hp, group_of(exc, exc.priority[hp]) if hp else THREAD_PRIORITY, running)
        assert exc.preempt in (None, expected)  # kept only while it holds
        assert exc.highest_pending() == hp
        assert exc.preempt == expected
        assert exc.preemption() == expected
        assert exc.execution_priority() == best
        assert exc.execution_priority(masks=(0, 0, 0)) == running
        assert exc.deliverable() == deliverable
        other = rng.getrandbits(exc.count)
        assert exc.deliverable(other) == reference(exc, masks, other)[3]
        assert exc.execution_priority(other) == reference(exc, masks, other)[2]


def irq_input_composed(exc: ExceptionState, irq: int, level: bool) -> None:
    """``irq_input`` as assigning ``irq_level`` and ``set_pending`` make it."""
    if level:
        exc.irq_level |= 1 << irq
        if not exc.active >> (IRQ0 + irq) & 1:
            exc.set_pending(IRQ0 + irq)
    else:
        exc.irq_level &= ~(1 << irq)


@pytest.mark.parametrize("listening", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_irq_input_is_irq_level_and_set_pending(seed: int, listening: bool) -> None:
    """Same sets, same flags, the same calls to the ICSR image's, the return plan's and the
    CPU's callbacks (``on_change`` only while someone listens)."""
    rng = random.Random(seed)
    twins = []
    for _ in range(2):
        exc = ExceptionState(NUM_IRQ)
        calls: list[str] = []
        exc.drop_icsr_image = lambda calls=calls: calls.append("icsr")
        exc.drop_return_plan = lambda calls=calls: calls.append("plan")
        if listening:
            exc.on_change = lambda calls=calls: calls.append("change")
        twins.append((exc, calls))
    for _ in range(2000):
        op = rng.randrange(6)
        n, irq, level = rng.choice(ALL), rng.randrange(NUM_IRQ), rng.random() < 0.5
        icsr_image, return_plan, changed = (rng.random() < 0.5 for _ in range(3))
        for i, (exc, _calls) in enumerate(twins):
            exc.icsr_image, exc.return_plan, exc.changed = icsr_image, return_plan, changed
            if op == 0:
                (exc.irq_input if i == 0 else lambda irq, level, exc=exc: irq_input_composed(
                    exc, irq, level))(irq, level)
            elif op == 1:
                exc.activate(n)
            elif op == 2:
                exc.deactivate(n)
            elif op == 3:
                exc.set_pending(n)
            elif op == 4:
                exc.clear_pending(n)
            else:
                exc.set_enabled(n, level)
        (a, calls_a), (b, calls_b) = twins
        for name in ("pending", "active", "enabled", "irq_level", "icsr_image", "return_plan",
                     "changed"):
            assert getattr(a, name) == getattr(b, name), name
        assert calls_a == calls_b
        assert a.deliverable() == b.deliverable()


@pytest.mark.parametrize("priority_bits", [3, 8])
def test_a_device_interrupt_into_an_idle_nvic_keeps_preempt(priority_bits: int) -> None:
    """``irq_input`` pending the only candidate while ``preempt`` is known (as the CPU leaves it
    after the planned return of the last active handler) computes it for that candidate rather
    than dropping it: the same as from scratch, whatever the priorities, PRIGROUP and the active
    set."""
    rng = random.Random(priority_bits)
    kept = 0
    for _ in range(2000):
        exc = ExceptionState(NUM_IRQ, priority_bits)
        exc.prigroup = rng.randrange(8)
        for n in CONFIGURABLE:
            exc.set_priority(n, rng.randrange(256))
            exc.set_enabled(n, rng.random() < 0.7)
        exc.active = rng.choice([0, 1 << rng.choice(ALL)])
        exc.pending = rng.choice([0, 1 << rng.choice(ALL)])  # perhaps a candidate already
        exc.highest_pending()  # preempt known
        irq = rng.randrange(NUM_IRQ)
        exc.irq_input(irq, True)
        hp, running, _best, _deliverable = reference(exc, (0, 0, 0))
        expected = (hp, group_of(exc, exc.priority[hp]) if hp else THREAD_PRIORITY, running)
        assert exc.preempt in (None, expected)
        kept += exc.preempt is not None
        assert exc.preemption() == expected
    assert kept > 500
