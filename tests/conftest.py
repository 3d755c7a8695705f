"""Shared fixtures: the repository root on sys.path, the firmware built once, board runners.

Missing tools (arm-none-eabi-gcc, qemu-system-arm) make the tests that need
them FAIL with a message saying what to install; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build"
GOLDEN = FIRMWARE / "golden"
PLATFORM = "mps2-an385"
UART_ECHO_PROMPT = b"echo> "


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: install {package}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def firmware() -> Path:
    """``make -C firmware`` once per session; the build directory."""
    require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi (arm-none-eabi-gcc 12 with newlib-nano)")
    require_tool("make", "make")
    proc = subprocess.run(["make", "-C", str(FIRMWARE), "-j2"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"make -C firmware failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}", pytrace=False)
    return BUILD


@pytest.fixture(scope="session", autouse=True)
def spec_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's ``vboard run`` processes keep validated platforms here (vboard/spec_cache.py),
    not in the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("vboard-cache")
    os.environ["VBOARD_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def qemu() -> str:
    return require_tool("qemu-system-arm", "qemu-system-arm 7.2 (Debian: apt-get install qemu-system-arm)")


@dataclass
class BoardRun:
    """The result of running one program on vboard."""

    machine: object
    stop: object
    transcript: bytes


def board_input(name: str) -> bytes:
    path = GOLDEN / f"{name}.input"
    return path.read_bytes() if path.exists() else b""


def run_on_vboard(elf: Path, seconds: float = 10.0, uart_input: bytes = b"",
                  prompt: bytes = UART_ECHO_PROMPT) -> BoardRun:
    """Run ``elf`` on a fresh MPS2-AN385 for at most ``seconds`` of virtual time.

    ``uart_input`` is typed on UART0 once the transcript shows ``prompt``
    (the firmware has enabled its RX interrupt by then), as a user would.
    """
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform

    m = Machine(load_platform(PLATFORM))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    budget = m.clock.cycles(seconds)
    if uart_input:
        stop = m.run(budget, until=lambda: prompt in out)
        assert stop.kind == "condition", f"{elf.name}: never printed {prompt!r}: {stop}, {bytes(out)!r}"
        m.post(lambda: m.port("uart0").deliver(uart_input))
        budget -= m.clock.now
    stop = m.run(budget)
    return BoardRun(m, stop, bytes(out))


def run_on_qemu_after_prompt(elf: Path, uart_input: bytes, prompt: bytes = UART_ECHO_PROMPT,
                             timeout: float = 10.0) -> tuple[bytes, int | None]:
    """Like ``bridge.qemu_ref.run_on_qemu``, but UART0 input is sent once ``prompt`` was printed.

    ``uart_echo`` enables RX in its UART init and RX interrupts only later in
    main; a byte that lands in between never raises the interrupt and the
    program waits forever (on hardware too). ``run_on_qemu`` sends its input
    at once, which loses that race on most runs. Returns (transcript, exit
    code or None on timeout).
    """
    import socket
    import tempfile
    import time

    from bridge.qemu_ref import qemu_command

    with tempfile.TemporaryDirectory(prefix="vboard-qemu-") as tmp:
        sock_path = Path(tmp) / "uart0.sock"
        proc = subprocess.Popen(qemu_command(elf.resolve(), sock_path), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        out = bytearray()
        try:
            sock = None
            while sock is None and time.monotonic() < deadline and proc.poll() is None:
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(str(sock_path))
                    sock = s
                except OSError:
                    s.close()
                    time.sleep(0.005)
            assert sock is not None, "QEMU did not open its UART0 socket"
            sent = False
            with sock:
                while time.monotonic() < deadline:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    try:
                        chunk = sock.recv(65536)
                    except TimeoutError:
                        break
                    if not chunk:
                        break
                    out += chunk
                    if not sent and prompt in out:
                        sock.sendall(uart_input)
                        sent = True
            try:
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return bytes(out), code


@pytest.fixture(scope="session")
def vboard(firmware: Path):
    """``run_on_vboard`` (test modules cannot import this conftest by name: there are several)."""
    return run_on_vboard


@pytest.fixture(scope="session")
def qemu_after_prompt(qemu: str):
    return run_on_qemu_after_prompt
