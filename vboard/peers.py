"""Host-side network peers for tests of board firmware, from pytest, Robot or a script.

The board reaches the host's loopback as 10.0.2.2 (``--net user``: libslirp, as
QEMU's; or ``--net passt``; ``host_loopback`` picks which 127.x address that is), so the
peers here listen on a loopback address only:

- ``InetServices``: RFC 862 echo (TCP+UDP), 863 discard (TCP+UDP), 867
  daytime and 864 chargen, as Mbed's test server runs them;
- ``HttpServer``: answers every request with one fixed response
  (``http_response``) and records the requests;
- ``DnsServer``: A records from a dict, over UDP.

Each server runs in daemon threads, one per listener and per connection.
Every blocking call in them is bounded (``POLL``), so ``stop()`` takes effect
within a fraction of a second; errors in the threads are collected in
``errors`` (check it in the test), never raised there. A server is a context
manager: leaving the ``with`` block stops it and raises ``RuntimeError`` if
its threads did not stop.

Clients, for boards that serve (through a port forward):

- ``EchoTransfer``: a bulk TCP echo in the background, one thread sending a
  pattern, another hashing what comes back; ``verify()`` compares SHA-256;
- ``tcp_exchange``, ``read_from_tcp``, ``send_to_tcp``, ``udp_exchange``,
  ``http_get``, ``check_chargen``.

Every client call takes a timeout. A failed check raises ``CheckFailed`` (an
``AssertionError``, so pytest and Robot report it as a failure).

    with InetServices() as peers:             # 127.0.0.1:7/9/13/19
        ...run the board...
        assert peers.errors == []
"""

from __future__ import annotations

import errno
import hashlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from bridge.net.packets import require_loopback

HOST = "127.0.0.1"
POLL = 0.2  # s: how often a server thread looks at stop()
BACKLOG = 8

__all__ = [
    "HOST", "CheckFailed", "DnsQuery", "DnsServer", "EchoTransfer", "HttpRequest", "HttpServer",
    "InetServices", "PortTaken", "Service", "chargen_lines", "check_chargen", "free_port", "http_get",
    "http_response", "loopback", "pattern", "read_from_tcp", "send_to_tcp", "tcp_exchange", "udp_exchange",
]

Address = tuple[str, int]
TcpHandler = Callable[[socket.socket], None]
UdpHandler = Callable[[socket.socket, bytes, Address], None]


class CheckFailed(AssertionError):
    """A peer saw something other than expected (a short echo, a bad reply, a hash mismatch)."""

    ROBOT_SUPPRESS_NAME = True  # Robot shows the message alone, as for AssertionError


class PortTaken(OSError):
    """A server cannot bind its address and port (held by another program, or below 1024 without root)."""

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.errno = code


# ------------------------------------------------------------------ data
def pattern(size: int, seed: int = 1) -> bytes:
    """``size`` bytes of a seeded pseudo-random pattern (the same for the same seed)."""
    return random.Random(int(seed)).randbytes(int(size))


def chargen_lines(count: int) -> bytes:
    """RFC 864 as echo_server and Mbed's chargen send it: 72 printable characters a line, shifted by one."""
    ring = bytes(range(32, 127)) * 2
    return b"".join(ring[i % 95:i % 95 + 72] + b"\r\n" for i in range(count))


def http_response(body: bytes, content_type: str = "text/plain", status: str = "200 OK") -> bytes:
    """A whole HTTP/1.1 response with ``Content-Length`` and ``Connection: close``."""
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


def loopback(address: str) -> str:
    """``address`` if it is an IPv4 loopback address (servers bind nothing else); ValueError otherwise."""
    return require_loopback(address)


def free_port(address: str = HOST) -> int:
    """A TCP port free on ``address`` now (for a port forward, ``tcp:PORT:7``)."""
    with socket.socket() as s:
        s.bind((loopback(address), 0))
        return int(s.getsockname()[1])


def _headers(lines: list[str]) -> dict[str, str]:
    """``Name: value`` lines -> {lower-case name: value}."""
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


# ------------------------------------------------------------------ servers
class _Stopping(Exception):
    """Raised in a server thread by ``recv``/``send_all`` once ``stop()`` was called."""


class Service:
    """Listeners on one loopback address; each connection in its own daemon thread; ``stop`` is bounded.

    ``bind_wait``: how long (s) to keep retrying a bind whose port is in use
    (another run may still hold a fixed port); then ``PortTaken``. A subclass
    builds its listeners with ``tcp()``/``udp()`` in ``__init__``, inside
    ``with self.starting():`` so that a failed bind stops the listeners
    already started.
    """

    def __init__(self, address: str = HOST, bind_wait: float = 0.0) -> None:
        self.address = loopback(address)
        self.bind_wait = bind_wait
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []

    # -- building blocks ----------------------------------------------------------
    def starting(self) -> _Starting:
        """Context for building listeners: an exception stops what was started, then propagates."""
        return _Starting(self)

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
                self._error(f"{target.__name__}: {e!r}")

    def _error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def _bind(self, kind: int, port: int, reuse: bool = True) -> socket.socket:
        """Bind address:port, retrying while it is in use for at most ``bind_wait`` seconds."""
        deadline = time.monotonic() + self.bind_wait
        proto = "tcp" if kind == socket.SOCK_STREAM else "udp"
        while True:
            s = socket.socket(socket.AF_INET, kind)
            if reuse:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.address, int(port)))
                break
            except OSError as e:
                s.close()
                if e.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                why = e.strerror or str(e)
                if e.errno == errno.EADDRINUSE:
                    why = f"another program holds it (`ss -{proto[0]}lnp 'sport = :{port}'`)"
                elif e.errno == errno.EACCES:
                    why = "binding a port below 1024 needs root"
                raise PortTaken(f"cannot bind {self.address}:{port}/{proto}: {why}", e.errno) from None
        with self.lock:
            self.sockets.append(s)
        return s

    def tcp(self, port: int, handler: TcpHandler) -> int:
        """Listen on TCP ``port`` (0: any free one), ``handler(conn)`` per connection; returns the port."""
        srv = self._bind(socket.SOCK_STREAM, port)
        srv.listen(BACKLOG)
        srv.settimeout(POLL)
        self._spawn(self._accept_loop, srv, handler)
        return int(srv.getsockname()[1])

    def udp(self, port: int, handler: UdpHandler, reuse: bool = True) -> int:
        """Receive datagrams on UDP ``port``, ``handler(sock, data, peer)`` for each; returns the port."""
        s = self._bind(socket.SOCK_DGRAM, port, reuse)
        s.settimeout(POLL)
        self._spawn(self._udp_loop, s, handler)
        return int(s.getsockname()[1])

    def _accept_loop(self, srv: socket.socket, handler: TcpHandler) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with self.lock:
                self.sockets.append(conn)
            conn.settimeout(POLL)
            self._spawn(self._conn, conn, handler)

    def _conn(self, conn: socket.socket, handler: TcpHandler) -> None:
        try:
            handler(conn)
        finally:
            conn.close()

    def _udp_loop(self, s: socket.socket, handler: UdpHandler) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = s.recvfrom(65536)
            except TimeoutError:
                continue
            handler(s, data, peer)

    # -- blocking helpers that notice stop() ----------------------------------------
    def recv(self, conn: socket.socket, n: int = 65536) -> bytes:
        """Next bytes from ``conn`` (b"" at EOF); raises _Stopping once stop() was called."""
        while True:
            if self.stopping.is_set():
                raise _Stopping
            try:
                return conn.recv(n)
            except TimeoutError:
                continue

    def send_all(self, conn: socket.socket, data: bytes) -> None:
        """Send all of ``data``; raises _Stopping once stop() was called."""
        view = memoryview(data)
        while view:
            if self.stopping.is_set():
                raise _Stopping
            try:
                sent = conn.send(view)
            except TimeoutError:
                continue
            view = view[sent:]

    # -- lifetime -------------------------------------------------------------------
    def stop(self, timeout: float = 5.0) -> int:
        """Close every socket and join the threads within ``timeout`` s; returns how many still run."""
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
        return sum(t.is_alive() for t in threads)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        alive = self.stop()
        if alive and kind is None:
            raise RuntimeError(f"{alive} peer threads of {type(self).__name__} did not stop")


class _Starting:
    """``Service.starting()``: stops the service if building its listeners fails."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            self.service.stop()


class InetServices(Service):
    """echo (TCP+UDP), discard (TCP+UDP), daytime (TCP) and chargen (TCP), as Mbed's test server runs them.

    ``ports``: ``echo``, ``discard``, ``daytime``, ``chargen`` (the UDP ports
    are the TCP ones); ``counts``: bytes echoed (``echo_tcp``, ``echo_udp``),
    bytes discarded, chargen bytes sent, daytime answers.
    """

    def __init__(self, echo: int = 7, discard: int = 9, daytime: int = 13, chargen: int = 19,
                 address: str = HOST, bind_wait: float = 0.0) -> None:
        super().__init__(address, bind_wait)
        self.counts = {"echo_tcp": 0, "echo_udp": 0, "discard": 0, "daytime": 0, "chargen": 0}
        with self.starting():
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

    def _udp_echo(self, s: socket.socket, data: bytes, peer: Address) -> None:
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


@dataclass
class HttpRequest:
    """One request as the server read it: the raw bytes up to the blank line, its first line, headers."""

    raw: bytes
    request_line: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


class HttpServer(Service):
    """Answers every request on ``port`` with ``response`` (``http_response``) and records it in ``requests``.

    After the response it shuts its side down and waits (at most 2 s) for the
    client to close first, as a board that reads to EOF expects.
    """

    def __init__(self, port: int, response: bytes, address: str = HOST, bind_wait: float = 0.0) -> None:
        super().__init__(address, bind_wait)
        self.response = response
        self.requests: list[HttpRequest] = []
        self.got_request = threading.Event()
        self.port = self.tcp(port, self._serve)

    def _serve(self, conn: socket.socket) -> None:
        raw = b""
        while b"\r\n\r\n" not in raw and len(raw) < 65536:
            data = self.recv(conn)
            if not data:
                break
            raw += data
        head = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        with self.lock:
            self.requests.append(HttpRequest(raw, head[0], _headers(head[1:])))
        self.got_request.set()
        self.send_all(conn, self.response)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return  # the client closed (or reset: the seed reads 100 bytes and closes) first
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                if not conn.recv(4096):
                    break
            except TimeoutError:
                continue


@dataclass(frozen=True)
class DnsQuery:
    """One question the DNS server answered."""

    name: str
    qtype: int
    peer: Address
    rcode: int  # what the server answered


class DnsServer(Service):
    """A UDP DNS server on ``address``:``port`` answering A queries from ``records`` (name -> IPv4).

    Names are matched without case and without a trailing dot. A known name
    gets its A record (TTL ``ttl``; other types: no answer, NOERROR), an
    unknown name NXDOMAIN, a message that is not a one-question standard
    query FORMERR and an entry in ``errors``. Every question is kept in
    ``queries``. The socket is bound without SO_REUSEADDR, so a port already
    held by a local resolver raises PortTaken instead of being shared.
    """

    NOERROR, FORMERR, NXDOMAIN = 0, 1, 3

    def __init__(self, records: dict[str, str], port: int = 53, ttl: int = 60, address: str = HOST,
                 bind_wait: float = 0.0) -> None:
        super().__init__(address, bind_wait)
        self.records = {name.lower().rstrip("."): socket.inet_aton(ip) for name, ip in records.items()}
        self.ttl = ttl
        self.queries: list[DnsQuery] = []
        with self.starting():
            self.port = self.udp(port, self._serve, reuse=False)

    @staticmethod
    def _question(msg: bytes) -> tuple[str, int, int] | None:
        """(name, qtype, offset after the question) of a one-question query, or None."""
        if len(msg) < 12:
            return None
        flags, qd, an, ns = struct.unpack_from("!HHHH", msg, 2)
        if flags & 0x8000 or (flags >> 11) & 0xF != 0 or qd != 1 or an or ns:
            return None
        labels, o = [], 12
        while o < len(msg) and msg[o] != 0:
            n = msg[o]
            if n > 63 or o + 1 + n > len(msg):
                return None
            labels.append(msg[o + 1:o + 1 + n].decode("ascii", errors="replace"))
            o += 1 + n
        if o + 5 > len(msg):
            return None
        qtype, qclass = struct.unpack_from("!HH", msg, o + 1)
        return (".".join(labels).lower(), qtype, o + 5) if qclass == 1 else None

    def _serve(self, s: socket.socket, msg: bytes, peer: Address) -> None:
        q = self._question(msg)
        if q is None:
            self._error(f"dns: not a one-question query from {peer}: {msg[:64].hex()}")
            if len(msg) >= 12:
                s.sendto(msg[:2] + struct.pack("!HHHHH", 0x8000 | self.FORMERR, 0, 0, 0, 0), peer)
            return
        name, qtype, end = q
        ip = self.records.get(name)
        rcode = self.NXDOMAIN if ip is None else self.NOERROR
        answers = b""
        if ip is not None and qtype == 1:
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, self.ttl, 4) + ip
        rd = struct.unpack_from("!H", msg, 2)[0] & 0x0100
        header = msg[:2] + struct.pack("!HHHHH", 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1,
                                       1 if answers else 0, 0, 0)
        s.sendto(header + msg[12:end] + answers, peer)
        with self.lock:
            self.queries.append(DnsQuery(name, qtype, peer, rcode))


# ------------------------------------------------------------------ clients
class EchoTransfer:
    """A bulk TCP echo to ``address``:``port``: one thread sends ``data``, another hashes what comes back.

    ``stall``: how long (s) the connection may make no progress at all before
    it fails (on a lossy link, allow for TCP's exponential backoff).
    ``max_inflight``: keep at most this many bytes sent but not yet echoed
    (None: no bound). ``done`` is set when everything came back or the
    transfer failed (``error``); ``close()`` ends it early.
    """

    CHUNK = 16384

    def __init__(self, port: int, data: bytes, stall: float = 30.0, max_inflight: int | None = None,
                 address: str = HOST, connect_timeout: float = 10.0) -> None:
        self.data = data
        self.max_inflight = max_inflight
        self.sent = 0
        self.received = 0
        self.hash = hashlib.sha256()
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.progress = threading.Event()
        self.sock = socket.create_connection((address, int(port)), timeout=connect_timeout)
        self.sock.settimeout(stall)  # no progress for this long is a failure, not a wait
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
                room = self.CHUNK
                if self.max_inflight is not None:
                    room = self.max_inflight - (self.sent - self.received)
                    if room <= 0:
                        self.progress.wait(0.05)
                        self.progress.clear()
                        continue
                n = self.sock.send(view[:room])
                self.sent += n
                view = view[n:]
        except BaseException as e:  # noqa: BLE001 - kept for the caller, as every peer error
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
                self.progress.set()
        except BaseException as e:  # noqa: BLE001 - kept for the caller, as every peer error
            self.error = self.error or e
        self.finished = time.monotonic()
        self.done.set()

    def wait_for_bytes(self, count: int, timeout: float) -> int:
        """Wait until ``count`` bytes came back; returns how many did. CheckFailed if it ends or times out."""
        deadline = time.monotonic() + timeout
        while self.received < count:
            if self.done.is_set():
                raise CheckFailed(f"the transfer ended after {self.received} bytes: {self.error!r}")
            if time.monotonic() > deadline:
                raise CheckFailed(f"{self.received} of {count} bytes echoed within {timeout:g} s")
            time.sleep(0.02)
        return self.received

    def verify(self) -> str:
        """After ``done``: a one-line summary; CheckFailed unless every byte came back, SHA-256 equal."""
        if self.error is not None:
            raise CheckFailed(f"echo failed after {self.received} of {len(self.data)} bytes: {self.error!r}")
        want = hashlib.sha256(self.data).hexdigest()
        got = self.hash.hexdigest()
        if self.received != len(self.data) or got != want:
            raise CheckFailed(f"echo differs: {self.received} of {len(self.data)} bytes, "
                              f"sha256 {got} != {want}")
        wall = self.finished - self.started
        return f"{self.received} bytes echoed intact in {wall:.2f} s wall, sha256 {got[:16]}"

    def close(self) -> None:
        """End the transfer (if still running) and close the connection; joins the threads (bounded)."""
        self.done.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for t in self.threads:
            t.join(5)


def tcp_exchange(port: int, payload: bytes, timeout: float = 10.0, address: str = HOST) -> bytes:
    """Connect, send ``payload``, read until as many bytes came back (or the server closes); returns them."""
    with socket.create_connection((address, int(port)), timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got


def read_from_tcp(port: int, size: int = 0, timeout: float = 10.0, send_first: bytes = b"",
                  address: str = HOST) -> bytes:
    """Connect, send ``send_first`` if given, read ``size`` bytes (0: until the server closes)."""
    got = b""
    with socket.create_connection((address, int(port)), timeout=timeout) as s:
        if send_first:
            s.sendall(send_first)
        while not size or len(got) < size:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    if size and len(got) < size:
        raise CheckFailed(f"{len(got)} of {size} bytes before the server closed")
    return got[:size] if size else got


def send_to_tcp(port: int, data: bytes, timeout: float = 30.0, address: str = HOST) -> None:
    """Connect, send ``data``, close cleanly; CheckFailed if the server answers (discard does not)."""
    with socket.create_connection((address, int(port)), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        extra = s.recv(4096)  # a discard server sends nothing: EOF (or a timeout)
        if extra:
            raise CheckFailed(f"a discard server answered {extra[:60]!r}")


def udp_exchange(port: int, data: bytes, timeout: float = 5.0, attempts: int = 3,
                 address: str = HOST) -> bytes:
    """Send ``data`` in a datagram and return the reply (``attempts`` tries of ``timeout`` s: UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        for _ in range(attempts):
            s.sendto(data, (address, int(port)))
            try:
                reply, _ = s.recvfrom(65536)
                return reply
            except TimeoutError:
                continue
    raise CheckFailed(f"no UDP reply from port {port} in {attempts} tries of {timeout:g} s")


def check_chargen(data: bytes, lines: int = 10) -> None:
    """CheckFailed unless ``data`` starts with ``lines`` RFC 864 lines (72 characters, shifted by one)."""
    want = chargen_lines(lines)
    if not data.startswith(want):
        got = data[:len(want)]
        at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), len(got))
        raise CheckFailed(f"chargen differs at byte {at}: {got[max(0, at - 20):at + 20]!r} "
                          f"!= {want[max(0, at - 20):at + 20]!r}")


def http_get(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """GET ``url`` (http:// on loopback only; HTTP/1.0 on a plain socket, read to EOF).

    Returns ``status`` (int), ``reason``, ``headers`` (lower-case names),
    ``body`` (text), and ``json`` when the body parses. CheckFailed on an
    incomplete or malformed response, or a body shorter than its
    Content-Length.
    """
    u = urlsplit(url)
    host = HOST if u.hostname == "localhost" else u.hostname or ""
    try:
        loopback(host)
    except ValueError:
        host = ""
    if u.scheme != "http" or not host:
        raise CheckFailed(f"{url}: only http:// on loopback")
    raw = b""
    with socket.create_connection((host, u.port or 80), timeout=timeout) as s:
        s.sendall(f"GET {u.path or '/'} HTTP/1.0\r\nHost: {u.netloc}\r\n\r\n".encode())
        while chunk := s.recv(4096):
            raw += chunk
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise CheckFailed(f"{url}: no complete HTTP response: {raw[:200]!r}")
    lines = head.decode(errors="replace").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise CheckFailed(f"{url}: bad status line {lines[0]!r}")
    headers = _headers(lines[1:])
    text = body.decode(errors="replace")
    reply: dict[str, Any] = {"status": int(parts[1]), "reason": parts[2] if len(parts) > 2 else "",
                             "headers": headers, "body": text}
    if "content-length" in headers and int(headers["content-length"]) != len(body):
        raise CheckFailed(f"{url}: Content-Length {headers['content-length']}, body {len(body)} bytes")
    try:
        reply["json"] = json.loads(text)
    except ValueError:
        pass
    return reply

