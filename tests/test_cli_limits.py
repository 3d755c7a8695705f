"""What used to hang, be silently wrong or lose output: one clear line and a non-zero exit, each.

Time bounds (a slow clock, endless files), write errors (``/dev/full``), and
the "silently wrong" arguments of the hardening issue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware" / "build"
SHIPPED = ROOT / "platforms" / "mps2-an385.yaml"


def vboard(*argv: str, timeout: float = 60) -> tuple[int, str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "vboard.cli", *argv], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr, time.monotonic() - t0


CASES = [
    (["run", str(FW / "hello.elf"), "--dns-file", "/dev/zero"], 2, "DNS records file /dev/zero: larger than"),
    (["run", "/dev/zero"], 2, "/dev/zero: not a regular file"),
    (["run", str(FW / "hello.elf"), "--pcap", "/dev/full"], 2,
     "--pcap: cannot write pcapng file /dev/full: No space left on device"),
    (["run", str(ROOT / "platforms/simulations/rawping-pair.yaml"), "--pcap", "/dev/full",
      "--max-time", "1ms"], 2, "cannot write pcapng file /dev/full: No space left on device"),
    (["run", str(FW / "hello.elf"), "--uart0", "file:/dev/full"], 5,
     "--uart0 file /dev/full: No space left on device (output after it is lost)"),
    (["run", str(FW / "hello.elf"), "--gdb", "99999"], 2, "--gdb 99999: expected a TCP port 1..65535"),
    (["run", str(FW / "hello.elf"), "--base", "0x1000"], 2, "--base is for a raw binary"),
    (["run", str(FW / "hello.elf"), "--forward", "tcp:8080:80"], 2, "--forward needs --net"),
    (["run", str(FW / "hello.elf"), "--wire-rate", "nan"], 2,
     "--wire-rate 'nan': expected Mbit/s from 0 (no wire time) to 100000"),
    (["run", str(ROOT / "platforms/simulations/rawping-pair.yaml"), "--wire-rate", "10"], 2,
     "--wire-rate is for one board"),
    (["wifi-module", "--serial", "socket://127.0.0.1:99999"], 2,
     "--serial 'socket://127.0.0.1:99999': expected socket://HOST:PORT with a port 1..65535"),
]


@pytest.mark.parametrize("argv, code, words", CASES, ids=[" ".join(c[0][2:])[:40] for c in CASES])
def test_one_line_and_an_exit_status(argv: list[str], code: int, words: str) -> None:
    got, err, wall = vboard(*argv, "-q") if argv[0] == "run" else vboard(*argv)
    lines = [x for x in err.splitlines() if x.strip()]
    assert got == code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("vboard: error: ") and words in lines[0], err
    assert wall < 30, f"took {wall:.1f} s"


def test_a_slow_clock_is_refused_and_max_time_holds_at_the_slowest(tmp_path: Path) -> None:
    for hz in (50, 999):
        p = tmp_path / f"slow{hz}.yaml"
        p.write_text(SHIPPED.read_text().replace("clock_hz: 25000000", f"clock_hz: {hz}"))
        code, err, _ = vboard("run", str(FW / "timers.elf"), "--platform", str(p), "--max-time", "2s", "-q")
        assert code == 2 and f"cpu.clock_hz: expected a value >= 1000, got {hz}" in err, err
    p = tmp_path / "slow1000.yaml"
    p.write_text(SHIPPED.read_text().replace("clock_hz: 25000000", "clock_hz: 1000"))
    code, err, wall = vboard("run", str(FW / "timers.elf"), "--platform", str(p), "--max-time", "2s", "-q")
    assert code == 124, err
    assert wall < 5.0 + 3.0, f"--max-time 2s at 1 kHz took {wall:.1f} s of wall time"  # + interpreter start


def test_rpc_capture_to_a_full_disk_is_an_error() -> None:
    from bridge.rpc_runtime import Runtime
    from bridge.rpc_server import RpcServer
    from emulator.board.platform import LoadPolicy
    from vboard.client import Client, ClientError

    srv = RpcServer(Runtime(LoadPolicy(Path("/"), allow_model_files=False)), "127.0.0.1", 0,
                    token="t" * 20).start()
    c = Client(f"127.0.0.1:{srv.port}", token="t" * 20, timeout=60)
    try:
        c.load(str(FW / "rawframe.elf"))
        with pytest.raises(ClientError) as ei:
            c.start_capture("/dev/full")
        assert ei.value.code == "DATA_LOSS" and "No space left on device" in ei.value.message
        with pytest.raises(ClientError) as ei:
            c.save_snapshot("s", "/dev/full")
        assert ei.value.code == "DATA_LOSS" and "No space left on device" in ei.value.message
    finally:
        c.close()
        srv.stop()


def test_help_lists_exit_codes_and_every_ctl_command() -> None:
    import argparse

    from vboard.cli import build_parser as run_parser
    from vboard.ctl import build_parser as ctl_parser

    run_help = next(a for a in run_parser()._actions if isinstance(a, argparse._SubParsersAction)) \
        .choices["run"].format_help()
    for code in ("124", "129, 130, 143", "  2 ", "  3 ", "  4 ", "  5 "):
        assert code in run_help.split("exit status:")[1], run_help
    ctl = ctl_parser()
    text = ctl.format_help()
    assert "$VBOARD_ADDRESS" in text
    sub = next(a for a in ctl._actions if isinstance(a, argparse._SubParsersAction))
    described = {c.dest for c in sub._choices_actions if c.help}
    assert described == set(sub.choices), set(sub.choices) - described
    args = ctl.parse_args(["load", "fw.elf", "--net", "user", "--forward", "tcp:8080:80"])
    assert args.net == "user" and args.forward == ["tcp:8080:80"]
    run = run_parser().parse_args(["run", "fw.elf", "--net", "user", "--forward", "tcp:8080:80"])
    assert (run.net, run.forward) == (args.net, args.forward)
