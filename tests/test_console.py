"""The board's console UARTs: which UARTs `vboard run` connects to stdio when no --uartN says.

Mbed OS on the AN511 (ARM_CM3DS_MPS2) prints its STDIO on UART1 while our programs and QEMU's
first serial port use UART0; the platform's ``console`` key lists both, so either firmware is
heard without options.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.board.platform import PlatformError, load_platform

ROOT = Path(__file__).resolve().parents[1]

# UART1 at 0x40005000 (DATA +0, CTRL +8: TX enable), then UART0 at 0x40004000, then exit.
PRINT_ON_BOTH = """
reset:
    ldr r4, =0x40005000
    movs r0, #1
    str r0, [r4, #8]
    movs r0, #'1'
    str r0, [r4]
    movs r0, #10
    str r0, [r4]
    ldr r4, =0x40004000
    movs r0, #1
    str r0, [r4, #8]
    movs r0, #'0'
    str r0, [r4]
    movs r0, #10
    str r0, [r4]
    EXIT
"""


@pytest.fixture(scope="module")
def both_uarts(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "tests" / "emulator"))
    from asm import ToolMissing, program  # tests/emulator/asm.py

    try:
        prog = program(PRINT_ON_BOTH)
    except ToolMissing as e:
        pytest.fail(str(e), pytrace=False)
    image = tmp_path_factory.mktemp("console") / "both.bin"
    image.write_bytes(prog.data)
    return image


def _run(image: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vboard.cli", "run", str(image), "-q", "--max-time", "1s",
                           *args], cwd=ROOT, capture_output=True, timeout=60)


def test_console_defaults():
    assert load_platform("mps2-an385").console == ["uart0"]
    assert load_platform("mps2-an511").console == ["uart0", "uart1"]


def test_an511_console_hears_uart1_and_uart0(both_uarts):
    proc = _run(both_uarts, "--platform", "mps2-an511")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"1\n0\n"


def test_an385_console_is_uart0_only(both_uarts):
    proc = _run(both_uarts)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"0\n"


def test_an_option_overrides_the_console(both_uarts, tmp_path):
    out = tmp_path / "uart1.txt"
    proc = _run(both_uarts, "--platform", "mps2-an511", "--uart1", f"file:{out}", "--uart0", "none")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    assert out.read_bytes() == b"1\n"


def test_console_naming_no_device_is_a_platform_error(tmp_path):
    text = (ROOT / "platforms" / "mps2-an385.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("memory:\n", "console: [uart9]\nmemory:\n", 1))
    with pytest.raises(PlatformError) as e:
        load_platform(bad)
    message = str(e.value)
    assert "console" in message and "uart9" in message and str(bad) in message
