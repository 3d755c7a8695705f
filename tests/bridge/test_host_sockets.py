"""HostSocketProvider: real sockets on 127.0.0.1, reports posted to the emulation thread."""

from __future__ import annotations

import queue
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from bridge.host_sockets import HostSocketProvider
from emulator.clock import Clock
from peripherals.esp8266 import Esp8266

WAIT = 5.0  # wall-clock bound for real sockets


class _TcpEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            if data == b"bye":
                return
            self.request.sendall(data)


class _UdpEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data, self.client_address)


@pytest.fixture
def echo() -> Iterator[tuple[int, int]]:
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _TcpEcho)
    tcp.daemon_threads = True
    udp = socketserver.UDPServer(("127.0.0.1", 0), _UdpEcho)
    for srv in (tcp, udp):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield tcp.server_address[1], udp.server_address[1]
    for srv in (tcp, udp):
        srv.shutdown()
        srv.server_close()


class Recorder:
    """The emulation thread: posted actions run only when ``pump`` is called here."""

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.events: list[tuple] = []
        self.thread = threading.get_ident()

    def post(self, action: Callable[[], None]) -> None:
        self.inbox.put(action)

    def pump(self, until: Callable[[], bool], step: Callable[[], None] | None = None) -> None:
        deadline = time.monotonic() + WAIT
        while not until():
            assert time.monotonic() < deadline, f"timed out; events: {self.events}"
            try:
                self.inbox.get(timeout=0.001)()
            except queue.Empty:
                pass
            if step is not None:
                step()

    def socket_connected(self, handle: int) -> None:
        assert threading.get_ident() == self.thread
        self.events.append(("connected", handle))

    def socket_data(self, handle: int, data: bytes, remote: tuple[str, int]) -> None:
        assert threading.get_ident() == self.thread
        self.events.append(("data", handle, data, remote))

    def socket_closed(self, handle: int) -> None:
        self.events.append(("closed", handle))

    def socket_error(self, handle: int, reason: str) -> None:
        self.events.append(("error", handle))


@pytest.fixture
def rec() -> Iterator[tuple[Recorder, HostSocketProvider]]:
    r = Recorder()
    p = HostSocketProvider(r.post, {"echo.test": "10.0.2.2"})
    p.attach(r)
    yield r, p
    p.shutdown()


def test_tcp_echo_through_the_gateway_alias(rec, echo) -> None:
    r, p = rec
    h = p.open("TCP", ("10.0.2.2", echo[0]), keepalive=60)
    r.pump(lambda: ("connected", h) in r.events)
    p.send(h, b"hello")
    r.pump(lambda: b"".join(e[2] for e in r.events if e[0] == "data") == b"hello")
    assert r.events[-1][3] == ("10.0.2.2", echo[0])
    p.send(h, b"bye")
    r.pump(lambda: ("closed", h) in r.events)


def test_udp_echo_and_dns_from_records(rec, echo) -> None:
    r, p = rec
    h = p.open("UDP", ("127.0.0.1", echo[1]))
    p.send(h, b"dgram")
    r.pump(lambda: any(e[0] == "data" for e in r.events))
    assert r.events[-1] == ("data", h, b"dgram", ("10.0.2.2", echo[1]))  # the host seen as the gateway
    dns = p.open("UDP", ("8.8.8.8", 53))
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x04echo\x04test\x00\x00\x01\x00\x01"
    p.send(dns, query)
    r.pump(lambda: any(e[0] == "data" and e[1] == dns for e in r.events))
    answer = r.events[-1][2]
    assert answer[:2] == b"\x12\x34" and answer.endswith(socket.inet_aton("10.0.2.2"))


def test_refused_and_resolve(rec) -> None:
    r, p = rec
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
    h = p.open("TCP", ("127.0.0.1", port))
    r.pump(lambda: ("error", h) in r.events)
    got: list[str | None] = []
    p.resolve("echo.test", got.append)
    p.resolve("1.2.3.4", got.append)
    assert got == ["10.0.2.2", "1.2.3.4"]


def test_module_link_to_a_python_echo_server(echo) -> None:
    r = Recorder()
    clock = Clock(1_000_000)
    p = HostSocketProvider(r.post)
    dev = Esp8266("wifi", clock, access_points=[{"ssid": "ap", "password": "password1"}], provider=p,
                  boot_time=0.01, join_time=0.01)
    out = bytearray()
    dev.ports["serial"].connect(out.extend)

    def step() -> None:  # virtual time moves on in small steps while the host answers
        clock.advance(200)
        clock.fire_due()

    def cmd(line: bytes, expect: bytes) -> bytes:
        out.clear()
        dev.ports["serial"].deliver(line + b"\r\n")
        r.pump(lambda: expect in out, step)
        return bytes(out)

    try:
        r.pump(lambda: b"ready" in out, step)
        cmd(b"ATE0", b"OK\r\n")
        cmd(b"AT+CIPMUX=1", b"OK\r\n")
        cmd(b"AT+CIPRECVMODE=1", b"OK\r\n")
        cmd(b'AT+CWJAP_CUR="ap","password1"', b"OK\r\n")
        start = f'AT+CIPSTART=0,"TCP","10.0.2.2",{echo[0]}'.encode()
        assert cmd(start, b"OK\r\n") == b"0,CONNECT\r\n\r\nOK\r\n"
        cmd(b"AT+CIPSEND=0,5", b"> ")
        out.clear()
        dev.ports["serial"].deliver(b"hello")
        r.pump(lambda: b"+IPD,0,5\r\n" in out, step)
        assert b"SEND OK" in out
        assert cmd(b"AT+CIPRECVDATA=0,100", b"OK\r\n") == b"+CIPRECVDATA,5:hello\r\nOK\r\n"
        cmd(b"AT+CIPSEND=0,3", b"> ")
        out.clear()
        dev.ports["serial"].deliver(b"bye")
        r.pump(lambda: b"0,CLOSED\r\n" in out, step)  # the server hung up
    finally:
        p.shutdown()
