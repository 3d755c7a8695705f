"""``vboard test``: Robot suites from a folder outside the repository, pabot, xUnit, exit status.

A Renode-style suite (no settings: ``vboard test`` supplies the library and
the firmware path) passes from a temporary folder with ``-j 2``; a suite
giving a keyword an argument it does not have fails, the message names the
argument and the accepted ones and links the board's artifacts; bad arguments are one line and exit 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VBOARD = Path(sys.executable).parent / "vboard"

PASSING = """\
*** Test Cases ***
Shell Answers
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    sysbus.uart0
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo from outside
    ${r}=                     Wait For Line On Uart    from outside
    Should Be Equal           ${r.Line}    from outside
    ${port}=                  Get Free Port
    Should Be True            ${port} > 0

Excluded By Its Tag
    [Tags]                    slow
    Fail                      --exclude slow must keep this test from running
"""

SECOND = """\
*** Test Cases ***
Hello Prints
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/hello.elf
    Create Terminal Tester    sysbus.uart0
    Wait For Line On Uart     hello: done
"""

UNKNOWN = """\
*** Test Cases ***
Misspelt Argument
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    sysbus.uart0
    Wait For Prompt On Uart   shell>
    Write Line To Uart        echo x    waitForEko=false
"""


def _vboard_test(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([str(VBOARD), "test", *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)


def _xunit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    return root if root.tag == "testsuite" else root.find("testsuite")


def test_renode_style_suites_pass_from_outside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "shell.robot").write_text(PASSING)
    (tmp_path / "suites" / "hello.robot").write_text(SECOND)
    p = _vboard_test(tmp_path, "suites", "-j", "2", "--exclude", "slow", "--results", "out")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    suite = _xunit(tmp_path / "out" / "xunit.xml")
    assert suite.get("tests") == "2" and suite.get("failures") == "0", ET.tostring(suite)[:500]
    assert (tmp_path / "out" / "log.html").exists()
    # Each passing wait logs the matched line and its virtual time.
    output = (tmp_path / "out" / "output.xml").read_text()
    assert re.search(r"board\.uart0 at \d+\.\d{3} ms \(virtual\): &#x27;from outside&#x27;|"
                     r"board\.uart0 at \d+\.\d{3} ms \(virtual\): 'from outside'", output), output[-2000:]


def test_an_unknown_argument_fails_the_suite_naming_it(tmp_path: Path) -> None:
    (tmp_path / "unknown.robot").write_text(UNKNOWN)
    p = _vboard_test(tmp_path, "unknown.robot", "--results", "out")
    assert p.returncode == 1, p.stdout + p.stderr
    message = ("Write Line To Uart: unknown argument 'waitForEko' "
               "(accepted: content, testerId, waitForEcho, pauseEmulation)")
    assert message in p.stdout, p.stdout
    suite = _xunit(tmp_path / "out" / "xunit.xml")
    assert suite.get("failures") == "1" and message in ET.tostring(suite, encoding="unicode")
    # Saved before the Reset Emulation teardown cleared the board; the failure message links the folder.
    folder = tmp_path / "out" / "vboard" / "Unknown" / "Misspelt_Argument"
    assert "shell>" in (folder / "board.uart0.txt").read_text()
    output = (tmp_path / "out" / "output.xml").read_text()
    assert "board artifacts: vboard/Unknown/Misspelt_Argument" in p.stdout
    assert 'board artifacts: &lt;a href="vboard/Unknown/Misspelt_Argument"&gt;' in output


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    p = _vboard_test(tmp_path, "no-such-suites")
    assert p.returncode == 2
    assert p.stderr.strip() == "vboard test: error: no-such-suites: no such suite file or folder"
    p = _vboard_test(tmp_path, ".", "-j", "0")
    assert p.returncode == 2 and p.stderr.strip() == "vboard test: error: -j 0: give at least 1"
