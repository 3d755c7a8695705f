"""Acceptance: ``vboard run`` end to end (exit codes, fault report, UART endpoints)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "firmware" / "golden"
WAIT = 20.0  # seconds: bound on every wait for the subprocess


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vboard.cli", "run", *args]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def vboard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=ROOT, env=ENV, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_hello_exits_0_with_the_golden_transcript(firmware):
    proc = vboard(str(firmware / "hello.elf"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / "hello.txt").read_bytes()
    assert b"Traceback" not in proc.stderr


def test_firmware_exit_code_is_passed_through(firmware, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "emulator"))
    from asm import ToolMissing, program  # tests/emulator/asm.py


    try:
        prog = program("""
reset:
    ldr r1, =block
    movs r0, #0x20              @ SYS_EXIT_EXTENDED
    bkpt 0xab
    .align 2
block:
    .word 0x20026, 7
""")
    except ToolMissing as e:
        pytest.fail(str(e), pytrace=False)
    img = tmp_path / "exit7.bin"
    img.write_bytes(prog.data)
    proc = vboard(str(img))
    assert proc.returncode == 7, proc.stderr


def test_crash_reports_the_hardfault(firmware):
    proc = vboard(str(firmware / "crash.elf"), "--max-time", "5s")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert "HardFault" in err
    assert re.search(r"CFSR\s*=\s*0x00000100\s+IBUSERR", err), err
    assert re.search(r"HFSR\s*=\s*0x40000000\s+FORCED", err), err
    assert re.search(r"PC\s*=\s*0x60000000", err), err
    assert re.search(r"LR\s*=\s*0x[0-9A-F]{8} <main\+0x[0-9a-f]+>", err), err
    assert proc.stdout == (GOLDEN / "crash.txt").read_bytes()


def test_crash_udf_reports_undefinstr(firmware):
    proc = vboard(str(firmware / "crash_udf.elf"), "--max-time", "5s")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert "UNDEFINSTR" in err and "FORCED" in err and "HardFault" in err


def test_max_time_gives_124(firmware):
    proc = vboard(str(firmware / "timers.elf"), "--max-time", "1ms")
    assert proc.returncode == 124, proc.stderr
    golden = (GOLDEN / "timers.txt").read_bytes()
    assert golden.startswith(proc.stdout) and len(proc.stdout) < len(golden), "stopped part way"


def test_cmdline_is_checked(firmware):
    assert vboard(str(firmware / "hello.elf"), "--cmdline", "hello extra words").returncode == 0
    bad = vboard(str(firmware / "hello.elf"), "--cmdline", "a\tb")
    assert bad.returncode == 2 and b"--cmdline" in bad.stderr and b"printable ASCII" in bad.stderr, bad.stderr
    sim = vboard(str(ROOT / "platforms" / "simulations" / "rawping-pair.yaml"), "--cmdline", "x")
    assert sim.returncode == 2 and b"--cmdline is for one board" in sim.stderr, sim.stderr


def test_uart0_to_file(firmware, tmp_path):
    out = tmp_path / "uart0.txt"
    proc = vboard(str(firmware / "hello.elf"), f"--uart0=file:{out}")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (GOLDEN / "hello.txt").read_bytes()
    assert proc.stdout == b""


class Running:
    """A ``vboard run`` subprocess whose stderr lines are read with a deadline."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(command(*args), cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = b""

    def stderr_match(self, pattern: bytes) -> re.Match:
        deadline = time.monotonic() + WAIT
        fd = self.proc.stderr.fileno()
        while time.monotonic() < deadline:
            m = re.search(pattern, self.err)
            if m:
                return m
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self.err += chunk
        pytest.fail(f"no {pattern!r} on stderr: {self.err!r}")

    def main_thread_blocked(self, timeout: float = WAIT) -> bool:
        """Wait until the emulation thread blocks (the CPU sleeps, waiting for host input)."""
        stat = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/stat")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] == "S":
                return True
            time.sleep(0.005)
        return False

    def finish(self) -> tuple[int, bytes, bytes]:
        try:
            out, err = self.proc.communicate(timeout=WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, out, self.err + err


def _read_pty(fd: int, deadline: float, size: int = 4096, until: bytes | None = None) -> bytes:
    """What a terminal gives, ``size`` bytes a read, until it ends (EIO: the emulator closed its
    side), the deadline passes or ``until`` is in it (line ends as in the goldens)."""
    got = b""
    while (until is None or until not in got.replace(b"\r\n", b"\n")) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(fd, size)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    return got


def _pty_unread(fd: int) -> int:
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)


def test_pty_output_read_after_the_board_exited_is_not_lost(firmware):
    """Closing a PTY's master hangs the terminal up and the kernel drops what is unread: vboard
    waits while a reader takes the output, here one that starts once all of it is queued and
    vboard would have exited."""
    golden = (GOLDEN / "hello.txt").read_bytes()
    run = Running(str(firmware / "hello.elf"), "--uart0", "pty")
    try:
        path = run.stderr_match(rb"uart0 on (/dev/pts/\d+)").group(1).decode()
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        got = b""
        try:
            deadline = time.monotonic() + WAIT
            while _pty_unread(fd) < len(golden) and time.monotonic() < deadline:
                time.sleep(0.001)  # polls the terminal's queue until the board wrote all of it
            try:  # then a reader late by more than vboard takes to exit: it does not, while unread
                run.proc.wait(timeout=0.3)
            except subprocess.TimeoutExpired:
                pass
            got = _read_pty(fd, deadline, size=16)
        finally:
            os.close(fd)
    finally:
        code, out, err = run.finish()
    assert code == 0, err
    assert got.replace(b"\r\n", b"\n") == golden
    assert b"never read" not in err


def test_pty_output_nobody_reads_is_reported(firmware):
    proc = vboard(str(firmware / "hello.elf"), "--uart0", "pty")
    assert proc.returncode == 0, proc.stderr
    n = len((GOLDEN / "hello.txt").read_bytes())
    m = re.search(rb"vboard: warning: --uart0 pty /dev/pts/\d+: the last (\d+) bytes of output were "
                  rb"never read", proc.stderr)
    assert m is not None and int(m.group(1)) >= n, proc.stderr


def test_uart0_on_a_pty_while_demo_runs_in_realtime(firmware):
    run = Running(str(firmware / "demo.elf"), "--uart0", "pty", "--pace", "realtime")
    try:
        path = run.stderr_match(rb"uart0 on (/dev/pts/\d+)").group(1).decode()
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        try:
            got = _read_pty(fd, time.monotonic() + WAIT, until=b"demo: done\n")
        finally:
            os.close(fd)
    finally:
        code, out, err = run.finish()
    assert code == 0, err
    assert got.replace(b"\r\n", b"\n") == (GOLDEN / "demo.txt").read_bytes()
    assert out == b""


def test_uart0_on_tcp_drives_uart_echo(firmware):
    # Realtime pacing: the emulation thread blocks once the firmware sleeps at its prompt
    # (it enables RX interrupts just before; a byte landing earlier is never seen, on
    # hardware too), which is how the test knows when to type.
    run = Running(str(firmware / "uart_echo.elf"), "--uart0", "tcp:0", "--pace", "realtime")
    try:
        port = int(run.stderr_match(rb"uart0 on tcp 127\.0\.0\.1:(\d+)").group(1))
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            assert run.main_thread_blocked(), "vboard never went idle"
            sock.sendall(b"hi\nq")
            got = b""
            deadline = time.monotonic() + WAIT
            while b"uart_echo: done" not in got and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    break
                if not chunk:
                    break
                got += chunk
    finally:
        code, out, err = run.finish()
    assert code == 0, err
    assert b"HI\necho> " in got, got
    assert b"uart_echo: 3 bytes echoed, overflows 0" in got, got


def test_idle_firmware_waits_for_tcp_input_without_spinning(firmware):
    run = Running(str(firmware / "uart_echo.elf"), "--uart0", "tcp:0")
    try:
        run.stderr_match(rb"uart0 on tcp")
        blocked = run.main_thread_blocked(timeout=3.0)
    finally:
        run.proc.kill()
        run.finish()
    assert blocked, "the emulation thread kept running while the firmware slept"


def test_a_reader_that_goes_away_is_no_traceback():
    """`vboard demo | head -1`: stdout's reader is gone before the first line; exit 141, nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "vboard.cli", "demo"], stdout=write_end,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr.decode()
    assert proc.stderr == b""


# Modules a run without --net, --trace, --gdb or a socket-offload device has no use for: importing
# them is start-up CPU time (scripts/bench cpu counts the whole process). YAML and pydantic are
# not needed either once the platform file was validated (vboard/spec_cache.py).
NOT_IMPORTED_BY_A_PLAIN_RUN = ("bridge.net.attach", "bridge.net.slirp", "bridge.net.passt", "bridge.net.tap",
                               "bridge.net.pcapng", "bridge.trace", "bridge.gdbserver", "bridge.host_sockets",
                               "grpc", "bridge.rpc_runtime")
NOT_IMPORTED_ONCE_CACHED = ("yaml", "pydantic", "emulator.board.platform_schema", "emulator.board.yamlfile")


def imported_by_a_run(firmware: Path, cache: Path, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a ``vboard run`` of hello.elf imported (with ``cache`` as its platform cache)."""
    probe = ("import json, sys\nfrom vboard.cli import main\n"
             f"code = main(['run', {str(firmware / 'hello.elf')!r}, '-q'])\n"
             "sys.stdout.flush()\n"
             f"print(json.dumps([code, [m for m in {names!r} if m in sys.modules]]))\n")
    env = {**ENV, "VBOARD_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL, text=True)
    assert proc.returncode == 0, proc.stderr
    code, imported = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0, proc.stdout + proc.stderr
    return imported


def test_a_plain_run_imports_no_network_trace_or_rpc_module(firmware, tmp_path):
    assert imported_by_a_run(firmware, tmp_path, NOT_IMPORTED_BY_A_PLAIN_RUN) == []


def test_a_run_with_a_cached_platform_imports_no_yaml_or_pydantic(firmware, tmp_path):
    first = imported_by_a_run(firmware, tmp_path, NOT_IMPORTED_ONCE_CACHED)
    assert first == list(NOT_IMPORTED_ONCE_CACHED), "the first run validates the platform file"
    assert len(list(tmp_path.glob("platform-*.json"))) == 1
    assert imported_by_a_run(firmware, tmp_path, NOT_IMPORTED_ONCE_CACHED) == []


def test_the_collector_is_off_during_start_up_only_and_an_in_process_run_freezes_nothing(firmware):
    import gc

    from vboard import cli

    with cli._start_up_without_collection() as run_begins:
        assert not gc.isenabled()
        run_begins()
        assert gc.isenabled()
    gc.disable()
    try:
        with cli._start_up_without_collection() as run_begins:
            run_begins()
            assert not gc.isenabled(), "a caller's disabled collector stays disabled"
    finally:
        gc.enable()
    frozen = gc.get_freeze_count()
    assert cli.main(["run", str(firmware / "hello.elf"), "--uart0", "none", "-q"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def _stats(stderr: bytes) -> dict[str, float]:
    m = re.search(rb"virtual_s=([0-9.]+) wall_s=([0-9.]+)", stderr)
    assert m, stderr
    return {"virtual": float(m.group(1)), "wall": float(m.group(2))}


@pytest.mark.parametrize("pace", ["", "realtime"])
def test_a_busy_board_on_a_network_runs_ahead_of_the_wall_clock_by_default(firmware, pace):
    """With --net the default pace is idle: cpubench never sleeps, so its 2 s of board time take
    far less than 2 s; --pace realtime holds it to the wall clock."""
    args = ["--pace", pace] if pace else []
    proc = vboard(str(firmware / "cpubench.elf"), "--net", "user", "--max-time", "2s", "--stats", "-q", *args)
    assert proc.returncode == 124, proc.stderr
    s = _stats(proc.stderr)
    assert s["virtual"] == 2.0
    if pace == "realtime":
        assert s["wall"] >= 1.95
    else:
        assert s["wall"] < 1.0
