"""The fuzz stage: random input on every surface a user or a peer reaches; an escape fails.

Surfaces: CLI arguments (``vboard run``), platform and simulation YAML,
RPC requests (every method, raw and well-formed), AT command lines to the
ESP8266, and Ethernet frames into a board running the raw-frame firmware.
An escape is a Python exception other than the surface's own error (a
traceback), a hang (each call is bounded; pytest-timeout bounds each
surface), or over RPC an INTERNAL/UNKNOWN status or a DEADLINE_EXCEEDED
from a unary handler. Counts are bounded and derandomized (the same cases
every run, under 90 s together); each surface prints how many cases ran.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import grpc
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.proto import vboard_pb2 as pb
from bridge.rpc_runtime import Runtime
from bridge.rpc_server import RpcServer
from emulator.board.loader import FirmwareError
from emulator.board.platform import LoadPolicy, PlatformError, load_platform

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware" / "build"
SHIPPED = ROOT / "platforms" / "mps2-an385.yaml"
PAIR = ROOT / "platforms" / "simulations" / "rawping-pair.yaml"
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


def fuzz(cases: int) -> settings:
    return settings(FUZZ, max_examples=cases)


def _report(capsys, surface: str, cases: int) -> None:  # noqa: ANN001
    with capsys.disabled():
        print(f"\nfuzz: {surface}: {cases} cases, no escape")


# ------------------------------------------------------------------ CLI arguments
def _cli_options(tmp: Path) -> dict[str, st.SearchStrategy]:
    text = st.text(max_size=12)
    return {
        "--platform": st.sampled_from(["mps2-an385", "nope", "", "/dev/null", "/dev/zero",
                                       str(tmp / "p.yaml")]) | text,
        "--max-time": st.sampled_from(["1ms", "0", "-1s", "abc", "1e400s", "nan", "10us", ""]) | text,
        "--pace": st.sampled_from(["fast", "realtime", "x"]),
        "--uart0": st.sampled_from(["none", "stdio", "bogus", f"file:{tmp / 'u.txt'}", "tcp:99999", "tcp:-1",
                                    "file:/dev/full", "file:/nonexistent/x"]),
        "--uart1": st.sampled_from(["none", "x", "file:/dev/full"]),
        "--base": st.sampled_from(["0", "0x1000", "-1", "0x100000000", "abc", "0x"]) | text,
        "--cmdline": text,
        "--net": st.sampled_from(["none", "bogus", "x:y", "", "tap:", "socket:", "socket:bogus"]),
        "--forward": st.sampled_from(["tcp:8080:80", "bad", "tcp:99999:1", ""]) | text,
        "--dns-record": st.sampled_from(["a=1.2.3.4", "bad", "=", "a=999.1.1.1", "x" * 300 + "=1.1.1.1"])
        | text,
        "--dns-file": st.sampled_from(["/dev/null", "/dev/zero", "/nonexistent", str(tmp / "hosts")]),
        "--gdb": st.sampled_from(["99999", "-1", "abc", "0", "65536"]),
        "--log-level": st.sampled_from(["debug", "bogus", "error"]),
        "--trace": st.sampled_from([str(tmp / "t.json"), "/dev/full", "/nonexistent/t.json"]),
        "--pcap": st.sampled_from([str(tmp / "p.pcapng"), "/dev/full", "/nonexistent/p"]),
        "--strict": st.none(), "--stats": st.none(), "--trace-exceptions": st.none(), "--bogus": st.none(),
    }


@pytest.mark.timeout(120)
def test_fuzz_cli_arguments(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    from vboard.cli import main

    (tmp_path / "p.yaml").write_text("name: x\ncpu: {model: cortex-m3, clock_hz: 1}\n")
    (tmp_path / "hosts").write_text("10.0.2.2 a b\nbad line here\n")
    (tmp_path / "junk.bin").write_bytes(random.Random(1).randbytes(512))
    options = _cli_options(tmp_path)
    firmwares = st.sampled_from([str(FW / "hello.elf"), "/nonexistent.elf", "/dev/null", str(tmp_path),
                                 str(tmp_path / "junk.bin"), str(tmp_path / "p.yaml"), str(PAIR)])
    pairs = st.lists(st.sampled_from(sorted(options)).flatmap(
        lambda k: st.tuples(st.just(k), options[k])), max_size=4)
    cases = 0

    @fuzz(120)
    @given(firmware=firmwares, chosen=pairs)
    def one(firmware: str, chosen: list[tuple[str, str | None]]) -> None:
        nonlocal cases
        cases += 1
        argv = ["run", firmware]
        for flag, value in chosen:
            argv += [flag] if value is None else [flag, value]
        argv += ["--max-time", "5ms", "--uart0", "none", "-q"]  # bounded whatever came before
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: a usage error (2)
            assert e.code == 2, argv
            return
        assert isinstance(code, int), argv
        err = capsys.readouterr().err
        assert "Traceback" not in err, (argv, err)

    one()
    _report(capsys, "CLI arguments (vboard run)", cases)


# ------------------------------------------------------------------ platform and simulation YAML
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["no", "0x1000", "nmi", ".inf", "cortex-m3"]),
                    st.lists(st.integers(-10, 2**33), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                                   st.integers(), max_size=2))


def _paths(tree: object, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*at, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*at, i))
    return out


def _mutate(tree: object, path: tuple, action: str, value: object) -> object:
    tree = copy.deepcopy(tree)
    if not path:
        return value
    node = tree
    for k in path[:-1]:
        node = node[k]
    if action == "delete" and isinstance(node, dict):
        del node[path[-1]]
    elif action == "add" and isinstance(node, dict):
        node[f"extra_{path[-1]}"] = value
    else:
        node[path[-1]] = value
    return tree


def _yaml_cases(base: object) -> st.SearchStrategy:
    paths = _paths(base)
    edit = st.tuples(st.sampled_from(paths), st.sampled_from(["set", "delete", "add"]), _LEAVES)
    return st.one_of(
        st.lists(edit, min_size=1, max_size=3).map(lambda edits: yaml.safe_dump(_apply(base, edits))),
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.sampled_from(["a: 1\na: 2\n", "[", "{", "&a [*a]", "- - - -", "a: !!python/object:os.system x"]),
    )


def _apply(base: object, edits: list) -> object:
    tree = base
    for path, action, value in edits:
        try:
            tree = _mutate(tree, path, action, value)
        except (KeyError, IndexError, TypeError):
            pass
    return tree


@pytest.mark.timeout(120)
def test_fuzz_platform_and_simulation_yaml(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    from emulator.board.machine import Machine
    from emulator.board.simulation import load_simulation

    platform = yaml.safe_load(SHIPPED.read_text())
    simulation = yaml.safe_load(PAIR.read_text().replace("../../firmware/build/", f"{FW}/"))
    counts = {"platform": 0, "simulation": 0}
    path = tmp_path / "f.yaml"

    @fuzz(200)
    @given(kind=st.sampled_from(["platform", "simulation"]), data=st.data())
    def one(kind: str, data: st.DataObject) -> None:
        counts[kind] += 1
        text = data.draw(_yaml_cases(platform if kind == "platform" else simulation))
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            if kind == "platform":
                Machine(load_platform(path))
            else:
                load_simulation(path)
        except (PlatformError, FirmwareError) as e:
            message = str(e)
            assert "\n" not in message and len(message) < 600, message[:800]

    one()
    _report(capsys, f"platform YAML ({counts['platform']}) and simulation YAML ({counts['simulation']})",
            counts["platform"] + counts["simulation"])


# ------------------------------------------------------------------ RPC requests
_REQUESTS = {
    "RunForRequest": st.builds(pb.RunForRequest, duration_ns=st.integers(0, 50_000_000),
                               duration=st.sampled_from(["", "1ms", "x", "-1s", "1e400", "10us"])),
    "UartWaitRequest": st.builds(pb.UartWaitRequest, pattern=st.text(max_size=10), regex=st.booleans(),
                                 timeout_ns=st.integers(0, 50_000_000), offset=st.integers(0, 2**40),
                                 board=st.sampled_from(["", "board", "x"])),
    "StepRequest": st.builds(pb.StepRequest, count=st.integers(0, 2_000_000)),
    "MemoryReadRequest": st.builds(pb.MemoryReadRequest, address=st.integers(0, 2**64 - 1),
                                   size=st.integers(0, 2**32 - 1)),
    "LoadRequest": st.builds(pb.LoadRequest, firmware=st.sampled_from(["hello.elf", "../x", "/etc/passwd", "",
                                                                       "p.yaml"]),
                             platform=st.sampled_from(["", "mps2-an385", "/etc/shadow", "p.yaml", "x"]),
                             base=st.integers(0, 2**64 - 1), net=st.sampled_from(["", "none", "bogus"]),
                             pace=st.sampled_from(["", "fast", "x"])),
}


@pytest.mark.timeout(120)
def test_fuzz_rpc_requests(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "hello.elf").write_bytes((FW / "hello.elf").read_bytes())
    (tmp_path / "p.yaml").write_text("name: [\n")
    srv = RpcServer(Runtime(LoadPolicy(tmp_path, allow_model_files=False)), "127.0.0.1", 0).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
    stream_ok = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
    escapes = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED,
               grpc.StatusCode.UNAVAILABLE}
    methods = [(s.name, m) for s in pb.DESCRIPTOR.services_by_name.values() for m in s.methods]
    cases = 0
    try:
        channel.unary_unary("/vboard.v1.Emulation/Load", request_serializer=None, response_deserializer=None)(
            pb.LoadRequest(firmware="hello.elf").SerializeToString(), timeout=60)

        @fuzz(400)
        @given(method=st.sampled_from(methods), data=st.data())
        def one(method: tuple, data: st.DataObject) -> None:
            nonlocal cases
            cases += 1
            sname, m = method
            if m.input_type.name in _REQUESTS and data.draw(st.booleans()):
                raw = data.draw(_REQUESTS[m.input_type.name]).SerializeToString()
            else:
                raw = data.draw(st.binary(max_size=64))
            path = f"/vboard.v1.{sname}/{m.name}"
            if m.server_streaming:
                call = channel.unary_stream(path, request_serializer=None, response_deserializer=None)
                it = call(raw, timeout=0.3)
                try:
                    for _ in it:
                        break
                except grpc.RpcError as e:
                    assert e.code() not in escapes - stream_ok, (path, raw, e.code(), e.details())
                it.cancel()
                return
            call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
            try:
                call(raw, timeout=30)
            except grpc.RpcError as e:
                assert e.code() not in escapes, (path, raw, e.code(), e.details())

        one()
    finally:
        channel.close()
        srv.stop()
    _report(capsys, "RPC requests (every method)", cases)


# ------------------------------------------------------------------ AT lines
@pytest.mark.timeout(60)
def test_fuzz_at_lines(capsys) -> None:  # noqa: ANN001
    from emulator.clock import Clock
    from peripherals.esp8266 import Esp8266

    clock = Clock(25_000_000)
    dev = Esp8266("wifi", clock, access_points=[{"ssid": "vboard", "password": "password1", "rssi": -42,
                                                 "channel": 6, "bssid": "02:00:00:00:00:01"}])
    out = bytearray()
    dev.ports["serial"].connect(out.extend)
    commands = ["AT", "AT+CWJAP", "AT+CIPSTART", "AT+CIPSEND", "AT+CIPMUX", "AT+CWLAP", "AT+CIPRECVDATA",
                "AT+CIPDOMAIN", "AT+CIPCLOSE", "AT+RST", "AT+CIPDINFO", "AT+CWMODE", "AT+UART_CUR", "ATE0"]
    line = st.one_of(
        st.tuples(st.sampled_from(commands), st.sampled_from(["", "?", "=?", "="]),
                  st.lists(st.one_of(st.integers(-2**40, 2**40).map(str), st.text(max_size=8).map(
                      lambda t: f'"{t}"'), st.sampled_from(['"TCP"', '"UDP"', '"10.0.2.2"', "0", "1", ""])),
                      max_size=5).map(",".join)).map(lambda t: "".join(t).encode("utf-8", "replace")),
        st.binary(max_size=80))
    cases = 0

    @fuzz(800)
    @given(lines=st.lists(line, min_size=1, max_size=4))
    def one(lines: list[bytes]) -> None:
        nonlocal cases
        for raw in lines:
            cases += 1
            dev.ports["serial"].deliver(raw + b"\r\n")
            clock.run_for(clock.cycles(0.01))
        out.clear()

    one()
    _report(capsys, "AT lines (ESP8266)", cases)


# ------------------------------------------------------------------ Ethernet frames
@pytest.mark.timeout(60)
def test_fuzz_frames_into_a_running_board(capsys) -> None:  # noqa: ANN001
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine

    m = Machine(load_platform("mps2-an385"))
    m.load(load_image(FW / "rawframe.elf"))
    port = m.frame_port("eth0")
    m.run(m.clock.cycles(0.05))
    cases = 0
    frame = st.one_of(
        st.binary(min_size=0, max_size=1600),
        st.tuples(st.sampled_from([b"\xff" * 6, bytes.fromhex("525400123456")]),
                  st.binary(min_size=6, max_size=6),
                  st.sampled_from([b"\x08\x00", b"\x08\x06", b"\x86\xdd", b"\x81\x00", b"\x88\xb5"]),
                  st.binary(max_size=1500)).map(b"".join))

    @fuzz(300)
    @given(frames=st.lists(frame, min_size=1, max_size=5))
    def one(frames: list[bytes]) -> None:
        nonlocal cases
        for f in frames:
            cases += 1
            port.deliver(f)
        stop = m.run(m.clock.cycles(0.002))
        assert stop.kind in ("time", "idle"), stop  # the firmware neither faults nor stops on bad frames

    one()
    _report(capsys, "Ethernet frames (rawframe on LAN9118)", cases)
