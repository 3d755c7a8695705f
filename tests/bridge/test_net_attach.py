"""attach_network: the CLI's entry point, with a machine stand-in that has one Ethernet device."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from net_helpers import (
    BOARD_MAC,
    WIRE_CYCLES,
    EthMachine,
    dhcp_discover,
    dns_query,
    need,
    parse_answer,
    parse_dhcp,
    wait_until,
)

from bridge.net.attach import NetworkError, attach_network, parse_forward
from bridge.net.backend import NullBackend
from bridge.net.dns import DNS_MAC
from bridge.net.framing import read_stream_frame
from bridge.net.packets import build_arp, build_udp4, ip4, parse_arp
from bridge.net.passt import Forward, PasstBackend
from bridge.net.pcapng import DIR_INBOUND, DIR_OUTBOUND, read_pcapng_records
from bridge.net.qemu_socket import SocketBackend
from bridge.uart_endpoints import HostInput
from emulator.net.frames import DEFAULT_LINK_BPS as BPS
from emulator.net.frames import wire_ns
from emulator.net.network import Switch


@pytest.mark.parametrize("spec, expected", [
    ("tcp:8080:80", Forward("tcp", 8080, 80, "127.0.0.1")),
    ("udp:5353:53", Forward("udp", 5353, 53, "127.0.0.1")),
    ("tcp:0.0.0.0:2222:22", Forward("tcp", 2222, 22, "0.0.0.0")),
    ("tcp:[::1]:2222:22", Forward("tcp", 2222, 22, "::1")),
])
def test_parse_forward(spec: str, expected: Forward) -> None:
    assert parse_forward(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("8080:80", "expected tcp:HOSTPORT:BOARDPORT"),
    ("sctp:1:2", "expected tcp:HOSTPORT:BOARDPORT"),
    ("tcp:80", "expected tcp:HOSTPORT:BOARDPORT"),
    ("tcp:a:b", "ports must be numbers"),
    ("tcp:70000:80", "host port 70000 is not in 1..65535"),
    ("tcp:host:1:2", "does not appear to be an IPv4 or IPv6 address"),
])
def test_parse_forward_errors(spec: str, message: str) -> None:
    with pytest.raises(NetworkError, match=message):
        parse_forward(spec)


@pytest.mark.parametrize("spec, kwargs, message", [
    ("slirp", {}, "expected user, user,restrict=on, passt, tap:NAME"),
    ("user:x", {}, "expected user, user,restrict=on, passt, tap:NAME"),
    ("passt:x", {}, "expected user, user,restrict=on, passt, tap:NAME"),
    ("user,restrict=maybe", {}, "restrict must be on or off, not 'maybe'"),
    ("user,bogus=1", {}, "unknown option 'bogus=1'"),
    ("tap:", {}, "expected tap:NAME or tap:NAME,create"),
    ("tap:x,persist", {}, "expected tap:NAME or tap:NAME,create"),
    ("socket:stream:tcp:host", {}, "socket URL 'stream:tcp:host'"),
    ("none", {"forwards": ["tcp:1:2"]}, "--forward needs --net user"),
    ("user", {"forwards": ["tcp:1"]}, "--forward 'tcp:1'"),
    ("none", {"dns_records": ["x"]}, "--dns-record 'x': expected NAME=IP"),
    ("none", {"dns_file": "/nonexistent/hosts"}, "cannot read DNS records file"),
    ("tap:vbnone0", {}, "no network device 'vbnone0'"),
    ("none", {"pcap": "/nonexistent/dir/x.pcapng"}, "--pcap: cannot write pcapng file"),
])
def test_attach_errors(spec: str, kwargs: dict[str, object], message: str) -> None:
    m = EthMachine()
    with pytest.raises(NetworkError, match=message):
        attach_network(m, spec, **kwargs)  # type: ignore[arg-type]


def test_board_without_ethernet() -> None:
    with pytest.raises(NetworkError, match="no Ethernet device"):
        attach_network(EthMachine(()), "user")
    att = attach_network(EthMachine(()), "none")
    assert isinstance(att.backend, NullBackend)
    att.close()


def test_none_with_dns_and_pcap(tmp_path: Path) -> None:
    m = EthMachine()
    pcap = tmp_path / "none.pcapng"
    att = attach_network(m, "none", dns_records=["arm.com=10.0.2.2"], pcap=pcap)
    try:
        assert [p.name for p in att.switch.ports] == ["eth0", "host"]
        m.send(build_arp(1, BOARD_MAC, ip4("10.0.2.15"), b"\0" * 6, ip4("10.0.2.3")))
        assert parse_arp(m.received["eth0"][-1]) is not None
        m.clock.advance(25_000)  # 1 ms
        m.send(build_udp4(DNS_MAC, BOARD_MAC, ip4("10.0.2.15"), ip4("10.0.2.3"), 40000, 53,
                          dns_query("arm.com")))
        a = parse_answer(m.received["eth0"][-1])
        assert a["answers"] == [(0xC00C, 1, 1, 60, ip4("10.0.2.2"))]
        c = att.counters()
        assert c["dns"]["answered"] == 1 and c["dns"]["arp_answered"] == 1
    finally:
        att.close()
        att.close()
    recs = read_pcapng_records(pcap)
    sent2 = 1_000_000 + WIRE_CYCLES * 40  # the first send waited one frame time; 40 ns a cycle
    # Each answer reaches the board after its own wire time at 100 Mbit/s.
    assert [(r.t_ns, r.direction, r.interface) for r in recs] == [
        (0, DIR_OUTBOUND, "eth0"), (wire_ns(len(recs[1].frame), BPS), DIR_INBOUND, "eth0"),
        (sent2, DIR_OUTBOUND, "eth0"), (sent2 + wire_ns(len(recs[3].frame), BPS), DIR_INBOUND, "eth0")]


def test_passt_with_forward_pcap_and_errors(tmp_path: Path) -> None:
    need("passt", "passt")
    m = EthMachine()
    errors: list[str] = []
    hi = HostInput()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    att = attach_network(m, "passt", forwards=[f"tcp:{port}:80"], pcap=tmp_path / "u.pcapng",
                         dns_records=["arm.com=10.0.2.2"], host_input=hi, on_error=errors.append)
    try:
        assert isinstance(att.backend, PasstBackend)
        assert att.backend.forwards == [Forward("tcp", port, 80)]
        assert hi.sources == 1
        m.send(dhcp_discover())
        offer = m.wait_for(lambda f: parse_dhcp(f) is not None)
        assert parse_dhcp(offer)["yiaddr"] == "10.0.2.15"  # type: ignore[index]
        # Known names are answered here, unknown ones go to passt.
        m.send(build_udp4(bytes.fromhex("02fc00000001"), BOARD_MAC, ip4("10.0.2.15"), ip4("10.0.2.3"), 40000,
                          53, dns_query("arm.com")))
        assert parse_answer(m.received["eth0"][-1])["answers"] == [(0xC00C, 1, 1, 60, ip4("10.0.2.2"))]
        assert att.backend.counters.to_host_frames == 1
        proc = att.backend.proc
        assert proc is not None
        proc.kill()
        wait_until(lambda: bool(errors), 5.0, pump=m)
        assert "passt exited" in errors[0]
    finally:
        att.close()
    assert hi.sources == 0
    recs = read_pcapng_records(tmp_path / "u.pcapng")
    assert recs[0].direction == DIR_OUTBOUND and parse_dhcp(recs[1].frame) is not None
    assert recs[1].direction == DIR_INBOUND


def test_socket_spec_and_shared_switch(tmp_path: Path) -> None:
    m = EthMachine(("eth0", "eth1"))
    sw = Switch(seed=7)
    path = tmp_path / "peer.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        att = attach_network(m, f"socket:stream:unix:{path}", switch=sw)
        try:
            assert att.switch is sw and isinstance(att.backend, SocketBackend)
            assert sorted(att.board_ports) == ["eth0", "eth1"]
            peer, _ = server.accept()
            peer.settimeout(5.0)
            with peer:
                frame = b"\xff" * 6 + BOARD_MAC + b"\x88\xb5" + b"x" * 46
                m.send(frame)
                assert read_stream_frame(peer) == frame
                assert m.received["eth1"] == [frame]  # flooded to the other board port too
        finally:
            att.close()
