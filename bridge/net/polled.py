"""A backend on a stream socket, read and written by the emulation thread itself.

The threaded ``HostBackend`` hands every frame between threads: a reader
posts it to the machine, a writer takes it from a queue. At thousands of
frames a second those hand-offs (a futex wake-up and a GIL switch each) cost
more than the frames. Here the socket is non-blocking: ``Machine.host_polls``
reads every complete frame at each slice boundary and puts it on the switch
at once; frames to the host are written straight away, and what the socket
does not take yet waits in a bounded buffer for the next poll.
``HostInput.watch`` lets a sleeping or paced machine wake when the socket
becomes readable (or writable while output waits).

A machine without ``host_polls`` (a test's stand-in) gets the threads.
"""

from __future__ import annotations

import socket

from bridge.net.backend import BackendError, HostBackend
from bridge.net.framing import take_stream_frames

RECV_CHUNK = 256 * 1024
MAX_RECV_PER_POLL = 8          # chunks read per poll; the rest waits for the next slice boundary
MAX_PENDING_OUT = 4 * 1024 * 1024  # bytes waiting for the host; frames beyond are dropped ("queue full")


class PolledStreamBackend(HostBackend):
    """Subclasses implement ``_stream()`` (the connected socket once ``_open`` ran) and
    ``_encode(frame)`` (the frame as written to the stream); framing is QEMU's 4-byte length."""

    def _stream(self) -> socket.socket | None:
        raise NotImplementedError

    def _encode(self, frame: bytes) -> bytes:
        raise NotImplementedError

    def _start_io(self) -> None:
        sock = self._stream()
        polls = getattr(self.machine, "host_polls", None)
        if sock is None or polls is None:
            super()._start_io()
            return
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._inbuf = bytearray()
        self._outbuf = bytearray()
        self._polls = polls
        polls.append(self.poll)
        if self.host_input is not None:
            self.host_input.watch(self._fd)
        self._input_open = True

    @property
    def polled(self) -> bool:
        return getattr(self, "_polls", None) is not None

    def _release_input(self) -> None:
        if not self.polled:
            super()._release_input()
            return
        try:
            self._polls.remove(self.poll)
        except ValueError:
            pass
        if self.host_input is not None:
            self.host_input.unwatch(self._fd)

    # ------------------------------------------------------- emulation thread
    def poll(self) -> None:
        """Read what the host sent, write what waits for it (emulation thread, slice boundary)."""
        if not self.alive:
            return
        if self._outbuf:
            self._flush()
        self._read()

    def _to_host(self, frame: bytes) -> None:
        if not self.polled:
            super()._to_host(frame)
            return
        data = self._encode(frame)
        if len(self._outbuf) + len(data) > MAX_PENDING_OUT:
            self.counters.drop("queue full")
            return
        self._outbuf += data
        self.counters.to_host_frames += 1
        self.counters.to_host_bytes += len(frame)
        self._flush()

    def _flush(self) -> None:
        out = self._outbuf
        try:
            sent = self._sock.send(out)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            self._outbuf.clear()
            self.fail(self._death_reason(f"write failed: {e.strerror or e}"))
            return
        del out[:sent]
        if self.host_input is not None:
            self.host_input.want_write(self._fd, bool(out))

    def _read(self) -> None:
        buf = self._inbuf
        for _ in range(MAX_RECV_PER_POLL):
            try:
                chunk = self._sock.recv(RECV_CHUNK)
            except BlockingIOError:
                break
            except OSError as e:
                self.fail(self._death_reason(f"read failed: {e.strerror or e}"))
                return
            if not chunk:
                self.fail(self._death_reason("the host side closed the connection"))
                return
            buf += chunk
            if len(chunk) < RECV_CHUNK:
                break
        try:
            frames = take_stream_frames(buf)
        except BackendError as e:
            self.fail(self._death_reason(str(e)))
            return
        for frame in frames:
            if len(frame) > self.max_frame:
                self.counters.drop("oversize from host")
            else:
                self._arrive(self._counted_inbound(frame))
