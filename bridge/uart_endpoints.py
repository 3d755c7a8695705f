"""Where a board UART meets the host: stdio, a PTY, a TCP socket, a file.

Each endpoint connects to a device ``BytePort``: bytes the board sends are
written to the host side; bytes from the host are read by a thread and
handed to the machine with ``machine.post`` (applied at a slice boundary, so
host threads never touch device state). ``HostInput`` lets an idle machine
wait for host bytes instead of ending the run.
"""

from __future__ import annotations

import fcntl
import os
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable
from typing import BinaryIO, Protocol

from bridge.host_input import HostInput
from emulator.bus.device import BytePort


class Poster(Protocol):
    def post(self, action: Callable[[], None]) -> None: ...


class EndpointError(Exception):
    """A UART endpoint that cannot be set up; the message says which and why."""


class Endpoint:
    """Base: output to a binary stream, input from a reader thread."""

    description = ""

    def __init__(self, port: BytePort, poster: Poster, host_input: HostInput) -> None:
        self.port = port
        self.poster = poster
        self.host_input = host_input
        self._out: BinaryIO | None = None
        self._pending = bytearray()
        self.error: str | None = None  # the first write error (ENOSPC, EIO): output after it is lost
        self.unread = 0  # bytes written that no reader took before the endpoint closed (a PTY's)
        port.connect(self._on_board_bytes)

    def _on_board_bytes(self, data: bytes) -> None:
        # Written through at once: an interactive user sees a prompt even when
        # the board then sleeps waiting for input.
        self._pending += data
        self.flush()

    def flush(self) -> None:
        if self._pending and self._out is not None:
            try:
                self._out.write(bytes(self._pending))
                self._out.flush()
            except BrokenPipeError:
                self._out = None  # the reader went away (a closed pipe or terminal): not an error
            except OSError as e:
                self._out = None
                self.error = self.error or f"{self.description}: {e.strerror or e}"
        self._pending.clear()

    def _deliver(self, data: bytes) -> None:
        port = self.port
        self.poster.post(lambda: port.deliver(data))
        self.host_input.arrived()

    def _start_reader(self, read: Callable[[], bytes], name: str) -> None:
        self.host_input.opened()

        def loop() -> None:
            try:
                while True:
                    try:
                        data = read()
                    except OSError:
                        break
                    if not data:
                        break
                    self._deliver(data)
            finally:
                self.host_input.closed()

        threading.Thread(target=loop, name=name, daemon=True).start()

    def close(self) -> None:
        self.flush()


class StdioEndpoint(Endpoint):
    description = "stdio"

    def __init__(self, port: BytePort, poster: Poster, host_input: HostInput, read_input: bool) -> None:
        super().__init__(port, poster, host_input)
        self._out = sys.stdout.buffer
        if read_input and sys.stdin is not None and not sys.stdin.closed:
            fd = sys.stdin.fileno()
            self._start_reader(lambda: os.read(fd, 4096), f"{port.name}-stdin")


class FileEndpoint(Endpoint):
    def __init__(self, port: BytePort, poster: Poster, host_input: HostInput, path: str) -> None:
        super().__init__(port, poster, host_input)
        try:
            self._out = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise EndpointError(f"{port.name}: cannot write {path} ({e.strerror})") from None
        self.description = f"file {path}"

    def close(self) -> None:
        super().close()
        if self._out is not None:
            try:
                self._out.close()
            except OSError as e:
                self.error = self.error or f"{self.description}: {e.strerror or e}"


PTY_DRAIN_IDLE_S = 1.0   # a reader that takes nothing of the board's output for this long has left
PTY_SETTLE_S = 0.005     # a look at the terminal's queue while it drains


class PtyEndpoint(Endpoint):
    def __init__(self, port: BytePort, poster: Poster, host_input: HostInput) -> None:
        super().__init__(port, poster, host_input)
        master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.path = os.ttyname(slave)
        self._out = os.fdopen(os.dup(master), "wb", buffering=0)
        self.description = f"pty {self.path}"

        def read() -> bytes:
            return os.read(master, 4096)

        self._start_reader(read, f"{port.name}-pty")

    def close(self) -> None:
        super().close()
        self._drain()

    def _unread(self) -> int:
        """Bytes the board wrote that no reader of the terminal has read yet."""
        return int.from_bytes(fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)

    def _drain(self) -> None:
        """Closing the master hangs the terminal up, and the kernel drops what is unread: wait
        while a reader is still taking the board's output (it got less since the last look, within
        PTY_DRAIN_IDLE_S). ``unread``: what nobody read."""
        try:
            left = self._unread()
            if not left:  # the last bytes may still be on their way to the terminal's queue
                time.sleep(PTY_SETTLE_S)
                left = self._unread()
            last_progress = time.monotonic()
            while left and time.monotonic() - last_progress < PTY_DRAIN_IDLE_S:
                time.sleep(PTY_SETTLE_S)
                now_left = self._unread()
                if now_left < left:
                    last_progress = time.monotonic()
                left = now_left
        except OSError:
            return
        self.unread = left


class TcpEndpoint(Endpoint):
    """Serves the UART on 127.0.0.1:PORT; one client at a time, reconnects allowed."""

    def __init__(self, port: BytePort, poster: Poster, host_input: HostInput, tcp_port: int,
                 host: str = "127.0.0.1") -> None:
        import socket  # (only this endpoint needs it: a run without one starts faster)

        super().__init__(port, poster, host_input)
        try:
            self._server = socket.create_server((host, tcp_port))
        except OSError as e:
            raise EndpointError(f"{port.name}: cannot listen on {host}:{tcp_port} ({e.strerror})") from None
        self.address = self._server.getsockname()
        self.description = f"tcp {self.address[0]}:{self.address[1]}"
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self.host_input.opened()
        threading.Thread(target=self._accept_loop, name=f"{port.name}-tcp", daemon=True).start()

    def _accept_loop(self) -> None:
        try:
            while True:
                try:
                    client, _ = self._server.accept()
                except OSError:
                    return
                with self._lock:
                    self._client = client
                while True:
                    try:
                        data = client.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    self._deliver(data)
                with self._lock:
                    self._client = None
                client.close()
        finally:
            self.host_input.closed()

    def flush(self) -> None:
        if self._pending:
            with self._lock:
                client = self._client
            if client is not None:
                try:
                    client.sendall(bytes(self._pending))
                except OSError:
                    pass
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._server.close()


def open_endpoint(spec: str, port: BytePort, poster: Poster, host_input: HostInput,
                  read_stdin: bool = True, label: str = "") -> Endpoint | None:
    """``stdio``, ``pty``, ``tcp:PORT``, ``file:PATH`` or ``none``; ``label`` names it in errors."""
    try:
        return _open(spec, port, poster, host_input, read_stdin)
    except EndpointError as e:
        if label:
            raise EndpointError(str(e).replace(f"{port.name}:", f"{label}:", 1)) from None
        raise


def _open(spec: str, port: BytePort, poster: Poster, host_input: HostInput,
          read_stdin: bool) -> Endpoint | None:
    if spec == "none":
        return None
    if spec == "stdio":
        return StdioEndpoint(port, poster, host_input, read_stdin)
    if spec == "pty":
        return PtyEndpoint(port, poster, host_input)
    if spec.startswith("tcp:"):
        try:
            tcp_port = int(spec[4:])
        except ValueError:
            raise EndpointError(f"{port.name}: '{spec}': expected tcp:PORT with a number") from None
        if not 0 <= tcp_port < 65536:
            raise EndpointError(f"{port.name}: '{spec}': port out of range")
        return TcpEndpoint(port, poster, host_input, tcp_port)
    if spec.startswith("file:") and len(spec) > 5:
        return FileEndpoint(port, poster, host_input, spec[5:])
    raise EndpointError(f"{port.name}: unknown endpoint '{spec}' (expected stdio, pty, tcp:PORT, "
                        "file:PATH or none)")
