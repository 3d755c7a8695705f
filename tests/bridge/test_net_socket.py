"""SocketBackend: QEMU stream/dgram framing in-process (server+client pairs) and against a real QEMU."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lan9118_sender import SMOKE_ETHERTYPE, SMOKE_PAYLOAD, SMOKE_SRC_MAC, build_sender
from net_helpers import WIRE_CYCLES, Board, FakeMachine, need, wait_until

from bridge.net.backend import BackendError
from bridge.net.framing import read_stream_frame, stream_frame
from bridge.net.qemu_socket import SocketBackend, SocketUrl, parse_socket_url
from bridge.uart_endpoints import HostInput
from emulator.net.network import Switch

MAC_A = bytes.fromhex("02000000000a")
MAC_B = bytes.fromhex("02000000000b")


def frame(src: bytes, dst: bytes, text: bytes) -> bytes:
    f = dst + src + b"\x88\xb5" + text
    return f + b"\0" * max(0, 60 - len(f))


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ URL syntax
@pytest.mark.parametrize("url, expected", [
    ("stream:unix:/tmp/x.sock", SocketUrl("stream", "unix", path="/tmp/x.sock")),
    ("socket:stream:unix:/tmp/x.sock", SocketUrl("stream", "unix", path="/tmp/x.sock")),
    ("stream:tcp:127.0.0.1:5555", SocketUrl("stream", "tcp", host="127.0.0.1", port=5555)),
    ("stream:tcp:[::1]:5555", SocketUrl("stream", "tcp", host="::1", port=5555)),
    ("stream-server:unix:/run/a b", SocketUrl("stream-server", "unix", path="/run/a b")),
    ("stream-server:tcp:0.0.0.0:80", SocketUrl("stream-server", "tcp", host="0.0.0.0", port=80)),
    ("dgram:5000:127.0.0.1:5001", SocketUrl("dgram", "udp", local_host="127.0.0.1", local_port=5000,
                                           remote_host="127.0.0.1", remote_port=5001)),
    ("dgram:5000:192.0.2.9:5001", SocketUrl("dgram", "udp", local_host="0.0.0.0", local_port=5000,
                                           remote_host="192.0.2.9", remote_port=5001)),
    ("dgram:10.0.0.1:5000:10.0.0.2:5001", SocketUrl("dgram", "udp", local_host="10.0.0.1", local_port=5000,
                                                   remote_host="10.0.0.2", remote_port=5001)),
])
def test_parse_socket_url(url: str, expected: SocketUrl) -> None:
    parsed = parse_socket_url(url)
    assert parsed == expected
    assert parse_socket_url(str(parsed)) == parsed  # str() round-trips


@pytest.mark.parametrize("url, message", [
    ("stream", "no ':' after the mode"),
    ("pipe:unix:/x", "unknown mode 'pipe'"),
    ("stream:udp:/x", "unknown address family 'udp'"),
    ("stream:unix:", "empty UNIX socket path"),
    ("stream:tcp:localhost", "expected tcp:HOST:PORT"),
    ("stream:tcp:localhost:http", "port 'http' is not a number"),
    ("stream-server:tcp:127.0.0.1:70000", "port 70000 is not in 1..65535"),
    ("dgram:1:2", "expected dgram:LPORT:RHOST:RPORT"),
    ("stream:tcp:[::1:5", "unclosed '\\['"),
])
def test_parse_socket_url_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as e:
        parse_socket_url(url)
    assert "expected stream:unix:PATH" in str(e.value)


def test_qemu_counterpart_options() -> None:
    assert parse_socket_url("stream-server:unix:/p").qemu_netdev() == \
        "stream,id=n0,server=off,addr.type=unix,addr.path=/p"
    assert parse_socket_url("stream:tcp:127.0.0.1:9").qemu_netdev("x") == \
        "stream,id=x,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=9"
    assert parse_socket_url("dgram:1000:127.0.0.1:2000").qemu_netdev() == \
        ("dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=2000,remote.type=inet,"
         "remote.host=127.0.0.1,remote.port=1000")


# ---------------------------------------------------------- in-process pairs
class Side:
    """One backend on its own switch with a test board; ``polled``: on a machine with
    ``host_polls`` (the emulation thread does the I/O when the test pumps), else threads."""

    def __init__(self, url: str, mac: bytes, name: str, on_error: list[str] | None = None,
                 polled: bool = False) -> None:
        self.machine = FakeMachine(polled=polled)
        self.switch = Switch(0)
        self.board = Board(self.machine, self.switch, name)
        self.errors: list[str] = [] if on_error is None else on_error
        self.host_input = HostInput()
        self.backend = SocketBackend(self.machine, self.switch, self.host_input, url,
                                     on_error=self.errors.append)
        self.mac = mac


def exchange(a: Side, b: Side) -> None:
    for i in range(3):
        since = len(b.board.received)
        a.board.send(frame(a.mac, b.mac if i else b"\xff" * 6, b"a->b %d" % i))
        got = b.board.wait_for(lambda f, i=i: f[14:20] == b"a->b %d" % i, since=since)
        assert got[6:12] == a.mac
        since = len(a.board.received)
        b.board.send(frame(b.mac, a.mac, b"b->a %d" % i))
        a.board.wait_for(lambda f, i=i: f[14:20] == b"b->a %d" % i, since=since)


@pytest.fixture
def sides(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Side, Side]]:
    kind, io = request.param.split("-")
    polled = io == "polled"
    if kind == "unix":
        path = str(tmp_path / "link.sock")
        server, client = f"stream-server:unix:{path}", f"stream:unix:{path}"
    elif kind == "tcp":
        port = free_tcp_port()
        server, client = f"stream-server:tcp:127.0.0.1:{port}", f"stream:tcp:127.0.0.1:{port}"
    else:
        pa, pb = free_udp_port(), free_udp_port()
        server, client = f"dgram:{pa}:127.0.0.1:{pb}", f"dgram:{pb}:127.0.0.1:{pa}"
    a = Side(server, MAC_A, "ethA", polled=polled)
    a.backend.start()
    b = Side(client, MAC_B, "ethB", polled=polled)
    try:
        b.backend.start()
        yield a, b
    finally:
        b.backend.stop()
        a.backend.stop()


@pytest.mark.parametrize("sides", [f"{kind}-{io}" for kind in ("unix", "tcp", "dgram")
                                   for io in ("threads", "polled")], indirect=True)
def test_pair_exchanges_frames(sides: tuple[Side, Side]) -> None:
    a, b = sides
    assert a.backend.polled == b.backend.polled == hasattr(a.machine, "host_polls")
    if a.backend.url.mode == "stream-server":
        wait_until(lambda: a.backend.peers == 1, 5.0, pump=a.machine)
    exchange(a, b)
    assert a.errors == [] and b.errors == []
    assert a.backend.counters.to_host_frames == 3 and b.backend.counters.from_host_frames == 3
    assert a.host_input.sources == 1


@pytest.mark.parametrize("polled", [False, True], ids=["threads", "polled"])
def test_server_takes_the_next_peer_and_client_reports_a_closed_peer(tmp_path: Path, polled: bool) -> None:
    path = str(tmp_path / "s.sock")
    a = Side(f"stream-server:unix:{path}", MAC_A, "ethA", polled=polled)
    a.backend.start()
    try:
        b = Side(f"stream:unix:{path}", MAC_B, "ethB", polled=polled)
        b.backend.start()
        wait_until(lambda: a.backend.peers == 1, 5.0, pump=a.machine)
        exchange(a, b)
        b.backend.stop()
        assert b.errors == []  # a stop is no failure
        # Frames with no peer connected are dropped and counted.
        wait_until(lambda: a.backend._client is None, 5.0, pump=a.machine)
        assert a.host_input.sources == 1  # the server still waits for a peer
        a.board.send(frame(MAC_A, MAC_B, b"lost"))
        wait_until(lambda: a.backend.counters.dropped.get("not connected") == 1, 5.0)
        c = Side(f"stream:unix:{path}", MAC_B, "ethC", polled=polled)
        c.backend.start()
        try:
            wait_until(lambda: a.backend.peers == 2, 5.0, pump=a.machine)
            exchange(a, c)
            # The server goes away: the client says so once and its board runs on.
            a.backend.stop()
            wait_until(lambda: bool(c.errors), 5.0, pump=c.machine)
            assert len(c.errors) == 1
            assert "socket stream:unix:" in c.errors[0] and "closed the connection" in c.errors[0]
            c.board.send(frame(MAC_B, MAC_A, b"after"))
            wait_until(lambda: c.backend.counters.dropped.get("host down") == 1, 5.0, pump=c.machine)
            assert c.host_input.sources == 0
        finally:
            c.backend.stop()
    finally:
        a.backend.stop()
    assert not Path(path).exists()  # the server removed its socket


@pytest.mark.parametrize("polled", [False, True], ids=["threads", "polled"])
def test_raw_peer_sees_the_framing(tmp_path: Path, polled: bool) -> None:
    """A plain socket peer sees the 4-byte big-endian length then the frame, and can send back."""
    path = str(tmp_path / "raw.sock")
    a = Side(f"stream-server:unix:{path}", MAC_A, "ethA", polled=polled)
    a.backend.start()
    try:
        with socket.socket(socket.AF_UNIX) as peer:
            peer.settimeout(5.0)
            peer.connect(path)
            wait_until(lambda: a.backend.peers == 1, 5.0, pump=a.machine)
            f = frame(MAC_A, b"\xff" * 6, b"hello")
            a.board.send(f)
            assert peer.recv(4) == len(f).to_bytes(4, "big")
            assert read_stream_frame_exact(peer, len(f)) == f
            back = frame(MAC_B, MAC_A, b"back")
            peer.sendall(stream_frame(back)[:3])  # split writes are reassembled
            peer.sendall(stream_frame(back)[3:])
            assert a.board.wait_for(lambda x: x[14:18] == b"back") == back
            peer.sendall(b"\xff\xff\xff\xff")  # a length no QEMU sends: the peer is dropped
            wait_until(lambda: a.backend._client is None, 5.0, pump=a.machine)
    finally:
        a.backend.stop()


# ------------------------------------------------- polled on the emulation thread
class RawPeer:
    """The host end of one polled backend, driven by the test: ``send(frame)`` in the
    backend's framing, ``recv()`` one frame."""

    def __init__(self, tmp_path: Path, mode: str) -> None:
        self.mode = mode
        self.sock: socket.socket | None = None
        self._listener: socket.socket | None = None
        path = str(tmp_path / "peer.sock")
        if mode == "stream":  # the backend connects to us
            self._listener = socket.socket(socket.AF_UNIX)
            self._listener.bind(path)
            self._listener.listen(1)
            url = f"stream:unix:{path}"
        elif mode == "stream-server":  # we connect to the backend (connect())
            self.path = path
            url = f"stream-server:unix:{path}"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            mine = free_udp_port()
            self.backend_addr = ("127.0.0.1", mine)
            url = f"dgram:{mine}:127.0.0.1:{self.sock.getsockname()[1]}"
        self.side = Side(url, MAC_A, "ethA", polled=True)
        self.side.backend.start()
        assert self.side.backend.polled
        if self._listener is not None:
            self.sock, _ = self._listener.accept()

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)

    def send(self, frame: bytes) -> None:
        assert self.sock is not None
        if self.mode == "dgram":
            self.sock.sendto(frame, self.backend_addr)
        else:
            self.sock.sendall(stream_frame(frame))

    def recv(self) -> bytes | None:
        assert self.sock is not None
        self.sock.settimeout(5.0)
        if self.mode == "dgram":
            return self.sock.recv(65536)
        return read_stream_frame(self.sock)

    def close(self) -> None:
        self.side.backend.stop()
        for s in (self.sock, self._listener):
            if s is not None:
                s.close()


@pytest.fixture
def peer(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RawPeer]:
    p = RawPeer(tmp_path, request.param)
    try:
        yield p
    finally:
        p.close()


def wait_woken(host_input: HostInput, what: object) -> float:
    """Block in the idle wait a sleeping board does while ``what`` happens 0.1 s later on
    another thread; the seconds it took. A wait that returned at once (a spin) finds
    nothing to read after it; one that never wakes takes the full 10 s."""
    timer = threading.Timer(0.1, what)  # type: ignore[arg-type]
    timer.start()
    t0 = time.monotonic()
    try:
        assert host_input.wait(10.0)
        return time.monotonic() - t0
    finally:
        timer.join()


@pytest.mark.parametrize("peer", ["stream", "stream-server", "dgram"], indirect=True)
def test_a_sleeping_board_wakes_for_a_frame_and_answers(peer: RawPeer) -> None:
    side = peer.side
    if peer.mode == "stream-server":  # the listening socket wakes the wait for the peer
        assert wait_woken(side.host_input, peer.connect) < 5.0
        side.machine.pump()
        assert side.backend.peers == 1
    side.machine.pump()  # nothing from the host yet
    assert side.board.received == []
    hello = frame(MAC_B, MAC_A, b"wake up")
    assert wait_woken(side.host_input, lambda: peer.send(hello)) < 5.0
    side.machine.pump()  # the frame enters the switch at this slice boundary ...
    side.machine.step(WIRE_CYCLES)  # ... and reaches the board after its wire time
    assert side.board.received == [hello]
    side.board.send(frame(MAC_A, MAC_B, b"answer"))  # written at once, no thread
    got = peer.recv()
    assert got is not None and got[14:20] == b"answer"
    c = side.backend.counters
    assert (c.from_host_frames, c.to_host_frames, c.dropped) == (1, 1, {})
    assert side.host_input.sources == 1


@pytest.mark.parametrize("peer", ["dgram"], indirect=True)
def test_datagrams_from_elsewhere_are_dropped(peer: RawPeer) -> None:
    side = peer.side
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(frame(MAC_B, MAC_A, b"not you"), peer.backend_addr)
        wait_until(lambda: side.backend.foreign_datagrams == 1, 5.0, pump=side.machine)
    peer.send(frame(MAC_B, MAC_A, b"from the peer"))
    side.board.wait_for(lambda f: f[14:27] == b"from the peer")
    assert [f[14:27] for f in side.board.received] == [b"from the peer"]
    assert side.backend.counters.dropped == {"foreign sender": 1}


@pytest.mark.parametrize("peer", ["stream"], indirect=True)
def test_output_the_host_does_not_take_waits_bounded(peer: RawPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that does not read: frames wait in the backend (up to a bound, then "queue full"),
    the idle wait also watches for the socket to take more, and they go out in order."""
    side, backend = peer.side, peer.side.backend
    assert peer.sock is not None
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    out = backend._out
    assert out is not None
    monkeypatch.setattr(out, "limit", 64 * 1024)
    big = [frame(MAC_A, MAC_B, b"%06d" % i + bytes(1400)) for i in range(400)]
    for f in big:
        backend.deliver(f)  # what the switch does for each frame towards the host
    c = backend.counters
    assert out and out.size <= 64 * 1024
    assert c.dropped.get("queue full", 0) > 0 and c.to_host_frames + c.dropped["queue full"] == 400
    assert backend._fd in side.host_input._write_fds
    received: list[bytes] = []

    def drain() -> None:
        while len(received) < c.to_host_frames:
            f = peer.recv()
            assert f is not None
            received.append(f)

    reader = threading.Thread(target=drain)
    reader.start()
    deadline = time.monotonic() + 10
    while out:
        assert side.host_input.wait(1.0)
        side.machine.pump()
        assert time.monotonic() < deadline, "the pending frames never went out"
    reader.join(10)
    assert [f[14:20] for f in received] == [f[14:20] for f in big[:c.to_host_frames]]
    assert backend._fd not in side.host_input._write_fds


def read_stream_frame_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk
        buf += chunk
    return buf


def test_connect_refused_is_a_clear_error(tmp_path: Path) -> None:
    m = FakeMachine()
    sw = Switch()
    with pytest.raises(BackendError,
                       match=r"cannot connect to unix:.*nope.sock.*-netdev stream,id=n0,server=on"):
        SocketBackend(m, sw, None, f"stream:unix:{tmp_path}/nope.sock", connect_timeout=1.0).start()
    port = free_tcp_port()
    with pytest.raises(BackendError, match="cannot connect to tcp:127.0.0.1:.*Connection refused"):
        SocketBackend(m, sw, None, f"stream:tcp:127.0.0.1:{port}", connect_timeout=1.0).start()
    assert not sw.ports


def test_listening_twice_is_a_clear_error(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.sock")
    a = SocketBackend(FakeMachine(), Switch(), None, f"stream-server:unix:{path}").start()
    try:
        with pytest.raises(BackendError, match="already listening"):
            SocketBackend(FakeMachine(), Switch(), None, f"stream-server:unix:{path}").start()
    finally:
        a.stop()
    (tmp_path / "file").write_text("x")
    with pytest.raises(BackendError, match="exists and is not a socket"):
        SocketBackend(FakeMachine(), Switch(), None, f"stream-server:unix:{tmp_path / 'file'}").start()


# ---------------------------------------------------------------- real QEMU
@pytest.fixture(scope="module")
def sender_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("arm-none-eabi-as", "gcc-arm-none-eabi")
    try:
        return build_sender(tmp_path_factory.mktemp("sender"))
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.mark.parametrize("kind", ["stream-server-unix", "stream-server-tcp", "dgram"])
def test_frames_from_a_real_qemu_guest_arrive(kind: str, sender_elf: Path, tmp_path: Path,
                                              machine: FakeMachine, switch: Switch, board: Board) -> None:
    qemu = need("qemu-system-arm", "qemu-system-arm")
    if kind == "stream-server-unix":
        url = f"stream-server:unix:{tmp_path / 'qemu.sock'}"
    elif kind == "stream-server-tcp":
        url = f"stream-server:tcp:127.0.0.1:{free_tcp_port()}"
    else:
        url = f"dgram:{free_udp_port()}:127.0.0.1:{free_udp_port()}"
    errors: list[str] = []
    backend = SocketBackend(machine, switch, None, url, on_error=errors.append).start()
    netdev = backend.url.qemu_netdev("n0")
    proc = subprocess.Popen([qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none", "-serial", "none",
                             "-netdev", netdev, "-net", "nic,model=lan9118,netdev=n0",
                             "-kernel", str(sender_elf)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        try:
            got = board.wait_for(lambda f: f[12:14] == SMOKE_ETHERTYPE, timeout=10.0)
        except AssertionError:
            proc.kill()
            out, err = proc.communicate(timeout=5)
            raise AssertionError(f"no frame from QEMU ({netdev}); QEMU said: "
                                 f"{err.decode()[-2000:]}") from None
        assert got[0:6] == b"\xff" * 6
        assert got[6:12] == SMOKE_SRC_MAC
        assert got[14:14 + len(SMOKE_PAYLOAD)] == SMOKE_PAYLOAD
        assert len(got) == 64
        # More keep coming (the guest sends every few ms).
        board.wait_for(lambda f: f[12:14] == SMOKE_ETHERTYPE, timeout=10.0, since=len(board.received))
        assert backend.counters.from_host_frames >= 2
        # And a frame towards QEMU goes out without trouble.
        board.send(frame(MAC_A, b"\xff" * 6, b"to-qemu"))
        wait_until(lambda: backend.counters.to_host_frames == 1, 5.0)
        assert errors == []
    finally:
        proc.kill()
        proc.wait(5)
        backend.stop()
