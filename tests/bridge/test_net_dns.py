"""DNS responder: records, crafted answers (parsed back), pass-through of everything else."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from net_helpers import (
    BOARD_IP,
    BOARD_MAC,
    DNS_IP,
    PASST_MAC,
    Board,
    FakeMachine,
    dns_query,
    parse_answer,
    query_frame,
    wait_until,
)

from bridge.net.backend import NullBackend
from bridge.net.dns import DNS_MAC, DnsConfigError, DnsRecords, DnsResponder, parse_query
from bridge.net.framing import read_stream_frame
from bridge.net.packets import build_arp, build_udp4, ip4, parse_arp
from bridge.net.qemu_socket import SocketBackend
from emulator.net.network import Switch


@pytest.fixture
def records(tmp_path: Path) -> DnsRecords:
    hosts = tmp_path / "hosts"
    hosts.write_text("# test hosts\n10.0.2.2  arm.com  www.arm.com   # the host\n\n"
                     "192.0.2.7 Mixed.Example.\n2001:db8::7 mixed.example six.example\n")
    return DnsRecords.build(["echo.test=10.0.2.2", "two.test=1.1.1.1", "two.test=2.2.2.2"], [hosts])


def test_records(records: DnsRecords) -> None:
    assert records.lookup("ARM.com.", 1) == [ip4("10.0.2.2")]
    assert records.lookup("www.arm.com", 1) == [ip4("10.0.2.2")]
    assert records.lookup("mixed.example", 1) == [ip4("192.0.2.7")]
    assert records.lookup("mixed.example", 28) == [socket.inet_pton(socket.AF_INET6, "2001:db8::7")]
    assert records.lookup("six.example", 1) == []
    assert records.lookup("two.test", 1) == [ip4("1.1.1.1"), ip4("2.2.2.2")]
    assert records.lookup("nope.test", 1) is None
    assert len(records) == 6


@pytest.mark.parametrize("spec, message", [
    ("arm.com", "expected NAME=IP"),
    ("=1.2.3.4", "expected NAME=IP"),
    ("arm.com=1.2.3", "not an IPv4 or IPv6 address"),
    ("a..b=1.2.3.4", "not a valid DNS name"),
])
def test_bad_record_specs(spec: str, message: str) -> None:
    with pytest.raises(DnsConfigError, match=message):
        DnsRecords.build([spec])


def test_bad_hosts_file(tmp_path: Path) -> None:
    f = tmp_path / "h"
    f.write_text("1.2.3.4 ok\n1.2.3.4\n")
    with pytest.raises(DnsConfigError, match=r"h:2: expected 'IP NAME"):
        DnsRecords.build(files=[f])
    f.write_text("# fine\nnot-an-ip name\n")
    with pytest.raises(DnsConfigError, match=r"h:2: 'not-an-ip' is not an IPv4"):
        DnsRecords.build(files=[f])
    with pytest.raises(DnsConfigError, match="cannot read DNS records file"):
        DnsRecords.build(files=[tmp_path / "missing"])


@pytest.mark.parametrize("name", ["arm.com", "ARM.COM", "Arm.Com.", "www.arm.com"])
def test_a_answer(records: DnsRecords, name: str) -> None:
    r = DnsResponder(records, ttl=123)
    q = dns_query(name, edns=True)
    reply = r.handle(query_frame(q))
    assert reply is not None
    a = parse_answer(reply)
    assert a["id"] == 0xBEEF
    assert a["flags"] == 0x8580  # QR AA RD RA, NOERROR
    assert a["counts"] == (1, 1, 0, 0)
    assert a["question"] == q[12:12 + len(a["question"])]  # echoed verbatim (case kept)
    assert a["answers"] == [(0xC00C, 1, 1, 123, ip4("10.0.2.2"))]
    assert a["eth_src"] == PASST_MAC
    assert r.counters.answered == 1


def test_several_addresses_and_aaaa(records: DnsRecords) -> None:
    r = DnsResponder(records)
    a = parse_answer(r.handle(query_frame(dns_query("two.test"))))  # type: ignore[arg-type]
    assert [x[4] for x in a["answers"]] == [ip4("1.1.1.1"), ip4("2.2.2.2")]  # type: ignore[union-attr]
    empty = parse_answer(r.handle(query_frame(dns_query("arm.com", 28))))  # type: ignore[arg-type]
    assert empty["counts"] == (1, 0, 0, 0) and empty["flags"] & 0xF == 0
    six = parse_answer(r.handle(query_frame(dns_query("mixed.example", 28))))  # type: ignore[arg-type]
    assert six["answers"] == [(0xC00C, 28, 1, 60, socket.inet_pton(socket.AF_INET6, "2001:db8::7"))]


def test_everything_else_passes(records: DnsRecords) -> None:
    r = DnsResponder(records)
    assert r.handle(query_frame(dns_query("unknown.test"))) is None            # not ours: upstream
    assert r.handle(query_frame(dns_query("arm.com", 15))) is None             # MX: upstream
    assert r.handle(query_frame(dns_query("arm.com"), dst_ip=ip4("8.8.8.8"))) is None  # other server
    assert r.handle(query_frame(dns_query("arm.com"), dport=5353)) is None
    assert r.handle(query_frame(dns_query("arm.com", flags=0x8100))) is None   # a response, not a query
    assert r.handle(query_frame(dns_query("arm.com", flags=0x2900))) is None   # opcode UPDATE
    assert r.counters.forwarded == 4
    assert r.counters.answered == 0


@pytest.mark.parametrize("mangle", [
    lambda f: f[:14 + 20 + 8 + 5],                       # truncated inside the DNS header
    lambda f: f[:-3],                                    # IP total length past the frame end
    lambda f: f[:16] + b"\xff\xff" + f[18:],             # IP total length absurd
    lambda f: f[:38] + b"\x00\x04" + f[40:],             # UDP length below its header
    lambda f: f[:20] + b"\x20\x00" + f[22:],             # a fragment (MF set)
    lambda f: f[:14] + b"\x65" + f[15:],                 # not IPv4
    lambda f: f[:54] + b"\x3f" + f[55:],                 # label length past the end
    lambda f: f[:54] + b"\xc0" + f[55:],                 # compression pointer in the question
])
def test_malformed_frames_pass_untouched(records: DnsRecords, mangle: object) -> None:
    r = DnsResponder(records)
    frame = build_udp4(PASST_MAC, BOARD_MAC, BOARD_IP, DNS_IP, 40000, 53, dns_query("arm.com"), pad=False)
    bad = mangle(frame)  # type: ignore[operator]
    assert r.handle(bad) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_dns_payloads_never_raise(payload: bytes) -> None:
    r = DnsResponder(DnsRecords.build(["arm.com=10.0.2.2"]))
    out = r.handle(query_frame(payload))
    if out is not None:
        parse_answer(out)
    assert parse_query(payload) is None or isinstance(parse_query(payload).name, str)  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_frames_never_raise(frame: bytes) -> None:
    r = DnsResponder(DnsRecords.build(["arm.com=10.0.2.2"]), answer_arp=True)
    r.handle(frame)


def test_arp_for_the_dns_address(records: DnsRecords) -> None:
    r = DnsResponder(records, answer_arp=True)
    reply = r.handle(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, DNS_IP))
    assert reply is not None
    arp = parse_arp(reply)
    assert arp is not None and (arp.op, arp.sha, arp.spa, arp.tha, arp.tpa) == (2, DNS_MAC, DNS_IP, BOARD_MAC,
                                                                             BOARD_IP)
    assert reply[0:6] == BOARD_MAC
    assert r.handle(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, ip4("10.0.2.2"))) is None
    assert DnsResponder(records).handle(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, DNS_IP)) is None


# ------------------------------------------------------- through a switch port
def test_answered_on_the_switch_in_virtual_time(machine: FakeMachine, switch: Switch, board: Board,
                                                records: DnsRecords) -> None:
    backend = NullBackend(machine, switch).start()
    dns = DnsResponder(records, answer_arp=True)
    backend.outbound_hooks.append(dns.hook(backend.inject))
    board.send(build_arp(1, BOARD_MAC, BOARD_IP, b"\0" * 6, DNS_IP))
    machine.pump()
    assert parse_arp(board.received[-1]) is not None
    board.send(build_udp4(DNS_MAC, BOARD_MAC, BOARD_IP, DNS_IP, 40000, 53, dns_query("www.arm.com")))
    machine.pump()
    a = parse_answer(board.received[-1])
    assert a["answers"] == [(0xC00C, 1, 1, 60, ip4("10.0.2.2"))]
    board.send(query_frame(dns_query("elsewhere.test")))
    machine.pump()
    assert backend.counters.dropped == {"no host": 1}
    assert len(board.received) == 2


def test_unknown_names_reach_the_upstream_byte_for_byte(tmp_path: Path, machine: FakeMachine,
                                                        switch: Switch, board: Board,
                                                        records: DnsRecords) -> None:
    path = str(tmp_path / "up.sock")
    backend = SocketBackend(machine, switch, None, f"stream-server:unix:{path}").start()
    dns = DnsResponder(records)
    backend.outbound_hooks.append(dns.hook(backend.inject))
    try:
        with socket.socket(socket.AF_UNIX) as upstream:
            upstream.settimeout(5.0)
            upstream.connect(path)
            wait_until(lambda: backend.peers == 1)
            known = query_frame(dns_query("arm.com"))
            unknown = query_frame(dns_query("unknown.test"))
            board.send(known)
            board.send(unknown)
            assert read_stream_frame(upstream) == unknown
            machine.pump()
            assert parse_answer(board.received[0])["answers"] == [(0xC00C, 1, 1, 60, ip4("10.0.2.2"))]
            wait_until(lambda: backend.counters.to_host_frames == 1)  # counted once the write returned
            assert dns.counters.answered == 1 and dns.counters.forwarded == 1
    finally:
        backend.stop()
