"""Helpers for the host network tests: a machine stand-in, a test "board" port, packet builders."""

from __future__ import annotations

import queue
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.net.packets import build_udp4, checksum, ip4, parse_udp4, udp_checksum_ok
from emulator.clock import Clock
from emulator.net.frames import DEFAULT_LINK_BPS, ETH_MAX_FRAME, FramePort, wire_ns
from emulator.net.network import Switch, SwitchPort

ROOT = Path(__file__).resolve().parents[2]
HZ = 25_000_000
BOARD_MAC = bytes.fromhex("525400123456")
BROADCAST = b"\xff" * 6
WIRE_CYCLES = -(-wire_ns(ETH_MAX_FRAME, DEFAULT_LINK_BPS) * HZ // 1_000_000_000)  # a full frame on the wire


class FakeMachine:
    """What a backend needs of a Machine: ``clock``, a thread-safe ``post`` and, when ``polled``,
    ``host_polls`` (without, polled backends fall back to their threads; libslirp needs them).

    Posted actions and host polls run in the test thread when it calls
    ``pump()``, which also fires the clock's due events (frame arrivals
    scheduled by the switch), as ``Machine.run`` does at a slice boundary.
    """

    def __init__(self, polled: bool = False) -> None:
        self.clock = Clock(HZ)
        self.inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        if polled:
            self.host_polls: list[Callable[[], None]] = []

    def post(self, action: Callable[[], None]) -> None:
        self.inbox.put(action)

    def pump(self) -> int:
        n = 0
        while True:
            try:
                action = self.inbox.get_nowait()
            except queue.Empty:
                break
            action()
            n += 1
        for poll in list(getattr(self, "host_polls", ())):
            poll()
        self.clock.fire_due()
        return n

    def step(self, cycles: int = 1000) -> None:
        """Let ``cycles`` pass, firing each event at its own time (as the run loop's slices end there)."""
        self.pump()  # what the host posted enters now
        self.clock.run_for(cycles)
        self.pump()


class EthMachine(FakeMachine):
    """A machine stand-in with Ethernet devices, as ``Machine.ethernet_devices``/``frame_port`` see them."""

    def __init__(self, names: tuple[str, ...] = ("eth0",)) -> None:
        super().__init__(polled=True)
        self.ports = {n: FramePort("eth") for n in names}
        self.received: dict[str, list[bytes]] = {n: [] for n in names}
        for n, fp in self.ports.items():
            fp.on_receive = self.received[n].append

    def ethernet_devices(self) -> list[str]:
        return list(self.ports)

    def frame_port(self, device: str, port: str = "eth") -> FramePort:
        return self.ports[device]

    def send(self, frame: bytes, device: str = "eth0") -> None:
        """Transmit, then let one maximum frame time pass (what comes back at once has arrived)."""
        self.ports[device].send(frame)
        self.pump()
        self.step(WIRE_CYCLES)

    def wait_for(self, pred: object, device: str = "eth0", timeout: float = 5.0) -> bytes:
        found: list[bytes] = []

        def check() -> bool:
            found[:] = [f for f in self.received[device] if pred(f)]  # type: ignore[operator]
            return bool(found)

        wait_until(check, timeout, pump=self)
        return found[0]


class Board:
    """A test board: a FramePort on the switch that records what is delivered to it."""

    def __init__(self, machine: FakeMachine, switch: Switch, name: str = "eth0") -> None:
        self.machine = machine
        self.fp = FramePort(name)
        self.received: list[bytes] = []
        self.fp.on_receive = self.received.append
        self.sport: SwitchPort = switch.attach_device(name, machine.clock, self.fp)

    def send(self, frame: bytes) -> None:
        """Transmit, then let one maximum frame time pass (what comes back at once has arrived)."""
        self.fp.send(frame)
        self.machine.pump()
        self.machine.step(WIRE_CYCLES)

    def wait_for(self, pred: Callable[[bytes], bool], timeout: float = 5.0, since: int = 0) -> bytes:
        """Pump until a frame delivered (from index ``since`` on) matches ``pred``, within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            self.machine.step()
            while seen < len(self.received):
                frame = self.received[seen]
                seen += 1
                if pred(frame):
                    return frame
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching frame within {timeout} s "
                                     f"({len(self.received)} frames received)")
            time.sleep(0.005)


def wait_until(pred: Callable[[], bool], timeout: float = 5.0, pump: FakeMachine | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if pump is not None:
            pump.step()
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.005)


# ------------------------------------------------------------------ DHCP
DHCP_MAGIC = b"\x63\x82\x53\x63"


def dhcp_discover(mac: bytes = BOARD_MAC, xid: int = 0x12345678) -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4, b"\0" * 4,
                        b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")
    options = DHCP_MAGIC + bytes([53, 1, 1, 55, 4, 1, 3, 6, 15, 255])
    return build_udp4(BROADCAST, mac, ip4("0.0.0.0"), ip4("255.255.255.255"), 68, 67, bootp + options)


def parse_dhcp(frame: bytes) -> dict[str, object] | None:
    p = parse_udp4(frame)
    if p is None or p.sport != 67 or p.dport != 68 or len(p.payload) < 240:
        return None
    b = p.payload
    if b[236:240] != DHCP_MAGIC:
        return None
    opts: dict[int, bytes] = {}
    i = 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        code, length = b[i], b[i + 1]
        opts[code] = b[i + 2:i + 2 + length]
        i += 2 + length
    return {"op": b[0], "xid": struct.unpack_from("!I", b, 4)[0], "yiaddr": ".".join(map(str, b[16:20])),
            "type": opts.get(53, b"\0")[0], "options": opts, "udp": p,
            "ip_src": ".".join(map(str, p.src))}


def need(tool: str, package: str) -> str:
    """The tool's path; FAILS the test (never skips) when it is missing."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found on PATH: install the Debian package {package} (scripts/setup)",
                    pytrace=False)
    return path


# ------------------------------------------------------------------ DNS
PASST_MAC = bytes.fromhex("02fc00000001")
BOARD_IP = ip4("10.0.2.15")
DNS_IP = ip4("10.0.2.3")


def dns_query(name: str, qtype: int = 1, ident: int = 0xBEEF, flags: int = 0x0100,
              edns: bool = False) -> bytes:
    q = struct.pack("!HHHHHH", ident, flags, 1, 0, 0, 1 if edns else 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return q


def query_frame(payload: bytes, dst_ip: bytes = DNS_IP, dport: int = 53) -> bytes:
    return build_udp4(PASST_MAC, BOARD_MAC, BOARD_IP, dst_ip, 40000, dport, payload)


def parse_answer(frame: bytes) -> dict[str, object]:
    assert frame[0:6] == BOARD_MAC
    assert checksum(frame[14:34]) == 0, "bad IPv4 header checksum"
    assert udp_checksum_ok(frame) is True
    p = parse_udp4(frame)
    assert p is not None and p.src == DNS_IP and p.dst == BOARD_IP and p.sport == 53 and p.dport == 40000
    msg = p.payload
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", msg)
    pos = 12
    while msg[pos]:
        pos += 1 + msg[pos]
    question = msg[12:pos + 5]
    pos += 5
    answers = []
    for _ in range(an):
        ptr, qtype, qclass, ttl, rdlen = struct.unpack_from("!HHHIH", msg, pos)
        pos += 12
        answers.append((ptr, qtype, qclass, ttl, msg[pos:pos + rdlen]))
        pos += rdlen
    assert pos == len(msg)
    return {"id": ident, "flags": flags, "counts": (qd, an, ns, ar), "question": question, "answers": answers,
            "eth_src": frame[6:12]}
