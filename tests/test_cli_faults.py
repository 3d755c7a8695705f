"""Acceptance: ``vboard run`` shows faults the firmware hides, and ends runs that are stuck.

Issue 10 (seeing faults) and the fault-storm time bound of issue 15, end to end on
firmware built from firmware/tests/ (and a few assembled or corrupted images).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "firmware" / "golden"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
LINE = rb"\[ *\d+\.\d{6}\] "  # a board log line's virtual time stamp


def vboard(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "run", *args], cwd=ROOT, env=ENV,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc, time.monotonic() - started


def test_a_busfault_the_firmware_handles_is_still_seen(firmware):
    proc, _ = vboard(str(firmware / "fault_unserved.elf"))
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert proc.stdout == (GOLDEN / "fault_unserved.txt").read_bytes()
    access = re.search(r"warning cpu: 4-byte write of 0x60000018 at PC 0x[0-9A-F]{8} <pinmux_write>: "
                       r"no memory or device serves this address", err)
    fault = re.search(r"warning cpu: BusFault: precise data bus error .* at PC 0x[0-9A-F]{8} <pinmux_write>; "
                      r"CFSR=0x00008200 PRECISERR BFARVALID, BFAR=0x60000018", err)
    assert access and fault and access.start() < fault.start(), err


def test_quiet_keeps_only_errors(firmware):
    proc, _ = vboard(str(firmware / "fault_unserved.elf"), "-q")
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    proc, _ = vboard(str(firmware / "fault_unserved.elf"), "-q", "--log-level", "warning")
    assert b"BusFault" in proc.stderr


def test_strict_stops_at_the_first_access_nothing_serves(firmware):
    proc, _ = vboard(str(firmware / "fault_unserved.elf"), "--strict")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert proc.stdout == b"fault_unserved: start\n", "stopped before the firmware's handler ran"
    assert re.search(r"error cpu: firmware fault: 4-byte write of 0x60000018 at PC 0x[0-9A-F]{8} "
                     r"<pinmux_write>: no memory or device serves this address \(--strict\)", err), err
    assert re.search(r"PC\s*=\s*0x[0-9A-F]{8} <pinmux_write>", err), err
    assert "BusFault:" not in err


def test_a_cpu_parked_in_its_fault_handler_stops_within_a_second_of_board_time(firmware):
    proc, _ = vboard(str(firmware / "crash_parked.elf"), "--max-time", "10s")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert proc.stdout == (GOLDEN / "crash_parked.txt").read_bytes()
    m = re.search(r"\[ *(\d+\.\d+)\] error cpu: firmware fault: parked in the HardFault handler: fault_halt "
                  r"has run for \d+ ms of board time without returning", err)
    assert m, err
    assert 0.1 < float(m.group(1)) < 1.0, "stopped within 1 s of board time"
    assert "HardFault (escalated from BusFault): precise data bus error" in err
    assert re.search(r"PC\s*=\s*0x[0-9A-F]{8} <main\+0x[0-9a-f]+>", err), "the faulting context"


def _bad_vectors(data: bytes, offset: int = 0) -> bytes:
    return data[:offset] + struct.pack("<II", 0x4B044800, 0xD0024282) + data[offset + 8:]


def _assert_reset_lockup(proc: subprocess.CompletedProcess, wall: float) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert re.search(LINE.decode() + r"error cpu: firmware fault: lockup: the reset vector does not point "
                     r"into executable memory: SP=0x4B044800, PC=0xD0024282", err), err
    assert proc.stdout == b""
    assert wall < 20


def test_a_garbage_reset_vector_in_a_raw_binary_is_a_lockup(firmware, tmp_path):
    image = tmp_path / "wrong.bin"
    image.write_bytes(_bad_vectors((firmware / "hello.bin").read_bytes()))
    _assert_reset_lockup(*vboard(str(image), "--max-time", "2s"))


def test_a_garbage_vector_table_in_an_elf_is_a_lockup(firmware, tmp_path):
    src = (firmware / "hello.elf").read_bytes()
    with (firmware / "hello.elf").open("rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_paddr"] == 0 and s["p_filesz"] >= 8)
        offset = seg["p_offset"]
    image = tmp_path / "wrong.elf"
    image.write_bytes(_bad_vectors(src, offset))
    _assert_reset_lockup(*vboard(str(image), "--max-time", "2s"))


def test_a_hardfault_invpc_storm_ends_promptly_with_a_lockup(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "emulator"))
    from asm import ToolMissing, program  # tests/emulator/asm.py

    try:
        prog = program("""
reset:
    movs r0, #0
faulting:
    udf #0
    EXIT
hardfault:
    ldr r0, [sp, #28]
    orr r0, r0, #3          @ IPSR=3 in the stacked xPSR: returning to thread mode is INVPC
    str r0, [sp, #28]
    bx lr
""", {"HardFault": "hardfault"})
    except ToolMissing as e:
        pytest.fail(str(e), pytrace=False)
    image = tmp_path / "storm.bin"
    image.write_bytes(prog.data)
    proc, wall = vboard(str(image), "--max-time", "2s")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert "firmware fault: lockup: fault storm: UsageFault (INVPC)" in err, err
    assert wall < 5.0, f"--max-time 2s took {wall:.1f} s of wall time"
    # each fault is a line until it repeats; then only counted
    assert err.count("warning cpu: HardFault (escalated from UsageFault): invalid EXC_RETURN") <= 3


def test_a_call_into_nothing_names_the_caller(firmware):
    proc, _ = vboard(str(firmware / "crash.elf"), "--max-time", "5s")
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert re.search(r"warning cpu: instruction fetch from 0x60000000 \(LR 0x[0-9A-F]{8} "
                     r"<main\+0x[0-9a-f]+>\): no memory or device serves this address", err), err
    assert "warning cpu: HardFault (escalated from BusFault): bus error on instruction fetch" in err
