"""TapBackend: a TAP created by the backend, moved into a network namespace made here, ARP + ping."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Iterator

import pytest
from net_helpers import BOARD_MAC, ROOT, Board, FakeMachine, need, wait_until

from bridge.net.backend import BackendError
from bridge.net.packets import build_arp, checksum, ip4, parse_arp
from bridge.net.tap import TapBackend
from bridge.uart_endpoints import HostInput
from emulator.net.network import Switch

BOARD_IP = ip4("10.9.0.2")
HOST_IP = ip4("10.9.0.1")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and proc.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


@pytest.fixture
def netns() -> Iterator[str]:
    need("ip", "iproute2")
    name = f"vbtest{os.getpid()}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        ip("netns", "del", name, check=False)


def icmp_echo(seq: int, dst_mac: bytes) -> bytes:
    payload = b"vboard-tap-test!" * 2
    icmp = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + payload)
    struct.pack_into("!H", icmp, 2, checksum(icmp))
    iph = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                                BOARD_IP, HOST_IP))
    struct.pack_into("!H", iph, 10, checksum(iph))
    return dst_mac + BOARD_MAC + b"\x08\x00" + bytes(iph) + bytes(icmp)


@pytest.fixture(params=["threads", "polled"])
def io_machine(request: pytest.FixtureRequest) -> FakeMachine:
    """A machine without ``host_polls`` (the backend's threads) and one with (the test's pumps poll)."""
    return FakeMachine(polled=request.param == "polled")


@pytest.fixture
def io_board(io_machine: FakeMachine, switch: Switch) -> Board:
    return Board(io_machine, switch)


def test_arp_and_ping_through_a_tap_in_a_namespace(netns: str, io_machine: FakeMachine, switch: Switch,
                                                   io_board: Board) -> None:
    board = io_board
    dev = f"vbtap{os.getpid() % 100000}"
    host_input = HostInput()
    backend = TapBackend(io_machine, switch, host_input, name=dev, create=True).start()
    assert backend.polled == hasattr(io_machine, "host_polls")
    try:
        ip("link", "set", dev, "netns", netns)
        ip("-n", netns, "addr", "add", "10.9.0.1/24", "dev", dev)
        ip("-n", netns, "link", "set", dev, "up")
        # ARP: who has 10.9.0.1? (retried: the device may still be coming up)
        request = build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, HOST_IP)
        host_mac = b""
        for _ in range(20):
            board.send(request)
            try:
                reply = board.wait_for(lambda f: (a := parse_arp(f)) is not None and a.op == 2
                                       and a.spa == HOST_IP and a.tpa == BOARD_IP, timeout=0.5)
            except AssertionError:
                continue
            arp = parse_arp(reply)
            assert arp is not None
            host_mac = arp.sha
            break
        assert host_mac, "no ARP reply from the namespace"
        assert reply[0:6] == BOARD_MAC
        # The kernel knows the board now (it learnt it from the request): ping it.
        board.send(icmp_echo(1, host_mac))
        echo = board.wait_for(lambda f: len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 1
                              and f[34] == 0 and f[26:30] == HOST_IP)
        assert echo[38:40] == b"\x42\x42"
        assert echo[42:74] == b"vboard-tap-test!" * 2
        assert backend.counters.to_host_frames >= 2
        assert backend.counters.from_host_frames >= 2
        assert host_input.sources == 1
    finally:
        backend.stop()
    assert host_input.sources == 0
    # Created by the backend, so gone with it (it had moved into the namespace).
    wait_until(lambda: ip("-n", netns, "link", "show", dev, check=False).returncode != 0, 3.0)


def test_device_deleted_under_the_backend_is_reported(netns: str, io_machine: FakeMachine,
                                                      switch: Switch) -> None:
    dev = f"vbtd{os.getpid() % 100000}"
    errors: list[str] = []
    backend = TapBackend(io_machine, switch, name=dev, create=True, on_error=errors.append).start()
    try:
        ip("link", "del", dev)
        wait_until(lambda: bool(errors), 5.0, pump=io_machine)
        assert len(errors) == 1 and f"tap {dev}" in errors[0] and "keeps running" in errors[0]
    finally:
        backend.stop()


def test_a_frame_the_kernel_rejects_is_dropped_and_counted(io_machine: FakeMachine, switch: Switch) -> None:
    dev = f"vbrj{os.getpid() % 100000}"
    errors: list[str] = []
    backend = TapBackend(io_machine, switch, name=dev, create=True, on_error=errors.append).start()
    try:
        backend.deliver(b"short")  # shorter than an Ethernet header: EINVAL from the TAP
        wait_until(lambda: backend.counters.dropped == {"rejected by host": 1}, 5.0, pump=io_machine)
        backend.deliver(b"\xff" * 6 + BOARD_MAC + b"\x08\x06" + bytes(46))  # the next one goes out
        wait_until(lambda: backend.counters.to_host_frames == 1, 5.0, pump=io_machine)
        assert backend.alive and errors == []
    finally:
        backend.stop()


def test_missing_device_is_a_clear_error(machine: FakeMachine, switch: Switch) -> None:
    with pytest.raises(BackendError, match=r"no network device 'vbnope0'.*ip tuntap add dev vbnope0"):
        TapBackend(machine, switch, name="vbnope0").start()
    assert not switch.ports


def test_not_a_tap_is_a_clear_error(machine: FakeMachine, switch: Switch) -> None:
    with pytest.raises(BackendError, match="'lo' exists but is not a TAP device"):
        TapBackend(machine, switch, name="lo").start()


def test_bad_name(machine: FakeMachine, switch: Switch) -> None:
    with pytest.raises(BackendError, match="not a valid interface name"):
        TapBackend(machine, switch, name="a-name-far-too-long")


@pytest.mark.parametrize("user", [[], ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]],
                         ids=["root-without-caps", "nobody"])
def test_without_cap_net_admin_is_a_clear_error(user: list[str]) -> None:
    """Without CAP_NET_ADMIN, creating a TAP fails with a message saying what is needed."""
    setpriv = need("setpriv", "util-linux")
    code = ("from net_helpers import FakeMachine\n"
            "from emulator.net.network import Switch\n"
            "from bridge.net.tap import TapBackend\n"
            "from bridge.net.backend import BackendError\n"
            "m = FakeMachine()\n"
            "try:\n"
            "    TapBackend(m, Switch(), name='vbnopriv0', create=True).start()\n"
            "except BackendError as e:\n"
            "    print(e)\n")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests' / 'bridge'}"}
    proc = subprocess.run([setpriv, *user, "--inh-caps=-all", "--bounding-set=-all",
                           sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=30, env=env, cwd="/")
    assert "root or CAP_NET_ADMIN" in proc.stdout, proc.stdout + proc.stderr
    assert not os.path.exists("/sys/class/net/vbnopriv0")
