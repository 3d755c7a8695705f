"""Renode's network interface keywords, live on the virtual switch.

``Create Network Interface Tester    sysbus.ethernet    machine=client``
(``sysbus.eth0`` too) returns an id; it sees every frame the board's
Ethernet sends into the switch from then on. ``Wait For Outgoing Packet
timeout`` returns the next one (``${p.Bytes}``, ``${p.Timestamp}`` in virtual
ms); ``Wait For Outgoing Packet With Bytes At Index    HEX    index
maxPackets    timeout`` looks at up to ``maxPackets`` of them for ``HEX`` at
``index`` (``_`` is a wildcard nibble); ``Send Frame    HEX`` puts a frame on
the board's port, as if the switch delivered it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robot.api import logger
from robot.utils import DotDict

from vboard.robot_args import keyword_args, pick_tester, seconds_ns
from vboard.robot_core import observe


@dataclass
class NetTester:
    id: int
    port: str
    since: int
    pending: list[tuple[int, bytes]] = field(default_factory=list)
    in_test: bool = False


def bytes_at(pattern: str, index: int, frame: bytes) -> bool:
    """Renode's match: hex nibbles of ``pattern`` at ``index`` of ``frame``, ``_`` matching any."""
    if index + len(pattern) // 2 > len(frame):
        return False
    for i, ch in enumerate(pattern.lower()):
        if ch == "_":
            continue
        byte = frame[index + i // 2]
        nibble = byte >> 4 if i % 2 == 0 else byte & 0xF
        if int(ch, 16) != nibble:
            return False
    return True


class NetworkInterfaceKeywords:
    def _init_netif(self) -> None:
        self.net_testers: dict[int, NetTester] = {}

    def _forget_session(self) -> None:
        super()._forget_session()  # type: ignore[misc]
        self.net_testers = {}

    def _net(self, tester_id: Any) -> NetTester:
        return pick_tester(self.net_testers, tester_id, "network interface",
                           "There is more than one network interface tester - specify testerId.")

    def _pull_frames(self, t: NetTester) -> None:
        reply = observe(self._c(), "Frames", since=t.since, port=t.port)  # type: ignore[attr-defined]
        t.pending += [(int(f.time_ns), bytes(f.data)) for f in reply.frames]
        t.since = int(reply.seq)

    @keyword_args
    def create_network_interface_tester(self, networkInterface: str, machine: Any = None) -> int:  # noqa: N803
        client = self._c()  # type: ignore[attr-defined]
        board = self.setup.board_name(machine) if self.setup.machines else str(machine or "")  # type: ignore[attr-defined]
        board = board or self.default_board  # type: ignore[attr-defined]
        device = str(networkInterface).split(".")[-1]
        device = "eth0" if device == "ethernet" else device
        ports = [p.name for p in self._call(client.ports).ports]  # type: ignore[attr-defined]
        port = f"{board}.{device}" if board and f"{board}.{device}" in ports else device
        if port not in ports:
            where = f" on {board}" if board else ""
            raise AssertionError(f"Create Network Interface Tester: no network interface '{networkInterface}'"
                                 f"{where} (switch ports: {', '.join(ports) or 'none'})")
        for tid, t in self.net_testers.items():
            if t.port == port:
                return tid
        reply = observe(client, "Frames", since=1 << 62)
        tid = max(self.net_testers, default=-1) + 1
        self.net_testers[tid] = NetTester(tid, port, int(reply.seq), in_test=getattr(self, "in_test", False))
        return tid

    def _packet(self, when_ns: int, data: bytes) -> DotDict:
        ms = when_ns / 1e6
        logger.info(f"frame of {len(data)} bytes at {ms:.3f} ms (virtual): {data[:64].hex()}")
        return DotDict(Bytes=data, Timestamp=ms, bytes=data, timestamp=ms)

    @keyword_args
    def wait_for_outgoing_packet(self, timeout: Any, testerId: Any = None) -> DotDict:  # noqa: N803
        t = self._net(testerId)

        def check() -> tuple[int, bytes] | None:
            self._pull_frames(t)
            return t.pending.pop(0) if t.pending else None

        found = self._run_until(check, seconds_ns(timeout))  # type: ignore[attr-defined]
        if found is None:
            raise AssertionError("No packet received in the expected time frame.")
        return self._packet(*found)

    @keyword_args
    def wait_for_outgoing_packet_with_bytes_at_index(self, bytes: str, index: Any, maxPackets: Any,  # noqa: A002, N803
                                                     timeout: Any, testerId: Any = None) -> DotDict:  # noqa: N803
        t = self._net(testerId)
        pattern = "".join(str(bytes).split())
        if len(pattern) % 2:
            raise AssertionError("Partial bytes specified in the search pattern.")
        at, most = int(index), int(maxPackets)
        checked = [0]

        def check() -> tuple[int, bytes] | None:
            self._pull_frames(t)
            while t.pending and checked[0] < most:
                frame = t.pending.pop(0)
                checked[0] += 1
                if bytes_at(pattern, at, frame[1]):
                    return frame
            return (-1, b"") if checked[0] >= most else None

        found = self._run_until(check, seconds_ns(timeout))  # type: ignore[attr-defined]
        if found is None or found[0] < 0:
            raise AssertionError(f"Requested packet not received in the expected time frame "
                                 f"({checked[0]} packet(s) checked).")
        return self._packet(*found)

    @keyword_args
    def send_frame(self, bytes: str, testerId: Any = None) -> None:  # noqa: A002, N803
        """A frame (hex) arrives at the board's interface now."""
        t = self._net(testerId)
        try:
            frame = builtins_bytes.fromhex("".join(str(bytes).split()))
        except ValueError:
            raise AssertionError(f"bytes: '{bytes}' is not hex") from None
        board_port_peer = self._inject_port(t)
        self._call(self._c().inject_frame, frame, board_port_peer)  # type: ignore[attr-defined]

    def _inject_port(self, t: NetTester) -> str:
        """Frames enter the switch from a port other than the board's, so the switch delivers them to it."""
        ports = [p.name for p in self._call(self._c().ports).ports]  # type: ignore[attr-defined]
        others = [p for p in ports if p != t.port]
        if not others:
            raise AssertionError(f"Send Frame: the switch has no port besides {t.port} to send from")
        return others[0]


builtins_bytes = bytes
