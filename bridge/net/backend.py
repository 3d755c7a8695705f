"""The base of every host network backend.

A backend owns one switch port. Frames the switch sends to that port arrive
in ``deliver`` on the emulation thread; they go through the outbound hooks
(the DNS responder answers some right there, in virtual time) and then to
``_to_host``. Here that is a bounded queue that a writer thread drains to
the host, and a reader thread takes frames from the host and hands them to
the machine with ``machine.post`` (applied on the emulation thread at a
slice boundary); it tells ``HostInput`` so an idle machine waits for them.
The backends ``vboard`` runs do their I/O on the emulation thread instead
(``polled.PolledBackend``, libslirp): these threads are their fallback on a
machine without ``host_polls``.

When the host side dies (passt exits, the peer closes, the TAP goes away)
the backend reports one line through ``on_error`` (default:
``logging.warning``), marks itself down and keeps going: the board runs on,
frames towards the host are dropped and counted (``dropped["host down"]``).
Nothing here ever raises into the emulation thread.

Subclasses implement ``_open()`` (set up host I/O; raise ``BackendError``),
``_read_frame()`` (block for the next frame; ``None`` at end of stream),
``_write_frame(frame)`` and ``_close_io()`` (make a blocked read return).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from emulator.clock import Clock
from emulator.net.network import LinkModel, Switch, SwitchPort

log = logging.getLogger("vboard.net")

TX_QUEUE_FRAMES = 1024       # frames waiting for the host; more are dropped ("queue full")
MAX_INFLIGHT_FRAMES = 4096   # frames posted to the machine and not yet taken ("board busy")
JOIN_TIMEOUT_S = 2.0


class BackendError(Exception):
    """A host network backend that cannot be set up; the message says which and why."""


class MachineLike(Protocol):
    clock: Clock

    def post(self, action: Callable[[], None]) -> None: ...


class HostInputLike(Protocol):
    def opened(self) -> None: ...

    def closed(self) -> None: ...

    def arrived(self) -> None: ...

    def watch(self, fd: int) -> None: ...

    def unwatch(self, fd: int) -> None: ...

    def want_write(self, fd: int, on: bool) -> None: ...


# An outbound hook sees each frame going to the host (emulation thread) and
# returns True when it consumed it.
OutboundHook = Callable[[bytes], bool]


@dataclass
class BackendCounters:
    to_host_frames: int = 0
    to_host_bytes: int = 0
    from_host_frames: int = 0
    from_host_bytes: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"to_host_frames": self.to_host_frames, "to_host_bytes": self.to_host_bytes,
                "from_host_frames": self.from_host_frames, "from_host_bytes": self.from_host_bytes,
                "dropped": dict(self.dropped)}


def _default_on_error(message: str) -> None:
    log.warning("%s", message)


_STOP = object()


class HostBackend:
    """One switch port whose other side is the host. ``start()`` it, ``stop()`` it."""

    kind = "host"
    max_frame = 65536  # frames the reader accepts from the host

    def __init__(self, machine: MachineLike, switch: Switch, host_input: HostInputLike | None = None,
                 *, port_name: str = "host", on_error: Callable[[str], None] | None = None,
                 link: LinkModel | None = None) -> None:
        self.machine = machine
        self.switch = switch
        self.host_input = host_input
        self.on_error: Callable[[str], None] = on_error or _default_on_error
        self.counters = BackendCounters()
        self.outbound_hooks: list[OutboundHook] = []
        self.error: str | None = None
        self.alive = False
        self._stopping = False
        self._started = False
        self._txq: queue.Queue[object] = queue.Queue(TX_QUEUE_FRAMES)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._input_open = False
        self._inflight = 0
        self.port: SwitchPort = switch.add_port(port_name, machine.clock, self.deliver, link)
        # A frame from the host enters the switch (emulation thread) here; a subclass that puts
        # something in between (passt's guest gate) sets its own.
        self._arrive: Callable[[bytes], None] = self.port.receive

    # ------------------------------------------------------------- describing
    def describe(self) -> str:
        return self.kind

    # ---------------------------------------------------------------- control
    def start(self) -> HostBackend:
        """Open the host side (raises ``BackendError``) and start the threads."""
        if self._started:
            return self
        try:
            self._open()
        except BackendError:
            self._remove_port()
            raise
        except OSError as e:
            self._remove_port()
            raise BackendError(f"{self.describe()}: {e.strerror or e}") from None
        self._started = True
        self.alive = True
        self._start_io()
        return self

    def _start_io(self) -> None:
        """Start moving frames: a reader and a writer thread (``PolledStreamBackend`` polls instead)."""
        if self.host_input is not None:
            self.host_input.opened()
            self._input_open = True
        self._spawn(self._reader_loop, "reader")
        self._spawn(self._writer_loop, "writer")

    def stop(self) -> None:
        """Close the host side and join the threads (bounded); idempotent, never raises."""
        if self._stopping:
            return
        self._stopping = True
        self.alive = False
        self._input_closed()  # before the descriptors close: nobody waits on them any more
        try:
            self._txq.put_nowait(_STOP)
        except queue.Full:
            pass
        try:
            self._close_io()
        except Exception:  # noqa: BLE001 - stopping must not raise
            log.debug("closing %s", self.describe(), exc_info=True)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(JOIN_TIMEOUT_S)

    close = stop

    def detach(self) -> None:
        """Take the port off the switch (emulation thread, or while the machine is not running)."""
        self.stop()
        self._remove_port()

    def _remove_port(self) -> None:
        ports = self.switch.ports
        if self.port in ports:
            ports.remove(self.port)
            for mac, p in list(self.switch.fdb.items()):
                if p is self.port:
                    del self.switch.fdb[mac]

    def _spawn(self, target: Callable[[], None], what: str) -> None:
        t = threading.Thread(target=target, name=f"net-{self.port.name}-{what}", daemon=True)
        self._threads.append(t)
        t.start()

    def _input_closed(self) -> None:
        with self._lock:
            if not self._input_open:
                return
            self._input_open = False
        self._release_input()

    def _release_input(self) -> None:
        if self.host_input is not None:
            self.host_input.closed()

    def fail(self, reason: str) -> None:
        """The host side died: report once, keep the board running, drop frames to the host."""
        with self._lock:
            if self._stopping or self.error is not None:
                return
            self.error = reason
            self.alive = False
        msg = (f"network {self.describe()}: {reason}; the board keeps running, "
               "frames to the host are dropped")
        try:
            self.on_error(msg)
        except Exception:  # noqa: BLE001 - a broken reporter must not kill the thread
            log.warning("%s", msg)
        self._input_closed()

    # --------------------------------------------------- emulation-thread side
    def deliver(self, frame: bytes) -> None:
        """The switch hands a frame to the host (emulation thread; never blocks or raises)."""
        try:
            for hook in self.outbound_hooks:
                if hook(frame):
                    return
            if not self.alive:
                self.counters.drop("stopped" if self._stopping else
                                   "host down" if self._started else "not started")
                return
            self._to_host(frame)
        except queue.Full:
            self.counters.drop("queue full")
        except Exception:  # noqa: BLE001
            log.debug("deliver on %s", self.describe(), exc_info=True)
            self.counters.drop("error")

    def _to_host(self, frame: bytes) -> None:
        """Hand a frame to the writer thread (raises ``queue.Full``)."""
        self._txq.put_nowait(frame)

    def inject(self, frame: bytes) -> None:
        """A frame enters the switch from this port now (emulation thread only)."""
        self.port.receive(frame)

    # ---------------------------------------------------------- host threads
    # Hook for subclasses: a method rewriting each frame from the host (None: taken as it is).
    transform_inbound: Callable[[bytes], bytes] | None = None

    def _counted_inbound(self, frame: bytes) -> bytes:
        transform = self.transform_inbound
        if transform is not None:
            frame = transform(frame)
        counters = self.counters
        counters.from_host_frames += 1
        counters.from_host_bytes += len(frame)
        return frame

    def _from_host(self, frame: bytes) -> None:
        if len(frame) > self.max_frame:
            self.counters.drop("oversize from host")
            return
        with self._lock:
            if self._inflight >= MAX_INFLIGHT_FRAMES:  # the machine is paused or far behind
                self.counters.drop("board busy")
                return
            self._inflight += 1
        frame = self._counted_inbound(frame)

        def arrive() -> None:
            with self._lock:
                self._inflight -= 1
            self._arrive(frame)

        self.machine.post(arrive)
        if self.host_input is not None:
            self.host_input.arrived()

    def _reader_loop(self) -> None:
        reason = "the host side closed the connection"
        try:
            while not self._stopping:
                frame = self._read_frame()
                if frame is None:
                    break
                if frame:
                    self._from_host(frame)
        except BackendError as e:
            reason = str(e)
        except OSError as e:
            reason = f"read failed: {e.strerror or e}"
        except Exception as e:  # noqa: BLE001 - report, never propagate
            reason = f"reader failed: {e!r}"
        if not self._stopping:
            self.fail(self._death_reason(reason))

    def _writer_loop(self) -> None:
        while True:
            item = self._txq.get()
            if item is _STOP or self._stopping:
                return
            frame: bytes = item  # type: ignore[assignment]
            if not self.alive:
                self.counters.drop("host down")
                continue
            try:
                if self._write_frame(frame) is False:
                    continue
            except (OSError, BackendError) as e:
                self.counters.drop("host down")
                if not self._stopping:
                    msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                    self.fail(self._death_reason(f"write failed: {msg}"))
                continue
            except Exception as e:  # noqa: BLE001
                self.counters.drop("error")
                self.fail(self._death_reason(f"writer failed: {e!r}"))
                continue
            self.counters.to_host_frames += 1
            self.counters.to_host_bytes += len(frame)

    def _death_reason(self, reason: str) -> str:
        """Subclasses add what they know (e.g. a child process's exit status and stderr)."""
        return reason

    # ------------------------------------------------------------- subclass
    def _open(self) -> None:
        raise NotImplementedError

    def _read_frame(self) -> bytes | None:
        raise NotImplementedError

    def _write_frame(self, frame: bytes) -> bool | None:
        """Write one frame to the host; return False if it was dropped (and counted)."""
        raise NotImplementedError

    def _close_io(self) -> None:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        return {"backend": self.describe(), "alive": self.alive, "error": self.error,
                **self.counters.as_dict()}


class NullBackend(HostBackend):
    """No host: frames to it are dropped (counted as "no host"); hooks (DNS) still answer."""

    kind = "none"

    def start(self) -> NullBackend:
        self._started = True
        return self

    def deliver(self, frame: bytes) -> None:
        try:
            for hook in self.outbound_hooks:
                if hook(frame):
                    return
        except Exception:  # noqa: BLE001
            self.counters.drop("error")
            return
        self.counters.drop("no host")

    def stop(self) -> None:
        self._stopping = True

    close = stop
