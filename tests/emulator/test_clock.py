"""The virtual clock: event order, cancellation, time arithmetic."""

from __future__ import annotations

import pytest

from emulator.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(25_000_000)


def test_events_fire_in_time_order_then_scheduling_order(clock):
    fired = []
    clock.call_at(30, lambda: fired.append("c"))
    clock.call_at(10, lambda: fired.append("a1"))
    clock.call_at(20, lambda: fired.append("b"))
    clock.call_at(10, lambda: fired.append("a2"))
    clock.call_at(10, lambda: fired.append("a3"))
    clock.advance(9)
    assert clock.fire_due() == 0 and fired == []
    clock.advance(1)
    assert clock.fire_due() == 3
    assert fired == ["a1", "a2", "a3"]
    clock.advance(100)
    assert clock.fire_due() == 2
    assert fired == ["a1", "a2", "a3", "b", "c"]


def test_timers_are_events_not_values(clock):
    """Timers order by (when, seq) (the heap's comparison) but are equal only to themselves."""
    a, b = clock.call_at(10, lambda: None, "a"), clock.call_at(10, lambda: None, "b")
    c = clock.call_at(5, lambda: None, "c")
    assert (a.when, a.seq, a.name, a.cancelled) == (10, 0, "a", False)
    assert c < a < b and not b < a and sorted([b, a, c]) == [c, a, b]
    assert a != b and a == a and len({a, b, c}) == 3
    assert repr(a) == "Timer('a' at 10)"
    a.cancel()
    assert repr(a) == "Timer('a' at 10 cancelled)" and clock.pending() == [c, b]


def test_cancelled_events_do_not_fire(clock):
    fired = []
    t1 = clock.call_at(5, lambda: fired.append(1))
    clock.call_at(7, lambda: fired.append(2))
    t1.cancel()
    assert clock.next_deadline() == 7
    assert [t.when for t in clock.pending()] == [7]
    clock.advance(10)
    assert clock.fire_due() == 1
    assert fired == [2]
    assert clock.next_deadline() is None


def test_cancelled_events_do_not_pile_up_and_order_is_kept(clock):
    """A timer re-armed at every write (SysTick under a tickless idle) leaves its cancelled
    predecessors behind; the heap is rebuilt without them, and what fires, and in which order
    (time, then scheduling order), is what it would be without the rebuilds."""
    fired = []
    keep = [clock.call_at(1000 + 10 * (i % 7), lambda i=i: fired.append(i)) for i in range(40)]
    rearmed = None
    for i in range(10_000):
        if rearmed is not None:
            rearmed.cancel()
        rearmed = clock.call_at(5000 + i, lambda: fired.append("last"))
    assert len(clock._heap) <= 4 * len(keep) + 2
    clock.advance(20_000)
    clock.fire_due()
    assert fired == sorted(range(40), key=lambda i: (i % 7, i)) + ["last"]
    assert keep[0].cancelled  # fired timers are marked done


def test_next_deadline_besides_one_timer_matches_a_scan(clock):
    """``next_deadline(besides=t)``: the earliest live timer other than ``t``, whatever the heap's
    shape and cancellations (compared with a scan of the pending timers)."""
    import random

    rng = random.Random(5)
    for _round in range(300):
        c = Clock(1000)
        timers = [c.call_at(rng.randrange(50), lambda: None) for _ in range(rng.randrange(1, 12))]
        for t in timers:
            if rng.random() < 0.4:
                t.cancel()
        pending = c.pending()
        for besides in [None, *timers]:
            live = [t.when for t in pending if t is not besides]
            assert c.next_deadline(besides=besides) == (min(live) if live else None)
            assert c.pending() == pending  # asking leaves every live timer scheduled
        fired = []
        for t in pending:
            t.callback = lambda t=t, fired=fired: fired.append(t)
        c.advance(50)
        c.fire_due()
        assert fired == pending  # in (when, seq) order, as scheduled


def test_an_event_fires_once(clock):
    fired = []
    t = clock.call_at(1, lambda: fired.append(1))
    clock.advance(1)
    clock.fire_due()
    clock.fire_due()
    t.cancel()  # harmless after firing
    assert fired == [1]


def test_events_scheduled_while_firing(clock):
    fired = []

    def first():
        fired.append("first")
        clock.call_at(clock.now, lambda: fired.append("same cycle"))
        clock.call_after(5, lambda: fired.append("later"))

    clock.call_at(10, first)
    clock.advance(10)
    clock.fire_due()
    assert fired == ["first", "same cycle"]
    clock.advance(5)
    clock.fire_due()
    assert fired == ["first", "same cycle", "later"]


def test_past_deadlines_are_clamped_to_now(clock):
    clock.advance(100)
    t = clock.call_at(3, lambda: None)
    assert t.when == 100
    assert clock.call_after(-5, lambda: None).when == 100


def test_time_conversions(clock):
    assert clock.cycles(1.0) == 25_000_000
    assert clock.cycles(0.001) == 25_000
    clock.advance(12_500_000)
    assert clock.now == 12_500_000
    assert clock.seconds() == 0.5
    assert clock.seconds(25) == 1e-6


def test_clear_drops_every_event(clock):
    fired = []
    clock.call_at(1, lambda: fired.append(1))
    clock.clear()
    clock.advance(2)
    assert clock.fire_due() == 0 and fired == []


def test_frequency_must_be_positive():
    with pytest.raises(ValueError):
        Clock(0)


def test_run_for_fires_each_event_at_its_own_time_and_those_it_schedules():
    clock = Clock(1000)
    seen: list[tuple[str, int]] = []

    def first() -> None:
        seen.append(("first", clock.now))
        clock.call_after(5, lambda: seen.append(("second", clock.now)))

    clock.call_at(10, first)
    clock.call_at(30, lambda: seen.append(("late", clock.now)))
    clock.run_for(20)
    assert seen == [("first", 10), ("second", 15)] and clock.now == 20
    clock.run_for(10)
    assert seen[-1] == ("late", 30) and clock.now == 30


def _reference_move(clock: Clock, timer, when: int):
    """What ``move_top`` stands for: cancel the timer, schedule its callback again at ``when``."""
    timer.cancel()
    return clock.call_at(when, timer.callback, timer.name)


def _reference_skip(clock: Clock, n: int) -> None:
    """``skip_timers`` as it was: one sequence number drawn at a time."""
    for _ in range(n):
        next(clock._seq)


def _moves_run(seed: int, reference: bool) -> tuple:
    """Timers scheduled, moved, cancelled and fired in an order drawn from ``seed``: what fired
    (name, time), the timers left, the next sequence number."""
    import random

    rng = random.Random(seed)
    clock, fired, live = Clock(1000), [], []

    def schedule(when: int, name: str) -> None:
        live.append(clock.call_at(when, lambda: fired.append((name, clock.now)), name))

    for i in range(12):
        schedule(rng.randrange(0, 40, 5), f"t{i}")
    for step in range(300):
        op = rng.randrange(8)
        heap = clock.timer_heap()
        clock.next_deadline()  # drops cancelled timers from the top, as the run loop's look does
        if op <= 1 and heap:
            top = heap[0]
            when = clock.base + rng.choice([-3, 0, 5, 10, 10, 25, 60])
            if reference:
                live[live.index(top)] = _reference_move(clock, top, when)
            else:
                assert clock.move_top(top, when)
        elif op <= 4:
            schedule(clock.base + rng.randrange(0, 50, 5), f"s{step}")
        elif op == 5 and live:
            rng.choice(live).cancel()
        elif op == 6:
            n = rng.randrange(3)
            if reference:
                _reference_skip(clock, n)
            else:
                clock.skip_timers(n)
        else:
            clock.advance(rng.randrange(0, 15))
            clock.fire_due()
    return fired, [(t.when, t.seq, t.name) for t in clock.pending()], next(clock._seq)


@pytest.mark.parametrize("seed", range(6))
def test_moving_the_top_timer_fires_as_cancelling_and_scheduling_again(seed):
    """``Clock.move_top`` (a SysTick event moved past the ticks a slice took natively) and
    ``skip_timers`` against cancel + ``call_at`` and a draw per number: with timers at the same
    cycles (their order is their sequence numbers'), moves to the past (clamped), to a tie and
    beyond the others, cancelled timers left in the heap, firing in between: the same events fire
    at the same times in the same order, and the same timers are left."""
    ours = _moves_run(seed, False)
    assert len(ours[0]) > 60
    assert ours == _moves_run(seed, True)


def test_move_top_leaves_a_timer_not_on_top_alone(clock):
    first, second = clock.call_at(10, lambda: None, "a"), clock.call_at(20, lambda: None, "b")
    assert not clock.move_top(second, 5)
    assert (second.when, second.seq, first.when) == (20, 1, 10) and clock.next_deadline() == 10
