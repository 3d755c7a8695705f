"""``--net user`` (libslirp) against QEMU's ``-nic user`` with the same ELFs, and its failure modes.

- banner protocols through forwards: the host connects and only reads (daytime, chargen);
- a stack without window scaling or MSS option and a 1280-byte receive window echoes 1 MiB;
- a silent board with a static 10.0.2.15 takes a forwarded connection on the first SYN, ARP first;
- the DHCP ACK: lease, router, DNS and subnet equal to QEMU's;
- a TCP transfer survives 3 s and 30 s of link-down (the 30 s run fast in board time);
- bad input: one line, exit 2.

Everything on 127.0.0.1; QEMU and the firmware missing make the tests FAIL.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from proc_helpers import OutputReader, child, need, vboard_run
from user_net_board import UserNetBoard

from bridge.net.pcapng import DIR_INBOUND, DIR_OUTBOUND, read_pcapng_records
from vboard.peers import EchoTransfer, check_chargen, free_port, pattern

TARGETS = ["vboard", "qemu"]
LISTENING = r"echo_server: listening on 10\.0\.2\.15"
BANNER_LIMIT_S = 2.0


@contextmanager
def echo_board(target: str, elf: Path, forwards: list[tuple[str, int, int]],
               pcap: Path | None = None) -> Iterator[OutputReader]:
    """``elf`` (echo_server or a variant) on ``target`` with host forwards (proto, host port, board
    port), listening. At the end vboard is told QUIT on its echo port, so it exits by itself and
    closes its capture file."""
    assert elf.exists(), f"{elf} missing: make -C firmware"
    quit_port = next((h for p, h, b in forwards if (p, b) == ("tcp", 7)), 0)
    if target == "vboard" and not quit_port:
        quit_port = free_port()
        forwards = [*forwards, ("tcp", quit_port, 7)]
    if target == "vboard":
        args = [str(elf), "--net", "user"]
        for proto, host, board in forwards:
            args += ["--forward", f"{proto}:{host}:{board}"]
        if pcap is not None:
            args += ["--pcap", str(pcap)]
        ctx = vboard_run(*args)
    else:
        qemu = need("qemu-system-arm")
        fwd = "".join(f",hostfwd={p}:127.0.0.1:{h}-:{b}" for p, h, b in forwards)
        argv = ["timeout", "600", qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none",
                "-semihosting-config", "enable=on,target=native", "-netdev", f"user,id=n0{fwd}",
                "-net", "nic,netdev=n0,model=lan9118", "-kernel", str(elf)]
        if pcap is not None:
            argv += ["-object", f"filter-dump,id=d0,netdev=n0,file={pcap}"]
        ctx = child(*argv)
    with ctx as out:
        out.wait_for(LISTENING, 60)
        yield out
        if target == "vboard":
            with socket.create_connection(("127.0.0.1", quit_port), timeout=10) as s:
                s.sendall(b"QUIT\n")
            assert out.wait_exit(60) == 0, out.text


# ------------------------------------------------------------------ 1. banner protocols
@pytest.mark.parametrize("target", TARGETS)
def test_banner_protocols_through_forwards(firmware: Path, target: str) -> None:
    """The board speaks first: the host connects, sends nothing, and reads within 2 s."""
    day, chargen = free_port(), free_port()
    with echo_board(target, firmware / "echo_server.elf", [("tcp", day, 13), ("tcp", chargen, 19)]) as out:
        for port, want in ((day, 1), (chargen, 10 * 74)):
            t0 = time.monotonic()
            got = b""
            with socket.create_connection(("127.0.0.1", port), timeout=BANNER_LIMIT_S) as s:
                s.settimeout(BANNER_LIMIT_S)
                while len(got) < want and time.monotonic() - t0 < BANNER_LIMIT_S:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            took = time.monotonic() - t0
            assert len(got) >= want and took < BANNER_LIMIT_S, (target, port, got[:80], took)
            if port == day:
                assert got.startswith(b"board uptime "), got
            else:
                check_chargen(got, lines=10)
    if target == "vboard":  # the status line names the board's address and each forward
        assert (f"vboard: net user: board 10.0.2.15, forward 127.0.0.1:{day} -> :13, "
                f"forward 127.0.0.1:{chargen} -> :19") in out.err, out.err


# ------------------------------------------------------------------ 2. no window scaling
def _syn_acks(pcap: Path, port: int) -> list[bytes]:
    """TCP headers of the board's SYN-ACKs from ``port`` in a vboard capture."""
    out = []
    for r in read_pcapng_records(pcap):
        f = r.frame
        if r.direction != DIR_OUTBOUND or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        tcp = f[14 + (f[14] & 15) * 4:]
        if struct.unpack_from("!H", tcp)[0] == port and tcp[13] & 0x12 == 0x12:
            out.append(tcp[:(tcp[12] >> 4) * 4])
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_small_window_without_options_echoes_1mib(firmware: Path, target: str, tmp_path: Path) -> None:
    port = free_port()
    pcap = tmp_path / "small.pcapng" if target == "vboard" else None
    data = pattern(1 << 20, 5)
    with echo_board(target, firmware / "echo_server_small.elf", [("tcp", port, 7)], pcap):
        client = EchoTransfer(port, data, stall=60, max_inflight=64 * 1024, connect_timeout=5)
        try:
            assert client.done.wait(400), f"{target}: {client.received} of {len(data)} bytes in 400 s"
        finally:
            client.close()
        print(f"\n{target}: {client.verify()}")
    if pcap is not None:
        hdrs = _syn_acks(pcap, 7)  # the transfer's and the QUIT's connections
        assert len(hdrs) == 2, hdrs
        for hdr in hdrs:
            assert len(hdr) == 20, hdr.hex()                       # no options at all: no MSS, no WS
            assert struct.unpack_from("!H", hdr, 14)[0] <= 1280     # its window


# ------------------------------------------------------------------ 3. silent static board
def test_silent_static_board_takes_the_first_syn(firmware: Path, tmp_path: Path) -> None:
    port = free_port()
    pcap = tmp_path / "static.pcapng"
    with echo_board("vboard", firmware / "echo_server_static_user.elf", [("tcp", port, 13)], pcap) as out:
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=BANNER_LIMIT_S) as s:
            s.settimeout(BANNER_LIMIT_S)
            line = s.recv(100)
        took = time.monotonic() - t0
        assert line.startswith(b"board uptime ") and took < BANNER_LIMIT_S, (line, took, out.text)
    recs = [r for r in read_pcapng_records(pcap) if r.interface == "eth0"]
    board_ip = bytes([10, 0, 2, 15])
    first_out = next(i for i, r in enumerate(recs) if r.direction == DIR_OUTBOUND)
    inbound = [(i, r.frame) for i, r in enumerate(recs) if r.direction == DIR_INBOUND]
    outbound = [(i, r.frame) for i, r in enumerate(recs) if r.direction == DIR_OUTBOUND]
    arp_req = next(i for i, f in inbound if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01"
                   and f[38:42] == board_ip)
    syns = [i for i, f in inbound if f[12:14] == b"\x08\x00" and f[23] == 6 and f[36:38] == b"\x00\x0d"
            and f[47] & 0x12 == 0x02]
    (syn_ack,) = [i for i, f in outbound if f[12:14] == b"\x08\x00" and f[23] == 6 and f[34:36] == b"\x00\x0d"
                  and f[47] & 0x12 == 0x12]
    assert arp_req < first_out, "the board transmitted before it was spoken to"
    assert recs[first_out].frame[12:14] == b"\x08\x06"               # its first frame: the ARP reply
    assert arp_req < syns[0] < syn_ack, (arp_req, syns, syn_ack)
    assert len([i for i in syns if i < syn_ack]) == 1               # answered on the first SYN
    assert recs[syns[0]].frame[0:6] == recs[first_out].frame[6:12]  # the SYN went to the board's MAC


# ------------------------------------------------------------------ 4. DHCP equal to QEMU's
def _pcap_frames(path: Path) -> list[bytes]:
    """Frames of a classic libpcap file (QEMU's filter-dump)."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos, frames = 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, pos + 8)[0]
        frames.append(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return frames


def _dhcp_ack(frames: list[bytes]) -> dict[int, bytes]:
    for f in frames:
        if f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        udp = 14 + (f[14] & 15) * 4
        if struct.unpack_from("!HH", f, udp) != (67, 68):
            continue
        bootp = f[udp + 8:]
        opts, i = {0: bootp[16:20]}, 240  # 0: yiaddr
        while i < len(bootp) and bootp[i] != 255:
            if bootp[i] == 0:
                i += 1
                continue
            opts[bootp[i]] = bootp[i + 2:i + 2 + bootp[i + 1]]
            i += 2 + bootp[i + 1]
        if opts.get(53) == b"\x05":
            return opts
    raise AssertionError(f"no DHCP ACK in {len(frames)} frames")


def test_dhcp_ack_equals_qemus(firmware: Path, tmp_path: Path) -> None:
    elf = firmware / "echo_server.elf"
    with echo_board("vboard", elf, [], tmp_path / "vboard.pcapng"):
        pass
    with echo_board("qemu", elf, [], tmp_path / "qemu.pcap"):
        pass
    ours = _dhcp_ack([r.frame for r in read_pcapng_records(tmp_path / "vboard.pcapng")
                      if r.direction == DIR_INBOUND])
    qemu = _dhcp_ack(_pcap_frames(tmp_path / "qemu.pcap"))
    fields = {0: "address", 51: "lease time", 3: "router", 6: "DNS", 1: "subnet mask", 54: "server"}
    assert {fields[k]: ours.get(k) for k in fields} == {fields[k]: qemu.get(k) for k in fields}
    assert struct.unpack("!I", ours[51])[0] == 86400 and ours[3] == bytes([10, 0, 2, 2])


# ------------------------------------------------------------------ 5. link outages
@pytest.mark.parametrize("down_s", [3.0, 30.0])
def test_tcp_transfer_survives_link_down(firmware: Path, down_s: float) -> None:
    port = free_port()
    board = UserNetBoard(firmware / "echo_server.elf", (f"tcp:{port}:7",))
    try:
        board.run_until(lambda: "echo_server: listening" in board.uart.decode(), 30, "echo_server up")
        data = pattern(512 * 1024, 7)
        client = EchoTransfer(port, data, stall=120, max_inflight=32 * 1024, connect_timeout=5)
        eth0 = board.net.switch.port("eth0")
        try:
            board.run_until(lambda: client.received >= 128 * 1024 or client.done.is_set(), 60, "128 KiB")
            eth0.set_link(False)
            down_at, wall = board.seconds, time.monotonic()
            board.realtime(False)  # the outage passes in board time, as fast as the board runs
            nic = board.machine.device("eth0")

            def lost() -> int:  # frames from either side that met the dead link
                return eth0.counters.dropped.get("link down", 0) + nic.tx_dropped.get("link_down", 0)

            # At least down_s, and until traffic did meet the dead link (the host's threads may be
            # slow to send more while board time races).
            board.run_until(lambda: board.seconds - down_at >= down_s and lost() > 0,
                            60, f"{down_s:g} s of link down with frames lost on it")
            wall, down_for = time.monotonic() - wall, board.seconds - down_at
            during = client.received
            eth0.set_link(True)
            # Fast until data flows again (both ends' backed-off retransmissions are board time), then
            # in real time to the end.
            board.run_until(lambda: client.received > during or client.done.is_set(), 60, "data again")
            board.realtime(True)
            board.run_until(client.done.is_set, 120, "the rest after the link came back")
        finally:
            client.close()
        print(f"\n{down_for:.2f} s down ({wall:.2f} s wall), {lost()} frames lost on the dead link: "
              f"{client.verify()}")
        assert not board.errors, board.errors
    finally:
        board.close()


# ------------------------------------------------------------------ forwards added while running
def test_a_forward_added_over_rpc_while_the_board_runs(firmware: Path) -> None:
    """libslirp takes a forward at run time (RPC AddForward); a port in use is INVALID_ARGUMENT."""
    from bridge.rpc_errors import RuntimeFailure
    from bridge.rpc_runtime import Runtime

    rt = Runtime()
    try:
        rt.call(lambda: rt.load(str(firmware / "echo_server.elf"), net="user", pace="realtime"))
        rt.call(rt.start)
        port = free_port()
        deadline = time.monotonic() + 60
        got = b""
        rt.call(lambda: rt.add_forward(f"tcp:{port}:13"))
        while not got.startswith(b"board uptime"):  # until the board listens (it boots meanwhile)
            assert time.monotonic() < deadline, got
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.settimeout(5)
                    got = s.recv(100)
            except OSError:
                time.sleep(0.2)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = taken.getsockname()[1]
            with pytest.raises(RuntimeFailure, match="in use") as e:
                rt.call(lambda: rt.add_forward(f"tcp:{busy}:7"))
            assert e.value.code == "INVALID_ARGUMENT"
    finally:
        rt.close()


@pytest.mark.parametrize("net, kind, restrict", [("user", "user", False), ("user,restrict=on", "user", True),
                                                 ("passt", "passt", None)])
def test_rpc_load_takes_the_same_net_names(firmware: Path, net: str, kind: str,
                                           restrict: bool | None) -> None:
    from bridge.rpc_runtime import Runtime

    if kind == "passt":
        need("passt")
    rt = Runtime()
    try:
        rt.call(lambda: rt.load(str(firmware / "echo_server.elf"), net=net))
        backend = rt.session.network.backend  # type: ignore[union-attr]
        assert backend.kind == kind and getattr(backend, "restrict", None) is restrict
    finally:
        rt.close()


# ------------------------------------------------------------------ 9. bad input
def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("vboard: error: ") and "Traceback" not in err, err
    return lines[0]


def _vboard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vboard.cli", "run", *args, "--max-time", "1s"],
                          capture_output=True, text=True, timeout=60, env=env,
                          cwd=Path(__file__).resolve().parent.parent)


def test_unknown_net_option_is_one_line(firmware: Path) -> None:
    r = _vboard(str(firmware / "echo_server.elf"), "--net", "user,hostfwd=tcp::1-:2")
    assert r.returncode == 2
    assert "unknown option 'hostfwd=tcp::1-:2'" in _one_error_line(r.stderr)


def test_forward_to_a_port_in_use_is_one_line(firmware: Path) -> None:
    first = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = _vboard(str(firmware / "echo_server.elf"), "--net", "user", "--forward", f"tcp:{first}:7",
                    "--forward", f"tcp:{port}:13")
    assert r.returncode == 2
    line = _one_error_line(r.stderr)
    assert f"--forward tcp:127.0.0.1:{port}:13" in line and "in use" in line, line
    with socket.socket() as s:  # nothing left listening on the first forward's port
        s.bind(("127.0.0.1", first))


def test_libslirp_that_fails_to_load_is_one_line(firmware: Path, tmp_path: Path) -> None:
    broken = tmp_path / "libslirp.so.0"
    broken.write_bytes(b"not a shared object")
    r = _vboard(str(firmware / "echo_server.elf"), "--net", "user",
                env={**os.environ, "VBOARD_LIBSLIRP": str(broken)})
    assert r.returncode == 2
    line = _one_error_line(r.stderr)
    assert f"cannot load {broken}" in line and "libslirp0" in line, line
