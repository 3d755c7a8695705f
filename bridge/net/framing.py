"""QEMU's stream framing: a 4-byte big-endian length, then the frame (``-netdev stream``, passt)."""

from __future__ import annotations

import socket
import struct

from bridge.net.backend import BackendError

MAX_STREAM_FRAME = 256 * 1024


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


def read_stream_frame(sock: socket.socket) -> bytes | None:
    header = recv_exact(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack("!I", header)
    if length > MAX_STREAM_FRAME:
        raise BackendError(f"stream framing broken: frame length {length} (not a QEMU stream peer?)")
    if length == 0:
        return b""
    data = recv_exact(sock, length)
    if data is None:
        raise BackendError("connection closed after a frame header")
    return data


def stream_frame(frame: bytes) -> bytes:
    return struct.pack("!I", len(frame)) + frame
