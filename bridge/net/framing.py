"""QEMU's stream framing: a 4-byte big-endian length, then the frame (``-netdev stream``, passt)."""

from __future__ import annotations

import socket
import struct

from bridge.net.backend import BackendError

MAX_STREAM_FRAME = 256 * 1024
STREAM_LENGTH = struct.Struct("!I")  # the length before each frame


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes, or None at a clean end of stream before the first byte."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if buf:
                raise BackendError(f"connection closed in the middle of a frame ({len(buf)} of {n} bytes)")
            return None
        buf += chunk
    return bytes(buf)


def _check_length(length: int) -> None:
    if length > MAX_STREAM_FRAME:
        raise BackendError(f"stream framing broken: frame length {length} (not a QEMU stream peer?)")


def read_stream_frame(sock: socket.socket) -> bytes | None:
    header = recv_exact(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack("!I", header)
    _check_length(length)
    if length == 0:
        return b""
    data = recv_exact(sock, length)
    if data is None:
        raise BackendError("connection closed after a frame header")
    return data


def take_stream_frames(buf: bytearray) -> list[bytes]:
    """The complete frames at the start of ``buf``, removed from it (empty ones dropped);
    a partial frame stays. Raises ``BackendError`` on a broken length."""
    frames: list[bytes] = []
    unpack_from = STREAM_LENGTH.unpack_from
    off, end = 0, len(buf)
    while end - off >= 4:
        (length,) = unpack_from(buf, off)
        if length > MAX_STREAM_FRAME:
            _check_length(length)  # raises
        if end - off - 4 < length:
            break
        if length:
            frames.append(bytes(buf[off + 4:off + 4 + length]))
        off += 4 + length
    if off:
        del buf[:off]
    return frames


def stream_frame(frame: bytes) -> bytes:
    return STREAM_LENGTH.pack(len(frame)) + frame
