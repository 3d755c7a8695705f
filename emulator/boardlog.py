"""The board's log: what the board itself has to say, stamped with virtual time.

One ``BoardLog`` per ``Machine`` (``machine.log``). A record has the virtual
time it was written at (cycles, and nanoseconds from the board clock), a
level (``debug``, ``info``, ``warning``, ``error``), a source (a device's
name, or ``cpu`` for the core: faults taken, accesses nothing serves) and a
one-line message. The log keeps the last ``keep`` records in memory (older
ones are dropped and counted) and hands every new record to its subscribers
at once, on the thread that wrote it (the emulation thread): the CLI prints
them to stderr, the RPC server forwards them as events, the Robot library's
log tester reads them back with ``records``.

No host I/O here; a subscriber that does host I/O belongs to ``bridge`` or
``vboard``. Writers are the emulation thread; ``records`` may be called from
any thread.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

LEVELS = ("debug", "info", "warning", "error")
_RANK = {name: i for i, name in enumerate(LEVELS)}


def level_rank(level: str) -> int:
    """0 for debug ... 3 for error; ValueError for anything else."""
    try:
        return _RANK[level]
    except KeyError:
        raise ValueError(f"log level '{level}': expected one of {', '.join(LEVELS)}") from None


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int          # 1, 2, ... per log, never reused (also after records were dropped)
    cycles: int       # virtual time in board clock cycles
    time_ns: int      # the same time in nanoseconds
    level: str
    source: str       # a device name, or "cpu"
    message: str

    def text(self) -> str:
        """``[    0.001234] warning cpu: message`` (virtual seconds)."""
        return f"[{self.time_ns / 1e9:12.6f}] {self.level} {self.source}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "cycles": self.cycles, "time_ns": self.time_ns, "level": self.level,
                "source": self.source, "message": self.message}


Subscriber = Callable[[LogRecord], None]


class BoardLog:
    """Bounded record history plus subscribers; see the module docstring."""

    def __init__(self, now: Callable[[], int], hz: int, keep: int = 4096) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._now = now
        self._hz = hz
        self._records: deque[LogRecord] = deque(maxlen=keep)
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self.seq = 0
        self.dropped = 0
        # Where the CPU is, as text ("0x00000412 <main+0x1a>"), for a writer that wants to say
        # so (e.g. a device's first access); the machine sets it. Called from a device's read or
        # write with the ``address`` accessed (``device.mmio_base + offset``) it names the load or
        # store making the access; without one, the start of the current translation block.
        self.where: Callable[..., str] = _nowhere

    # ------------------------------------------------------------- writing
    def write(self, level: str, source: str, message: str) -> LogRecord:
        level_rank(level)
        cycles = self._now()
        with self._lock:
            self.seq += 1
            record = LogRecord(self.seq, cycles, cycles * 1_000_000_000 // self._hz, level, source, message)
            if len(self._records) == self._records.maxlen:
                self.dropped += 1
            self._records.append(record)
            subscribers = tuple(self._subscribers)
        for subscriber in subscribers:
            subscriber(record)
        return record

    def debug(self, source: str, message: str) -> LogRecord:
        return self.write("debug", source, message)

    def info(self, source: str, message: str) -> LogRecord:
        return self.write("info", source, message)

    def warning(self, source: str, message: str) -> LogRecord:
        return self.write("warning", source, message)

    def error(self, source: str, message: str) -> LogRecord:
        return self.write("error", source, message)

    # --------------------------------------------------------- subscribing
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(record)`` for every record from now on; returns the unsubscribe call."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    # ------------------------------------------------------------- reading
    def records(self, *, since: int = 0, level: str = "debug", source: str | None = None,
                pattern: str | re.Pattern[str] | None = None) -> list[LogRecord]:
        """Kept records with ``seq > since``, at ``level`` or above, from ``source`` (None: any),
        whose message matches ``pattern`` (a regular expression, searched; None: any)."""
        floor = level_rank(level)
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        with self._lock:
            kept = list(self._records)
        return [r for r in kept
                if r.seq > since and _RANK[r.level] >= floor and (source is None or r.source == source)
                and (regex is None or regex.search(r.message))]

    def clear(self) -> None:
        """Forget the kept records (sequence numbers go on)."""
        with self._lock:
            self._records.clear()


def _nowhere(address: int | None = None) -> str:
    return "(unknown PC)"
