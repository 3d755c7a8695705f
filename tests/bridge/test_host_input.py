"""HostInput.wait: input ends it, its timeout holds whether it spins first or blocks."""

from __future__ import annotations

import os
import threading
import time

from bridge.host_input import SPIN_SECONDS, HostInput


def _watched_pipe(hi: HostInput) -> tuple[int, int]:
    r, w = os.pipe()
    hi.watch(r)
    hi.wait(0)  # takes the wake-up that watch() posted
    return r, w


def test_a_watched_descriptor_ends_the_wait() -> None:
    hi = HostInput()
    r, w = _watched_pipe(hi)
    threading.Timer(0.05, os.write, (w, b"x")).start()
    t0 = time.monotonic()
    assert hi.wait(5.0)
    assert time.monotonic() - t0 < 2.0


def test_quick_input_makes_the_next_wait_spin_and_a_timeout_stops_it() -> None:
    hi = HostInput()
    r, w = _watched_pipe(hi)
    os.write(w, b"x")
    hi.wait(1.0)  # ended by input at once: the next wait spins first
    os.read(r, 1)
    assert hi._spin
    t0 = time.monotonic()
    hi.wait(0.02)  # nothing comes: spins SPIN_SECONDS, blocks for the rest, times out
    elapsed = time.monotonic() - t0
    assert 0.02 <= elapsed < 1.0
    assert not hi._spin
    hi.arrived()
    hi.wait(1.0)
    assert hi._spin  # a wake-up by a reader thread counts as input too


def test_a_spinning_wait_shorter_than_the_spin_ends_on_time() -> None:
    hi = HostInput()
    r, w = _watched_pipe(hi)
    hi.arrived()
    hi.wait(1.0)
    assert hi._spin
    t0 = time.monotonic()
    hi.wait(SPIN_SECONDS / 4)
    assert SPIN_SECONDS / 4 <= time.monotonic() - t0 < 0.5


def test_no_sources_no_wait() -> None:
    hi = HostInput()
    assert not hi.wait(10.0)
    hi.opened()
    hi.closed()
    assert not hi.wait(10.0)
