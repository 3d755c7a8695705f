"""End to end: the Mbed socket apps (firmware/apps) on vboard's socket stack, against real host peers.

- the two seed samples (``http_get``, ``sigio_state_machine``) fetch from a
  Python HTTP server standing in for arm.com / api.ipify.org (``--net user``
  through libslirp, names answered by ``--dns-record``);
- ``netsocket_tests`` (Mbed's TCP/UDP/DNS cases) against host echo, discard,
  daytime and chargen servers (``vboard/peers.py``), on vboard (names from
  ``--dns-record``) and on QEMU's user networking (names from a DNS server on
  127.0.0.1:53, which the firmware adds as 10.0.2.2 with ``add_dns_server``);
- 1 MiB each way through the board's TCP echo with 10 % loss and reordering,
  and across a 3 s link-down (in process, link model on the board's port);
- (``curl`` and ``nc`` through port forwards: tests/test_host_tools.py, on the vboard pytest plugin);
- 300 malformed frames from an extra switch port: the board neither faults nor
  stops answering.

Everything stays on 127.0.0.1; host tools missing make the tests FAIL.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from netpeers import PORT_WAIT, http_server, inet_services
from proc_helpers import child, vboard_run
from user_net_board import UserNetBoard

from bridge.net.packets import checksum
from emulator.net.frames import FramePort
from vboard.peers import (
    CheckFailed,
    DnsQuery,
    DnsServer,
    EchoTransfer,
    HttpServer,
    PortTaken,
    free_port,
    http_response,
    pattern,
    tcp_exchange,
)

BOARD_MAC = bytes.fromhex("525400123456")
BOARD_IP = bytes([10, 0, 2, 15])
FUZZ_MAC = bytes.fromhex("02aabbccdd77")
FUZZ_IP = bytes([10, 0, 2, 99])
BROADCAST = b"\xff" * 6


# ------------------------------------------------------------------ in-process board
@pytest.fixture
def board_factory(firmware: Path) -> Iterator[Callable[..., UserNetBoard]]:
    boards: list[UserNetBoard] = []

    def make(app: str, **kw: tuple[str, ...]) -> UserNetBoard:
        b = UserNetBoard(firmware / f"{app}.elf", **kw)
        boards.append(b)
        return b

    yield make
    for b in boards:
        b.close()


def board_echo(board: UserNetBoard, port: int, payload: bytes) -> bytes:
    """``tcp_exchange`` in a thread while the test thread runs the in-process board."""
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(tcp_exchange(port, payload)), daemon=True)
    t.start()
    board.run_until(lambda: not t.is_alive(), 30, f"the echo of {payload!r}")
    assert got, f"the echo of {payload!r} raised (see the thread's traceback)"
    return got[0]


# ================================================================== 1. the seed samples
def test_http_get_fetches_arm_com_from_the_host(firmware):
    body = b"<html>arm.com stand-in served by the test</html>\n"
    with http_server(http_response(body, "text/html")) as server, \
            vboard_run(str(firmware / "http_get.elf"), "--net", "user", "--dns-record", "arm.com=10.0.2.2",
                       "--max-time", "30s") as out:
        code = out.wait_exit(60)
    assert code == 0, (out.text, out.err)
    assert "http_get: connect 0, ip 10.0.2.15" in out.text, out.text
    assert "---- response ----\nHTTP/1.1 200 OK\r\n" in out.text, out.text
    assert "http_get: done" in out.text, out.text
    assert len(server.requests) == 1, server.requests
    # The seed sends exactly "GET / HTTP/1.0\r\n\r\n": HTTP/1.0 without a Host header.
    assert server.requests[0].raw == b"GET / HTTP/1.0\r\n\r\n", server.requests[0]
    assert server.errors == []


def test_sigio_state_machine_queries_api_ipify_org(firmware):
    with http_server(http_response(b"203.0.113.7")) as server, \
            vboard_run(str(firmware / "sigio_state_machine.elf"), "--net", "user",
                       "--dns-record", "api.ipify.org=10.0.2.2", "--max-time", "30s") as out:
        code = out.wait_exit(60)
    assert code == 0, (out.text, out.err)
    assert "---- response ----\nHTTP/1.1 200 OK\r\n" in out.text, out.text
    assert "203.0.113.7" in out.text, out.text  # the body came in the one recv() the sample makes
    assert "sigio_state_machine: done" in out.text, out.text
    assert len(server.requests) == 1, server.requests
    req = server.requests[0]
    assert req.request_line == "GET / HTTP/1.1", req
    assert req.headers.get("host") == "api.ipify.org", req
    assert req.headers.get("connection") == "close", req
    assert server.errors == []


class HeldHttpServer(HttpServer):
    """``HttpServer`` that holds its answer until ``release`` is set, then sends it and its FIN at once."""

    def __init__(self, response: bytes) -> None:
        self.release = threading.Event()
        self.answered = threading.Event()
        super().__init__(80, response, bind_wait=PORT_WAIT)

    def _serve(self, conn: socket.socket) -> None:
        raw = b""
        while b"\r\n\r\n" not in raw:
            data = self.recv(conn)
            if not data:
                return
            raw += data
        self.got_request.set()
        while not self.release.wait(0.05):
            if self.stopping.is_set():
                return
        self.send_all(conn, self.response)
        conn.shutdown(socket.SHUT_WR)
        self.answered.set()
        while self.recv(conn):
            pass


def test_sigio_state_machine_finishes_when_the_answer_and_its_fin_arrive_together(board_factory):
    """The sample reads the answer in one sigio callback and closes in the next one. With the board
    asleep when the answer comes (as under CPU load: the host answered 50 ms late), the data and
    the FIN enter the board 7 us apart and one vnet_poll takes both: one socket event. As on
    Mbed OS over lwIP (a recv() that takes data is itself a socket event), the recv must bring
    the next sigio, or the sample waits for ever."""
    with HeldHttpServer(http_response(b"203.0.113.7")) as server:
        board = board_factory("sigio_state_machine", dns_records=("api.ipify.org=10.0.2.2",))
        board.run_until(server.got_request.is_set, 30, "the GET at the host")
        board.step(0.2)  # the board has nothing left to do but wait for the answer: it sleeps
        server.release.set()
        assert server.answered.wait(10), "the held server did not send its answer"
        stop = board.machine.run(board.machine.clock.cycles(5.0))
    assert (stop.kind, stop.exit_code) == ("exit", 0), (stop.kind, stop.message, board.text)
    assert "sigio_state_machine: received 95 bytes" in board.text, board.text
    assert "sigio_state_machine: done" in board.text, board.text


# ================================================================== 2. netsocket_tests
CASES = ["TCPSOCKET_OPEN_LIMIT", "TCPSOCKET_OPEN_CLOSE_REPEAT", "TCPSOCKET_OPEN_TWICE",
         "TCPSOCKET_CONNECT_INVALID", "TCPSOCKET_ECHOTEST", "TCPSOCKET_ECHOTEST_NONBLOCK",
         "TCPSOCKET_ECHOTEST_BURST", "TCPSOCKET_RECV_100K", "TCPSOCKET_RECV_TIMEOUT",
         "TCPSOCKET_SEND_TIMEOUT", "TCPSOCKET_ENDPOINT_CLOSE", "UDPSOCKET_ECHOTEST",
         "UDPSOCKET_ECHOTEST_BURST", "UDPSOCKET_SENDTO_REPEAT", "SYNCHRONOUS_DNS",
         "SYNCHRONOUS_DNS_INVALID", "ASYNCHRONOUS_DNS"]
# vnet keeps at most VNET_UDP_RX_QUEUE (2) datagrams per socket in VNET_UDP_RX_SLOTS (3)
# slots; the case sends 5 datagrams back to back and the echoes of 3 of them are dropped
# (about 40-60 % lost, the case allows 30 %): see test_udp_echo_burst_is_not_dropped.
UDP_BURST = "UDPSOCKET_ECHOTEST_BURST"
NETTEST_DNS_HOST = "echo.vboard.test"  # the firmware expects it at 10.0.2.2
NETTEST_DNS_INVALID = "invalid.host.vboard-nonexistent"


def parse_cases(text: str) -> dict[str, str]:
    results = {}
    for m in re.finditer(r"^(PASS|FAIL) ([A-Z0-9_]+)(?::\s*(.*))?$", text, re.M):
        results[m.group(2)] = "PASS" if m.group(1) == "PASS" else f"FAIL {m.group(3) or ''}".strip()
    return results


def table(results: dict[str, dict[str, str]]) -> str:
    platforms = list(results)
    lines = [f"{'case':32}" + "".join(f"{p:>10}" for p in platforms)]
    for case in CASES:
        lines.append(f"{case:32}" + "".join(f"{results[p].get(case, 'MISSING')[:4]:>10}" for p in platforms))
    for p in platforms:
        for case, r in results[p].items():
            if r != "PASS":
                lines.append(f"  {p} {case}: {r}")
    return "\n".join(lines)


NETSOCKET_RESULTS: dict[str, dict[str, str]] = {}
NETSOCKET_TEXT: dict[str, str] = {}
QEMU_DNS_QUERIES: list[DnsQuery] = []


def run_netsocket_tests(argv: list[str], timeout: float,
                        dns: DnsServer | None = None) -> tuple[str, int, str]:
    """Runs the app against InetServices (and ``dns``, stopped with them); fails on any peer error."""
    with dns if dns is not None else contextlib.nullcontext(), inet_services() as peers, child(*argv) as out:
        out.wait_for(r"netsocket_tests: \d+ passed, \d+ failed", timeout)
        code = out.wait_exit(10)
    assert peers.errors == [], peers.errors
    if dns is not None:
        assert dns.errors == [], dns.errors
    return out.text, code, out.err


def start_dns_server() -> DnsServer:
    """The QEMU run's name server: slirp takes the board's 10.0.2.2:53 to 127.0.0.1:53."""
    try:
        return DnsServer({NETTEST_DNS_HOST: "10.0.2.2"}, port=53)
    except PortTaken as e:
        pytest.fail(f"{e}; the netsocket DNS cases on QEMU need 127.0.0.1:53 (run as root with port 53 free)",
                    pytrace=False)


@pytest.fixture(scope="module")
def netsocket_vboard(firmware: Path) -> dict[str, str]:
    text, code, err = run_netsocket_tests(
        [sys.executable, "-m", "vboard.cli", "run", str(firmware / "netsocket_tests.elf"), "--net", "user",
         "--dns-record", f"{NETTEST_DNS_HOST}=10.0.2.2", "--max-time", "120s"], timeout=150)
    results = parse_cases(text)
    assert sorted(results) == sorted(CASES), text
    fails = sum(r != "PASS" for r in results.values())
    assert code == fails, (code, text, err)  # the exit code is the number of failures
    NETSOCKET_RESULTS["vboard"] = results
    NETSOCKET_TEXT["vboard"] = text
    return results


@pytest.fixture(scope="module")
def netsocket_qemu(firmware: Path, qemu: str) -> dict[str, str]:
    # -no-reboot and semihosting: the app's return ends QEMU with its exit code. The semihosting
    # command line "netsocket_tests dns=10.0.2.2" makes the app add the host's DNS server
    # (slirp: 10.0.2.2 is the host's loopback), ahead of the 10.0.2.3 that DHCP gives.
    dns = start_dns_server()
    text, code, err = run_netsocket_tests(
        ["timeout", "150", qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none", "-no-reboot",
         "-semihosting-config", "enable=on,target=native,arg=netsocket_tests,arg=dns=10.0.2.2",
         "-nic", "user,model=lan9118", "-kernel", str(firmware / "netsocket_tests.elf")],
        timeout=150, dns=dns)
    results = parse_cases(text)
    assert sorted(results) == sorted(CASES), (text, err)
    fails = sum(r != "PASS" for r in results.values())
    assert code == fails, (code, text, err)  # the exit code is the number of failures
    NETSOCKET_RESULTS["QEMU"] = results
    NETSOCKET_TEXT["QEMU"] = text
    QEMU_DNS_QUERIES[:] = dns.queries
    return results


def test_netsocket_tests_pass_on_vboard(netsocket_vboard):
    expected = {case: "PASS" for case in CASES}
    got = {case: netsocket_vboard[case] for case in expected}
    assert got == expected, "\n" + table({"vboard": netsocket_vboard})


def test_netsocket_tests_pass_on_qemu(netsocket_qemu):
    expected = {case: "PASS" for case in CASES}
    got = {case: netsocket_qemu[case] for case in expected}
    assert got == expected, "\n" + table({"QEMU": netsocket_qemu})


def test_netsocket_dns_on_qemu_asks_the_host_server(netsocket_qemu):
    """The names came from the test's server at 10.0.2.2 (added from the command line), not slirp's."""
    text = NETSOCKET_TEXT["QEMU"]
    assert "netsocket_tests: dns server 10.0.2.2\n" in text, text
    assert f"  {NETTEST_DNS_HOST} -> 10.0.2.2\n" in text, text
    asked = {(q.name, q.qtype, q.rcode) for q in QEMU_DNS_QUERIES}
    assert (NETTEST_DNS_HOST, 1, DnsServer.NOERROR) in asked, QEMU_DNS_QUERIES
    assert (NETTEST_DNS_INVALID, 1, DnsServer.NXDOMAIN) in asked, QEMU_DNS_QUERIES
    assert {q.peer[0] for q in QEMU_DNS_QUERIES} == {"127.0.0.1"}, QEMU_DNS_QUERIES


@pytest.mark.parametrize("platform", ["vboard", "QEMU"])
def test_udp_echo_burst_is_not_dropped(platform, request):
    results = request.getfixturevalue("netsocket_vboard" if platform == "vboard" else "netsocket_qemu")
    assert results[UDP_BURST] == "PASS", "\n" + table(NETSOCKET_RESULTS)


def test_netsocket_case_table(netsocket_vboard, netsocket_qemu):
    """The case x platform table, printed (pytest -s / -rA) for the record."""
    print("\n" + table({"vboard": netsocket_vboard, "QEMU": netsocket_qemu}))
    assert set(netsocket_vboard) == set(netsocket_qemu) == set(CASES)


# ================================================================== 3. data integrity
MIB = 1 << 20
# The host keeps at most this much unechoed. echo_server keeps every byte however slow the reader
# (test_echo_server_keeps_every_byte_for_a_slow_reader), so the bound only keeps the test's
# memory small; it is large enough for several segments in flight each way, which TCP's fast
# retransmit needs (three duplicate ACKs) instead of waiting out a retransmission timer.
INFLIGHT = 32 * 1024
# A stall longer than this is a failure, not a wait. With 10 % loss each way a segment can be lost
# several times in a row and TCP's backoff doubles the timeout each time (1+2+4+8+16 s = 31 s after
# five losses), so the bound leaves room for that.
STALL = 90.0


def echo_client(port: int, data: bytes) -> EchoTransfer:
    return EchoTransfer(port, data, stall=STALL, max_inflight=INFLIGHT, connect_timeout=5)


def assert_echoed(client: EchoTransfer, figures: str) -> None:
    """Every byte came back and the SHA-256 matches (``figures`` in the failure message)."""
    try:
        client.verify()
    except CheckFailed as e:
        raise AssertionError(f"{e}; {figures}") from None


def echo_server_board(board_factory: Callable[..., UserNetBoard]) -> tuple[UserNetBoard, int]:
    """echo_server in process, listening, its TCP echo forwarded from a free host port; (board, port)."""
    port = free_port()
    board = board_factory("echo_server", forwards=(f"tcp:{port}:7",))
    board.run_until(lambda: "echo_server: listening on 10.0.2.15" in board.text, 30, "echo_server up")
    return board, port


def test_1mib_each_way_through_loss_and_reordering(board_factory):
    board, port = echo_server_board(board_factory)
    link = board.switch.port("eth0").link
    link.loss = 0.1
    link.reorder = 0.1
    data = pattern(MIB, 1)
    client = echo_client(port, data)
    t0 = board.seconds
    try:
        board.run_until(client.done.is_set, 400, "1 MiB echo")
    finally:
        client.close()
    counters = board.switch.port("eth0").counters.dropped
    wall = client.finished - client.started
    figures = (f"{client.received} of {len(data)} bytes back in {wall:.1f} s wall, "
               f"{board.seconds - t0:.1f} s board time; dropped on the board's link: {counters}")
    print("\n" + figures)
    assert_echoed(client, figures)
    assert counters.get("loss", 0) > 100, counters  # the loss did happen, both ways


def test_tcp_connection_survives_three_seconds_of_link_down(board_factory):
    board, port = echo_server_board(board_factory)
    data = pattern(256 * 1024, 2)
    client = echo_client(port, data)
    eth0 = board.switch.port("eth0")
    try:
        board.run_until(lambda: client.received >= 64 * 1024 or client.done.is_set(), 60, "the first 64 KiB")
        before = client.received
        eth0.set_link(False)
        down_at = board.seconds
        board.run_until(lambda: board.seconds - down_at >= 3.0, 30, "3 s of link down")
        during = client.received
        eth0.set_link(True)
        board.run_until(client.done.is_set, 90, "the rest after the link came back")
    finally:
        client.close()
    figures = (f"{before} bytes before the link went down, {during - before} while down, "
               f"{client.received} in all; link down {down_at:.2f}..{down_at + 3:.2f} s board time")
    print("\n" + figures)
    # Nothing crosses a dead link: only what was already past it (at most INFLIGHT) arrives.
    assert during - before <= INFLIGHT, figures
    assert_echoed(client, figures)
    nic = board.machine.device("eth0")
    # The board kept trying while the link was down: its NIC refused those frames.
    dead = nic.tx_dropped.get("link_down", 0) + eth0.counters.dropped.get("link down", 0)
    assert dead > 0, (nic.tx_dropped, eth0.counters.dropped)


def test_echo_server_keeps_every_byte_for_a_slow_reader(board_factory):
    board, port = echo_server_board(board_factory)
    data = pattern(256 * 1024, 3)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that fills up quickly
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sent = [0]

    def sender() -> None:
        try:
            for i in range(0, len(data), 4096):
                sock.sendall(data[i:i + 4096])
                sent[0] = i + 4096
        except OSError:
            pass

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = bytearray()
    try:
        start = board.seconds
        board.run_until(lambda: board.seconds - start >= 4.0, 30, "4 s without reading")
        sock.setblocking(False)
        idle_since = time.monotonic()

        def read() -> None:
            nonlocal idle_since
            while True:
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    return
                if not chunk:
                    return
                got.extend(chunk)
                idle_since = time.monotonic()

        # Read until everything came back or nothing arrived for 5 s.
        board.run_until(lambda: len(got) >= len(data) or time.monotonic() - idle_since > 5, 90,
                        "the echo of 256 KiB", each=read)
    finally:
        sock.close()
        t.join(5)
    n = min(len(got), len(data))
    first_diff = next((i for i in range(n) if got[i] != data[i]), n)
    assert len(got) == len(data) and bytes(got) == data, (
        f"{len(got)} of {len(data)} bytes echoed ({sent[0]} sent); first difference at {first_diff}")


# ================================================================== 4. host tools
# curl and nc through port forwards: tests/test_host_tools.py (on the vboard pytest plugin).


# ================================================================== 5. bad input
def ipv4(proto: int, payload: bytes, *, src: bytes = FUZZ_IP, dst: bytes = BOARD_IP, options: bytes = b"",
         total: int | None = None, frag: int = 0, ihl: int | None = None, version: int = 4,
         bad_csum: bool = False, ident: int = 0x4242) -> bytes:
    ihl = ihl if ihl is not None else 5 + len(options) // 4
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 0xF), 0,
                                total if total is not None else 20 + len(options) + len(payload),
                                ident, frag, 64, proto, 0, src, dst) + options)
    csum = checksum(hdr[:max(20, min(len(hdr), ihl * 4))]) ^ (0x5A5A if bad_csum else 0)
    struct.pack_into("!H", hdr, 10, csum)
    return bytes(hdr) + payload


def l4_csum(proto: int, seg: bytes, src: bytes = FUZZ_IP, dst: bytes = BOARD_IP) -> int:
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    return checksum(pseudo + seg)


def tcp(sport: int, dport: int, flags: int, *, payload: bytes = b"", options: bytes = b"",
        offset: int | None = None, bad_csum: bool = False, seq: int = 1000, ack: int = 0) -> bytes:
    off = offset if offset is not None else 5 + len(options) // 4
    seg = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (off & 0xF) << 4, flags, 4096, 0, 0)
                    + options + payload)
    struct.pack_into("!H", seg, 16, l4_csum(6, bytes(seg)) ^ (0x1234 if bad_csum else 0))
    return bytes(seg)


def udp(sport: int, dport: int, payload: bytes, *, length: int | None = None, bad_csum: bool = False,
        zero_csum: bool = False, src: bytes = FUZZ_IP, dst: bytes = BOARD_IP) -> bytes:
    seg = bytearray(struct.pack("!HHHH", sport, dport, length if length is not None else 8 + len(payload), 0)
                    + payload)
    if not zero_csum:
        c = l4_csum(17, bytes(seg), src, dst) if length is None else 0x1111
        struct.pack_into("!H", seg, 6, (c ^ 0x4321) if bad_csum else (c or 0xFFFF))
    return bytes(seg)


def eth(payload: bytes, ethertype: int = 0x0800, dst: bytes = BOARD_MAC) -> bytes:
    return dst + FUZZ_MAC + struct.pack("!H", ethertype) + payload


def dhcp_reply(rng: random.Random, options: bytes, cookie: bytes = b"\x63\x82\x53\x63") -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, rng.getrandbits(32), 0, 0, b"\0" * 4,
                        bytes([10, 0, 2, rng.randrange(16, 250)]), FUZZ_IP, b"\0" * 4, BOARD_MAC, b"", b"")
    return bootp + cookie + options


def dns_reply(rng: random.Random, body: bytes, qd: int = 1, an: int = 1) -> bytes:
    return struct.pack("!HHHHHH", rng.getrandbits(16), 0x8180, qd, an, 0, 0) + body


def malformed_frames(seed: int = 2024) -> list[tuple[str, bytes]]:
    """30 frames in each of 10 families, all from FUZZ_MAC/10.0.2.99 (never 10.0.2.2: that would
    legitimately re-point the board's ARP entry for the gateway)."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    closed = 5555

    def junk(lo: int, hi: int) -> bytes:
        return rng.randbytes(rng.randrange(lo, hi))

    for i in range(30):  # Ethernet/ICMP: short frames, VLAN tags, unknown types, ICMP garbage
        kind = i % 5
        frame = [eth(b"", 0x0800),                                                # header only
                 eth(b"\x00\x05\x08\x00" + ipv4(17, udp(1234, 7, b"vlan"))[:20], 0x8100),
                 eth(junk(0, 100), rng.choice([0x86DD, 0x88CC, 0x0000, 0xFFFF])),
                 eth(ipv4(1, b"\x08\x00\xde\xad" + junk(0, 64))),                # echo, bad checksum
                 eth(ipv4(1, bytes([rng.choice([0, 3, 5, 11, 13, 255]), 0]) + junk(0, 40)))][kind]
        out.append(("ethernet-icmp", frame))
    for i in range(30):  # IPv4 header: checksum, lengths, version, IHL
        kind = i % 6
        body = udp(1234, 7, junk(0, 40))
        frame = [ipv4(17, body, bad_csum=True),
                 ipv4(17, body, total=len(body) + 20 + rng.randrange(1, 2000)),
                 ipv4(17, body, total=rng.randrange(0, 20)),
                 ipv4(17, body, ihl=rng.randrange(0, 5)),
                 ipv4(17, body, ihl=15),
                 ipv4(17, body, version=rng.choice([0, 6, 15]))][kind]
        out.append(("ipv4-header", eth(frame)))
    for i in range(30):  # truncated headers at every layer
        full = [ipv4(6, tcp(40000 + i, 7, 0x10, payload=b"x" * 10)), ipv4(17, udp(40000 + i, 7, b"y" * 10)),
                ipv4(1, b"\x08\x00" + b"\0" * 6)][i % 3]
        out.append(("truncated", eth(full[:rng.randrange(0, 20 + 8 + 6)])))
    for i in range(30):  # fragments: first, middle, last, tiny, overlapping, huge offsets
        flags = [0x2000, 0x2000 | rng.randrange(1, 0x1FFF), rng.randrange(1, 0x1FFF), 0x2000 | 0x1FFF,
                 0x4000 | 0x2000, 0x1][i % 6]
        payload = udp(1234, 7, junk(0, 64)) if i % 2 else junk(0, 8)
        out.append(("fragment", eth(ipv4(rng.choice([1, 6, 17]), payload, frag=flags, ident=i))))
    for _ in range(30):  # IP options garbage (IHL 6..15, random option bytes incl. bad lengths)
        opt = bytes(rng.choice([0, 1, 7, 0x44, 0x83, 0x89, 0x94, 255, rng.randrange(256)])
                    for _ in range(4 * rng.randrange(1, 11)))
        out.append(("ip-options", eth(ipv4(17, udp(1234, 7, b"opt"), options=opt))))
    for i in range(30):  # TCP: checksums, data offsets, options, odd flags; no valid SYN to a listener
        kind = i % 6
        if kind == 0:
            seg = tcp(40000 + i, 7, 0x02, bad_csum=True)                                  # SYN, bad checksum
        elif kind == 1:
            seg = tcp(40000 + i, 7, 0x10, offset=rng.choice([0, 1, 4, 15]), payload=junk(0, 20))
        elif kind == 2:                                                                 # options garbage
            opt = bytes([2, 0, 3, 255, 8, 1, rng.randrange(256), 0]) + junk(0, 4)
            opt += b"\1" * (-len(opt) % 4)
            seg = tcp(40000 + i, closed, 0x02, options=opt[:40])
        elif kind == 3:
            seg = tcp(40000 + i, 7, rng.choice([0x00, 0x01, 0x04, 0x11, 0x14, 0x18, 0x29, 0x30]),
                      seq=rng.getrandbits(32), ack=rng.getrandbits(32), payload=junk(0, 30))
        elif kind == 4:
            seg = tcp(40000 + i, closed, 0x02 | 0x01, payload=junk(0, 100))            # SYN+FIN, closed port
        else:
            seg = tcp(40000 + i, 7, 0x18, payload=junk(1, 100))[:rng.randrange(20, 40)]  # cut off payload
        out.append(("tcp", eth(ipv4(6, seg))))
    for i in range(30):  # UDP: lengths and checksums
        kind = i % 5
        seg = [udp(1234, 7, junk(0, 50), length=rng.randrange(0, 8)),
               udp(1234, 7, junk(0, 50), length=rng.randrange(60, 65535)),
               udp(1234, 7, junk(1, 50), bad_csum=True),
               udp(1234, closed, junk(0, 50)),
               udp(1234, 0, junk(0, 50), zero_csum=True)][kind]
        out.append(("udp", eth(ipv4(17, seg))))
    for i in range(30):  # ARP: lengths, types, opcodes; the sender is always 10.0.2.99
        body = bytearray(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, FUZZ_MAC, FUZZ_IP, b"\0" * 6,
                                     BOARD_IP))
        kind = i % 6
        if kind == 0:
            body = body[:rng.randrange(0, 28)]
        elif kind == 1:
            body[4], body[5] = rng.choice([(0, 0), (255, 255), (6, 16), (16, 4)])
        elif kind == 2:
            struct.pack_into("!H", body, 6, rng.choice([0, 3, 4, 0xFFFF]))
        elif kind == 3:
            struct.pack_into("!HH", body, 0, rng.choice([0, 6, 0xFFFF]), rng.choice([0x86DD, 0, 0x0800]))
        elif kind == 4:
            struct.pack_into("!H", body, 6, 2)            # unsolicited reply for a stranger's address
            body[24:28] = bytes([10, 0, 2, rng.randrange(100, 200)])
        else:
            body += junk(0, 1500)[:1486 - len(body)]      # oversized ARP (trailing garbage)
        out.append(("arp", eth(bytes(body), 0x0806, BROADCAST if i % 2 else BOARD_MAC)))
    for i in range(30):  # DHCP replies with broken options (random xid: none is the board's)
        kind = i % 6
        opts = [b"\x35\x01\x05" + b"\x01\xff" + junk(0, 3),             # ACK, netmask length > rest
                b"\x35\x01\x02" + b"\x33\x04" + junk(4, 5),               # OFFER, no end option
                b"\x35\x00\x36\x04\x0a\x00\x02\x63\xff",                  # zero-length message type
                bytes([0x35, 1, 6, 0xFF]),                                  # NAK
                bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))),
                b"\x34\x01\x03" + b"\x35\x01\x05\x00\x00\x00"][kind]        # overload, no end
        payload = dhcp_reply(rng, opts, cookie=rng.randbytes(4) if i % 10 == 9 else b"\x63\x82\x53\x63")
        if i % 7 == 3:
            payload = payload[:rng.randrange(0, 240)]
        out.append(("dhcp", eth(ipv4(17, udp(67, 68, payload), dst=b"\xff" * 4 if i % 2 else BOARD_IP),
                                dst=BROADCAST if i % 2 else BOARD_MAC)))
    for i in range(30):  # DNS replies: pointer loops, label overruns, counts larger than the message
        kind = i % 5
        body = [b"\xc0\x0c" + b"\0\1\0\1" + b"\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\x0a\0\2\2",  # pointer to itself
                b"\x3f" + b"a" * 10,                                                      # label past the end
                b"\x03foo\xc0\x12" + b"\x03bar\xc0\x0c" + b"\0\1\0\1",                      # two-pointer loop
                b"\x07example\x03com\x00\0\1\0\1" + b"\xc0\x0c\0\1\0\1\0\0\0\x3c\xff\xff",  # rdlength 65535
                junk(0, 80)][kind]
        payload = dns_reply(rng, body, qd=rng.choice([1, 0xFFFF]), an=rng.choice([1, 50]))
        if i % 6 == 5:
            payload = payload[:rng.randrange(0, 12)]
        out.append(("dns", eth(ipv4(17, udp(53, rng.choice([53, 1024, 49152, 50000 + i]), payload)))))
    return out


def test_malformed_frames_neither_fault_nor_silence_the_board(board_factory):
    board, port = echo_server_board(board_factory)
    assert board_echo(board, port, b"before\n") == b"before\n"
    fuzz = FramePort("fuzz")
    replies: list[bytes] = []
    fuzz.on_receive = replies.append
    board.switch.attach_device("fuzz", board.machine.clock, fuzz)
    frames = malformed_frames()
    assert len(frames) == 300
    nic = board.machine.device("eth0")
    rx_before = nic.rx_frames
    for i in range(0, len(frames), 10):       # 10 frames every 10 ms of board time
        for _, frame in frames[i:i + 10]:
            fuzz.send(frame)
        board.step(0.01)                      # step() fails on fault/lockup/exit
    board.step(0.5)
    families = sorted({name for name, _ in frames})
    # Every frame reached the NIC (addressed to the board or broadcast, all >= 14 bytes).
    assert nic.rx_frames - rx_before >= len(frames), (nic.rx_frames - rx_before, families)
    assert "echo_server: done" not in board.text, board.text
    # Still serving: a TCP echo through slirp afterwards.
    assert board_echo(board, port, b"after 300 bad frames\n") == b"after 300 bad frames\n", board.text
