"""``PolledBackend.poll`` against ``poll`` as it was before its rare cases were looked at in one
test, between deliveries of random frames to a stream (length-prefixed) or a packet host that
takes all, part or none of a write, fails, or comes back; outbound hooks, a transform and a
stopped backend coming and going; flushes between. Both give the same bytes to the host, the
same waiting output, counters, errors, write interest and reads after every step."""

from __future__ import annotations

import random
from typing import Any

import pytest
from net_helpers import FakeMachine

from bridge.net.polled import PolledBackend
from emulator.net.network import Switch


class ScriptedHost:
    """A non-blocking host descriptor whose writes follow ``r``: all taken, part (a stream only),
    none (would block) or an error."""

    def __init__(self, r: random.Random, stream: bool) -> None:
        self.r, self.stream = r, stream
        self.got: list[bytes] = []

    def write(self, data: bytes) -> int:
        x = self.r.random()
        if x < 0.15:
            raise BlockingIOError
        if x < 0.2:
            raise ConnectionResetError(104, "Connection reset by peer")
        if self.stream and x < 0.35:
            n = self.r.randrange(0, len(data))
            self.got.append(bytes(data[:n]))
            return n
        self.got.append(bytes(data))
        return len(data)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def want_write(self, fd: int, on: bool) -> None:
        self.calls.append((fd, on))


def _reference_poll(backend: PolledBackend) -> None:
    """``PolledBackend.poll`` as it was before its rare cases were looked at in one test."""
    if not backend.alive:
        return
    out = backend._out
    if out is not None and out.items:
        try:
            out.flush()
        except OSError as e:
            if not backend._write_error(e):
                return
        backend._want_write(bool(out.items))
    if backend._readable(0):
        backend._poll_read()


def _run(deliver: Any, seed: int, poll: Any = None) -> list[Any]:
    r = random.Random(seed)
    stream = r.random() < 0.6
    host = ScriptedHost(random.Random(seed * 7 + 1), stream)
    errors: list[str] = []
    backend = PolledBackend(FakeMachine(), Switch(), on_error=errors.append)
    recorder = Recorder()
    backend.host_input = recorder  # type: ignore[assignment]
    backend._fd = 5
    if stream:
        backend._use_stream(type("Sock", (), {"setblocking": lambda s, f: None, "send": host.write})())
    else:
        backend._use_packets(host.write)
    backend.alive = True
    backend._started = True
    seen: list[Any] = []
    hooked: list[bytes] = []
    reads: list[int] = []
    readable = random.Random(seed * 5 + 3)
    backend._readable = lambda _timeout: readable.random() < 0.3  # type: ignore[method-assign]
    backend._poll_read = lambda: reads.append(len(seen))  # type: ignore[method-assign]
    parked = None
    for step in range(300):
        x = r.random()
        if x < 0.03:
            backend.outbound_hooks.append(lambda f: hooked.append(f) or len(f) % 3 == 0)
        elif x < 0.06:
            backend.outbound_hooks.clear()
        elif x < 0.08:
            backend.transform_outbound = (lambda f: f[:-1]) if backend.transform_outbound is None else None
        elif x < 0.1:
            backend.alive = not backend.alive and not errors
        elif x < 0.2 and poll is not None:
            poll(backend)
        elif x < 0.2 and backend._out is not None:
            try:
                backend._out.flush()
            except OSError:
                pass
            backend._want_write(bool(backend._out.items))
        elif x < 0.22:  # a stream server between peers: nowhere to write
            backend._out, parked = parked, backend._out
        else:
            frame = step.to_bytes(2, "big") + bytes(r.choice([58, 62, 1512]))
            deliver(backend, frame)
        out = backend._out
        seen.append((list(host.got), list(out.items) if out is not None else None,
                     out.size if out is not None else None, backend.counters.as_dict(), list(errors),
                     list(recorder.calls), backend._wants_write, backend.alive, list(hooked), list(reads)))
    return seen


@pytest.mark.parametrize("first", range(0, 300, 100))
def test_poll_matches_the_reference(first: int) -> None:
    """Polls between the deliveries (a dead backend, output waiting or not, a host readable or
    not) write, read and report the same as ``poll`` as it was."""
    for seed in range(first, first + 100):
        assert _run(PolledBackend.deliver, seed, PolledBackend.poll) == _run(PolledBackend.deliver, seed,
                                                                            _reference_poll), seed
