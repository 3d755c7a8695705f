"""Wire time: frames enter a board's port one after another at the link rate, never at one instant."""

from __future__ import annotations

import socket
from pathlib import Path

from net_helpers import BOARD_MAC, EthMachine, wait_until

from bridge.net.attach import attach_network
from bridge.net.framing import stream_frame
from bridge.net.pcapng import DIR_INBOUND, read_pcapng_records
from emulator.clock import Clock
from emulator.net.frames import DEFAULT_LINK_BPS, FramePort, wire_ns
from emulator.net.network import LinkModel, Switch

HOST_MAC = bytes.fromhex("02aabbccdd01")
MAX_FRAME_NS = 1538 * 8 * 1_000_000_000 // DEFAULT_LINK_BPS   # 1514 + FCS + preamble + IFG at 100 Mbit/s
MIN_FRAME_NS = 84 * 8 * 1_000_000_000 // DEFAULT_LINK_BPS     # 60 + FCS + preamble + IFG


def _frame(n: int, size: int) -> bytes:
    head = BOARD_MAC + HOST_MAC + b"\x88\xb5" + n.to_bytes(4, "big")
    return head + bytes(size - len(head))


def test_wire_time_figures() -> None:
    assert MAX_FRAME_NS == wire_ns(1514, DEFAULT_LINK_BPS) == 123_040
    assert MIN_FRAME_NS == wire_ns(42, DEFAULT_LINK_BPS) == 6_720  # an ARP is padded to the minimum


def _arrivals(link: LinkModel | None, frames: list[bytes], wire_bps: int = DEFAULT_LINK_BPS) -> list[int]:
    clock = Clock(1_000_000_000)  # 1 ns per cycle: arrival times exactly as scheduled
    sw = Switch()
    fp = FramePort("eth")
    got: list[int] = []
    fp.on_receive = lambda _f: got.append(clock.now)
    sw.attach_device("board", clock, fp, link, wire_bps)
    host = sw.add_port("host", clock, lambda _f: None)
    for f in frames:
        host.receive(f)   # all at t = 0, as a backend hands over what one poll read
    while (deadline := clock.next_deadline()) is not None:
        clock.advance(deadline - clock.now)
        clock.fire_due()
    return got


def test_frames_from_the_host_are_serialised_onto_the_board_port() -> None:
    got = _arrivals(None, [_frame(i, 1514) for i in range(3)])
    assert got == [MAX_FRAME_NS, 2 * MAX_FRAME_NS, 3 * MAX_FRAME_NS]


def test_link_models_compose_with_wire_time() -> None:
    """A link rate replaces the port's own; a delay comes on top of the serialisation."""
    got = _arrivals(LinkModel(rate_bps=10_000_000, delay_ns=5_000), [_frame(i, 1514) for i in range(2)])
    ten = wire_ns(1514, 10_000_000)
    assert got == [ten + 5_000, 2 * ten + 5_000]


def test_host_ports_have_no_wire_of_their_own() -> None:
    clock = Clock(1_000_000_000)
    sw = Switch()
    fp = FramePort("eth")
    sw.attach_device("board", clock, fp)
    seen: list[int] = []
    host = sw.add_port("host", clock, lambda _f: seen.append(clock.now))
    fp.send(_frame(0, 1514))
    fp.send(_frame(1, 1514))
    assert seen == [0, 0]  # the host's side is not a modelled wire (its stack and NIC are real)
    assert clock.pending() == []  # taken at once: no event, so no CPU slice is cut short for it
    host.link.delay_ns = 1_000  # something on its way: an event at its time
    fp.send(_frame(2, 1514))
    assert seen == [0, 0] and [t.when for t in clock.pending()] == [1_000]
    clock.run_for(1_000)
    assert seen == [0, 0, 1_000]


def test_back_to_back_frames_from_a_backend_in_the_pcap(tmp_path: Path) -> None:
    """Two 1514-byte frames and a burst of 100 small ones written to a socket backend in one go
    reach the board spaced by their wire time in the capture's virtual timestamps."""
    m = EthMachine()
    path = tmp_path / "peer.sock"
    pcap = tmp_path / "wire.pcapng"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        att = attach_network(m, f"socket:stream:unix:{path}", pcap=pcap)
        try:
            peer, _ = server.accept()
            with peer:
                big = [_frame(i, 1514) for i in range(2)]
                small = [_frame(100 + i, 60) for i in range(100)]
                peer.sendall(b"".join(stream_frame(f) for f in big + small))
                wait_until(lambda: len(m.received["eth0"]) == 102, 10.0, pump=m)
        finally:
            att.close()
    recs = [r for r in read_pcapng_records(pcap) if r.direction == DIR_INBOUND]
    assert [r.frame for r in recs] == big + small
    t = [r.t_ns for r in recs]
    assert t[1] - t[0] >= 123_000
    gaps = [b - a for a, b in zip(t[2:], t[3:], strict=False)]
    assert len(gaps) == 99 and min(gaps) >= MIN_FRAME_NS
    assert t[2] - t[1] >= MIN_FRAME_NS


def test_the_board_port_wire_rate_is_a_setting() -> None:
    """``--wire-rate``: 1000 Mbit/s serialises ten times faster; 0 delivers at the instant sent."""
    frames = [_frame(i, 1514) for i in range(3)]
    gig = wire_ns(1514, 1_000_000_000)
    assert gig == MAX_FRAME_NS // 10
    assert _arrivals(None, frames, 1_000_000_000) == [gig, 2 * gig, 3 * gig]
    assert _arrivals(None, frames, 0) == [0, 0, 0]


def test_attach_network_sets_the_board_ports_wire() -> None:
    for wire_bps in (0, 1_000_000_000, DEFAULT_LINK_BPS):
        att = attach_network(EthMachine(), "none", wire_bps=wire_bps)
        try:
            assert [p.wire_bps for p in att.board_ports.values()] == [wire_bps]
        finally:
            att.close()
