"""Backends whose host I/O runs on the emulation thread itself: no thread per frame.

The threaded ``HostBackend`` hands every frame between threads: a reader
posts it to the machine, a writer takes it from a queue. At thousands of
frames a second those hand-offs (a futex wake-up and a GIL switch each, and
every ctypes call of the run loop becoming a place to lose the GIL) cost
more than the frames. Here the host descriptor is non-blocking:
``Machine.host_polls`` calls ``poll`` at each slice boundary, which reads
every complete frame waiting and puts them on the switch at once; frames to
the host are written straight away, and what the host does not take yet
waits in a bounded ``PendingOutput`` for the next poll. ``HostInput.watch``
lets a sleeping or paced machine wake the moment the descriptor becomes
readable (or writable while output waits).

``PolledBackend`` has both shapes of host I/O: a stream with QEMU's 4-byte
length framing (``_use_stream``/``_read_stream``: passt, ``socket:stream``,
a stream server's current peer), and one frame per read and per write
(``_use_packets``/``_read_packets``: a TAP device, a UDP socket).
``PolledStreamBackend`` is the stream case for a backend with one socket.

A machine without ``host_polls`` (a test's stand-in) gets the threads of
``HostBackend``.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections import deque
from collections.abc import Callable

from bridge.net.backend import TX_QUEUE_FRAMES, BackendError, HostBackend
from bridge.net.framing import STREAM_LENGTH, take_stream_frames

RECV_CHUNK = 256 * 1024
MAX_RECV_PER_POLL = 8          # stream chunks read per poll; the rest waits for the next slice boundary
MAX_PACKETS_PER_POLL = 256     # frames read per poll from a packet descriptor
MAX_PENDING_OUT = 4 * 1024 * 1024  # bytes waiting for a stream host; frames beyond are dropped ("queue full")


class PendingOutput:
    """What the host has not taken yet, bounded by ``limit`` bytes and ``max_items`` writes.

    ``write(data)`` is the non-blocking system call: it returns the bytes
    taken (all of them for a packet) or raises ``BlockingIOError`` when the
    host takes none now; any other ``OSError`` goes to the caller. A
    stream's partial write leaves the rest at the head for the next flush.
    """

    __slots__ = ("write", "items", "size", "limit", "max_items")

    def __init__(self, write: Callable[[bytes], int], limit: int, max_items: int) -> None:
        self.write = write
        self.items: deque[bytes] = deque()
        self.size = 0
        self.limit = limit
        self.max_items = max_items

    def __bool__(self) -> bool:
        return bool(self.items)

    def put(self, data: bytes) -> bool:
        """Write ``data`` now, or keep it for ``flush``; False when it does not fit (not written)."""
        if self.items:
            if self.size + len(data) > self.limit or len(self.items) >= self.max_items:
                return False
            self.items.append(data)
            self.size += len(data)
            return True
        try:
            sent = self.write(data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            rest = data[sent:]
            self.items.append(rest)
            self.size += len(rest)
        return True

    def flush(self) -> None:
        """Write what waits, until the host takes no more."""
        items = self.items
        while items:
            data = items[0]
            try:
                sent = self.write(data)
            except BlockingIOError:
                return
            except OSError:
                items.popleft()  # that write is lost; the caller decides whether to go on
                self.size -= len(data)
                raise
            self.size -= sent
            if sent < len(data):
                items[0] = data[sent:]
                return
            items.popleft()

    def clear(self) -> None:
        self.items.clear()
        self.size = 0


class PolledBackend(HostBackend):
    """A backend polled on the emulation thread when the machine has ``host_polls``.

    Subclasses implement ``_poll_start()`` (make the host descriptor non-blocking with
    ``_use_stream`` or ``_use_packets`` and return it; None: use the threads) and
    ``_poll_read()`` (take what the host sent: ``_read_stream``, ``_read_packets``), plus
    the threaded methods of ``HostBackend``; ``transform_outbound`` may rewrite each frame
    before it is written (and, on a stream, length-prefixed).
    """

    _polls: list[Callable[[], None]] | None = None
    _fd = -1
    _wants_write = False
    _out: PendingOutput | None = None   # None: nowhere to write (a stream server without a peer)
    _length_prefixed = False            # a stream: each frame written after its 4-byte length
    # Hook for subclasses: a function rewriting each frame to the host (None: written as it is).
    transform_outbound: Callable[[bytes], bytes] | None = None

    def _start_io(self) -> None:
        polls = getattr(self.machine, "host_polls", None)
        fd = self._poll_start() if polls is not None else None
        if polls is None or fd is None:
            super()._start_io()
            return
        self._polls = polls
        self._input_open = True
        self._watch(fd)
        polls.append(self.poll)

    @property
    def polled(self) -> bool:
        return self._polls is not None

    def _watch(self, fd: int) -> None:
        """Read ``fd`` and let the idle wait end on it, instead of the descriptor so far (-1: none)."""
        host_input = self.host_input
        if host_input is not None:
            if fd >= 0:
                host_input.watch(fd)  # first: the sources count never drops to 0 in between
            if self._fd >= 0:
                host_input.unwatch(self._fd)
        # Asking the kernel whether fd is readable costs a third of a read that finds nothing
        # (no exception to raise): most slice boundaries find nothing.
        poller = select.poll()
        if fd >= 0:
            poller.register(fd, select.POLLIN)
        self._readable = poller.poll
        self._fd = fd
        self._wants_write = False

    def _want_write(self, on: bool) -> None:
        if on != self._wants_write:
            self._wants_write = on
            if self.host_input is not None and self._fd >= 0:
                self.host_input.want_write(self._fd, on)

    def _release_input(self) -> None:
        polls = self._polls
        if polls is None:
            super()._release_input()
            return
        with contextlib.suppress(ValueError):
            polls.remove(self.poll)
        self._watch(-1)

    # ------------------------------------------------------- emulation thread
    def poll(self) -> None:
        """Write what waits for the host, read what it sent (emulation thread, slice boundary)."""
        out = self._out
        if not self.alive or out is not None and out.items:  # one look at the rare cases
            if not self.alive:
                return
            try:
                out.flush()
            except OSError as e:
                if not self._write_error(e):
                    return
            self._want_write(bool(out.items))
        if self._readable(0):
            self._poll_read()

    def _to_host(self, frame: bytes) -> None:
        out = self._out
        if out is None:
            if self._polls is None:
                super()._to_host(frame)
            else:
                self.counters.drop("not connected")
            return
        transform = self.transform_outbound
        data = frame if transform is None else transform(frame)
        if self._length_prefixed:
            data = STREAM_LENGTH.pack(len(data)) + data
        try:
            if not out.put(data):
                self.counters.drop("queue full")
                return
        except OSError as e:
            self._write_error(e)
            return
        counters = self.counters
        counters.to_host_frames += 1
        counters.to_host_bytes += len(frame)
        if out.items:
            self._want_write(True)

    def _write_error(self, e: OSError) -> bool:
        """A write failed and its frame is lost. True: the drop is counted and the backend goes
        on (a frame the host rejects); False: the host side is gone (reported)."""
        if self._out is not None:
            self._out.clear()
        self.counters.drop("host down")
        self.fail(self._death_reason(f"write failed: {e.strerror or e}"))
        return False

    def _take_frame(self, frame: bytes) -> None:
        """A frame read from the host enters the switch now."""
        if len(frame) > self.max_frame:
            self.counters.drop("oversize from host")
            return
        self._arrive(self._counted_inbound(frame))

    # ------------------------------------------------- the two shapes of host I/O
    _conn: socket.socket | None = None

    def _use_stream(self, sock: socket.socket) -> None:
        """Read and write the stream ``sock`` from now on (non-blocking), with empty buffers."""
        sock.setblocking(False)
        self._conn = sock
        self._inbuf = bytearray()
        # recv_into one buffer: recv(n) allocates n bytes for every call, and at 256 KiB that
        # allocation (an mmap) costs more than the frame.
        self._chunk = memoryview(bytearray(RECV_CHUNK))
        self._out = PendingOutput(sock.send, MAX_PENDING_OUT, 1 << 30)
        self._length_prefixed = True

    def _read_stream(self) -> None:
        """Every complete frame waiting on the stream; a peer that closes or breaks the
        framing ends in ``_stream_ended(reason)``."""
        sock = self._conn
        if sock is None:
            return
        buf = self._inbuf
        chunk = self._chunk
        recv_into = sock.recv_into
        ended = ""
        for _ in range(MAX_RECV_PER_POLL):
            try:
                n = recv_into(chunk)
            except BlockingIOError:
                break
            except OSError as e:
                ended = f"read failed: {e.strerror or e}"
                break
            if not n:
                ended = "the host side closed the connection"
                break
            if not buf and 4 < n < RECV_CHUNK and STREAM_LENGTH.unpack_from(chunk)[0] == n - 4:
                # One whole frame and nothing before it (the common read): what the lines
                # below do with it, without passing it through ``buf``.
                self._take_frame(bytes(chunk[4:n]))
                return
            buf += chunk[:n]
            if n < RECV_CHUNK:
                break
        if len(buf) >= 4:
            try:
                frames = take_stream_frames(buf)
            except BackendError as e:
                frames, ended = [], str(e)
            take = self._take_frame
            for frame in frames:  # what came before an end of stream still counts
                take(frame)
        if ended:
            self._stream_ended(ended)

    def _stream_ended(self, reason: str) -> None:
        self.fail(self._death_reason(reason))

    def _use_packets(self, write: Callable[[bytes], int]) -> None:
        """One frame per write (``write`` takes it whole or raises ``BlockingIOError``)."""
        self._out = PendingOutput(write, TX_QUEUE_FRAMES * 65536, TX_QUEUE_FRAMES)
        self._length_prefixed = False

    def _read_packets(self, read: Callable[[], bytes | None]) -> None:
        """Every frame waiting, one per ``read()`` (None: no more now; raises ``OSError``)."""
        for _ in range(MAX_PACKETS_PER_POLL):
            try:
                frame = read()
            except OSError as e:
                self.fail(self._death_reason(f"read failed: {e.strerror or e}"))
                return
            if frame is None:
                return
            if frame:
                self._take_frame(frame)

    # ------------------------------------------------------------- subclass
    def _poll_start(self) -> int | None:
        raise NotImplementedError

    def _poll_read(self) -> None:
        raise NotImplementedError


class PolledStreamBackend(PolledBackend):
    """A stream socket with QEMU's 4-byte length framing. Subclasses implement ``_stream()``
    (the connected socket once ``_open`` ran)."""

    def _stream(self) -> socket.socket | None:
        raise NotImplementedError

    def _poll_start(self) -> int | None:
        sock = self._stream()
        if sock is None:
            return None
        self._use_stream(sock)
        return sock.fileno()

    _poll_read = PolledBackend._read_stream
