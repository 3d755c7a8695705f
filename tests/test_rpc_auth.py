"""The control plane as an attacker sees it: tokens on every method, bounded names, idle streams.

A default ``vboard serve`` needs its token on every call of every service
(found by reflection, so a service added later is covered); an unprivileged
local user reaches nothing (plain HTTP/2 nor gRPC); a client names files only
below the server's root and device models only from installed packages; no
error quotes a file it was pointed at; 200 idle subscribers cost no worker.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bridge.proto import vboard_pb2 as pb
from bridge.proto import vboard_pb2_grpc as rpc
from bridge.rpc_runtime import Runtime
from bridge.rpc_server import RpcServer
from emulator.board.platform import LoadPolicy
from vboard.client import Client, ClientError
from vboard.portfile import read_port_file

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware" / "build"
TOKEN = "test-token-0123456789abcdef"
T = 30


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def _methods(channel: grpc.Channel, token: str) -> list[tuple[str, bool, bool]]:
    """(path, client streaming, server streaming) of every method the server lists by reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    def ask(**kw: str) -> list[reflection_pb2.ServerReflectionResponse]:
        return list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(**kw)]),
                                              timeout=T, metadata=_bearer(token)))

    services = [s.name for r in ask(list_services="") for s in r.list_services_response.service]
    out = []
    for service in services:
        for reply in ask(file_containing_symbol=service):
            for raw in reply.file_descriptor_response.file_descriptor_proto:
                fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
                for sd in fd.service:
                    if f"{fd.package}.{sd.name}" != service:
                        continue
                    for m in sd.method:
                        out.append((f"/{service}/{m.name}", m.client_streaming, m.server_streaming))
    return sorted(set(out))


def _call_raw(channel: grpc.Channel, path: str, client_streaming: bool, server_streaming: bool,
              metadata: list[tuple[str, str]] | None) -> grpc.StatusCode:
    kind = {(False, False): channel.unary_unary, (False, True): channel.unary_stream,
            (True, False): channel.stream_unary, (True, True): channel.stream_stream}
    call = kind[(client_streaming, server_streaming)](path, request_serializer=None,
                                                      response_deserializer=None)
    request = iter([b""]) if client_streaming else b""
    try:
        result = call(request, timeout=T, metadata=metadata)
        if server_streaming:
            for _ in result:
                pass
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def test_every_method_of_every_service_needs_the_token() -> None:
    srv = RpcServer(Runtime(), "127.0.0.1", 0, token=TOKEN).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
    try:
        methods = _methods(channel, TOKEN)
        services = {p.split("/")[1] for p, _, _ in methods}
        assert {f"vboard.v1.{s}" for s in ("Emulation", "Uart", "Network", "Wifi", "Memory", "Events")} \
            | {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
        ours = {f"/vboard.v1.{s.name}/{m.name}" for s in pb.DESCRIPTOR.services_by_name.values()
                for m in s.methods}
        assert ours <= {p for p, _, _ in methods}
        print(f"{len(methods)} methods of {len(services)} services, each without and with wrong tokens")
        for path, cs, ss in methods:
            for md in (None, _bearer("wrong-token-0123456789"), [("authorization", TOKEN)],
                       _bearer(TOKEN + "x"), _bearer(TOKEN[:-1])):
                assert _call_raw(channel, path, cs, ss, md) == grpc.StatusCode.UNAUTHENTICATED, (path, md)
        # With the token a call gets through the check to its handler.
        assert _call_raw(channel, "/vboard.v1.Emulation/GetState", False, False, _bearer(TOKEN)) == \
            grpc.StatusCode.OK
    finally:
        channel.close()
        srv.stop()


# ------------------------------------------------------------------ names a client may use
@pytest.fixture
def rooted(tmp_path: Path):  # noqa: ANN201
    """A server whose root is ``tmp_path/root`` with hello.elf in it, and a client."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(FW / "hello.elf", root / "hello.elf")
    srv = RpcServer(Runtime(LoadPolicy(root, allow_model_files=False)), "127.0.0.1", 0, token=TOKEN).start()
    client = Client(f"127.0.0.1:{srv.port}", token=TOKEN, timeout=T)
    yield root, client
    client.close()
    srv.stop()


def _refused(fn, code: str) -> str:  # noqa: ANN001
    with pytest.raises(ClientError) as ei:
        fn()
    assert ei.value.code == code, ei.value
    return ei.value.message


def test_files_only_below_the_root(rooted, tmp_path: Path) -> None:  # noqa: ANN001
    root, c = rooted
    outside = tmp_path / "outside.elf"
    shutil.copy(FW / "hello.elf", outside)
    assert c.load("hello.elf").loaded.endswith("hello.elf")  # relative to the root
    for name in (str(outside), "../outside.elf", str(FW / "hello.elf")):
        assert "outside the server's root" in _refused(lambda n=name: c.load(n), "PERMISSION_DENIED")
    (root / "link.elf").symlink_to(outside)
    _refused(lambda: c.load("link.elf"), "PERMISSION_DENIED")
    _refused(lambda: c.load("hello.elf", platform=str(ROOT / "platforms" / "mps2-an385.yaml")),
             "PERMISSION_DENIED")
    assert c.load("hello.elf", platform="mps2-an385").boards  # a shipped board by name is fine
    _refused(lambda: c.start_capture(str(tmp_path / "x.pcapng")), "PERMISSION_DENIED")
    _refused(lambda: c.save_snapshot("a", str(tmp_path / "a.snap")), "PERMISSION_DENIED")
    assert not (tmp_path / "x.pcapng").exists() and not (tmp_path / "a.snap").exists()


def test_etc_shadow_as_platform_leaks_nothing(rooted) -> None:  # noqa: ANN001
    root, c = rooted
    secret = "root:$6$s3cr3tSALT$notarealhashbutsecret:19000:0:99999:7:::"
    (root / "shadow").write_text(secret + "\n")
    (root / "shadow.yaml").write_text(secret + "\n")
    messages = []
    for platform in ("/etc/shadow", "../../../../etc/shadow", "shadow", "shadow.yaml", str(root / "shadow")):
        with pytest.raises(ClientError) as ei:
            c.load("hello.elf", platform=platform)
        messages.append(ei.value.message)
    shadow = Path("/etc/shadow").read_text().splitlines() if os.access("/etc/shadow", os.R_OK) else []
    hashes = [line.split(":")[1] for line in shadow if line.count(":") > 2]
    fragments = {secret, "s3cr3tSALT", "notarealhash", *(line for line in shadow if line.strip()),
                 *(h for h in hashes if len(h) > 2)}
    for m in messages:
        assert "\n" not in m
        for f in fragments:
            assert f not in m, (m, f)


def test_model_files_are_refused_without_allow_model_files(rooted, tmp_path: Path) -> None:  # noqa: ANN001
    root, c = rooted
    marker = tmp_path / "ran"
    (root / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\nclass X:\n    pass\n")
    base = (ROOT / "platforms" / "mps2-an385.yaml").read_text()
    for model in ("./evil.py:X", str(root / "evil.py") + ":X", "evil:X"):
        text = base.replace('"peripherals.cmsdk_uart:CmsdkApbUart"', f"'{model}'", 1)
        assert text != base
        (root / "evil.yaml").write_text(text)
        message = _refused(lambda: c.load("hello.elf", platform="evil.yaml"), "INVALID_ARGUMENT")
        assert "installed package" in message and "--allow-model-files" in message
    assert not marker.exists()


# ------------------------------------------------------------------ idle streams
def test_200_idle_subscribers_do_not_delay_get_state() -> None:
    srv = RpcServer(Runtime(), "127.0.0.1", 0, token=TOKEN).start()
    channels = [grpc.insecure_channel(f"127.0.0.1:{srv.port}") for _ in range(4)]
    streams = []
    try:
        emu = rpc.EmulationStub(channels[0])
        emu.Load(pb.LoadRequest(firmware=str((FW / "hello.elf").relative_to(ROOT))), timeout=T,
                 metadata=_bearer(TOKEN))
        for i in range(200):
            s = rpc.EventsStub(channels[i % 4]).Subscribe(pb.EventsRequest(history=True), timeout=120,
                                                          metadata=_bearer(TOKEN))
            assert next(s).kind == "loaded"  # the stream is open and now idle
            streams.append(s)
        worst = 0.0
        for _ in range(5):
            t0 = time.monotonic()
            assert emu.GetState(pb.Empty(), timeout=5, metadata=_bearer(TOKEN)).loaded
            worst = max(worst, time.monotonic() - t0)
        print(f"200 idle subscribers: GetState took at most {worst * 1000:.0f} ms")
        assert worst < 1.0
        # They are alive: a new event reaches one of them.
        emu.RunFor(pb.RunForRequest(duration="10ms"), timeout=T, metadata=_bearer(TOKEN))
        assert next(streams[-1]).kind in ("exit", "uart", "stopped", "log")
    finally:
        for s in streams:
            s.cancel()
        for ch in channels:
            ch.close()
        srv.stop()


# ------------------------------------------------------------------ a real server, another user
def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    pf = tmp_path / "run" / "serve.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VBOARD_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "vboard.serve", "--port-file", str(pf), *extra], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not pf.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "vboard serve did not write its port file in 30 s"
        time.sleep(0.05)
    return proc, pf


def _as_nobody(*argv: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    assert os.geteuid() == 0, "this test runs the attacker as 'nobody': run the suite as root"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": "/nonexistent"}
    r = subprocess.run(["runuser", "-u", "nobody", "--", *argv], env=env, capture_output=True, input=stdin,
                       timeout=timeout, cwd="/")
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(errors="replace"),
                                       r.stderr.decode(errors="replace"))


def test_nobody_reaches_nothing_on_a_default_server(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # nobody may see the folder, not the port file in it
    proc, pf = _serve(tmp_path)
    try:
        mode = stat.S_IMODE(pf.stat().st_mode)
        assert mode == 0o600, oct(mode)
        assert stat.S_IMODE(pf.parent.stat().st_mode) == 0o700
        info = read_port_file(pf)
        assert info.token and len(info.token) >= 32 and info.pid == proc.pid
        port = info.address.rsplit(":", 1)[1]
        # The port file is not readable to nobody.
        r = _as_nobody("cat", str(pf))
        assert r.returncode != 0 and info.token not in r.stdout
        # Plain HTTP/2 (what curl sends) gets UNAUTHENTICATED (grpc-status 16), no state.
        # As nobody, with curl (the venv lives under root's 0700 home): real gRPC requests over plain
        # HTTP/2, GetState and a Load of /etc/passwd, without a token and with guessed ones.
        load = pb.LoadRequest(firmware="/etc/passwd", platform="/etc/shadow").SerializeToString()
        for method, body in (("Emulation/GetState", b""), ("Emulation/Load", load)):
            for header in ([], ["-H", "authorization: Bearer guess"], ["-H", "authorization: Bearer "],
                           ["-H", f"authorization: Bearer {info.token[:-1]}"]):
                r = _as_nobody("curl", "-sS", "--http2-prior-knowledge", "-i", "-X", "POST",
                               "-H", "content-type: application/grpc", "-H", "te: trailers", *header,
                               "--data-binary", "@-", "--max-time", "20",
                               f"http://127.0.0.1:{port}/vboard.v1.{method}",
                               stdin=b"\0" + len(body).to_bytes(4, "big") + body)  # one gRPC message
                assert "grpc-status: 16" in r.stdout, (method, header, r.stdout + r.stderr)
                assert "unloaded" not in r.stdout and "passwd" not in r.stdout
        r = _as_nobody("curl", "-sS", "--http2-prior-knowledge", "--max-time", "20",
                       f"http://127.0.0.1:{port}/")
        assert "unloaded" not in r.stdout
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("VBOARD_TOKEN", None)
        env.pop("VBOARD_ADDRESS", None)
        r = subprocess.run([sys.executable, "-m", "vboard.ctl", "--address", info.address, "status"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "UNAUTHENTICATED" in r.stderr
        # The server's own user gets through with what the port file holds.
        r = subprocess.run([sys.executable, "-m", "vboard.ctl", "--port-file", str(pf), "status"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "state: unloaded" in r.stdout, r.stderr
    finally:
        proc.terminate()
        proc.wait(20)
    assert not pf.exists()  # removed on the way out


def test_no_auth_says_so_loudly(tmp_path: Path) -> None:
    proc, pf = _serve(tmp_path, "--no-auth", "-q")
    try:
        assert json.loads(pf.read_text())["token"] is None
        c = Client(port_file=pf, timeout=T)
        assert c.state().state == "unloaded"
        c.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "WARNING: --no-auth: ANY local user" in err


def test_a_crafted_snapshot_file_runs_no_code(rooted, tmp_path: Path) -> None:  # noqa: ANN001
    import pickle
    import zlib

    from bridge.rpc_snapshot import FORMAT

    root, c = rooted
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {marker}",))

    (root / "evil.snap").write_bytes(FORMAT.encode() + b"\n" + zlib.compress(pickle.dumps(Evil())))
    c.load("hello.elf")
    message = _refused(lambda: c.load_snapshot("x", "evil.snap"), "INVALID_ARGUMENT")
    assert "not a vboard snapshot file" in message
    assert not marker.exists()
    c.save_snapshot("good", "good.snap")  # a real one still loads
    assert c.load_snapshot("again", "good.snap").name == "good"


def test_long_values_are_cut_in_errors(rooted) -> None:  # noqa: ANN001
    _, c = rooted
    c.load("hello.elf")
    huge = "x" * 2_000_000
    for call in (lambda: c.load(huge), lambda: c.load("hello.elf", platform=huge),
                 lambda: c.load("hello.elf", platform=huge + ".yaml"), lambda: c.save_snapshot(huge),
                 lambda: c.symbol(huge), lambda: c.start_capture(huge), lambda: c.load_snapshot("a", huge),
                 lambda: c.uart_read(board=huge), lambda: c.set_link(huge, up=False),
                 lambda: c.call(c.emulation.RunFor, pb.RunForRequest(duration=huge))):
        with pytest.raises(ClientError) as ei:
            call()
        assert len(ei.value.message) < 400 and "x" * 81 not in ei.value.message, ei.value.message[:200]


def test_snapshots_are_bounded_in_count_and_bytes(rooted, monkeypatch) -> None:  # noqa: ANN001
    import bridge.rpc_runtime as rt

    _, c = rooted
    c.load("hello.elf")
    monkeypatch.setattr(rt, "MAX_SNAPSHOTS", 2)
    c.save_snapshot("a")
    c.save_snapshot("b")
    message = _refused(lambda: c.save_snapshot("c"), "RESOURCE_EXHAUSTED")
    assert "2 snapshots kept already" in message and "replace" in message
    c.save_snapshot("a")  # the same name replaces it
    monkeypatch.setattr(rt, "MAX_SNAPSHOT_BYTES", 1024)
    assert "at most 0 MiB" in _refused(lambda: c.save_snapshot("b"), "RESOURCE_EXHAUSTED")
    assert [s.name for s in c.snapshots().snapshots] == ["a", "b"]


def test_default_port_file_lives_in_the_users_runtime_folder(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from vboard.portfile import ServerInfo, default_port_file, discover, write_port_file

    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("VBOARD_ADDRESS", raising=False)
    monkeypatch.delenv("VBOARD_TOKEN", raising=False)
    assert default_port_file() == runtime / "vboard" / "serve.json"
    write_port_file(default_port_file(), ServerInfo("127.0.0.1:1234", TOKEN, 42))
    assert stat.S_IMODE(default_port_file().stat().st_mode) == 0o600
    assert stat.S_IMODE(default_port_file().parent.stat().st_mode) == 0o700
    assert discover() == ServerInfo("127.0.0.1:1234", TOKEN, 42)
    monkeypatch.setenv("VBOARD_ADDRESS", "127.0.0.1:999")
    monkeypatch.setenv("VBOARD_TOKEN", "from-the-environment")
    assert discover() == ServerInfo("127.0.0.1:999", "from-the-environment")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_port_file() == tmp_path / ".local" / "share" / "vboard" / "serve.json"
