"""The virtual clock and the event scheduler.

Time is counted in CPU cycles; the model is one instruction = one cycle at
the board's core frequency (25 MHz on MPS2-AN385). Nothing ticks per
instruction: devices compute counters from ``clock.now`` when read and
schedule their next deadline with ``call_at``; the CPU runs in slices that
end at the nearest deadline.

Inside a slice ``now`` is exact: the CPU installs a ``slice_progress``
function that says how many instructions of the current slice have run.

Events due at the same cycle fire in the order they were scheduled, so a
run is a pure function of the firmware and of the inputs' timestamps.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from heapq import heappop, heappush, heapreplace
from itertools import count, islice
from operator import itemgetter


class Timer(list):
    """A scheduled event; ``cancel()`` it or let it fire once.

    The list ``[when, seq]``: the clock's heap orders timers by (when, seq) with the list's
    own comparison, in C (``seq`` is unique, so two timers never reach a further element).
    Equality and hashing are an object's, as for any event. Made by ``Clock.call_at``."""

    __slots__ = ("callback", "cancelled", "name")
    when = property(itemgetter(0))
    seq = property(itemgetter(1), lambda self, value: self.__setitem__(1, value))  # set: snapshot loads
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__  # type: ignore[assignment]
    callback: Callable[[], None]
    cancelled: bool
    name: str

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        return f"Timer({self.name!r} at {self.when}{' cancelled' if self.cancelled else ''})"


COMPACT_MIN = 64  # heap entries below which cancelled timers are left to pop off the top


def _no_progress() -> int:
    return 0


class Clock:
    __slots__ = ("hz", "base", "slice_progress", "_heap", "_seq", "slice_end",
                 "on_earlier_deadline", "_compact_at", "native_model")

    def __init__(self, hz: int) -> None:
        if hz <= 0:
            raise ValueError("clock frequency must be positive")
        self.hz = hz
        self.base = 0
        self.slice_progress: Callable[[], int] = _no_progress
        self._heap: list[Timer] = []
        # Cancelled timers stay in the heap until they reach its top; past this size the heap
        # is rebuilt without them (a timer re-armed at every register write, as SysTick under a
        # tickless idle, would otherwise leave thousands behind).
        self._compact_at = COMPACT_MIN
        self._seq = count()
        # While the CPU runs a slice: where it ends, and how to end it sooner.
        self.slice_end: int | None = None
        self.on_earlier_deadline: Callable[[], None] | None = None
        # A model native code may have changed with events to schedule (SysTick's writes served
        # in C, ``emulator.cpu.scsread``): (its native copy, its pull), asked before any event is
        # scheduled while the copy's ``st_dirty`` is set, so that its events keep their order.
        self.native_model: tuple[object, Callable[[], None]] | None = None

    @property
    def now(self) -> int:
        """Cycles since power-on, exact even in the middle of a CPU slice."""
        return self.base + self.slice_progress()

    def seconds(self, cycles: int | None = None) -> float:
        return (self.now if cycles is None else cycles) / self.hz

    def cycles(self, seconds: float) -> int:
        return round(seconds * self.hz)

    def call_at(self, when: int, callback: Callable[[], None], name: str = "") -> Timer:
        native = self.native_model
        if native is not None and native[0].st_dirty:  # type: ignore[attr-defined]
            native[1]()
        if when < self.base:
            when = self.base
        timer = Timer((when, next(self._seq)))
        timer.callback, timer.cancelled, timer.name = callback, False, name
        heap = self._heap
        heappush(heap, timer)
        if len(heap) > self._compact_at:
            self._compact()
        slice_end = self.slice_end
        if slice_end is not None and when < slice_end and self.on_earlier_deadline:
            self.on_earlier_deadline()
        return timer

    def move_top(self, timer: Timer, when: int) -> bool:
        """Between slices: ``timer``, not cancelled, moved to ``when`` if it is on top of the heap
        (True), with a new sequence number. What cancelling it and ``call_at(when, its callback,
        its name)`` do, the heap's order included, without the call or a cancelled timer left behind;
        the caller keeps ``timer`` as the new one. False: nothing done (it is not on top)."""
        heap = self._heap
        if heap[0] is not timer:
            return False
        base = self.base
        timer[0] = when if when > base else base
        timer[1] = next(self._seq)
        heapreplace(heap, timer)  # the top sifted down to its place
        return True

    def skip_timers(self, n: int) -> None:
        """The sequence numbers of ``n`` events scheduled and cancelled elsewhere go unused here."""
        if n > 0:
            next(islice(self._seq, n - 1, n))  # (consumed in C)

    def _compact(self) -> None:
        """Drop the cancelled timers (in place; the firing order is (when, seq) either way)."""
        heap = self._heap
        heap[:] = [t for t in heap if not t.cancelled]
        heapq.heapify(heap)
        self._compact_at = max(COMPACT_MIN, 2 * len(heap))

    def call_after(self, delay: int, callback: Callable[[], None], name: str = "") -> Timer:
        return self.call_at(self.now + max(0, delay), callback, name)

    def timer_heap(self) -> list[Timer]:
        """The scheduled timers themselves, a heap on (when, seq) whose top may be cancelled: for a
        loop that looks at the top inline between calls (``heap[0].when``). Read it, never change it;
        it stays the same list for the clock's life."""
        return self._heap

    def next_deadline(self, besides: Timer | None = None) -> int | None:
        """The earliest event's time (None: nothing scheduled); ``besides``: leaving that one out."""
        heap = self._heap
        while heap and heap[0].cancelled:
            heappop(heap)
        if not heap:
            return None
        first = heap[0]
        if first is not besides:
            return first[0]  # first.when
        # ``besides`` is on top: off the heap while the cancelled timers that surface are dropped
        # and the next one is read, then back (the firing order is (when, seq) either way).
        heappop(heap)
        while heap and heap[0].cancelled:
            heappop(heap)
        when = heap[0].when if heap else None
        heappush(heap, first)
        return when

    def advance(self, cycles: int) -> None:
        """Move time forward; the caller then fires what is due."""
        self.base += cycles

    def fire_due(self) -> int:
        """Fire every event due at or before ``base``; returns how many fired."""
        heap = self._heap
        fired = 0
        base = self.base
        while heap and heap[0][0] <= base:  # (a timer's [0]: its ``when``, without the property)
            timer = heappop(heap)
            if timer.cancelled:
                continue
            timer.cancelled = True
            fired += 1
            timer.callback()
        return fired

    def run_for(self, cycles: int) -> None:
        """Advance ``cycles``, firing each event at its own time (events may schedule more)."""
        end = self.now + cycles
        while (deadline := self.next_deadline()) is not None and deadline <= end:
            self.advance(max(0, deadline - self.now))
            self.fire_due()
        self.advance(end - self.now)
        self.fire_due()

    def pending(self) -> list[Timer]:
        return sorted(t for t in self._heap if not t.cancelled)

    def clear(self) -> None:
        self._heap.clear()
        self._compact_at = COMPACT_MIN
