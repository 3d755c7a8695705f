"""Shared fixtures: the repository root on sys.path, the firmware built once, board runners.

Missing tools (arm-none-eabi-gcc, qemu-system-arm) make the tests that need
them FAIL with a message saying what to install; nothing is skipped.
"""

from __future__ import annotations

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
    from emulator.loader import load_image
    from emulator.machine import Machine
    from emulator.platform import load_platform

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
