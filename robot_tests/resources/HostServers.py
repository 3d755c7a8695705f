"""Host-side peers for the network suites: ``Library    HostServers.py`` (from robot_tests/resources).

Servers (each in daemon threads, on 127.0.0.1 only, which the board reaches as
10.0.2.2 through the ``user`` backend, passt):

- ``Start Http Server``: answers every request with one fixed response and
  records the requests (the seed's http://arm.com and api.ipify.org);
- ``Start Inet Services``: RFC 862 echo (TCP+UDP), 863 discard (TCP+UDP),
  867 daytime and 864 chargen, as Mbed's test server runs them.

Clients, for boards that serve (through ``Start Board``'s ``forwards``):

- ``Echo Bytes Over Tcp`` sends N bytes of a seeded pattern and compares the
  SHA-256 of what comes back; ``Start Echo Transfer`` / ``Wait For Echo
  Bytes`` / ``Wait For Echo Transfer`` do the same in the background, so a
  test can take the link down or add loss in the middle;
- ``Tcp Exchange``, ``Read From Tcp``, ``Send To Tcp``, ``Udp Exchange``,
  ``Http Get``, ``Chargen Output Should Be Valid``.

Every blocking call has a wall-clock timeout; everything started is stopped
at the end of the suite (``Stop Host Servers``, also run by the library's
listener), so suites can run in parallel under pabot (only fixed ports, 80
and 7/9/13/19, collide: a single suite owns them on 127.0.0.1; another suite
serves them on another loopback address, ``address=127.0.0.2``, which a
Wi-Fi board reaches as 10.0.2.2 with ``host_loopback``).
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
POLL = 0.2
BIND_RETRY_S = 30.0


def _seconds(value: Any) -> float:
    """``30``, ``30s``, ``1.5 s``, ``500ms``, ``2 min`` -> seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    for suffix, scale in (("ms", 1e-3), ("min", 60.0), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


def pattern(size: int, seed: int = 1) -> bytes:
    return random.Random(int(seed)).randbytes(int(size))


def chargen_lines(count: int) -> bytes:
    """RFC 864 as echo_server and Mbed's chargen send it: 72 printable characters a line, shifted by one."""
    printable = bytes(range(32, 127))
    ring = printable * 2
    return b"".join(ring[i % 95:i % 95 + 72] + b"\r\n" for i in range(count))


def _loopback(address: str) -> str:
    """Servers listen on loopback only."""
    try:
        ok = ipaddress.IPv4Address(address).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise AssertionError(f"address '{address}': expected an IPv4 loopback address (127.0.0.0/8)")
    return address


class _Stopping(Exception):
    pass


class _Service:
    """Listeners on loopback; each connection in its own daemon thread; ``stop`` is bounded."""

    def __init__(self, address: str = HOST) -> None:
        self.address = address
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=self._guard, args=(target, *args), daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _guard(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except (_Stopping, ConnectionResetError, BrokenPipeError):
            pass
        except OSError as e:
            if not self.stopping.is_set():
                with self.lock:
                    self.errors.append(f"{target.__name__}: {e!r}")

    def _bind(self, kind: int, port: int) -> socket.socket:
        """Bind address:port, retrying a bounded while if another run still holds it."""
        deadline = time.monotonic() + BIND_RETRY_S
        while True:
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.address, int(port)))
                break
            except OSError as e:
                s.close()
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise AssertionError(f"cannot bind {self.address}:{port}: {e.strerror or e}") from None
                time.sleep(0.5)
        with self.lock:
            self.sockets.append(s)
        return s

    def tcp(self, port: int, handler: Callable[[socket.socket], None]) -> int:
        srv = self._bind(socket.SOCK_STREAM, port)
        srv.listen(8)
        srv.settimeout(POLL)
        self._spawn(self._accept_loop, srv, handler)
        return srv.getsockname()[1]

    def udp(self, port: int, handler: Callable[[socket.socket, bytes, Any], None]) -> int:
        s = self._bind(socket.SOCK_DGRAM, port)
        s.settimeout(POLL)
        self._spawn(self._udp_loop, s, handler)
        return s.getsockname()[1]

    def _accept_loop(self, srv: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with self.lock:
                self.sockets.append(conn)
            conn.settimeout(POLL)
            self._spawn(self._conn, conn, handler)

    def _conn(self, conn: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        try:
            handler(conn)
        finally:
            conn.close()

    def _udp_loop(self, s: socket.socket, handler: Callable[[socket.socket, bytes, Any], None]) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = s.recvfrom(65536)
            except TimeoutError:
                continue
            handler(s, data, peer)

    def recv(self, conn: socket.socket, n: int = 65536) -> bytes:
        while True:
            if self.stopping.is_set():
                raise _Stopping
            try:
                return conn.recv(n)
            except TimeoutError:
                continue

    def send_all(self, conn: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.stopping.is_set():
                raise _Stopping
            try:
                sent = conn.send(view)
            except TimeoutError:
                continue
            view = view[sent:]

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        with self.lock:
            socks, threads = list(self.sockets), list(self.threads)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


class _Http(_Service):
    def __init__(self, port: int, response: bytes, address: str) -> None:
        super().__init__(address)
        self.response = response
        self.requests: list[dict[str, Any]] = []
        self.port = self.tcp(port, self._serve)

    def _serve(self, conn: socket.socket) -> None:
        raw = b""
        while b"\r\n\r\n" not in raw and len(raw) < 65536:
            data = self.recv(conn)
            if not data:
                break
            raw += data
        head = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self.lock:
            self.requests.append({"raw": raw.decode(errors="replace"), "request_line": head[0],
                                  "headers": headers})
        self.send_all(conn, self.response)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return  # the board closed (or reset: the seed reads 100 bytes and closes) first
        deadline = time.monotonic() + 2.0  # let the board close first; bounded
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                if not conn.recv(4096):
                    break
            except TimeoutError:
                continue


class _Inet(_Service):
    def __init__(self, echo: int, discard: int, daytime: int, chargen: int, address: str) -> None:
        super().__init__(address)
        self.counts = {"echo_tcp": 0, "echo_udp": 0, "discard": 0, "daytime": 0, "chargen": 0}
        self.ports = {"echo": self.tcp(echo, self._echo), "discard": self.tcp(discard, self._discard),
                      "daytime": self.tcp(daytime, self._daytime),
                      "chargen": self.tcp(chargen, self._chargen)}
        self.udp(self.ports["echo"], self._udp_echo)
        self.udp(self.ports["discard"], lambda s, data, peer: self._count("discard", len(data)))

    def _count(self, key: str, n: int) -> None:
        with self.lock:
            self.counts[key] += n

    def _echo(self, conn: socket.socket) -> None:
        while data := self.recv(conn):
            self.send_all(conn, data)
            self._count("echo_tcp", len(data))

    def _udp_echo(self, s: socket.socket, data: bytes, peer: Any) -> None:
        s.sendto(data, peer)
        self._count("echo_udp", len(data))

    def _discard(self, conn: socket.socket) -> None:
        while data := self.recv(conn):
            self._count("discard", len(data))

    def _daytime(self, conn: socket.socket) -> None:
        self.send_all(conn, time.strftime("%A, %B %d, %Y %H:%M:%S-UTC\r\n", time.gmtime()).encode())
        self._count("daytime", 1)

    def _chargen(self, conn: socket.socket) -> None:
        block = chargen_lines(95)
        while not self.stopping.is_set():
            self.send_all(conn, block)
            self._count("chargen", len(block))


class _EchoTransfer:
    """One TCP connection: a thread sends ``data``, another hashes what comes back."""

    def __init__(self, port: int, data: bytes, stall_s: float) -> None:
        self.data = data
        self.sent = 0
        self.received = 0
        self.hash = hashlib.sha256()
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.sock = socket.create_connection((HOST, int(port)), timeout=10)
        self.sock.settimeout(stall_s)  # no progress for this long is a failure, not a wait
        self.started = time.monotonic()
        self.finished = 0.0
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._recv, daemon=True)]
        for t in self.threads:
            t.start()

    def _send(self) -> None:
        try:
            view = memoryview(self.data)
            while view and not self.done.is_set():
                n = self.sock.send(view[:16384])
                self.sent += n
                view = view[n:]
        except BaseException as e:  # noqa: BLE001 - reported by the keyword
            self.error = self.error or e
            self.done.set()

    def _recv(self) -> None:
        try:
            while self.received < len(self.data):
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"EOF after {self.received} bytes")
                self.hash.update(chunk)
                self.received += len(chunk)
        except BaseException as e:  # noqa: BLE001 - reported by the keyword
            self.error = self.error or e
        self.finished = time.monotonic()
        self.done.set()

    def close(self) -> None:
        self.done.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for t in self.threads:
            t.join(5)


class _Listener:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, lib: HostServers) -> None:
        self.lib = lib

    def end_suite(self, data: Any, result: Any) -> None:
        self.lib.stop_host_servers()


class HostServers:
    """Host-side servers and clients on 127.0.0.1 for the vboard network suites."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self) -> None:
        self.http: _Http | None = None
        self.inet: _Inet | None = None
        self.transfer: _EchoTransfer | None = None
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)

    # ---------------------------------------------------------------- lifetime
    def stop_host_servers(self) -> None:
        """Stop every server and transfer this suite started (also done at the end of the suite)."""
        self.stop_http_server()
        self.stop_inet_services()
        if self.transfer is not None:
            self.transfer.close()
            self.transfer = None

    def get_free_port(self) -> int:
        """A TCP port free on 127.0.0.1 now (for ``forwards``: ``tcp:${port}:7``)."""
        with socket.socket() as s:
            s.bind((HOST, 0))
            return int(s.getsockname()[1])

    # -------------------------------------------------------------------- HTTP
    def start_http_server(self, port: int = 80, body: str = "hello from the host\n",
                          content_type: str = "text/plain", status: str = "200 OK",
                          address: str = HOST) -> int:
        """Answer every request on ``address``:``port`` with ``body`` (HTTP/1.1, Connection: close);
        returns the port. ``address``: a loopback address (default 127.0.0.1)."""
        self.stop_http_server()
        payload = body.encode()
        response = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                    f"Connection: close\r\n\r\n").encode() + payload
        self.http = _Http(int(port), response, _loopback(address))
        return self.http.port

    def stop_http_server(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None

    def get_http_requests(self) -> list[dict[str, Any]]:
        """The requests served so far: dicts of ``raw``, ``request_line``, ``headers`` (lower-case names)."""
        if self.http is None:
            raise AssertionError("no HTTP server: use Start Http Server first")
        with self.http.lock:
            return [dict(r) for r in self.http.requests]

    def http_server_should_have_no_errors(self) -> None:
        if self.http is not None and self.http.errors:
            raise AssertionError(f"HTTP server errors: {self.http.errors}")

    # --------------------------------------------------------------- inet services
    def start_inet_services(self, echo: int = 7, discard: int = 9, daytime: int = 13,
                            chargen: int = 19, address: str = HOST) -> dict[str, int]:
        """Echo (TCP+UDP), discard (TCP+UDP), daytime and chargen on ``address`` (a loopback
        address, default 127.0.0.1); returns the ports."""
        self.stop_inet_services()
        self.inet = _Inet(int(echo), int(discard), int(daytime), int(chargen), _loopback(address))
        return dict(self.inet.ports)

    def stop_inet_services(self) -> None:
        if self.inet is not None:
            self.inet.stop()
            self.inet = None

    def get_inet_counts(self) -> dict[str, int]:
        """Bytes echoed (``echo_tcp``, ``echo_udp``), discarded, chargen bytes sent, daytime answers."""
        if self.inet is None:
            raise AssertionError("no services: use Start Inet Services first")
        with self.inet.lock:
            return dict(self.inet.counts)

    def inet_services_should_have_no_errors(self) -> None:
        if self.inet is not None and self.inet.errors:
            raise AssertionError(f"host service errors: {self.inet.errors}")

    # ---------------------------------------------------------------- TCP echo
    def echo_bytes_over_tcp(self, port: int, size: int, seed: int = 1, timeout: str = "60s",
                            stall: str = "30s") -> str:
        """Send ``size`` bytes of a seeded pattern to 127.0.0.1:``port`` and compare the echo's SHA-256.

        ``stall``: the longest wait without a byte moving that is not a failure (on a lossy link,
        allow for TCP's exponential backoff). Returns a one-line summary (bytes and wall time)."""
        self.start_echo_transfer(port, size, seed, stall)
        return self.wait_for_echo_transfer(timeout)

    def start_echo_transfer(self, port: int, size: int, seed: int = 1, stall: str = "30s") -> None:
        """Start sending ``size`` bytes to 127.0.0.1:``port`` in the background, reading the echo back.

        ``stall``: how long the connection may make no progress at all before it fails."""
        if self.transfer is not None:
            self.transfer.close()
        self.transfer = _EchoTransfer(int(port), pattern(int(size), int(seed)), _seconds(stall))

    def get_echo_received_bytes(self) -> int:
        return self._transfer().received

    def wait_for_echo_bytes(self, count: int, timeout: str = "60s") -> int:
        """Wait until ``count`` bytes of the echo came back; returns how many did."""
        t = self._transfer()
        deadline = time.monotonic() + _seconds(timeout)
        while t.received < int(count):
            if t.done.is_set():
                raise AssertionError(f"the transfer ended after {t.received} bytes: {t.error!r}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{t.received} of {count} bytes echoed within {timeout}")
            time.sleep(0.02)
        return t.received

    def wait_for_echo_transfer(self, timeout: str = "120s") -> str:
        """Wait for the whole echo; fail unless every byte came back and the SHA-256 matches."""
        t = self._transfer()
        if not t.done.wait(_seconds(timeout)):
            got = t.received
            t.close()
            self.transfer = None
            raise AssertionError(f"{got} of {len(t.data)} bytes echoed within {timeout}")
        t.close()
        self.transfer = None
        if t.error is not None:
            raise AssertionError(f"echo failed after {t.received} of {len(t.data)} bytes: {t.error!r}")
        want = hashlib.sha256(t.data).hexdigest()
        got = t.hash.hexdigest()
        if t.received != len(t.data) or got != want:
            raise AssertionError(f"echo differs: {t.received} of {len(t.data)} bytes, sha256 {got} != {want}")
        return f"{t.received} bytes echoed intact in {t.finished - t.started:.2f} s wall, sha256 {got[:16]}"

    def _transfer(self) -> _EchoTransfer:
        if self.transfer is None:
            raise AssertionError("no echo transfer: use Start Echo Transfer first")
        return self.transfer

    # ------------------------------------------------------------ small clients
    def tcp_exchange(self, port: int, data: str, timeout: str = "10s") -> str:
        """Connect to 127.0.0.1:``port``, send ``data``, read until as many bytes came back; returns them."""
        payload = data.encode()
        with socket.create_connection((HOST, int(port)), timeout=_seconds(timeout)) as s:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        return got.decode(errors="replace")

    def read_from_tcp(self, port: int, size: int = 0, timeout: str = "10s", send_first: str = "") -> str:
        """Connect, send ``send_first`` if given, and read ``size`` bytes (0: until the server closes);
        returns them."""
        want = int(size)
        got = b""
        with socket.create_connection((HOST, int(port)), timeout=_seconds(timeout)) as s:
            if send_first:
                s.sendall(send_first.encode())
            while not want or len(got) < want:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        if want and len(got) < want:
            raise AssertionError(f"{len(got)} of {want} bytes before the server closed")
        return (got[:want] if want else got).decode("latin-1")

    def send_to_tcp(self, port: int, size: int, seed: int = 1, timeout: str = "30s") -> None:
        """Connect, send ``size`` bytes, close cleanly; fail if the server resets or never reads them."""
        data = pattern(int(size), int(seed))
        with socket.create_connection((HOST, int(port)), timeout=_seconds(timeout)) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(_seconds(timeout))
            extra = s.recv(4096)  # a discard server sends nothing: EOF (or a timeout)
            if extra:
                raise AssertionError(f"a discard server answered {extra[:60]!r}")

    def udp_exchange(self, port: int, data: str, timeout: str = "5s", attempts: int = 3) -> str:
        """Send ``data`` in a datagram to 127.0.0.1:``port``; the reply (a few tries: UDP)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(_seconds(timeout))
            for _ in range(int(attempts)):
                s.sendto(data.encode(), (HOST, int(port)))
                try:
                    reply, _ = s.recvfrom(65536)
                    return reply.decode(errors="replace")
                except TimeoutError:
                    continue
        raise AssertionError(f"no UDP reply from port {port} in {attempts} tries of {timeout}")

    def chargen_output_should_be_valid(self, text: str, lines: int = 10) -> None:
        """``text`` starts with ``lines`` RFC 864 lines (72 characters, each one character further on)."""
        want = chargen_lines(int(lines)).decode()
        if not text.startswith(want):
            got = text[: len(want)]
            at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), len(got))
            raise AssertionError(f"chargen differs at byte {at}: {got[max(0, at - 20):at + 20]!r} "
                                 f"!= {want[max(0, at - 20):at + 20]!r}")

    def http_get(self, url: str, timeout: str = "10s") -> dict[str, Any]:
        """GET ``url`` (HTTP/1.0, plain socket: what a browser needs from the board); returns
        ``status`` (int), ``reason``, ``headers`` (lower-case names), ``body``, and ``json``
        when it parses."""
        from urllib.parse import urlsplit

        u = urlsplit(url)
        if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"{url}: only http:// on loopback")
        raw = b""
        with socket.create_connection((HOST, u.port or 80), timeout=_seconds(timeout)) as s:
            s.sendall(f"GET {u.path or '/'} HTTP/1.0\r\nHost: {u.netloc}\r\n\r\n".encode())
            while chunk := s.recv(4096):
                raw += chunk
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"{url}: no complete HTTP response: {raw[:200]!r}")
        lines = head.decode(errors="replace").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError(f"{url}: bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        text = body.decode(errors="replace")
        reply: dict[str, Any] = {"status": int(parts[1]), "reason": parts[2] if len(parts) > 2 else "",
                                 "headers": headers, "body": text}
        if "content-length" in headers and int(headers["content-length"]) != len(body):
            raise AssertionError(f"{url}: Content-Length {headers['content-length']}, body {len(body)} bytes")
        try:
            reply["json"] = json.loads(text)
        except ValueError:
            pass
        return reply
