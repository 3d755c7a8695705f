"""SIGINT, SIGTERM and SIGHUP end a run the same way: cleanly, at a slice boundary.

``timeout``, ``docker stop`` and CI cancellation send SIGTERM; a closed
terminal sends SIGHUP. Each ends ``vboard run`` as Ctrl-C does: the run loop
stops, every ``finally`` runs (UART files flushed, the pcap written whole,
passt stopped and its folder removed, the ``--stats`` line printed) and the
exit status is 128 + the signal's number (130, 143, 129).

While the emulation runs (``deferred()``), a signal only records itself and
wakes the host input: the run loop raises ``Interrupted`` after the slice
(``check()``). Raising from the handler there could land inside a Unicorn
MMIO callback, where ctypes prints the exception and drops it. Outside the
run loop (loading, waiting for GDB) the handler raises at once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The run was ended by a signal; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


class RunSignals:
    def __init__(self) -> None:
        self.pending: int | None = None
        self.deferring = False
        self.wakers: list[Callable[[], None]] = []
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.pending is None:
            self.pending = signum
        if not self.deferring:
            raise Interrupted(self.pending)
        for wake in self.wakers:
            wake()

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Signals only record themselves in here (the emulation may be inside a ctypes callback)."""
        self.check()
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    def check(self) -> None:
        if self.pending is not None:
            raise Interrupted(self.pending)


current = RunSignals()


@contextmanager
def run_signals() -> Iterator[RunSignals]:
    """``current`` installed for SIGINT, SIGTERM and SIGHUP for the duration of a run."""
    current.pending = None
    current.wakers.clear()
    current.install()
    try:
        yield current
    finally:
        current.restore()
        current.wakers.clear()
