"""PasstBackend against a real passt: DHCP through the switch, the checksum fix, passt dying."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest
from net_helpers import Board, FakeMachine, dhcp_discover, need, parse_dhcp, wait_until

from bridge.net.backend import BackendError
from bridge.net.packets import udp_checksum_ok
from bridge.net.passt import Forward, PasstBackend
from bridge.uart_endpoints import HostInput
from emulator.net.network import Switch


@pytest.fixture
def passt_bin() -> str:
    return need("passt", "passt")


def test_dhcp_offer_with_filled_checksum(passt_bin: str, machine: FakeMachine, switch: Switch,
                                         board: Board) -> None:
    host_input = HostInput()
    backend = PasstBackend(machine, switch, host_input).start()
    try:
        assert host_input.sources == 1
        board.send(dhcp_discover())
        offer = board.wait_for(lambda f: (d := parse_dhcp(f)) is not None and d["type"] == 2)
        d = parse_dhcp(offer)
        assert d is not None
        assert d["yiaddr"] == "10.0.2.15"
        assert d["xid"] == 0x12345678
        assert d["ip_src"] == "10.0.2.2"
        opts = d["options"]
        assert isinstance(opts, dict)
        assert opts[3] == bytes([10, 0, 2, 2])          # router
        assert opts[6] == bytes([10, 0, 2, 3])          # DNS
        assert opts[1] == bytes([255, 255, 255, 0])     # netmask
        udp = d["udp"]
        assert udp.udp_sum != 0                         # passt sent 0; we filled it in
        assert udp_checksum_ok(offer) is True
        assert backend.udp_checksums_filled >= 1
        assert backend.counters.to_host_frames == 1
        assert backend.counters.from_host_frames >= 1
        assert backend.alive and backend.error is None
    finally:
        backend.stop()
    assert host_input.sources == 0
    assert backend.dir is None  # socket directory removed


def test_passt_killed_reports_once_and_board_runs_on(passt_bin: str, machine: FakeMachine, switch: Switch,
                                                     board: Board) -> None:
    errors: list[str] = []
    got = threading.Event()

    def on_error(msg: str) -> None:
        errors.append(msg)
        got.set()

    host_input = HostInput()
    backend = PasstBackend(machine, switch, host_input, on_error=on_error).start()
    try:
        assert backend.proc is not None
        os.kill(backend.proc.pid, signal.SIGKILL)
        assert got.wait(5.0), "no error reported after passt was killed"
        assert len(errors) == 1
        msg = errors[0]
        assert "passt exited with status -9" in msg
        assert "keeps running" in msg
        assert not backend.alive
        assert host_input.sources == 0
        # The board keeps sending: frames are dropped and counted, nothing raises.
        for _ in range(3):
            board.send(dhcp_discover())
        machine.step()
        assert backend.counters.dropped.get("host down") == 3
        assert len(errors) == 1
    finally:
        backend.stop()


def test_missing_passt_is_a_clear_error(machine: FakeMachine, switch: Switch) -> None:
    backend = PasstBackend(machine, switch, passt="passt-does-not-exist")
    with pytest.raises(BackendError, match="not found: install the Debian package passt"):
        backend.start()
    assert all(p.name != "host" for p in switch.ports)


def test_passt_failing_at_start_reports_its_stderr(passt_bin: str, machine: FakeMachine,
                                                   switch: Switch) -> None:
    backend = PasstBackend(machine, switch, extra_args=["--no-such-option"])
    said = r"passt exited with status \d+ .*passt said: .*unrecognized option .--no-such-option"
    with pytest.raises(BackendError, match=said):
        backend.start()


def test_tcp_forward_reaches_the_board(passt_bin: str, machine: FakeMachine, switch: Switch,
                                       board: Board) -> None:
    """A host connection to the forwarded loopback port becomes a SYN to 10.0.2.15:BOARDPORT."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host_port = s.getsockname()[1]
    backend = PasstBackend(machine, switch, forwards=[Forward("tcp", host_port, 8080)]).start()
    try:
        # passt learns the board's MAC from its traffic; DHCP first as a board would.
        board.send(dhcp_discover())
        board.wait_for(lambda f: parse_dhcp(f) is not None)
        client = socket.socket()
        client.settimeout(5.0)
        client.setblocking(False)
        try:
            client.connect_ex(("127.0.0.1", host_port))

            def is_syn(f: bytes) -> bool:
                return (len(f) >= 54 and f[12:14] == b"\x08\x00" and f[23] == 6
                        and f[30:34] == bytes([10, 0, 2, 15])
                        and int.from_bytes(f[36:38], "big") == 8080 and f[47] & 0x02 != 0)

            board.wait_for(is_syn)
        finally:
            client.close()
    finally:
        backend.stop()


def test_forward_parsing_errors() -> None:
    with pytest.raises(ValueError, match="tcp or udp"):
        Forward("sctp", 1, 2)
    with pytest.raises(ValueError, match="not in 1..65535"):
        Forward("tcp", 0, 2)


def test_stop_is_bounded_and_idempotent(passt_bin: str, machine: FakeMachine, switch: Switch) -> None:
    backend = PasstBackend(machine, switch).start()
    pid = backend.proc.pid if backend.proc else 0
    backend.stop()
    backend.stop()
    wait_until(lambda: backend.proc is not None and backend.proc.poll() is not None, 3.0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ethernet_padding_is_stripped_before_passt():
    from bridge.net.packets import strip_ethernet_padding

    ip = bytes([0x45, 0, 0, 44]) + bytes(40)
    frame = bytes(12) + b"\x08\x00" + ip + b"\x00\x00"  # padded to 60 by the NIC
    assert strip_ethernet_padding(frame) == frame[:58]
    assert strip_ethernet_padding(frame[:58]) == frame[:58]
    arp = bytes(12) + b"\x08\x06" + bytes(46)
    assert strip_ethernet_padding(arp) == arp
