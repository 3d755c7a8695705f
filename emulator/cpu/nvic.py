"""Exception state of an ARMv7-M core: priorities, enables, pending and active.

The ARMv7-M Architecture Reference Manual (DDI0403E) B1.5 defines it; this
module is its bookkeeping only (no registers, no stacking): which exception
the core takes next and at what priority it runs now. The registers that
program it (NVIC, SCB) are in ``emulator.cpu.scs``; entry and return are in
``emulator.cpu.cortexm``.

Sets of exceptions are Python ints used as bit masks, bit n = exception n,
so "highest pending enabled" is a few integer operations. Their results (the
highest pending enabled exception, its group priority, the group priority of
the active set) are kept until the state they come from changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RESET, NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 1, 2, 3, 4, 5, 6
SVCALL, DEBUGMON, PENDSV, SYSTICK = 11, 12, 14, 15
IRQ0 = 16

EXCEPTION_NAMES = {
    RESET: "Reset", NMI: "NMI", HARDFAULT: "HardFault", MEMMANAGE: "MemManage",
    BUSFAULT: "BusFault", USAGEFAULT: "UsageFault", SVCALL: "SVCall",
    DEBUGMON: "DebugMonitor", PENDSV: "PendSV", SYSTICK: "SysTick",
}

THREAD_PRIORITY = 256  # "lower than any configurable priority"
_IDLE = (0, THREAD_PRIORITY, THREAD_PRIORITY)  # ``preempt`` with nothing active, nothing pending


def exception_name(n: int) -> str:
    return EXCEPTION_NAMES.get(n, f"IRQ{n - IRQ0}" if n >= IRQ0 else f"Reserved{n}")


class _DropsIcsrImage:
    """An attribute of ``ExceptionState`` whose assignment drops the stored ICSR image, the
    native return plan and the derived values (``_changed``).

    Only a setter: reads find the value in the instance's ``__dict__`` at a plain
    attribute's cost."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, exc: ExceptionState, value: object) -> None:
        state = exc.__dict__
        state[self.name] = value
        _changed(exc, state)


class _Levels:
    """``ExceptionState.irq_level``: its assignment copies the levels to ``level_words`` (a
    level plays no part in the derived values, the ICSR image or the plans: native code reads
    the copy; see ``irq_input``)."""

    def __set__(self, exc: ExceptionState, value: int) -> None:
        state = exc.__dict__
        state["irq_level"] = value
        words = state["level_words"]
        for i in range(len(words)):
            words[i] = value >> (32 * i) & 0xFFFFFFFF


class _DropsDerived:
    """An attribute of ``ExceptionState`` whose assignment drops the derived values only
    (PRIGROUP: group priorities)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, exc: ExceptionState, value: object) -> None:
        state = exc.__dict__
        state[self.name] = value
        state["preempt"] = None


class _Publishes:
    """Mixed into an attribute some registers show as a plain value (priorities, enables,
    PRIGROUP): its assignment also calls ``publish`` with its name."""

    name: str

    def __set__(self, exc: ExceptionState, value: object) -> None:
        super().__set__(exc, value)  # type: ignore[misc]
        exc.publish(self.name, None)


class _Published(_Publishes, _DropsIcsrImage):
    pass


class _PublishedDerived(_Publishes, _DropsDerived):
    pass


def _changed(exc: ExceptionState, state: dict[str, Any]) -> None:
    """``exc``'s state (its ``__dict__``) changed: the CPU plans anew, the derived values, the
    ICSR image and the native return plan are dropped. The hot changes below
    (``set_pending``, ``activate``, ``deactivate``, ``irq_input``) do the same inline."""
    state["changed"] = True
    state["preempt"] = None
    if state.get("icsr_image"):
        state["icsr_image"] = False
        exc.drop_icsr_image()
    if state.get("return_plan"):
        state["return_plan"] = False
        exc.drop_return_plan()


class ExceptionState:
    """Priorities, enables, pending and active sets for 16 + ``num_irq`` exceptions.

    ICSR's pending fields are a function of ``pending``, ``enabled`` and ``priority``; a
    copy stored in native memory (``emulator.cpu.scsread``) answers ICSR reads while
    ``icsr_image`` is set. Any assignment to those sets or to ``active`` (and
    ``set_priority``) clears it and calls ``drop_icsr_image``; the same assignments clear
    ``return_plan``.

    ``irq_level`` (the device input lines, bit i for IRQ i) is copied at every change to
    ``level_words`` (32 lines a word), which native code reads: a planned return from an IRQ
    whose line is high is left to Python. A line's change changes no plan then (only the pend
    a rising one makes does).

    ``publish(name, n)`` is called after every change of ``priority``, ``enabled`` or
    ``prigroup`` (n: the one exception whose priority ``set_priority`` changed, else None): the
    SCS copies the registers that show them to native reads.

    ``preempt`` holds what ``preemption`` answers (the highest pending exception, the group
    priorities of it and of the active set) until a change of the sets, of a priority or of
    ``prigroup`` clears it (None); the next question computes it again. (A device line pending
    the only candidate while it is known computes it at once: ``irq_input``.) Hot callers read it
    first: ``exc.preempt or exc.preemption()``. ``priority`` is changed through ``set_priority``
    or by assigning a new list, never in place."""

    pending = _DropsIcsrImage()
    enabled = _Published()
    active = _DropsIcsrImage()
    priority = _Published()
    irq_level = _Levels()
    prigroup = _PublishedDerived()

    def __init__(self, num_irq: int = 32, priority_bits: int = 8) -> None:
        # Where the levels are copied (``attach_level_words`` sets the native copy).
        self.level_words: Any = [0] * ((num_irq + 31) // 32)
        self.icsr_image = False
        self.drop_icsr_image: Callable[[], None] = lambda: None
        self.publish: Callable[[str, int | None], None] = lambda _name, _n: None
        # Set while native code may return from handlers Python entered (``CortexM3``'s plan, made
        # from these sets); any assignment to them clears it and calls ``drop_return_plan``.
        self.return_plan = False
        self.drop_return_plan: Callable[[], None] = lambda: None
        self.changed = False  # set by every assignment to the sets above (``CortexM3`` clears it)
        self.num_irq = num_irq
        self.count = IRQ0 + num_irq
        self.priority_mask = (0xFF << (8 - priority_bits)) & 0xFF
        self.masks: Callable[[], tuple[int, int, int]] = lambda: (0, 0, 0)
        # What ``masks()`` would answer, while that is known without asking (the core keeps it
        # between slices); None: ask.
        self.known_masks: tuple[int, int, int] | None = None
        # Told of a newly pended exception (``set_pending``, ``irq_input``) or, by the SCS, of a
        # change of enables or priorities; None while nobody listens (the CPU runs no slice).
        self.on_change: Callable[[], None] | None = None
        self.preempt: tuple[int, int, int] | None = None
        self.reset()

    def reset(self) -> None:
        self.priority = [0] * self.count
        self.priority[RESET], self.priority[NMI], self.priority[HARDFAULT] = -3, -2, -1
        # Exceptions that are always enabled; IRQs and the configurable faults are not.
        self.enabled = (1 << NMI) | (1 << HARDFAULT) | (1 << SVCALL) | (1 << DEBUGMON) | \
            (1 << PENDSV) | (1 << SYSTICK)
        self.pending = 0
        self.active = 0
        self.prigroup = 0
        # Level of each device IRQ input: a high level re-pends after the ISR clears.
        self.irq_level = 0
        self.preempt = None  # the priorities above were written in place

    def attach_level_words(self, words: Any) -> None:
        """Copy the levels to ``words`` (32-bit words, at least ``num_irq`` bits) from now on."""
        self.level_words = words
        self.irq_level = self.irq_level

    # -- priorities ---------------------------------------------------------
    def group_priority(self, prio: int) -> int:
        if prio < 0:
            return prio
        return prio & ~((2 << self.prigroup) - 1) & 0xFF

    def set_priority(self, n: int, value: int) -> None:
        if n > HARDFAULT:
            self.priority[n] = value & self.priority_mask
            self.preempt = None
            if self.icsr_image:
                self.icsr_image = False
                self.drop_icsr_image()
            self.publish("priority", n)

    def preemption(self) -> tuple[int, int, int]:
        """(the pending, enabled exception with the highest priority (0 if none), its group
        priority (``THREAD_PRIORITY`` if none), the execution priority of the active set without
        the masks), from the sets and priorities; kept in ``preempt``."""
        state = self.__dict__
        priority = self.priority
        group_mask = ~((2 << state["prigroup"]) - 1) & 0xFF  # group_priority, inline
        act = state["active"]
        if not act:  # the common cases (none or one active): no loop
            best = THREAD_PRIORITY
        elif not act & (act - 1):
            best = priority[act.bit_length() - 1]
            if best >= 0:
                best &= group_mask
        else:
            best = THREAD_PRIORITY
            while act:
                low = act & -act
                p = priority[low.bit_length() - 1]
                if p >= 0:
                    p &= group_mask
                if p < best:
                    best = p
                act ^= low
        cand = state["pending"] & state["enabled"]
        if not cand & (cand - 1):  # none or one candidate
            best_n = cand.bit_length() - 1 if cand else 0
            best_p = priority[best_n]
        else:
            best_n, best_p = 0, 1 << 30
            while cand:
                low = cand & -cand
                n = low.bit_length() - 1
                p = priority[n]
                if p < best_p:  # ties: the lower exception number wins (scan is ascending)
                    best_n, best_p = n, p
                cand ^= low
        if not best_n:
            best_p = THREAD_PRIORITY
        elif best_p >= 0:
            best_p &= group_mask
        preempt = state["preempt"] = (best_n, best_p, best)
        return preempt

    def execution_priority(self, active: int | None = None,
                           masks: tuple[int, int, int] | None = None) -> int:
        """B1.5.4: the running priority from active exceptions and the mask registers
        (``masks``: (PRIMASK, FAULTMASK, BASEPRI) to use instead of the core's)."""
        if active is None:
            best = (self.preempt or self.preemption())[2]
        else:
            best = THREAD_PRIORITY
            act = active
            while act:
                low = act & -act
                n = low.bit_length() - 1
                p = self.group_priority(self.priority[n])
                if p < best:
                    best = p
                act ^= low
        primask, faultmask, basepri = self.masks() if masks is None else masks
        if basepri & self.priority_mask:
            b = self.group_priority(basepri & self.priority_mask)
            if b < best:
                best = b
        if primask & 1 and best > 0:
            best = 0
        if faultmask & 1 and best > -1:
            best = -1
        return best

    def highest_pending(self) -> int:
        """The pending, enabled exception with the highest priority (0 if none)."""
        return (self.preempt or self.preemption())[0]

    def deliverable(self, active: int | None = None) -> int:
        """The exception that would preempt now, or 0."""
        state = self.__dict__
        if not state["pending"] & state["enabled"]:
            return 0
        if active is not None:
            n = self.highest_pending()
            if self.group_priority(self.priority[n]) < self.execution_priority(active):
                return n
            return 0
        n, prio, best = state["preempt"] or self.preemption()
        if prio >= best:
            return 0
        # The masks can only lower the execution priority below the active set's.
        primask, faultmask, basepri = state["known_masks"] or self.masks()
        if faultmask & 1:
            return n if prio < -1 else 0
        if primask & 1:
            return n if prio < 0 else 0
        basepri &= self.priority_mask
        if basepri and prio >= self.group_priority(basepri):
            return 0
        return n

    # -- state changes --------------------------------------------------------
    # The hot changes (set_pending, activate, deactivate) assign through __dict__, past
    # _DropsIcsrImage, and call _changed once for all their assignments.
    def set_pending(self, n: int, notify: bool = True) -> None:
        """Pend exception ``n``; ``notify`` False: without telling ``on_change`` (a pend native code
        made, whose consequences it took care of)."""
        state = self.__dict__
        if not state["pending"] >> n & 1:
            state["pending"] |= 1 << n
            state["changed"] = True
            state["preempt"] = None
            if state["icsr_image"]:
                state["icsr_image"] = False
                self.drop_icsr_image()
            if state["return_plan"]:
                state["return_plan"] = False
                self.drop_return_plan()
            if notify and state["on_change"] is not None:
                state["on_change"]()

    def clear_pending(self, n: int) -> None:
        self.pending &= ~(1 << n)
        if n >= IRQ0 and self.irq_level >> (n - IRQ0) & 1 and not self.active >> n & 1:
            # A level-sensitive input that is still high stays pending.
            self.pending |= 1 << n

    def set_enabled(self, n: int, on: bool) -> None:
        before = self.enabled
        self.enabled = self.enabled | (1 << n) if on else self.enabled & ~(1 << n)
        if self.enabled != before and on and self.pending >> n & 1:
            self.notify()

    def notify(self) -> None:
        """Enables or priorities changed: tell ``on_change`` (if anyone listens)."""
        if self.on_change is not None:
            self.on_change()

    def irq_input(self, irq: int, level: bool) -> None:
        """A device line into the NVIC: a rising level pends the IRQ (B3.4.1).

        What assigning ``irq_level`` and then ``set_pending`` do, in one call (the path of every
        device interrupt)."""
        state = self.__dict__
        levels = state["irq_level"]
        levels = state["irq_level"] = levels | 1 << irq if level else levels & ~(1 << irq)
        state["level_words"][irq >> 5] = levels >> (irq & ~31) & 0xFFFFFFFF
        if not level:
            return
        n = IRQ0 + irq
        if not (state["active"] | state["pending"]) >> n & 1:
            state["pending"] |= 1 << n
            state["changed"] = True
            if state["enabled"] >> n & 1:  # (else the candidates, and so preempt, stay as they were)
                # From nothing pending and enabled (preempt known) it is the only candidate.
                preempt = state["preempt"]
                state["preempt"] = None if preempt is None or preempt[0] else (
                    n, self.priority[n] & ~((2 << state["prigroup"]) - 1) & 0xFF, preempt[2])
            if state["icsr_image"]:
                state["icsr_image"] = False
                self.drop_icsr_image()
            if state["return_plan"]:
                state["return_plan"] = False
                self.drop_return_plan()
            if state["on_change"] is not None:
                state["on_change"]()

    def activate(self, n: int) -> None:
        state = self.__dict__
        state["pending"] &= ~(1 << n)
        state["active"] |= 1 << n
        state["changed"] = True
        state["preempt"] = None
        if state["icsr_image"]:
            state["icsr_image"] = False
            self.drop_icsr_image()
        if state["return_plan"]:
            state["return_plan"] = False
            self.drop_return_plan()

    def activate_planned(self, n: int) -> None:
        """``activate(n)`` of an entry native code made, whose consequences it took care of: it
        dropped the ICSR image and left the return plan the CPU would make now (set, for the next
        change to clear; no ``changed``)."""
        state = self.__dict__
        state["pending"] &= ~(1 << n)
        state["active"] |= 1 << n
        state["preempt"] = None
        state["icsr_image"] = False
        state["return_plan"] = True

    def returned_to_idle(self, icsr_image: bool) -> None:
        """The planned return native code made from the only active handler, with nothing pending
        and enabled and its line low (the plan was that return alone): nothing active, the plan
        spent, ``icsr_image`` whether that return stored the image (else it dropped it); nothing
        changed that a plan would follow."""
        state = self.__dict__
        state["active"] = 0
        state["preempt"] = _IDLE
        state["return_plan"] = False
        state["icsr_image"] = icsr_image
        state["changed"] = False

    def deactivate(self, n: int) -> None:
        state = self.__dict__
        state["active"] &= ~(1 << n)
        if n >= IRQ0 and state["irq_level"] >> (n - IRQ0) & 1:
            # The line is still asserted when the ISR returns: pend again.
            state["pending"] |= 1 << n
        state["changed"] = True
        state["preempt"] = None
        if state["icsr_image"]:
            state["icsr_image"] = False
            self.drop_icsr_image()
        if state["return_plan"]:
            state["return_plan"] = False
            self.drop_return_plan()
