"""Host-side peers for the socket-stack tests: RFC 862/863/864/867 servers, a DNS server and a
one-shot HTTP server.

Each service binds 127.0.0.1 (the board reaches it as 10.0.2.2 through
passt or QEMU's slirp), runs in daemon threads and stops cleanly: ``stop()``
closes the listening sockets and every open connection and joins the
threads with a bound. Every blocking call has a timeout, so a thread
notices ``stop()`` within ``POLL`` seconds.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

POLL = 0.2
HOST = "127.0.0.1"


class _Stopping(Exception):
    pass


class Service:
    """A set of TCP/UDP listeners on loopback, each connection handled in its own thread."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.log: list[str] = []

    # -- building blocks ----------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=self._guard, args=(target, *args), daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _guard(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        except (_Stopping, ConnectionResetError, BrokenPipeError):
            pass
        except OSError as e:
            if not self.stopping.is_set():
                with self.lock:
                    self.errors.append(f"{target.__name__}: {e!r}")

    def _track(self, s: socket.socket) -> socket.socket:
        with self.lock:
            self.sockets.append(s)
        return s

    def tcp(self, port: int, handler: Callable[[socket.socket], None]) -> int:
        srv = self._track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, port))
        srv.listen(8)
        srv.settimeout(POLL)
        self._spawn(self._accept_loop, srv, handler)
        return srv.getsockname()[1]

    def udp(self, port: int, handler: Callable[[socket.socket, bytes, tuple], None],
            reuse: bool = True) -> int:
        s = self._track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, port))
        s.settimeout(POLL)
        self._spawn(self._udp_loop, s, handler)
        return s.getsockname()[1]

    def _accept_loop(self, srv: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        while not self.stopping.is_set():
            try:
                conn, peer = srv.accept()
            except TimeoutError:
                continue
            self._track(conn)
            conn.settimeout(POLL)
            with self.lock:
                self.log.append(f"tcp {srv.getsockname()[1]} from {peer[0]}:{peer[1]}")
            self._spawn(self._conn, conn, handler)

    def _conn(self, conn: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        try:
            handler(conn)
        finally:
            conn.close()

    def _udp_loop(self, s: socket.socket, handler: Callable[[socket.socket, bytes, tuple], None]) -> None:
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
        alive = [t for t in threads if t.is_alive()]
        assert not alive, f"{len(alive)} peer threads did not stop"

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class InetServices(Service):
    """echo (TCP+UDP), discard (TCP+UDP), daytime (TCP) and chargen (TCP), as Mbed's test server runs."""

    def __init__(self, echo: int = 7, discard: int = 9, daytime: int = 13, chargen: int = 19) -> None:
        super().__init__()
        self.counts = {"echo_tcp": 0, "echo_udp": 0, "discard": 0, "daytime": 0, "chargen": 0}
        self.ports = {
            "echo": self.tcp(echo, self._echo),
            "discard": self.tcp(discard, self._discard),
            "daytime": self.tcp(daytime, self._daytime),
            "chargen": self.tcp(chargen, self._chargen),
        }
        self.udp(self.ports["echo"], self._udp_echo)
        self.udp(self.ports["discard"], lambda s, data, peer: self._count("discard", len(data)))

    def _count(self, key: str, n: int) -> None:
        with self.lock:
            self.counts[key] += n

    def _echo(self, conn: socket.socket) -> None:
        while data := self.recv(conn):
            self.send_all(conn, data)
            self._count("echo_tcp", len(data))

    def _udp_echo(self, s: socket.socket, data: bytes, peer: tuple) -> None:
        s.sendto(data, peer)
        self._count("echo_udp", len(data))

    def _discard(self, conn: socket.socket) -> None:
        while data := self.recv(conn):
            self._count("discard", len(data))

    def _daytime(self, conn: socket.socket) -> None:
        self.send_all(conn, time.strftime("%A, %B %d, %Y %H:%M:%S-UTC\r\n", time.gmtime()).encode())
        self._count("daytime", 1)

    def _chargen(self, conn: socket.socket) -> None:
        """RFC 864: lines of 72 printable characters, each line starting one character further on."""
        printable = bytes(range(32, 127))
        ring = printable * 2
        block = b"".join(ring[i % 95:i % 95 + 72] + b"\r\n" for i in range(95))
        while not self.stopping.is_set():
            try:
                self.send_all(conn, block)
            except (BrokenPipeError, ConnectionResetError):
                return
            self._count("chargen", len(block))


class PortTaken(RuntimeError):
    """A peer's well-known port on 127.0.0.1 is held by another program (or needs root)."""


@dataclass(frozen=True)
class DnsQuery:
    name: str
    qtype: int
    peer: tuple[str, int]
    rcode: int  # what the server answered


class DnsServer(Service):
    """A UDP DNS server on 127.0.0.1:``port`` answering A queries from ``records`` (name -> IPv4).

    Names are matched without case and without a trailing dot. A known name
    gets its A record (TTL ``ttl``; other types: no answer, NOERROR), an
    unknown name NXDOMAIN, a message that is not a one-question standard
    query FORMERR and an entry in ``errors``. Every question is kept in
    ``queries``. The socket is bound without SO_REUSEADDR, so a port already
    held by a local resolver raises PortTaken instead of being shared.
    """

    NOERROR, FORMERR, NXDOMAIN = 0, 1, 3

    def __init__(self, records: dict[str, str], port: int = 53, ttl: int = 60) -> None:
        super().__init__()
        self.records = {name.lower().rstrip("."): socket.inet_aton(ip) for name, ip in records.items()}
        self.ttl = ttl
        self.queries: list[DnsQuery] = []
        try:
            self.port = self.udp(port, self._serve, reuse=False)
        except OSError as e:
            self.stop()
            why = (f"another program holds it (`ss -ulnp 'sport = :{port}'`)" if e.errno == errno.EADDRINUSE
                   else "binding a port below 1024 needs root" if e.errno == errno.EACCES else str(e))
            raise PortTaken(f"the test's DNS server cannot bind {HOST}:{port}/udp: {why}") from e

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

    def _serve(self, s: socket.socket, msg: bytes, peer: tuple) -> None:
        q = self._question(msg)
        if q is None:
            with self.lock:
                self.errors.append(f"dns: not a one-question query from {peer}: {msg[:64].hex()}")
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


@dataclass
class HttpRequest:
    raw: bytes
    request_line: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class OneShotHttp(Service):
    """Answers every request on ``port`` with ``response`` (sent in one write) and records it."""

    def __init__(self, port: int, response: bytes) -> None:
        super().__init__()
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
        req = HttpRequest(raw, head[0])
        for line in head[1:]:
            name, _, value = line.partition(":")
            req.headers[name.strip().lower()] = value.strip()
        with self.lock:
            self.requests.append(req)
        self.send_all(conn, self.response)
        conn.shutdown(socket.SHUT_WR)
        self.got_request.set()
        # Let the board close first (it reads to EOF or just closes); bounded.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                if not conn.recv(4096):
                    break
            except TimeoutError:
                continue


def http_response(body: bytes, content_type: str = "text/plain", status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body
