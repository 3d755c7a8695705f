"""Acceptance: bad input through the CLI is one ``vboard: error:`` line on stderr and exit status 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "platforms" / "mps2-an385.yaml"


def vboard(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "vboard.cli", "run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_bad_input(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vboard: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert proc.stdout == ""
    return lines[0]


def test_corrupt_elf(firmware, tmp_path):
    bad = tmp_path / "corrupt.elf"
    bad.write_bytes((firmware / "hello.elf").read_bytes()[:300])
    assert_bad_input(vboard(str(bad)), str(bad))


def test_random_bytes_with_elf_magic(tmp_path):
    bad = tmp_path / "noise.elf"
    bad.write_bytes(b"\x7fELF" + bytes(range(256)) * 8)
    assert_bad_input(vboard(str(bad)), str(bad))


def test_non_arm_elf(tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("no host gcc to build an x86 object (apt-get install gcc)", pytrace=False)
    (tmp_path / "x.c").write_text("int f(void) { return 1; }\n")
    obj = tmp_path / "host.elf"
    subprocess.run([gcc, "-c", "-o", str(obj), str(tmp_path / "x.c")], check=True)
    assert_bad_input(vboard(str(obj)), str(obj), "not ARM")


def test_missing_firmware(tmp_path):
    assert_bad_input(vboard(str(tmp_path / "absent.elf")), "absent.elf", "no such file")


def test_binary_outside_memory(firmware):
    assert_bad_input(vboard(str(firmware / "hello.bin"), "--base", "0x60000000"), "hello.bin",
                     "0x60000000", "outside the memory")


def test_elf_outside_memory(firmware, tmp_path):
    src = tmp_path / "far.s"
    src.write_text(".syntax unified\n.thumb\n.text\n.word 0x20001000\n.word 9\nb .\n")
    obj = tmp_path / "far.o"
    subprocess.run(["arm-none-eabi-as", "-mthumb", "-mcpu=cortex-m3", "-o", str(obj), str(src)], check=True)
    elf = tmp_path / "far.elf"
    subprocess.run(["arm-none-eabi-ld", "-Ttext=0x60000000", "-e", "0x60000000", "-o", str(elf),
                    str(tmp_path / "far.o")], check=True)
    assert_bad_input(vboard(str(elf)), str(elf), "outside the memory")


def platform_file(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_platform_with_a_wrong_key(firmware, tmp_path):
    path = platform_file(tmp_path, lambda d: d["devices"][4].update(bsae=0x40004000))
    assert_bad_input(vboard(str(firmware / "hello.elf"), "--platform", str(path)), str(path),
                     "devices[4].bsae", "unknown key")


def test_platform_with_a_missing_field(firmware, tmp_path):
    path = platform_file(tmp_path, lambda d: d["cpu"].pop("clock_hz"))
    assert_bad_input(vboard(str(firmware / "hello.elf"), "--platform", str(path)), str(path), "cpu",
                     "missing required key 'clock_hz'")


def test_platform_with_a_bad_model(firmware, tmp_path):
    path = platform_file(tmp_path, lambda d: d["devices"][0].update(model="peripherals.nope:Timer"))
    assert_bad_input(vboard(str(firmware / "hello.elf"), "--platform", str(path)), str(path), "timer0",
                     "cannot import")


def test_unknown_platform_name(firmware):
    assert_bad_input(vboard(str(firmware / "hello.elf"), "--platform", "no-such-board"), "no-such-board")


@pytest.mark.parametrize("args, words", [
    (["--max-time", "soon"], ["'soon'", "duration"]),
    (["--max-time", "0s"], ["positive"]),
    (["--uart0", "carrier-pigeon"], ["uart0", "carrier-pigeon"]),
    (["--uart0", "tcp:99999"], ["port out of range"]),
    (["--uart0", "file:/nonexistent-dir/out.txt"], ["cannot write"]),
    (["--base", "zero"], ["--base", "zero"]),
    (["--forward", "tcp:8080:80"], ["--forward needs --net user", "--net none"]),
])
def test_bad_options(firmware, args, words):
    assert_bad_input(vboard(str(firmware / "hello.elf"), *args), *words)
