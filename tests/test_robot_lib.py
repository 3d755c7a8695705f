"""The Robot keyword library (vboard/robot.py): a suite run, failure artifacts, process clean-up."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FW = ROOT / "firmware" / "build"

SUITE = """\
*** Settings ***
Library    vboard.robot

*** Test Cases ***
Echo Works
    Start Board    {fw}/uart_echo.elf
    Wait For Prompt On Uart    echo>    timeout=1s
    Write To Uart    robot\\n
    ${{r}}=    Wait For Line On Uart    ROBOT    timeout=1s
    Should Be Equal    ${{r.Line}}    ROBOT
    Start Capture
    Run For    5ms
    ${{n}}=    Capture Should Contain    min_count=0
    Should Be Equal As Integers    ${{n}}    0
    Save Snapshot    a
    Load Snapshot    a
    Board Should Not Have Faulted

Crash Fails And Leaves Artifacts
    Start Board    {fw}/crash.elf
    Run For    50ms
    Board Should Not Have Faulted
"""


def _dead(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return bool(re.search(r"^State:\s+Z", status, re.M))


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("VBOARD_TOKEN", None)
    return env


def test_suite_runs_saves_artifacts_and_cleans_up(tmp_path: Path) -> None:
    assert (FW / "uart_echo.elf").exists() and (FW / "crash.elf").exists(), "make -C firmware first"
    suite = tmp_path / "lib.robot"
    suite.write_text(SUITE.format(fw=FW))
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(out), str(suite)], env=_env(),
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "2 tests, 1 passed, 1 failed" in p.stdout, p.stdout + p.stderr
    assert (out / "log.html").exists() and (out / "report.html").exists()
    art = out / "vboard" / "Lib" / "Crash_Fails_And_Leaves_Artifacts"
    assert "HardFault" in (art / "fault-report.txt").read_text()
    assert "crash: calling" in (art / "board.uart0.txt").read_text()
    assert not (out / "vboard" / "Lib" / "Echo_Works").exists()
    logs = list((out / "vboard").glob("serve-*.log"))
    assert logs and "vboard: stopping" in logs[0].read_text()


def test_server_is_killed_at_exit_without_teardown(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from vboard.robot import robot\n"
        "lib = robot()\n"
        f"lib.start_board({str(FW / 'hello.elf')!r})\n"
        "print(lib.serve.proc.pid, flush=True)\n"
        "print(lib.wait_for_line_on_uart('hello: done', '1s').Line, flush=True)\n"
    )
    p = subprocess.run([sys.executable, "-c", script], env=_env(), cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    pid_line, line = p.stdout.split("\n")[:2]
    assert line == "hello: done"
    pid = int(pid_line)
    deadline = time.monotonic() + 10
    while not _dead(pid):
        assert time.monotonic() < deadline, f"vboard serve {pid} still alive after its owner exited"
        time.sleep(0.1)
