"""The gRPC control API (bridge/rpc_server.py) through the generated stubs, on loopback only."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bridge.proto import vboard_pb2 as pb
from bridge.proto import vboard_pb2_grpc as rpc
from bridge.rpc_runtime import Runtime
from bridge.rpc_server import MAX_REQUEST, ConfigError, RpcServer
from emulator.board.platform import LoadPolicy

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware" / "build"
PAIR = ROOT / "platforms" / "simulations" / "rawping-pair.yaml"
T = 60  # wall-clock seconds for any one call
ANYWHERE = LoadPolicy(Path("/"), allow_model_files=False)  # tests name files in their tmp_path too


def _need(path: Path) -> str:
    assert path.exists(), f"{path} is missing: build the firmware first (make -C firmware)"
    return str(path)


class Conn:
    def __init__(self, port: int, token: str | None = None) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.md = [("authorization", f"Bearer {token}")] if token else None
        self.emu = rpc.EmulationStub(self.channel)
        self.uart = rpc.UartStub(self.channel)
        self.net = rpc.NetworkStub(self.channel)
        self.mem = rpc.MemoryStub(self.channel)
        self.events = rpc.EventsStub(self.channel)

    def __call__(self, method, request, timeout: float = T):  # noqa: ANN001, ANN204
        return method(request, timeout=timeout, metadata=self.md)

    def close(self) -> None:
        self.channel.close()


@pytest.fixture
def server():  # noqa: ANN201
    srv = RpcServer(Runtime(ANYWHERE), "127.0.0.1", 0).start()
    conn = Conn(srv.port)
    yield srv, conn
    conn.close()
    srv.stop()


def _load(c: Conn, firmware: str) -> pb.State:
    return c(c.emu.Load, pb.LoadRequest(firmware=firmware))


def _text(c: Conn, offset: int = 0, board: str = "", uart: str = "") -> bytes:
    return c(c.uart.Read, pb.UartReadRequest(board=board, uart=uart, offset=offset)).data


def _code(fn) -> grpc.StatusCode:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as ei:
        fn()
    return ei.value.code()


# ------------------------------------------------------------------ basics
def test_load_wait_and_exit(server) -> None:  # noqa: ANN001
    _, c = server
    st = _load(c, _need(FW / "hello.elf"))
    assert st.state == "paused" and st.boards[0].name == "board"
    r = c(c.uart.WaitFor, pb.UartWaitRequest(pattern="hello: done", timeout_ns=1_000_000_000))
    assert r.matched and r.line == "hello: done" and r.reason == "matched"
    st = c(c.emu.RunFor, pb.RunForRequest(duration="10ms"))
    assert st.state == "exited" and st.exited and st.exit_code == 0
    assert b"Hello from vboard" in _text(c)
    sym = c(c.mem.LookupSymbol, pb.SymbolRequest(name="main"))
    assert sym.address > 0
    data = c(c.mem.Read, pb.MemoryReadRequest(address=0, size=8)).data
    assert len(data) == 8


def test_events_stream_reports_exit_and_fault(server) -> None:  # noqa: ANN001
    _, c = server
    _load(c, _need(FW / "crash.elf"))
    stream = c.events.Subscribe(pb.EventsRequest(history=True), timeout=T)
    c(c.emu.RunFor, pb.RunForRequest(duration="100ms"))
    kinds = []
    for ev in stream:
        kinds.append(ev.kind)
        if ev.kind == "fault":
            assert "HardFault" in ev.text and "CFSR" in ev.text
            break
    stream.cancel()
    assert kinds[0] == "loaded" and "fault" in kinds
    st = c(c.emu.GetState, pb.Empty())
    assert st.state == "faulted" and "IBUSERR" in st.boards[0].fault_report


def test_uart_interactive_and_step(server) -> None:  # noqa: ANN001
    _, c = server
    _load(c, _need(FW / "uart_echo.elf"))
    r = c(c.uart.WaitFor, pb.UartWaitRequest(pattern="echo> ", prompt=True, timeout_ns=10**9))
    assert r.matched
    c(c.uart.Write, pb.UartWriteRequest(data=b"abc\n"))
    r2 = c(c.uart.WaitFor, pb.UartWaitRequest(pattern="ABC", offset=r.end, timeout_ns=10**9))
    assert r2.matched and r2.line == "ABC"  # the line after the prompt already matched
    step = c(c.emu.Step, pb.StepRequest(count=3))
    assert step.pc != 0
    # A wait that times out in virtual time, quickly in wall time.
    t0 = time.monotonic()
    r3 = c(c.uart.WaitFor, pb.UartWaitRequest(pattern="never", offset=r2.end, timeout_ns=50_000_000))
    assert not r3.matched and r3.reason == "timeout"
    assert time.monotonic() - t0 < 20
    # A timeout shorter than one CPU cycle (40 ns) still ends (it used to spin without advancing).
    r4 = c(c.uart.WaitFor, pb.UartWaitRequest(pattern="never", offset=r2.end, timeout_ns=1), timeout=10)
    assert not r4.matched and r4.reason == "timeout"


def test_stream_disconnect_leaves_emulation_running_and_many_clients(server) -> None:  # noqa: ANN001
    srv, c = server
    _load(c, _need(FW / "demo.elf"))
    stream = c.uart.Stream(pb.UartStreamRequest(), timeout=T)
    c(c.emu.Start, pb.Empty())
    first = next(stream)
    assert first.offset == 0 and first.data
    stream.cancel()
    # Several clients at once, while it runs.
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            cc = Conn(srv.port)
            for _ in range(20):
                cc(cc.emu.GetState, pb.Empty())
                cc(cc.uart.Read, pb.UartReadRequest())
            cc.close()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=poll) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(T)
    assert not errors
    deadline = time.monotonic() + 30
    while c(c.emu.GetState, pb.Empty()).state != "exited":
        assert time.monotonic() < deadline, "demo did not run to its end after the client left"
        time.sleep(0.05)
    assert b"demo: done" in _text(c)


def test_network_ops_on_one_board(server, tmp_path: Path) -> None:  # noqa: ANN001
    from bridge.net.pcapng import read_pcapng_records

    _, c = server
    _load(c, _need(FW / "demo.elf"))
    ports = c(c.net.GetPorts, pb.Empty())
    assert {p.name for p in ports.ports} == {"eth0", "host"}
    cap = tmp_path / "x.pcapng"
    c(c.net.StartCapture, pb.CaptureRequest(path=str(cap)))
    frame = bytes.fromhex("ffffffffffff525400aabbcc88b5") + b"\0" * 46
    c(c.net.InjectFrame, pb.InjectRequest(frame=frame))
    c(c.emu.RunFor, pb.RunForRequest(duration="1ms"))
    info = c(c.net.StopCapture, pb.Empty())
    assert info.frames >= 1
    recs = read_pcapng_records(cap)
    assert any(r.frame == frame for r in recs)
    p = c(c.net.SetLink, pb.LinkRequest(port="eth0", up=False, loss=0.5))
    assert not p.up and p.loss == 0.5
    assert _code(lambda: c(c.net.AddForward, pb.ForwardRequest(spec="tcp:8080:80"))) == \
        grpc.StatusCode.FAILED_PRECONDITION
    c(c.net.AddDnsRecord, pb.DnsRecordRequest(name="example.test", address="10.0.2.2"))


# ------------------------------------------------------------------ reflection and health
def test_reflection_lists_services_and_health(server) -> None:  # noqa: ANN001
    _, c = server
    stub = reflection_pb2_grpc.ServerReflectionStub(c.channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                        timeout=T)
    names = {s.name for r in replies for s in r.list_services_response.service}
    for s in ("Emulation", "Uart", "Network", "Wifi", "Memory", "Events"):
        assert f"vboard.v1.{s}" in names
    assert "grpc.health.v1.Health" in names
    h = health_pb2_grpc.HealthStub(c.channel)
    assert h.Check(health_pb2.HealthCheckRequest(service="vboard.v1.Emulation"),
                   timeout=T).status == health_pb2.HealthCheckResponse.SERVING


# ------------------------------------------------------------------ security
def test_non_loopback_bind_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="token"):
        RpcServer(Runtime(), "0.0.0.0", 0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VBOARD_TOKEN", None)
    p = subprocess.run([sys.executable, "-m", "vboard.serve", "--bind", "0.0.0.0", "--no-auth"], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "token" in p.stderr
    p = subprocess.run([sys.executable, "-m", "vboard.serve", "--token", " " * 20], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "token of 20 characters: expected 16..256 visible ASCII" in p.stderr


def test_wrong_token_is_rejected() -> None:
    srv = RpcServer(Runtime(), "127.0.0.1", 0, token="s3cret-s3cret-s3cret").start()
    try:
        for token in (None, "wrong"):
            c = Conn(srv.port, token)
            assert _code(lambda c=c: c(c.emu.GetState, pb.Empty())) == grpc.StatusCode.UNAUTHENTICATED
            c.close()
        good = Conn(srv.port, "s3cret-s3cret-s3cret")
        assert good(good.emu.GetState, pb.Empty()).state == "unloaded"
        good.close()
    finally:
        srv.stop()


# ------------------------------------------------------------------ bad requests
def test_bad_requests_get_clear_codes(server, tmp_path: Path) -> None:  # noqa: ANN001
    _, c = server
    FP, IA, NF = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT,  # noqa: N806
                  grpc.StatusCode.NOT_FOUND)
    assert _code(lambda: c(c.emu.RunFor, pb.RunForRequest(duration="1s"))) == FP
    assert _code(lambda: c(c.emu.Load, pb.LoadRequest(firmware=str(tmp_path / "nope.elf")))) == NF
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF" + b"\xff" * 100)
    assert _code(lambda: c(c.emu.Load, pb.LoadRequest(firmware=str(junk)))) == IA
    _load(c, _need(FW / "hello.elf"))
    assert _code(lambda: c(c.emu.RunFor, pb.RunForRequest(duration="soon"))) == IA
    assert _code(lambda: c(c.emu.RunFor, pb.RunForRequest())) == IA
    assert _code(lambda: c(c.uart.Read, pb.UartReadRequest(uart="uart9"))) == NF
    assert _code(lambda: c(c.uart.Read, pb.UartReadRequest(board="other"))) == NF
    assert _code(lambda: c(c.uart.WaitFor, pb.UartWaitRequest(pattern="(", regex=True))) == IA
    assert _code(lambda: c(c.mem.Read, pb.MemoryReadRequest(address=0x40004000, size=4))) == IA
    assert _code(lambda: c(c.mem.Read, pb.MemoryReadRequest(address=0, size=0))) == IA
    assert _code(lambda: c(c.mem.LookupSymbol, pb.SymbolRequest(name="no_such_symbol"))) == NF
    assert _code(lambda: c(c.emu.LoadSnapshot, pb.SnapshotRequest(name="none"))) == NF
    assert _code(lambda: c(c.emu.SaveSnapshot, pb.SnapshotRequest(name="../x"))) == IA
    assert _code(lambda: c(c.net.StopCapture, pb.Empty())) == FP
    assert _code(lambda: c(c.net.SetLink, pb.LinkRequest(port="nope", up=False))) == NF
    assert _code(lambda: c(c.net.SetLink, pb.LinkRequest(loss=2.0))) == IA
    assert _code(lambda: c(c.net.InjectFrame, pb.InjectRequest(frame=b"x"))) == IA
    bad_snap = tmp_path / "bad.snap"
    bad_snap.write_bytes(b"garbage")
    assert _code(lambda: c(c.emu.LoadSnapshot, pb.SnapshotRequest(name="x", path=str(bad_snap)))) == IA
    c(c.emu.Start, pb.Empty())
    # It keeps serving.
    assert c(c.emu.GetState, pb.Empty()).loaded.endswith("hello.elf")


def test_fuzz_malformed_and_oversized_requests(server) -> None:  # noqa: ANN001
    _, c = server
    _load(c, _need(FW / "hello.elf"))
    rng = random.Random(1234)
    # Not DEADLINE_EXCEEDED: a unary handler that hangs is an escape, not an answer.
    ok_codes = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                grpc.StatusCode.NOT_FOUND}
    # Methods whose random-but-valid requests could write files or corrupt the firmware are left out.
    skip = {"SaveSnapshot", "LoadSnapshot", "StartCapture", "Write", "Load", "Stream", "Subscribe"}
    methods = []
    for sname in ("Emulation", "Uart", "Network", "Memory", "Events"):
        for m in pb.DESCRIPTOR.services_by_name[sname].methods:
            methods.append((f"/vboard.v1.{sname}/{m.name}", m.server_streaming, m.name))
    samples = [b"\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\xff" * 11, b"\x12\x05ab", b"\x00\x00"]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48))) for _ in range(20)]
    for path, streaming, name in methods:
        for raw in samples:
            if name in skip and not streaming:
                raw = b"\xff\xff"  # always malformed (truncated varint)
            if streaming:
                call = c.channel.unary_stream(path, request_serializer=None, response_deserializer=None)
                try:
                    it = call(raw if name not in skip else b"\xff\xff", timeout=0.5)
                    for _ in it:
                        break
                    it.cancel()
                except grpc.RpcError as e:  # an idle stream ends by its deadline
                    ended = {grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}
                    assert e.code() in ok_codes | ended, (path, raw, e)
                continue
            call = c.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
            try:
                call(raw, timeout=10)
            except grpc.RpcError as e:
                assert e.code() in ok_codes, (path, raw, e.code(), e.details())
    big = c.channel.unary_unary("/vboard.v1.Uart/Write", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        big(b"\x1a" + b"\xff" * 5 + b"x" * (MAX_REQUEST + 10), timeout=T)
    assert ei.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _code(lambda: c(c.uart.Write, pb.UartWriteRequest(data=b"x" * 70_000))) == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert c(c.emu.GetState, pb.Empty()).loaded.endswith("hello.elf")


# ------------------------------------------------------------------ snapshots
@pytest.mark.parametrize("to_file", [False, True])
def test_snapshot_repeats_transcript(server, tmp_path: Path, to_file: bool) -> None:  # noqa: ANN001
    _, c = server
    _load(c, _need(FW / "demo.elf"))
    c(c.emu.RunFor, pb.RunForRequest(duration="150ms"))
    path = str(tmp_path / "mid.snap") if to_file else ""
    info = c(c.emu.SaveSnapshot, pb.SnapshotRequest(name="mid", path=path))
    assert info.size_bytes > 1_000_000
    start = len(_text(c))
    c(c.emu.RunFor, pb.RunForRequest(duration="300ms"))
    first = _text(c, start)
    st1 = c(c.emu.GetState, pb.Empty())
    assert b"tick" in first
    c(c.emu.LoadSnapshot, pb.SnapshotRequest(name="mid", path=path))
    assert c(c.emu.GetState, pb.Empty()).time_ns == info.time_ns
    again = len(_text(c))
    c(c.emu.RunFor, pb.RunForRequest(duration="300ms"))
    assert _text(c, again) == first
    st2 = c(c.emu.GetState, pb.Empty())
    assert (st2.time_ns, st2.instructions, st2.boards[0].pc) == (st1.time_ns, st1.instructions,
                                                                  st1.boards[0].pc)


def test_snapshot_of_a_simulation_with_frames_in_flight(server) -> None:  # noqa: ANN001
    _, c = server
    _load(c, _need(PAIR))
    c(c.uart.WaitFor, pb.UartWaitRequest(board="client", pattern="peer up", timeout_ns=20 * 10**9))
    c(c.net.SetLink, pb.LinkRequest(port="client.eth0", loss=0.2))
    c(c.emu.RunFor, pb.RunForRequest(duration="3ms"))
    c(c.emu.SaveSnapshot, pb.SnapshotRequest(name="pair"))
    s0 = [len(_text(c, board=b)) for b in ("client", "server")]
    c(c.emu.RunFor, pb.RunForRequest(duration="3s"))
    first = [_text(c, s0[0], "client"), _text(c, s0[1], "server")]
    ports1 = c(c.net.GetPorts, pb.Empty())
    c(c.emu.LoadSnapshot, pb.SnapshotRequest(name="pair"))
    s1 = [len(_text(c, board=b)) for b in ("client", "server")]
    c(c.emu.RunFor, pb.RunForRequest(duration="3s"))
    assert [_text(c, s1[0], "client"), _text(c, s1[1], "server")] == first
    assert b"echoed" in first[0]
    assert c(c.net.GetPorts, pb.Empty()) == ports1


# ------------------------------------------------------------------ determinism
def _scripted_run(tmp: Path, tag: str) -> tuple[bytes, bytes, bytes]:
    srv = RpcServer(Runtime(ANYWHERE), "127.0.0.1", 0).start()
    c = Conn(srv.port)
    try:
        _load(c, _need(PAIR))
        cap = tmp / f"{tag}.pcapng"
        c(c.net.StartCapture, pb.CaptureRequest(path=str(cap)))
        c(c.uart.WaitFor, pb.UartWaitRequest(board="client", pattern="peer up", timeout_ns=20 * 10**9))
        c(c.net.SetLink, pb.LinkRequest(port="client.eth0", loss=0.1))
        c(c.emu.RunFor, pb.RunForRequest(duration="20ms"))
        c(c.net.SetLink, pb.LinkRequest(port="client.eth0", up=False))
        c(c.emu.RunFor, pb.RunForRequest(duration="200ms"))
        c(c.net.SetLink, pb.LinkRequest(port="client.eth0", up=True))
        r = c(c.uart.WaitFor, pb.UartWaitRequest(board="client", pattern="rawping: done",
                                                 timeout_ns=30 * 10**9))
        assert r.matched
        c(c.emu.RunFor, pb.RunForRequest(duration="1s"))
        c(c.net.StopCapture, pb.Empty())
        return _text(c, board="client"), _text(c, board="server"), cap.read_bytes()
    finally:
        c.close()
        srv.stop()


def test_determinism_two_runs_same_script(tmp_path: Path) -> None:
    a = _scripted_run(tmp_path, "a")
    b = _scripted_run(tmp_path, "b")
    assert b"link down" in a[0] and b"lost" in a[0]
    assert a == b


# ------------------------------------------------------------------ the commands
def test_serve_and_ctl_commands(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VBOARD_TOKEN", None)
    pf = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, "-m", "vboard.serve", "--port-file", str(pf), "--paused",
                             _need(FW / "uart_echo.elf")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not pf.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)

        def ctl(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "vboard.ctl", "--port-file", str(pf), *args],
                                  env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

        assert "state: paused" in ctl("status").stdout
        assert "state: paused" in ctl("run-for", "10ms").stdout
        assert ctl("write", "--line", "hi").returncode == 0
        ctl("run-for", "10ms")
        assert "echo> HI" in ctl("uart").stdout
        assert "eth0: link down" in ctl("link", "down").stdout
        assert "saved" in ctl("snapshot", "save", "a").stdout
        assert "loaded" in ctl("snapshot", "load", "a").stdout
        r = ctl("snapshot", "load", "nope")
        assert r.returncode == 1 and "NOT_FOUND" in r.stderr
        assert '"state": "paused"' in ctl("--json", "status").stdout
    finally:
        proc.terminate()
        proc.wait(10)
