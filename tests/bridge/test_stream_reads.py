"""``PolledBackend._read_stream`` against the loop it shortened (``_reference_read_stream``): the
same reads of a QEMU-framed stream (whole frames per read, frames split and joined across reads,
empty, oversize and broken lengths, a full chunk, would-block, a closed or failing peer) give the
same frames on the switch, the same counters, the same bytes left waiting and the same end; with
and without a transform of the frames from the host."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import pytest
from net_helpers import FakeMachine

from bridge.net.backend import BackendError
from bridge.net.framing import MAX_STREAM_FRAME, STREAM_LENGTH, take_stream_frames
from bridge.net.polled import MAX_RECV_PER_POLL, RECV_CHUNK, PolledBackend
from emulator.net.network import Switch


def _reference_read_stream(self: PolledBackend) -> None:
    """The loop as it was before the one-frame read went straight to ``_take_frame``."""
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
        buf += chunk[:n]
        if n < RECV_CHUNK:
            break
    if len(buf) >= 4:
        try:
            frames = take_stream_frames(buf)
        except BackendError as e:
            frames, ended = [], str(e)
        take = self._take_frame
        for frame in frames:
            take(frame)
    if ended:
        self._stream_ended(ended)


class ScriptedSocket:
    """A non-blocking stream whose reads are a script: bytes (taken up to the buffer's size), an
    exception to raise, or b"" for the peer's close. An exhausted script would block."""

    def __init__(self, script: list[Any]) -> None:
        self.script = deque(script)

    def setblocking(self, flag: bool) -> None:
        pass

    def send(self, data: bytes) -> int:
        return len(data)

    def recv_into(self, buf: memoryview) -> int:
        if not self.script:
            raise BlockingIOError
        item = self.script[0]
        if isinstance(item, BaseException):
            self.script.popleft()
            raise item
        n = min(len(item), len(buf))
        buf[:n] = item[:n]
        if n < len(item):
            self.script[0] = item[n:]
        else:
            self.script.popleft()
        return n


def _script(seed: int) -> list[Any]:
    r = random.Random(seed)
    stream = bytearray()
    reads: list[Any] = []
    for _ in range(r.randrange(1, 30)):
        size = r.choice([60, 64, 64, 64, 1514, 0, 1, 13, 70_000, RECV_CHUNK - 4])
        one = STREAM_LENGTH.pack(size) + r.randbytes(size)
        if r.random() < 0.5:
            reads.append(one)  # a read of exactly one frame
        else:
            stream += one
            if r.random() < 0.5 and stream:  # a read of what is queued, cut somewhere
                cut = r.randrange(1, len(stream) + 1)
                reads.append(bytes(stream[:cut]))
                del stream[:cut]
        if r.random() < 0.2:
            reads.append(BlockingIOError())
    if stream:
        reads.append(bytes(stream))
    end = r.random()
    if end < 0.1:
        reads.append(STREAM_LENGTH.pack(MAX_STREAM_FRAME + 1) + b"x")
    elif end < 0.2:
        reads.append(b"")
    elif end < 0.3:
        reads.append(ConnectionResetError(104, "Connection reset by peer"))
    return reads


def _run(read_stream: Any, seed: int, transform: bool = False) -> list[Any]:
    taken: list[bytes] = []
    errors: list[str] = []
    backend = PolledBackend(FakeMachine(), Switch(), on_error=errors.append)
    if transform:  # a backend that rewrites frames from the host (passt's)
        backend.transform_inbound = lambda frame: frame[:-1]  # type: ignore[method-assign]
    backend.alive = True
    backend._arrive = taken.append
    backend._use_stream(ScriptedSocket(_script(seed)))  # type: ignore[arg-type]
    seen: list[Any] = []
    for _ in range(60):
        read_stream(backend)
        seen.append((list(taken), bytes(backend._inbuf), backend.counters.as_dict(), list(errors)))
        taken.clear()
    return seen


@pytest.mark.parametrize("transform", [False, True])
@pytest.mark.parametrize("first", range(0, 300, 100))
def test_reads_match_the_reference_loop(first: int, transform: bool) -> None:
    for seed in range(first, first + 100):
        assert (_run(PolledBackend._read_stream, seed, transform)
                == _run(_reference_read_stream, seed, transform)), seed
