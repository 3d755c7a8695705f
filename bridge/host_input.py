"""Host input for an idle or paced machine: what it waits on, and who reads it.

Two kinds of sources feed a board from the host:

* reader threads (UART endpoints, the Wi-Fi module's sockets) post their
  data to the machine and call ``arrived()``;
* polled sources (the network backends' sockets) are read on the emulation
  thread itself, at slice boundaries: ``Machine.host_polls`` calls them, and
  ``wait`` watches their descriptors. No thread hand-off per frame.

``wait`` blocks in one ``select`` on a wake-up pipe (written by
``arrived()``) and on every polled descriptor, so either kind ends it.
"""

from __future__ import annotations

import os
import select
import threading
import weakref


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
        self._poke()

    def want_write(self, fd: int, on: bool) -> None:
        """Also end ``wait`` when ``fd`` can take more output (a source with output pending)."""
        with self._lock:
            if on:
                self._write_fds.add(fd)
            else:
                self._write_fds.discard(fd)

    def wait(self, timeout: float | None) -> bool:
        """Block until input arrives or ``timeout`` passes; False when no source can deliver any more."""
        with self._lock:
            if self.sources <= 0:
                return False
            reads = [self._wake_r, *self._read_fds]
            writes = list(self._write_fds)
        try:
            readable, _, _ = select.select(reads, writes, [], timeout)
        except (OSError, ValueError):
            return True  # a descriptor closed under us: its owner reports that
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
