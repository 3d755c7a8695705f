"""SlirpBackend (``--net user``): libslirp in process, polled on the emulation thread, virtual clock."""

from __future__ import annotations

import ctypes
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from net_helpers import (
    BOARD_MAC,
    BROADCAST,
    FakeMachine,
    dhcp_discover,
    dns_query,
    need,
    parse_answer,
    parse_dhcp,
    query_frame,
)

from bridge.net import slirp_lib
from bridge.net.backend import BackendError
from bridge.net.forward import Forward
from bridge.net.packets import build_arp, ip4, parse_arp, udp_checksum_ok
from bridge.net.slirp import SlirpBackend
from bridge.uart_endpoints import HostInput
from emulator.net.frames import FramePort
from emulator.net.network import Switch

BOARD_IP = ip4("10.0.2.15")
HOST_IP = ip4("10.0.2.2")


class RawBoard:
    """A switch port standing in for a board: records frames with their virtual arrival time."""

    def __init__(self, machine: FakeMachine, switch: Switch) -> None:
        self.machine = machine
        self.fp = FramePort("eth0")
        self.got: list[tuple[int, bytes]] = []
        self.fp.on_receive = lambda f: self.got.append((machine.clock.now, f))
        switch.attach_device("eth0", machine.clock, self.fp)

    def send(self, frame: bytes) -> None:
        self.fp.send(frame)
        self.machine.pump()

    def run_until(self, pred, timeout: float = 5.0, cycles: int = 2500, since: int = 0) -> bytes:  # noqa: ANN001
        """Step virtual time by ``cycles`` at a time until a frame (from index ``since`` on) matches,
        within ``timeout`` s of wall time."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            self.machine.step(cycles)
            while seen < len(self.got):
                frame = self.got[seen][1]
                seen += 1
                if pred(frame):
                    return frame
            assert time.monotonic() < deadline, f"no matching frame within {timeout} s ({len(self.got)} got)"
            time.sleep(0.001)


def _tcp(frame: bytes) -> tuple[int, int, int] | None:
    """(sport, dport, flags) of an IPv4 TCP frame."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    sport, dport = struct.unpack_from("!HH", frame, 14 + ihl)
    return sport, dport, frame[14 + ihl + 13]


@pytest.fixture
def rig() -> tuple[FakeMachine, Switch, RawBoard, HostInput]:
    machine = FakeMachine(polled=True)
    switch = Switch(seed=0)
    return machine, switch, RawBoard(machine, switch), HostInput()


def test_ctypes_layout_matches_the_header(tmp_path: Path) -> None:
    """The structures as libslirp.h declares them (compiled probe, package libslirp-dev)."""
    gcc = need("gcc", "gcc")
    header = Path("/usr/include/slirp/libslirp.h")
    if not header.exists():
        pytest.fail("slirp/libslirp.h missing: install the Debian package libslirp-dev", pytrace=False)
    fields = [name for name, _ in slirp_lib.SlirpConfig._fields_]
    cb_fields = [name for name, _ in slirp_lib.SlirpCb._fields_]
    src = ["#include <stdio.h>", "#include <stddef.h>", "#include <slirp/libslirp.h>", "int main(void) {"]
    src += [f'printf("cfg {f} %zu\\n", offsetof(SlirpConfig, {f}));' for f in fields]
    src += [f'printf("cb {f} %zu\\n", offsetof(SlirpCb, {f}));' for f in cb_fields]
    src += ['printf("size cfg %zu\\n", sizeof(SlirpConfig));', 'printf("size cb %zu\\n", sizeof(SlirpCb));',
            "return 0; }"]
    (tmp_path / "probe.c").write_text("\n".join(src))
    subprocess.run([gcc, "-o", str(tmp_path / "probe"), str(tmp_path / "probe.c")], check=True, timeout=60)
    probe = subprocess.run([str(tmp_path / "probe")], capture_output=True, text=True, check=True)
    out = probe.stdout.split("\n")
    want = {" ".join(line.split()[:2]): int(line.split()[2]) for line in out if line}
    got = {f"cfg {f}": getattr(slirp_lib.SlirpConfig, f).offset for f in fields}
    got |= {f"cb {f}": getattr(slirp_lib.SlirpCb, f).offset for f in cb_fields}
    got |= {"size cfg": ctypes.sizeof(slirp_lib.SlirpConfig), "size cb": ctypes.sizeof(slirp_lib.SlirpCb)}
    assert got == want


def test_dhcp_is_qemus_defaults(rig) -> None:  # noqa: ANN001
    machine, switch, board, hi = rig
    backend = SlirpBackend(machine, switch, hi).start()
    try:
        assert hi.sources == 1
        board.send(dhcp_discover())
        offer = parse_dhcp(board.run_until(lambda f: parse_dhcp(f) is not None))
        assert offer is not None and offer["type"] == 2 and offer["yiaddr"] == "10.0.2.15"
        opts = offer["options"]
        assert struct.unpack("!I", opts[51])[0] == 86400                   # lease time
        assert opts[1] == ip4("255.255.255.0") and opts[3] == HOST_IP     # subnet, router
        assert opts[6] == ip4("10.0.2.3") and offer["ip_src"] == "10.0.2.2"
        assert udp_checksum_ok(board.got[-1][1]) is True                   # no zero checksum (passt's)
    finally:
        backend.stop()
    assert hi.sources == 0 and machine.host_polls == []


def test_dns_records_are_answered_before_slirp(rig) -> None:  # noqa: ANN001
    from bridge.net.dns import DnsRecords, DnsResponder

    machine, switch, board, hi = rig
    backend = SlirpBackend(machine, switch, hi)
    dns = DnsResponder(DnsRecords.build(["arm.com=10.0.2.2"]))
    backend.outbound_hooks.append(dns.hook(backend.inject))
    backend.start()
    try:
        board.send(query_frame(dns_query("arm.com")))
        answer = parse_answer(board.run_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17))
        assert answer["answers"] == [(0xC00C, 1, 1, 60, HOST_IP)]
        assert backend.counters.to_host_frames == 0  # slirp never saw the query
    finally:
        backend.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forward_arps_for_a_silent_board_and_retransmits_in_board_time(rig) -> None:  # noqa: ANN001
    """A host connection to a forward: slirp ARPs for 10.0.2.15 first, then sends the SYN; unanswered,
    the SYN is sent again seconds later in virtual time while the wall clock barely moves."""
    machine, switch, board, hi = rig
    port = _free_port()
    backend = SlirpBackend(machine, switch, hi, forwards=[Forward("tcp", port, 13)]).start()
    client = socket.socket()
    try:
        client.settimeout(5)
        client.connect(("127.0.0.1", port))  # slirp accepts on the host side before the board answers
        arp_req = board.run_until(lambda f: (a := parse_arp(f)) is not None and a.op == 1)
        arp = parse_arp(arp_req)
        assert arp is not None and arp.tpa == BOARD_IP and arp.spa == HOST_IP and arp_req[0:6] == BROADCAST
        assert not any(_tcp(f) for _, f in board.got)  # nothing but the ARP yet
        board.send(build_arp(2, BOARD_MAC, BOARD_IP, arp.sha, arp.spa, eth_dst=arp.sha))
        syn = board.run_until(lambda f: (t := _tcp(f)) is not None and t[1] == 13)
        assert syn[0:6] == BOARD_MAC and _tcp(syn)[2] & 0x02  # type: ignore[index]
        t_first = board.got[-1][0]
        wall = time.monotonic()
        board.run_until(lambda f: (t := _tcp(f)) is not None and t[1] == 13 and bool(t[2] & 0x02),
                        cycles=machine.clock.hz // 100, since=len(board.got))
        t_again = board.got[-1][0]
        assert (t_again - t_first) / machine.clock.hz >= 1.0   # slirp's SYN retry: seconds, virtual
        assert time.monotonic() - wall < 3.0                    # not waited for on the wall clock
    finally:
        client.close()
        backend.stop()


def test_forward_to_a_port_in_use_is_one_clear_error(rig) -> None:  # noqa: ANN001
    machine, switch, _board, hi = rig
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        backend = SlirpBackend(machine, switch, hi, forwards=[Forward("tcp", _free_port(), 7),
                                                              Forward("tcp", port, 13)])
        with pytest.raises(BackendError, match=rf"--forward tcp:127.0.0.1:{port}:13: cannot listen on tcp "
                                               rf"127.0.0.1:{port}: the port is in use"):
            backend.start()
    assert backend.port not in switch.ports and machine.host_polls == [] and hi.sources == 0
    # The first forward's listener is gone too.
    first = backend.forwards[0].host_port
    with socket.socket() as s:
        s.bind(("127.0.0.1", first))


def test_a_libslirp_that_does_not_load_is_one_clear_error(rig, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    machine, switch, _board, hi = rig
    monkeypatch.setenv(slirp_lib.LIBRARY_ENV, "/nonexistent/libslirp.so.0")
    with pytest.raises(BackendError,
                       match=r"user network: cannot load /nonexistent/libslirp.so.0 .*libslirp0"):
        SlirpBackend(machine, switch, hi).start()
    assert machine.host_polls == [] and hi.sources == 0


def test_restricted_board_reaches_no_host_service(rig) -> None:  # noqa: ANN001
    """restrict=on: a board's SYN to the host (10.0.2.2:PORT, a listening host socket) goes nowhere."""
    machine, switch, board, hi = rig
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        for restrict in (False, True):
            backend = SlirpBackend(machine, switch, hi, restrict=restrict).start()
            try:
                syn = _syn(port)
                board.send(syn)
                accepted = threading.Event()

                def accept(accepted: threading.Event = accepted) -> None:
                    try:
                        conn, _ = server.accept()
                        conn.close()
                        accepted.set()
                    except OSError:
                        pass

                t = threading.Thread(target=accept)
                t.start()
                end = time.monotonic() + 1.0
                while time.monotonic() < end and not accepted.is_set():
                    machine.step(2500)
                    time.sleep(0.002)
                t.join()
                assert accepted.is_set() is (not restrict)
            finally:
                backend.detach()


def _syn(dport: int) -> bytes:
    from bridge.net.packets import checksum

    tcp = struct.pack("!HHIIBBHHH", 40000, dport, 1000, 0, 5 << 4, 0x02, 8192, 0, 0)
    pseudo = BOARD_IP + HOST_IP + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, BOARD_IP, HOST_IP)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return bytes.fromhex("525400123502") + BOARD_MAC + b"\x08\x00" + ip + tcp


def test_a_ctrl_c_during_a_callback_is_raised_after_slirp_returns(rig) -> None:  # noqa: ANN001
    """ctypes drops what a callback raises; a KeyboardInterrupt there must still stop vboard."""
    machine, switch, board, hi = rig
    backend = SlirpBackend(machine, switch, hi).start()
    arrive = backend._arrive
    calls = []

    def interrupted(frame: bytes) -> None:
        calls.append(frame)
        if len(calls) == 1:
            raise KeyboardInterrupt
        arrive(frame)

    backend._arrive = interrupted  # type: ignore[method-assign]
    request = build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, HOST_IP)
    try:
        with pytest.raises(KeyboardInterrupt):
            board.send(request)       # slirp answers inside slirp_input; the answer's callback is hit
        board.send(request)           # and slirp still serves afterwards
        reply = parse_arp(board.run_until(lambda f: parse_arp(f) is not None))
        assert reply is not None and reply.op == 2 and reply.spa == HOST_IP and len(calls) == 2
    finally:
        backend.stop()


def test_rounds_keep_their_poller_while_slirp_asks_for_the_same_descriptors(rig) -> None:  # noqa: ANN001
    """A full round builds a new poller, and changes HostInput's watches, only when slirp's set of
    descriptors changed: here when a forward's listener is added."""
    machine, switch, _board, hi = rig
    backend = SlirpBackend(machine, switch, hi, forwards=[Forward("tcp", _free_port(), 7)]).start()
    watched: list[int] = []
    hi_watch = hi.watch
    hi.watch = lambda fd: (watched.append(fd), hi_watch(fd))[1]  # type: ignore[method-assign]
    try:
        backend._serve()
        first = backend._poller
        assert first is not None and len(backend._polled) == 1 and len(watched) == 1
        watched.clear()
        for _ in range(3):
            backend._serve()
        assert backend._poller is first and watched == []
        port = _free_port()
        backend.add_forward(Forward("tcp", port, 13))
        backend._serve()
        assert backend._poller is not first and len(backend._polled) == 2 and len(watched) == 1
        second = backend._poller
        backend._serve()
        assert backend._poller is second and len(watched) == 1
    finally:
        backend.stop()


def _exchange(server: socket.socket, through_hook: bool) -> tuple[list[tuple[int, bytes]], dict, int]:  # type: ignore[type-arg]
    """An ARP, a UDP datagram ``server`` echoes and a DHCP discover from the board, on a fresh rig:
    what the board got (with times), the counters and the poll rounds. ``through_hook``: an outbound
    hook that passes every frame on, so each takes ``HostBackend.deliver``'s own path."""
    from bridge.net.packets import build_udp4

    machine = FakeMachine(polled=True)
    switch = Switch(seed=0)
    board = RawBoard(machine, switch)
    backend = SlirpBackend(machine, switch, HostInput())
    if through_hook:
        backend.outbound_hooks.append(lambda _frame: False)
    backend.start()
    slirp_mac = bytes.fromhex("525400123502")
    try:
        board.send(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, HOST_IP))
        board.send(build_udp4(slirp_mac, BOARD_MAC, BOARD_IP, HOST_IP, 40000, server.getsockname()[1],
                              b"ping" * 100))
        data, peer = server.recvfrom(2048)
        server.sendto(data[::-1], peer)
        board.run_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17 and b"gnip" in f)
        machine.step(2500)
        board.send(dhcp_discover())
        board.run_until(lambda f: parse_dhcp(f) is not None)
        for _ in range(4):
            machine.step(2500)
    finally:
        backend.stop()
    return board.got, backend.counters.as_dict(), backend.polls


def test_a_frame_to_slirp_does_the_same_with_and_without_a_hook_that_passes_it_on() -> None:
    """A frame to slirp with no outbound hook set, and through a hook that passes it on: same
    frames back at the same virtual times, same counters, same poll rounds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        short, slow = _exchange(server, through_hook=False), _exchange(server, through_hook=True)
    assert len(short[0]) >= 3 and short[1]["to_host_frames"] == 3
    assert short == slow


def _datagrams_back(server: socket.socket,
                    round_after_ready: bool) -> tuple[list[tuple[int, bytes]], dict, int]:  # type: ignore[type-arg]
    """The board sends ``server`` a UDP datagram and gets three back, all waiting on slirp's socket
    at once (slirp reads one per round), with slice boundaries every 500 cycles (closer than
    CHECK_INTERVAL_US): what the board got (with times), the counters and the full rounds."""
    from bridge.net.packets import build_udp4

    machine = FakeMachine(polled=True)
    switch = Switch(seed=0)
    board = RawBoard(machine, switch)
    backend = SlirpBackend(machine, switch, HostInput())
    backend.round_after_ready = round_after_ready
    backend.start()
    slirp_mac = bytes.fromhex("525400123502")
    try:
        board.send(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, HOST_IP))
        board.send(build_udp4(slirp_mac, BOARD_MAC, BOARD_IP, HOST_IP, 40000, server.getsockname()[1],
                              b"ping" * 10))
        data, peer = server.recvfrom(2048)
        for i in range(3):
            server.sendto(bytes([i]) + data[::-1], peer)
        for _ in range(12):
            machine.step(500)
    finally:
        backend.stop()
    return board.got, backend.counters.as_dict(), backend.polls


def test_the_look_after_a_round_that_found_something_ready_is_the_full_rounds_twin() -> None:
    """After a round that found a descriptor ready, the next boundary looks with one poll call and
    runs a full round only if something is still ready: the board gets the same frames at the same
    virtual times as with a full round there every time, in fewer full rounds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        looked = _datagrams_back(server, round_after_ready=False)
        full = _datagrams_back(server, round_after_ready=True)
    replies = [(t, f) for t, f in looked[0] if f[12:14] == b"\x08\x00" and f[23] == 17]
    assert [f[42] for _, f in replies] == [0, 1, 2]
    assert len({t for t, _ in replies}) == 3
    assert looked[:2] == full[:2]
    assert looked[2] < full[2]


def test_a_frame_to_slirp_from_within_a_slice_sets_slirps_clock_as_set_clock_does(rig) -> None:  # noqa: ANN001
    """``_to_host`` sets slirp's clock itself: to what ``_set_clock`` sets, the slice's progress
    counted, before slirp takes the frame."""
    machine, switch, _board, hi = rig
    backend = SlirpBackend(machine, switch, hi).start()
    seen: list[int] = []
    slirp_input = backend._input
    backend._input = lambda *args: (seen.append(backend._shim.now_ns), slirp_input(*args))[1]
    try:
        machine.clock.advance(12_345)
        machine.clock.slice_progress = lambda: 678  # type: ignore[method-assign]
        backend.deliver(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, HOST_IP))
        backend._shim.now_ns = 0
        backend._set_clock()
        assert seen == [backend._shim.now_ns] != [12_345 * 1_000_000_000 // machine.clock.hz]
    finally:
        backend.stop()
