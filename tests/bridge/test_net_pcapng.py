"""pcapng writer: structure, virtual timestamps, direction flags, determinism; tshark reads it."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pytest
from net_helpers import HZ, Board, FakeMachine, need

from bridge.net.pcapng import (
    DIR_INBOUND,
    DIR_OUTBOUND,
    PcapngFormatError,
    PcapngWriter,
    read_pcapng,
    read_pcapng_records,
)
from emulator.net.network import Switch

A = bytes.fromhex("020000000001")
B = bytes.fromhex("020000000002")


def eth(dst: bytes, src: bytes, payload: bytes) -> bytes:
    return dst + src + b"\x88\xb5" + payload


FRAMES = [
    (0, eth(B, A, b"first")),                                   # 19 bytes: padding to 4 needed
    (1_234_567_891, eth(A, B, b"x" * 46)),                      # 60 bytes
    ((1 << 32) + 5, eth(b"\xff" * 6, A, bytes(range(256)) * 5)),  # ts > 32 bits, 1294 bytes
]


def write_sample(target: str | Path | io.BytesIO) -> PcapngWriter:
    w = PcapngWriter(target)
    a = w.interface("eth0")
    b = w.interface("host")
    w.write(a, FRAMES[0][0], FRAMES[0][1], DIR_OUTBOUND)
    w.write(b, FRAMES[1][0], FRAMES[1][1], DIR_INBOUND)
    w.write(a, FRAMES[2][0], FRAMES[2][1])
    w.close()
    return w


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.pcapng"
    write_sample(path)
    assert read_pcapng(path) == FRAMES
    recs = read_pcapng_records(path)
    assert [(r.interface, r.direction, r.orig_len) for r in recs] == [
        ("eth0", DIR_OUTBOUND, 19), ("host", DIR_INBOUND, 60), ("eth0", 0, 1294)]


def test_block_structure(tmp_path: Path) -> None:
    path = tmp_path / "s.pcapng"
    write_sample(path)
    data = path.read_bytes()
    blocks = []
    pos = 0
    while pos < len(data):
        btype, blen = struct.unpack_from("<II", data, pos)
        assert blen % 4 == 0 and struct.unpack_from("<I", data, pos + blen - 4)[0] == blen
        blocks.append((btype, data[pos + 8:pos + blen - 4]))
        pos += blen
    assert pos == len(data)
    assert [b[0] for b in blocks] == [0x0A0D0D0A, 1, 1, 6, 6, 6]
    shb = blocks[0][1]
    assert struct.unpack_from("<IHHq", shb) == (0x1A2B3C4D, 1, 0, -1)
    assert b"vboard" in shb and b"Linux" not in shb  # no OS / hostname options
    for _, idb in blocks[1:3]:
        linktype, _, snaplen = struct.unpack_from("<HHI", idb)
        assert linktype == 1 and snaplen == 0
        assert struct.pack("<HH", 9, 1) + b"\x09\0\0\0" in idb  # if_tsresol = 9 (ns)
    iid, hi, lo, cap, orig = struct.unpack_from("<IIIII", blocks[4][1])
    assert (iid, (hi << 32) | lo, cap, orig) == (1, 1_234_567_891, 60, 60)
    assert blocks[4][1].endswith(struct.pack("<HHI", 2, 4, DIR_INBOUND) + b"\0\0\0\0")  # epb_flags, end


def test_identical_inputs_give_identical_bytes(tmp_path: Path) -> None:
    write_sample(tmp_path / "1.pcapng")
    write_sample(tmp_path / "2.pcapng")
    buf = io.BytesIO()
    write_sample(buf)
    assert (tmp_path / "1.pcapng").read_bytes() == (tmp_path / "2.pcapng").read_bytes() == buf.getvalue()


def capture_switch_run(path: Path) -> None:
    """Two boards on a switch, frames at known virtual times, the first board's port captured."""
    m = FakeMachine()
    sw = Switch(0)
    a, b = Board(m, sw, "eth0"), Board(m, sw, "eth1")
    w = PcapngWriter(path)
    w.attach(a.sport)
    m.clock.advance(HZ // 1000)            # t = 1 ms
    a.fp.send(eth(b"\xff" * 6, A, b"from a"))
    m.clock.advance(HZ // 1000)            # t = 2 ms
    b.fp.send(eth(A, B, b"from b"))        # reaches a after its wire time (6.72 us)
    m.step(HZ // 1000)
    w.close()
    assert not a.sport.taps  # close() took the tap off


def test_switch_tap_timestamps_and_directions(tmp_path: Path) -> None:
    path = tmp_path / "sw.pcapng"
    capture_switch_run(path)
    recs = read_pcapng_records(path)
    assert [(r.t_ns, r.direction, r.frame[14:20]) for r in recs] == [
        (1_000_000, DIR_OUTBOUND, b"from a"), (2_006_720, DIR_INBOUND, b"from b")]
    capture_switch_run(tmp_path / "sw2.pcapng")
    assert path.read_bytes() == (tmp_path / "sw2.pcapng").read_bytes()


def test_reader_rejects_damage(tmp_path: Path) -> None:
    path = tmp_path / "d.pcapng"
    write_sample(path)
    data = path.read_bytes()
    (tmp_path / "trunc.pcapng").write_bytes(data[:-3])
    with pytest.raises(PcapngFormatError):
        read_pcapng(tmp_path / "trunc.pcapng")
    (tmp_path / "magic.pcapng").write_bytes(data[:8] + b"\0\0\0\0" + data[12:])
    with pytest.raises(PcapngFormatError, match="byte-order magic"):
        read_pcapng(tmp_path / "magic.pcapng")
    (tmp_path / "empty.pcapng").write_bytes(b"")
    with pytest.raises(PcapngFormatError):
        read_pcapng(tmp_path / "empty.pcapng")


def test_tshark_reads_it(tmp_path: Path) -> None:
    tshark = need("tshark", "tshark")
    path = tmp_path / "t.pcapng"
    write_sample(path)
    proc = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-E", "separator=|",
                           "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.len",
                           "-e", "eth.src", "-e", "frame.interface_name",
                           "-e", "frame.packet_flags_direction"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("|") for line in proc.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [r[1] for r in rows] == ["0.000000000", "1.234567891", "4.294967301"]
    assert [r[2] for r in rows] == ["19", "60", "1294"]
    assert [r[3] for r in rows] == ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:01"]
    assert [r[4] for r in rows] == ["eth0", "host", "eth0"]
    assert [int(r[5], 0) if r[5] else 0 for r in rows] == [DIR_OUTBOUND, DIR_INBOUND, 0]
    # capinfos-style summary from tshark itself: no "appears to be damaged" warnings.
    assert "damaged" not in proc.stderr and "cut short" not in proc.stderr


def test_capture_timestamps_keep_nanoseconds_of_virtual_time(tmp_path):
    """A frame sent at a cycle that is no whole microsecond is stamped to the nanosecond (if_tsresol 9)."""
    from emulator.clock import Clock
    from emulator.net.frames import FramePort
    from emulator.net.network import Switch

    clock = Clock(25_000_000)  # 40 ns per cycle
    switch = Switch(seed=0)
    a, b = FramePort("a"), FramePort("b")
    switch.attach_device("a", clock, a)
    switch.attach_device("b", clock, b)
    path = tmp_path / "ns.pcapng"
    writer = PcapngWriter(path)
    for port in switch.ports:
        writer.attach(port)
    frame = bytes.fromhex("ffffffffffff020000000001") + b"\x88\xb5" + bytes(50)
    stamps = []
    for cycles in (1_234_567, 3, 25_000_001):
        clock.advance(cycles)
        clock.fire_due()
        stamps.append(clock.now * 40)
        a.send(frame)
        clock.fire_due()
    writer.close()
    got = sorted({t for t, _ in read_pcapng(path)})
    assert got == stamps, (got, stamps)
    assert any(t % 1000 for t in got)  # not whole microseconds
