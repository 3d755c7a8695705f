"""The raw-frame firmware through the host backends, and against QEMU.

- ``--net user`` (libslirp) and ``--net passt``: DHCP offers with a good UDP
  checksum (passt's zero checksum filled in by the bridge);
- ``--net tap``: ``ping`` from a network namespace this test creates reaches
  the board through a TAP device;
- ``--net socket:stream-server``: the board, asleep between frames, echoes
  to a peer, and to the next one after the first left;
- QEMU's ``-netdev stream`` into our switch: the same ELF on QEMU answers a
  probe sequence with the same frames as on vboard.
Network traffic stays on loopback and inside the test's own namespace.
"""

from __future__ import annotations

import os
import queue
import socket
import struct
import subprocess
import time
from collections.abc import Callable

import pytest
from proc_helpers import need, vboard_run

from bridge.net.framing import read_stream_frame, stream_frame
from bridge.net.packets import build_arp, checksum
from bridge.net.qemu_socket import SocketBackend
from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.clock import Clock
from emulator.net.frames import FramePort
from emulator.net.network import Switch

BOARD_MAC = bytes.fromhex("525400123456")
PROBE_MAC = bytes.fromhex("02aabbccdd01")
BOARD_IP = bytes([10, 0, 2, 15])
PROBE_IP = bytes([10, 0, 2, 99])


@pytest.mark.parametrize("net", ["user", "passt"])
def test_rawframe_gets_a_dhcp_offer(firmware, net):
    if net == "passt":
        need("passt")
    with vboard_run(str(firmware / "rawframe.elf"), "--net", net, "--max-time", "30s") as out:
        out.wait_for(r"rawframe: udp checksum \w+", timeout=30)
    assert "rawframe: offer 10.0.2.15 from 10.0.2.2" in out.text, out.text
    assert "rawframe: udp checksum ok" in out.text, (out.text, out.err)


def test_ping_from_a_namespace_through_tap(firmware):
    ip = need("ip")
    ping = need("ping")
    ns = f"vbtest{os.getpid()}"
    dev = f"vbtap{os.getpid() % 100000}"
    subprocess.run([ip, "netns", "add", ns], check=True)
    try:
        with vboard_run(str(firmware / "rawframe.elf"), "--net", f"tap:{dev},create",
                        "--max-time", "60s") as out:
            proc = out.proc
            deadline = time.monotonic() + 15
            while subprocess.run([ip, "link", "show", dev], capture_output=True).returncode != 0:
                assert time.monotonic() < deadline, f"TAP {dev} never appeared"
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.05)
            subprocess.run([ip, "link", "set", dev, "netns", ns], check=True)
            subprocess.run([ip, "-n", ns, "addr", "add", "10.0.2.2/24", "dev", dev], check=True)
            subprocess.run([ip, "-n", ns, "link", "set", dev, "up"], check=True)
            out.wait_for(r"rawframe: serving 10\.0\.2\.15", timeout=30)
            result = subprocess.run([ip, "netns", "exec", ns, ping, "-c", "3", "-W", "2", "10.0.2.15"],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "3 received" in result.stdout, result.stdout
    finally:
        subprocess.run([ip, "netns", "del", ns], capture_output=True)
        subprocess.run([ip, "link", "del", dev], capture_output=True)


def echo_through(peer: socket.socket, tag: bytes, deadline: float) -> None:
    """Send a test frame until the board echoes it (it serves once its DHCP wait is over)."""
    probe = BOARD_MAC + PROBE_MAC + b"\x88\xb5" + tag + bytes(46)
    while True:
        assert time.monotonic() < deadline, f"no echo of {tag!r}"
        peer.sendall(stream_frame(probe))
        peer.settimeout(0.5)
        try:
            while True:
                got = read_stream_frame(peer)
                assert got is not None, "the board closed the connection"
                if got[12:14] == b"\x88\xb5" and got[14:14 + len(tag)] == tag:
                    assert got[0:6] == PROBE_MAC and got[6:12] == BOARD_MAC
                    return
        except TimeoutError:
            continue


def test_rawframe_behind_a_stream_server_echoes_to_each_peer(firmware, tmp_path):
    path = tmp_path / "board.sock"
    with vboard_run(str(firmware / "rawframe.elf"), "--net", f"socket:stream-server:unix:{path}",
                    "--max-time", "60s") as out:
        deadline = time.monotonic() + 30
        while not path.exists():
            assert time.monotonic() < deadline, "the board never listened"
            assert out.proc.poll() is None, out.text
            time.sleep(0.05)
        for tag in (b"first peer", b"second peer"):
            with socket.socket(socket.AF_UNIX) as peer:
                peer.connect(str(path))
                echo_through(peer, tag, deadline)
                if tag == b"second peer":
                    peer.sendall(stream_frame(BOARD_MAC + PROBE_MAC + b"\x88\xb5QUIT" + bytes(42)))
        assert out.wait_exit(30) == 0, (out.text, out.err)
    assert "rawframe: serving 10.0.2.15" in out.text  # no DHCP server: its fallback address
    assert "rawframe: done" in out.text and "Traceback" not in out.err, out.err


# ---------------------------------------------------------------- vboard vs QEMU
def arp_request() -> bytes:
    return build_arp(1, PROBE_MAC, PROBE_IP, b"\0" * 6, BOARD_IP)


def icmp_echo(seq: int, payload: bytes) -> bytes:
    icmp = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + payload)
    struct.pack_into("!H", icmp, 2, checksum(icmp))
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                               PROBE_IP, BOARD_IP))
    struct.pack_into("!H", ip, 10, checksum(ip))
    return BOARD_MAC + PROBE_MAC + b"\x08\x00" + bytes(ip) + bytes(icmp)


def probe_frame(size: int) -> bytes:
    body = bytes((i * 13) & 0xFF for i in range(size - 14))
    return BOARD_MAC + PROBE_MAC + b"\x88\xb5" + body


PROBES = [arp_request(), icmp_echo(1, b"vboard" * 10), probe_frame(60), probe_frame(1514), icmp_echo(2, b"x")]


class Prober:
    """A switch port the test drives: sends the probes, records what comes back."""

    def __init__(self, switch: Switch, clock: Clock) -> None:
        self.fp = FramePort("probe")
        self.received: list[bytes] = []
        self.fp.on_receive = self.received.append
        switch.attach_device("probe", clock, self.fp)

    def exchange(self, advance: Callable[[], None], timeout: float) -> list[bytes]:
        """Wait until the board answers ARP, then send each probe and take its one reply."""
        deadline = time.monotonic() + timeout
        while True:
            self.received.clear()
            self.fp.send(arp_request())
            for _ in range(20):
                advance()
            if any(f[12:14] == b"\x08\x06" for f in self.received):
                break
            assert time.monotonic() < deadline, "the board never answered ARP"
        replies = []
        for probe in PROBES:
            self.received.clear()
            self.fp.send(probe)
            while not self.received:
                assert time.monotonic() < deadline, f"no reply to probe {probe[12:14].hex()}"
                advance()
            replies.append(self.received[0])
        return replies


def test_qemu_and_vboard_give_the_same_replies(firmware, tmp_path):
    qemu = need("qemu-system-arm")
    elf = firmware / "rawframe.elf"
    # vboard, in process, fast pacing.
    machine = Machine(load_platform("mps2-an385"))
    machine.load(load_image(elf))
    switch = Switch()
    switch.attach_device("eth0", machine.clock, machine.frame_port("eth0"))
    prober = Prober(switch, machine.clock)
    vboard_replies = prober.exchange(lambda: machine.run(machine.clock.cycles(0.001)), timeout=60)

    # QEMU, its NIC on a -netdev stream socket served by our switch.
    class Host:
        def __init__(self) -> None:
            self.clock = Clock(25_000_000)
            self.inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

        def post(self, action: Callable[[], None]) -> None:
            self.inbox.put(action)

        def advance(self) -> None:
            try:
                action = self.inbox.get(timeout=0.01)
            except queue.Empty:
                action = None
            self.clock.advance(self.clock.cycles(0.001))
            if action is not None:
                action()
            while True:
                try:
                    self.inbox.get_nowait()()
                except queue.Empty:
                    break
            self.clock.fire_due()

    host = Host()
    qswitch = Switch()
    sock = tmp_path / "qemu.sock"
    backend = SocketBackend(host, qswitch, url=f"stream-server:unix:{sock}")
    backend.start()
    proc = subprocess.Popen([qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none",
                             "-semihosting-config", "enable=on,target=native", "-serial", "null",
                             "-netdev", f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}",
                             "-net", "nic,model=lan9118,netdev=n0", "-kernel", str(elf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        qprober = Prober(qswitch, host.clock)
        qemu_replies = qprober.exchange(host.advance, timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        backend.close()
    assert len(qemu_replies) == len(PROBES)
    assert [r.hex() for r in vboard_replies] == [r.hex() for r in qemu_replies]
    assert vboard_replies[0][12:14] == b"\x08\x06"            # ARP reply
    assert vboard_replies[1][12:14] == b"\x08\x00" and vboard_replies[1][34] == 0  # ICMP echo reply
    assert vboard_replies[3][12:14] == b"\x88\xb5" and len(vboard_replies[3]) == 1514


def test_bad_frames_from_the_wire_are_counted_and_dropped(firmware):
    machine = Machine(load_platform("mps2-an385"))
    machine.load(load_image(firmware / "rawframe.elf"))
    switch = Switch()
    board_port = switch.attach_device("eth0", machine.clock, machine.frame_port("eth0"))
    prober = Prober(switch, machine.clock)
    prober.exchange(lambda: machine.run(machine.clock.cycles(0.001)), timeout=60)
    nic = machine.device("eth0")
    rx_before = nic.rx_frames
    prober.fp.send(BOARD_MAC + PROBE_MAC[:2])                      # runt
    prober.fp.send(BOARD_MAC + PROBE_MAC + b"\x88\xb5" + b"x" * 3000)  # oversize
    prober.fp.send(bytes(range(6, 106)))                              # garbage: not our MAC
    prober.fp.send(BOARD_MAC + PROBE_MAC + b"\x12\x34" + os.urandom(80))  # unknown EtherType
    for _ in range(20):
        machine.run(machine.clock.cycles(0.001))
    dropped = switch.counters()["probe"]["dropped"]
    assert dropped == {"runt": 1, "oversize": 1}
    assert board_port.counters.tx_frames >= 2  # garbage and unknown type reached the NIC
    assert nic.rx_frames == rx_before + 1  # the MAC filter dropped the frame not for us
    # The board still answers.
    replies = prober.exchange(lambda: machine.run(machine.clock.cycles(0.001)), timeout=30)
    assert replies[0][12:14] == b"\x08\x06"


def test_a_dead_passt_is_reported_and_the_board_runs_on(firmware):
    need("passt")
    with vboard_run(str(firmware / "rawframe.elf"), "--net", "passt", "--max-time", "8s") as out:
        proc = out.proc
        out.wait_for(r"rawframe: serving", timeout=30)
        children = subprocess.run(["pgrep", "-P", str(proc.pid), "passt"], capture_output=True, text=True)
        pids = children.stdout.split() or subprocess.run(
            ["pgrep", "-f", "passt -f"], capture_output=True, text=True).stdout.split()
        assert pids, "passt is not running"
        for pid in pids:
            os.kill(int(pid), 9)
        proc.wait(timeout=30)
    err = out.err
    assert proc.returncode == 124, err  # ran on to --max-time
    assert "passt" in err and "Traceback" not in err, err
