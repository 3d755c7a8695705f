"""The Wifi service of the control API through the generated stubs (loopback only).

The board runs ``wifi_station`` (firmware/apps/wifi_station) on
``mps2-an385-wifi``: it joins "vboard" at start, prints every status change,
and takes commands on UART0 (``scan``, ``open``, ``status``). The module's
links stay inside the simulation (its loopback provider echoes on port 7),
except with ``net=user``: then they are host sockets, and the board's
10.0.2.2:7 is an echo this module serves on ``ECHO_HOST`` (a loopback address
of its own, so that suites holding 127.0.0.1:7 may run alongside). Every wait
is bounded in virtual time (the UART waits) or wall time (events, the echo).
"""

from __future__ import annotations

import errno
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from test_rpc import FW, Conn, T, _code, _need

from bridge.proto import vboard_pb2 as pb
from bridge.proto import vboard_pb2_grpc as rpc
from bridge.rpc_runtime import Runtime
from bridge.rpc_server import RpcServer

PLATFORM = "mps2-an385-wifi"
SECOND = 1_000_000_000
FP, IA, NF = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
ECHO_HOST = "127.0.0.3"
BIND_WAIT_S = 30.0
SECURE = pb.AccessPoint(ssid="vboard", secured=True, rssi=-45, channel=6, bssid="02:00:00:00:00:01")
OPEN = pb.AccessPoint(ssid="vboard-open", secured=False, rssi=-67, channel=11, bssid="02:00:00:00:00:02")


class WifiConn(Conn):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.address = f"127.0.0.1:{port}"
        self.wifi = rpc.WifiStub(self.channel)
        self.cursor = 0

    def wait(self, pattern: str, timeout_ns: int = 20 * SECOND) -> str:
        """Run until ``pattern`` is on UART0 after the last match; its line."""
        req = pb.UartWaitRequest(pattern=pattern, offset=self.cursor, timeout_ns=timeout_ns)
        r = self(self.uart.WaitFor, req)
        assert r.matched, f"'{pattern}' not seen ({r.reason}):\n{self.uart_text()}"
        self.cursor = r.end
        return r.line

    def command(self, line: str) -> str:
        """Type a command; what the firmware printed for it (up to its "ok" line)."""
        start = self.cursor
        self(self.uart.Write, pb.UartWriteRequest(data=line.encode() + b"\n"))
        self.wait(f"wifi_station: ok {line.split()[0]}")
        return self.uart_text(start)[: self.cursor - start]

    def uart_text(self, offset: int = 0) -> str:
        return self(self.uart.Read, pb.UartReadRequest(offset=offset)).data.decode(errors="replace")


@pytest.fixture
def wifi_server() -> Iterator[WifiConn]:
    srv = RpcServer(Runtime(), "127.0.0.1", 0).start()
    conn = WifiConn(srv.port)
    yield conn
    conn.close()
    srv.stop()


def _load_station(c: WifiConn) -> None:
    c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "wifi_station.elf"), platform=PLATFORM))


def _next_event(stream: Iterator[pb.Event], match: Callable[[pb.Event], bool],
                limit_s: float = 30) -> pb.Event:
    """The next event that matches (the stream's own deadline bounds the wait too)."""
    deadline = time.monotonic() + limit_s
    for ev in stream:
        if match(ev):
            return ev
        assert time.monotonic() < deadline, "no matching event in time"
    raise AssertionError("the event stream ended without a matching event")


def _wifi_event(reason: str) -> Callable[[pb.Event], bool]:
    return lambda ev: ev.kind == "wifi" and ev.reason == reason


# ------------------------------------------------------------------ access points
def test_list_add_set_rssi_remove(wifi_server: WifiConn) -> None:
    c = wifi_server
    _load_station(c)
    st = c(c.wifi.ListAccessPoints, pb.WifiRequest())
    assert list(st.access_points) == [SECURE, OPEN]
    assert (st.board, st.module, st.state, st.ssid, st.ip) == ("board", "wifi", "disconnected", "", "")
    st = c(c.wifi.AddAccessPoint,
           pb.AccessPointRequest(ssid="lab", password="lab-secret", rssi=-60, channel=1))
    assert st.access_points[-1] == pb.AccessPoint(ssid="lab", secured=True, rssi=-60, channel=1,
                                                  bssid="02:00:00:00:00:03")
    st = c(c.wifi.AddAccessPoint, pb.AccessPointRequest(board="board", ssid="cafe", open=True,
                                                        bssid="0A:00:00:00:00:99"))
    assert st.access_points[-1] == pb.AccessPoint(ssid="cafe", secured=False, rssi=-50, channel=6,
                                                  bssid="0a:00:00:00:00:99")
    st = c(c.wifi.SetRssi, pb.RssiRequest(ssid="lab", rssi=-71))
    assert [ap.rssi for ap in st.access_points if ap.ssid == "lab"] == [-71]
    # The firmware's scan sees what the API set.
    c.wait("wifi_station: ready")
    scan = c.command("scan")
    assert "wifi_station: ap lab ch 1 rssi -71 secure\n" in scan, scan
    assert "wifi_station: ap cafe ch 6 rssi -50 open\n" in scan, scan
    st = c(c.wifi.RemoveAccessPoint, pb.AccessPointName(ssid="lab"))
    assert [ap.ssid for ap in st.access_points] == ["vboard", "vboard-open", "cafe"]
    assert "wifi_station: scan 3\n" in c.command("scan")


def test_status_follows_the_station(wifi_server: WifiConn) -> None:
    c = wifi_server
    _load_station(c)
    c.wait("wifi_station: connect vboard: 0")
    st = c(c.wifi.GetStatus, pb.WifiRequest())
    assert (st.state, st.ssid, st.ip) == ("got_ip", "vboard", "10.0.2.15")
    assert len(st.mac) == 17
    st = c(c.wifi.SetRssi, pb.RssiRequest(rssi=-80))  # no SSID: the joined AP
    assert st.access_points[0].rssi == -80
    assert "wifi_station: status GLOBAL_UP ip 10.0.2.15 rssi -80\n" in c.command("status")


# ------------------------------------------------------------------ events
def test_ap_removed_while_joined_is_an_event_and_the_station_rejoins(wifi_server: WifiConn) -> None:
    c = wifi_server
    events = c.events.Subscribe(pb.EventsRequest(history=True), timeout=T)
    try:
        _load_station(c)
        c.wait("wifi_station: ready")
        joined = _next_event(events, _wifi_event("joined"))
        assert (joined.board, joined.ssid, joined.up) == ("board", "vboard", True)
        assert "10.0.2.15" in joined.text
        assert "wifi_station: socket open 0 echo ok\n" in c.command("open")
        st = c(c.wifi.RemoveAccessPoint, pb.AccessPointName(ssid="vboard"))
        assert (st.state, st.ssid, st.ip) == ("disconnected", "", "")
        lost = _next_event(events, lambda ev: ev.kind == "wifi")
        assert (lost.reason, lost.ssid, lost.up) == ("ap_removed", "vboard", False)
        assert "access point removed" in lost.text and lost.time_ns >= joined.time_ns
        c.wait("wifi_station: status DISCONNECTED")
        c.wait("wifi_station: socket lost -3016")  # NSAPI_ERROR_CONNECTION_LOST
        c(c.wifi.AddAccessPoint, pb.AccessPointRequest(ssid="vboard", password="vboard-secret", rssi=-45,
                                                       channel=6, bssid="02:00:00:00:00:01"))
        c.wait("wifi_station: status GLOBAL_UP", 5 * SECOND)
        back = _next_event(events, lambda ev: ev.kind == "wifi")
        assert (back.reason, back.ssid, back.up) == ("joined", "vboard", True)
    finally:
        events.cancel()


def test_drop_station_disconnects_and_the_module_rejoins(wifi_server: WifiConn) -> None:
    c = wifi_server
    events = c.events.Subscribe(pb.EventsRequest(), timeout=T)
    try:
        _load_station(c)
        c.wait("wifi_station: ready")
        st = c(c.wifi.DropStation, pb.WifiRequest(board="board"))
        assert st.state == "disconnected"
        assert list(st.access_points) == [SECURE, OPEN]  # the AP stays, in its place
        dropped = _next_event(events, lambda ev: ev.kind == "wifi" and not ev.up)
        assert (dropped.reason, dropped.ssid) == ("dropped", "vboard")
        c.wait("wifi_station: connection lost")
        c.wait("wifi_station: status GLOBAL_UP", 5 * SECOND)
        assert _next_event(events, lambda ev: ev.kind == "wifi").reason == "joined"
        assert c(c.wifi.GetStatus, pb.WifiRequest()).state == "got_ip"
    finally:
        events.cancel()


# ------------------------------------------------------------------ bad requests
def _add(c: WifiConn, **kw: object) -> grpc.StatusCode:
    return _code(lambda: c(c.wifi.AddAccessPoint, pb.AccessPointRequest(**kw)))


def test_bad_requests_get_clear_codes(wifi_server: WifiConn) -> None:
    c = wifi_server
    assert _code(lambda: c(c.wifi.ListAccessPoints, pb.WifiRequest())) == FP  # nothing loaded
    c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "hello.elf")))
    with pytest.raises(grpc.RpcError) as ei:
        c(c.wifi.GetStatus, pb.WifiRequest())
    assert ei.value.code() == FP and "no Wi-Fi module" in ei.value.details()
    _load_station(c)
    assert _code(lambda: c(c.wifi.GetStatus, pb.WifiRequest(board="other"))) == NF
    for kw in ({"ssid": "", "open": True}, {"ssid": "x" * 33, "open": True}, {"ssid": 'a"b', "open": True},
               {"ssid": "lab"}, {"ssid": "lab", "password": "short"}, {"ssid": "lab", "password": "x" * 64},
               {"ssid": "lab", "password": "long-enough", "open": True},
               {"ssid": "lab", "open": True, "rssi": 0}, {"ssid": "lab", "open": True, "rssi": -121},
               {"ssid": "lab", "open": True, "channel": 0}, {"ssid": "lab", "open": True, "channel": 15},
               {"ssid": "lab", "open": True, "bssid": "02:00:00:00:00"},
               {"ssid": "lab", "open": True, "bssid": "01:00:5e:00:00:01"},
               {"ssid": "lab", "open": True, "bssid": "02:00:00:00:00:01"}):  # vboard's BSSID
        assert _add(c, **kw) == IA, kw
    with pytest.raises(grpc.RpcError) as ei:
        c(c.wifi.AddAccessPoint, pb.AccessPointRequest(ssid="lab", password="short"))
    assert "password" in ei.value.details() and "8..63" in ei.value.details()
    with pytest.raises(grpc.RpcError) as ei:
        c(c.wifi.RemoveAccessPoint, pb.AccessPointName(ssid="nope"))
    assert ei.value.code() == NF and "vboard, vboard-open" in ei.value.details()
    assert _code(lambda: c(c.wifi.RemoveAccessPoint, pb.AccessPointName(ssid=""))) == IA
    assert _code(lambda: c(c.wifi.SetRssi, pb.RssiRequest(ssid="nope", rssi=-50))) == NF
    assert _code(lambda: c(c.wifi.SetRssi, pb.RssiRequest(ssid="vboard", rssi=5))) == IA
    assert _code(lambda: c(c.wifi.SetRssi, pb.RssiRequest(rssi=-50))) == FP  # not joined yet
    assert _code(lambda: c(c.wifi.DropStation, pb.WifiRequest())) == FP
    st = c(c.wifi.ListAccessPoints, pb.WifiRequest())
    assert list(st.access_points) == [SECURE, OPEN]  # nothing changed


def test_fuzzed_wifi_requests_never_crash(wifi_server: WifiConn) -> None:
    c = wifi_server
    _load_station(c)
    rng = random.Random(8266)
    ok = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}
    samples = [b"\xff", b"\x12\x05ab", b"\x0a\xff\xff\xff\xff\x0f",
               b"\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48))) for _ in range(20)]
    for m in pb.DESCRIPTOR.services_by_name["Wifi"].methods:
        call = c.channel.unary_unary(f"/vboard.v1.Wifi/{m.name}", request_serializer=None,
                                     response_deserializer=None)
        for raw in samples:
            try:
                call(raw, timeout=10)
            except grpc.RpcError as e:
                assert e.code() in ok, (m.name, raw, e.code(), e.details())
    assert c(c.wifi.GetStatus, pb.WifiRequest()).module == "wifi"


# ------------------------------------------------------------------ vboard ctl wifi
def test_ctl_wifi_commands(wifi_server: WifiConn, capsys: pytest.CaptureFixture[str]) -> None:
    from vboard.ctl import main_ctl

    c = wifi_server

    def ctl(*args: str) -> tuple[int, str, str]:
        code = main_ctl(["--address", c.address, *args])
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    assert ctl("wifi", "list")[0] == 1  # nothing loaded
    assert ctl("load", _need(FW / "wifi_station.elf"), "--platform", PLATFORM)[0] == 0
    code, out, _ = ctl("wifi", "list")
    assert code == 0 and "station disconnected" in out
    assert "  vboard                           WPA2      6  -45  02:00:00:00:00:01" in out
    code, out, _ = ctl("wifi", "add", "lab", "--password", "lab-secret", "--rssi", "-60", "--channel", "1")
    assert code == 0 and "added access point 'lab'" in out and "lab" in out.splitlines()[-1]
    code, out, _ = ctl("--json", "wifi", "rssi", "-70", "lab")
    assert code == 0 and '"rssi": -70' in out
    code, out, _ = ctl("wifi", "add", "cafe", "--open")
    assert code == 0 and "cafe                             open" in out
    assert ctl("wifi", "remove", "lab")[0] == 0
    code, _, err = ctl("wifi", "remove", "lab")
    assert code == 1 and "NOT_FOUND" in err and "'lab'" in err
    code, _, err = ctl("wifi", "drop")
    assert code == 1 and "FAILED_PRECONDITION" in err and "not joined" in err
    code, _, err = ctl("wifi", "add", "x", "--password", "")
    assert code == 1 and "INVALID_ARGUMENT" in err
    with pytest.raises(SystemExit) as ei:
        ctl("wifi", "add", "x")  # neither --password nor --open
    assert ei.value.code == 2
    capsys.readouterr()
    c.wait("wifi_station: ready")
    code, out, _ = ctl("wifi", "list")
    assert "station got_ip on 'vboard', IP 10.0.2.15" in out and "* vboard " in out
    code, out, _ = ctl("wifi", "drop", "--board", "board")
    assert code == 0 and "dropped the station" in out and "station disconnected" in out


# ------------------------------------------------------------------ host sockets (net user)
class _HostEcho:
    """TCP echo on ``ECHO_HOST``:7; counts connections, bytes and the closes it saw."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.accepted = 0
        self.closed = 0
        self.data = bytearray()
        self.conns: list[socket.socket] = []
        self.srv = self._bind()
        self.srv.listen(4)
        self.srv.settimeout(0.2)
        self.stopping = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @staticmethod
    def _bind() -> socket.socket:
        deadline = time.monotonic() + BIND_WAIT_S
        while True:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ECHO_HOST, 7))
                return s
            except OSError as e:
                s.close()
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.srv.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.2)
            with self.cond:
                self.accepted += 1
                self.conns.append(conn)
                self.cond.notify_all()
            t = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _echo(self, conn: socket.socket) -> None:
        while not self.stopping:
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.closed += 1
                    self.cond.notify_all()
                    return
                self.data += data
            conn.sendall(data)

    def wait(self, what: Callable[[], bool], limit_s: float = 30) -> None:
        with self.cond:
            assert self.cond.wait_for(what, limit_s), (self.accepted, self.closed, bytes(self.data))

    def stop(self) -> None:
        self.stopping = True
        self.srv.close()
        for t in self.threads:
            t.join(5)
        for conn in self.conns:
            conn.close()


@pytest.fixture
def host_echo() -> Iterator[_HostEcho]:
    echo = _HostEcho()
    yield echo
    echo.stop()


@pytest.fixture
def served() -> Iterator[tuple[RpcServer, WifiConn]]:
    srv = RpcServer(Runtime(), "127.0.0.1", 0).start()
    conn = WifiConn(srv.port)
    yield srv, conn
    conn.close()
    srv.stop()


def _socket_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vboard-wifi-sockets"]


def _load_host_station(c: WifiConn) -> None:
    c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "wifi_station.elf"), platform=PLATFORM, net="user",
                                 pace="realtime", host_loopback=ECHO_HOST,
                                 dns_records=["echo.test=10.0.2.2"]))


def test_without_net_user_the_module_stays_in_the_simulation(wifi_server: WifiConn,
                                                             host_echo: _HostEcho) -> None:
    c = wifi_server
    _load_station(c)
    c.wait("wifi_station: ready")
    assert "wifi_station: socket open 0 echo ok\n" in c.command("open")  # the loopback provider's echo
    assert _socket_threads() == []
    assert host_echo.accepted == 0


def test_net_user_gives_the_module_host_sockets_closed_with_the_session(
        served: tuple[RpcServer, WifiConn], host_echo: _HostEcho) -> None:
    srv, c = served
    _load_host_station(c)
    assert len(_socket_threads()) == 1
    c.wait("wifi_station: ready")
    assert "wifi_station: socket open 0 echo ok\n" in c.command("open")
    host_echo.wait(lambda: host_echo.accepted == 1 and bytes(host_echo.data) == b"ping")
    provider = srv.runtime.session.boards[0].wifi.provider
    assert provider.aliases == {"10.0.2.2": ECHO_HOST}
    # Names come from the load's records, and from AddDnsRecord.
    c(c.net.AddDnsRecord, pb.DnsRecordRequest(name="late.test", address="10.0.2.9"))
    found: list[str | None] = []
    provider.resolve("late.test", found.append)
    provider.resolve("echo.test", found.append)
    assert found == ["10.0.2.9", "10.0.2.2"]
    # Loading another firmware closes the module's host sockets and their thread.
    c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "hello.elf")))
    host_echo.wait(lambda: host_echo.closed == 1)
    assert _socket_threads() == []


def test_snapshot_load_closes_the_host_links(served: tuple[RpcServer, WifiConn],
                                             host_echo: _HostEcho) -> None:
    """As with passt's connections: not restored; the board sees its links closed by the peer."""
    srv, c = served
    _load_host_station(c)
    c.wait("wifi_station: ready")
    assert "wifi_station: socket open 0 echo ok\n" in c.command("open")
    host_echo.wait(lambda: host_echo.accepted == 1)
    info = c(c.emu.SaveSnapshot, pb.SnapshotRequest(name="open"))
    assert any("Wi-Fi module host sockets" in line for line in info.not_restored), info.not_restored
    wifi = srv.runtime.session.boards[0].wifi
    assert len(wifi.links) == 1
    c(c.emu.LoadSnapshot, pb.SnapshotRequest(name="open"))
    host_echo.wait(lambda: host_echo.closed == 1)
    # A new link gets a new handle and reaches the host again.
    assert "wifi_station: socket open 0 echo ok\n" in c.command("open")
    host_echo.wait(lambda: host_echo.accepted == 2 and bytes(host_echo.data) == b"pingping")
    srv.stop()
    host_echo.wait(lambda: host_echo.closed == 2)
    assert _socket_threads() == []


def test_bad_host_networking_and_cmdline_are_invalid(served: tuple[RpcServer, WifiConn]) -> None:
    srv, c = served
    station, hello = _need(FW / "wifi_station.elf"), _need(FW / "hello.elf")
    pair = str(FW.parent.parent / "platforms" / "simulations" / "rawping-pair.yaml")
    bad = [pb.LoadRequest(firmware=station, platform=PLATFORM, net="user", host_loopback="10.0.2.2"),
           pb.LoadRequest(firmware=station, platform=PLATFORM, net="user", host_loopback="localhost"),
           pb.LoadRequest(firmware=station, platform=PLATFORM, host_loopback="127.0.0.3"),  # net none
           pb.LoadRequest(firmware=hello, net="user", host_loopback="127.0.0.3"),  # no Wi-Fi module
           pb.LoadRequest(firmware=station, platform=PLATFORM, cmdline="wifi_tests\nap-loss"),
           pb.LoadRequest(firmware=station, platform=PLATFORM, cmdline="x\0"),
           pb.LoadRequest(firmware=station, platform=PLATFORM, cmdline="caf\u00e9"),
           pb.LoadRequest(firmware=station, platform=PLATFORM, cmdline="x" * 1025),
           pb.LoadRequest(firmware=pair, cmdline="ap-loss")]
    for req in bad:
        with pytest.raises(grpc.RpcError) as ei:
            c(c.emu.Load, req)
        assert ei.value.code() == IA, req
        assert ei.value.details(), req
    assert _socket_threads() == []
    with pytest.raises(grpc.RpcError) as ei:
        c(c.emu.Load, pb.LoadRequest(firmware=station, cmdline="a\tb"))
    assert "cmdline" in ei.value.details() and "printable ASCII" in ei.value.details()


def test_cmdline_is_what_the_firmware_gets(served: tuple[RpcServer, WifiConn]) -> None:
    srv, c = served

    def cmdline() -> str:
        return srv.runtime.call(lambda: srv.runtime.session.boards[0].machine.semihosting.cmdline)

    c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "wifi_station.elf"), platform=PLATFORM))
    assert cmdline() == "firmware"  # unset: as vboard run
    longest = "wifi_tests ap-loss " + "x" * (1024 - 19)
    for text in ("wifi_tests ap-loss", "", longest):
        c(c.emu.Load, pb.LoadRequest(firmware=_need(FW / "wifi_station.elf"), platform=PLATFORM,
                                     cmdline=text))
        assert cmdline() == text
    c(c.emu.Reset, pb.ResetRequest())
    assert cmdline() == longest  # a reset keeps it
