"""Host input for an idle or paced machine: what it waits on, and who reads it.

Two kinds of sources feed a board from the host:

* reader threads (UART endpoints, the Wi-Fi module's sockets) post their
  data to the machine and call ``arrived()``;
* polled sources (the network backends' sockets) are read on the emulation
  thread itself, at slice boundaries: ``Machine.host_polls`` calls them, and
  ``wait`` watches their descriptors. No thread hand-off per frame.

``wait`` blocks in one ``select`` (µs timeouts, where ``poll`` rounds up to
ms) on a wake-up pipe (written by ``arrived()``) and on every polled
descriptor, so either kind ends it.

Blocking costs more than the wait's length when input comes back quickly (a
peer answering a frame within tens of µs): the thread is descheduled and
woken again, and its caches and the host CPU go cold in between. So, while
recent waits were ended by input within ``SPIN_SECONDS``, ``wait`` first
polls without blocking for up to that long (QEMU's adaptive polling, in
small); a wait that runs out its time stops that until input is quick again,
so an idle board (waits that time out) never spins.
"""

from __future__ import annotations

import os
import select
import threading
import time
import weakref

SPIN_SECONDS = 100e-6  # about what blocking and waking again costs


class HostInput:
    """Counts live input sources and wakes an idle machine when input arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._read_fds: dict[int, int] = {}   # descriptor -> how many watch it
        self._write_fds: set[int] = set()
        self.sources = 0
        self._reads: list[int] = [self._wake_r]   # what wait selects on, rebuilt on a change
        self._writes: list[int] = []
        self._spin = False     # recent waits ended by input within SPIN_SECONDS
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)

    def opened(self) -> None:
        with self._lock:
            self.sources += 1

    def closed(self) -> None:
        with self._lock:
            self.sources -= 1
        self._poke()

    def arrived(self) -> None:
        self._poke()

    def _poke(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is pending anyway) or closed

    # ---------------------------------------------------------- polled sources
    def watch(self, fd: int) -> None:
        """Let ``wait`` end when ``fd`` is readable (a polled source; counts as one source)."""
        with self._lock:
            self._read_fds[fd] = self._read_fds.get(fd, 0) + 1
            self.sources += 1
            self._register(fd)
        self._poke()

    def unwatch(self, fd: int) -> None:
        with self._lock:
            n = self._read_fds.get(fd, 0)
            if n <= 0:
                return
            if n == 1:
                del self._read_fds[fd]
            else:
                self._read_fds[fd] = n - 1
            self._write_fds.discard(fd)
            self.sources -= 1
            self._register(fd)
        self._poke()

    def want_write(self, fd: int, on: bool) -> None:
        """Also end ``wait`` when ``fd`` can take more output (a source with output pending)."""
        with self._lock:
            if on:
                self._write_fds.add(fd)
            else:
                self._write_fds.discard(fd)
            self._register(fd)

    def _register(self, fd: int) -> None:
        """Rebuild the lists ``wait`` selects on after ``fd`` changed (under the lock)."""
        self._reads = [self._wake_r, *self._read_fds]
        self._writes = list(self._write_fds)

    def wait(self, timeout: float | None) -> bool:
        """Block until input arrives or ``timeout`` passes; False when no source can deliver any more."""
        if self.sources <= 0:
            return False
        reads, writes = self._reads, self._writes
        start = time.monotonic()
        try:
            if self._spin and timeout is not None:
                end = start + min(timeout, SPIN_SECONDS)
                while not (ready := select.select(reads, writes, [], 0))[0] and not ready[1]:
                    if time.monotonic() >= end:
                        if timeout > SPIN_SECONDS:
                            ready = select.select(reads, writes, [], timeout - SPIN_SECONDS)
                        break
            else:
                ready = select.select(reads, writes, [], timeout)
        except (OSError, ValueError):
            return True  # a descriptor closed under us: its owner reports that
        readable = ready[0]
        self._spin = bool(readable or ready[1]) and time.monotonic() - start < SPIN_SECONDS
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        return True


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
