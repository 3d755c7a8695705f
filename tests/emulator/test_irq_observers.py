"""NVIC input lines: straight to the NVIC with no observer, through the observers once one is added.

Adding an observer rewires every line while it may be high: the NVIC must not see the present level
again (a replayed rising level would pend an IRQ whose handler already runs)."""

from __future__ import annotations

from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu.nvic import IRQ0


def _machine() -> Machine:
    return Machine(load_platform("mps2-an385"))


def _lines(m: Machine, shared: bool) -> tuple[int, list]:
    """An NVIC input driven by one device line (shared=False) or by an OR of several (True)."""
    for irq, sources in sorted(m._irq_sources.items()):
        if irq >= 0 and (len(sources) > 1) == shared:
            return irq, [dev.irq[line] for dev, line in sources]
    raise AssertionError("the platform has no such input")


def _pending(m: Machine, irq: int) -> bool:
    return bool(m.exc.pending >> (IRQ0 + irq) & 1)


def _level(m: Machine, irq: int) -> bool:
    return bool(m.exc.irq_level >> irq & 1)


def test_a_line_pends_its_irq_without_observers():
    m = _machine()
    for shared in (False, True):
        irq, lines = _lines(m, shared)
        lines[0].set(True)
        assert _level(m, irq) and _pending(m, irq)
        lines[0].set(False)
        assert not _level(m, irq) and _pending(m, irq), "a pended IRQ stays pending when its line falls"


def test_an_observer_added_while_a_line_is_high_sees_later_edges_and_nothing_is_replayed():
    m = _machine()
    for shared in (False, True):
        irq, lines = _lines(m, shared)
        lines[0].set(True)
        m.exc.activate(IRQ0 + irq)  # its handler runs: the pending bit went with the entry
        m.exc.pending &= ~(1 << (IRQ0 + irq))
        seen: list[tuple[int, bool]] = []
        m.observe_irqs(lambda n, level, seen=seen: seen.append((n, level)))
        assert not _pending(m, irq) and _level(m, irq), "the high level was not replayed to the NVIC"
        assert seen == []
        lines[0].set(False)
        assert seen == [(irq, False)] and not _level(m, irq)
        lines[0].set(True)
        assert seen == [(irq, False), (irq, True)] and _level(m, irq)
        assert not _pending(m, irq), "an active IRQ is not pended again by its line"
        m.exc.deactivate(IRQ0 + irq)
        lines[0].set(False)


def test_every_observer_sees_every_edge():
    m = _machine()
    irq, lines = _lines(m, False)
    first: list[tuple[int, bool]] = []
    second: list[tuple[int, bool]] = []
    m.observe_irqs(lambda n, level: first.append((n, level)))
    lines[0].set(True)
    m.observe_irqs(lambda n, level: second.append((n, level)))
    lines[0].set(False)
    assert first == [(irq, True), (irq, False)]
    assert second == [(irq, False)]
    assert _pending(m, irq) and not _level(m, irq)
