"""Robot Framework keywords for vboard: ``Library    vboard.robot``.

Renode's keywords with Renode's names, arguments, defaults and meaning
(``robot_tests/PORTING.md`` lists them and what differs), plus vboard's own
(``Start Board``, links, captures, Wi-Fi). Each keyword group lives in its
own module:

- ``robot_uart``: terminal testers and the UART waits and writes;
- ``robot_leds``, ``robot_netif``, ``robot_log``: LED, network interface and
  log testers;
- ``robot_renode``: ``Execute Command`` (monitor lines, ``robot_monitor``),
  ``Reset Emulation``, ``Provides``/``Requires``, temporary files;
- ``robot_board``: vboard's board, network, Wi-Fi, snapshot and memory keywords;
- ``robot_core``: the suite's ``vboard serve`` and the virtual-time wait loop.

Each suite gets its own ``vboard serve`` process on a free loopback port,
stopped at the end of the suite, so ``pabot`` can run suites in parallel.
Between keywords the emulation is paused: a wait runs it until what it
waits for happens or its virtual timeout passes, so a suite is
deterministic. ``Start Emulation`` makes the board run freely instead.

Testers made in a test, the default tester and the default timeouts start
afresh in every test (testers made in ``Suite Setup`` stay with the suite).
When a test fails, the UART transcripts, the fault report, the state and
the capture are saved under ``${OUTPUT DIR}/vboard/<suite>/<test>/``
and the failure message links there.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from robot.api import logger

from vboard.robot_board import BoardKeywords
from vboard.robot_core import DEFAULT_TIMEOUT_NS, RobotCore, robot_variable
from vboard.robot_leds import LedKeywords
from vboard.robot_log import LogKeywords
from vboard.robot_netif import NetworkInterfaceKeywords
from vboard.robot_renode import RenodeKeywords
from vboard.robot_uart import UartKeywords


class _Listener:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, lib: robot) -> None:
        self.lib = lib

    def start_test(self, data: Any, result: Any) -> None:
        self.lib._fresh_testers()
        self.lib.failure_artifacts = None
        self.lib.in_test = True

    def end_test(self, data: Any, result: Any) -> None:
        self.lib.in_test = False
        if result.passed or getattr(result, "status", "") == "SKIP":
            return
        folder = self.lib.failure_artifacts or self.lib._save_artifacts(
            result.parent.name if result.parent else "suite", result.name)
        self.lib.failure_artifacts = None
        if folder is None:
            return
        link = os.path.relpath(folder, self.lib._output_dir())
        result.message = f"{result.message}\nboard artifacts: {link}"
        logger.info(f'board artifacts: <a href="{html.escape(link)}">{html.escape(link)}</a>', html=True)

    def end_suite(self, data: Any, result: Any) -> None:
        self.lib._stop_serve()
        self.lib._remove_temp()


class robot(UartKeywords, LedKeywords, NetworkInterfaceKeywords, LogKeywords, RenodeKeywords,  # noqa: N801
            BoardKeywords, RobotCore):
    """Keywords to run firmware on vboard and test it as Renode suites do."""

    ROBOT_LIBRARY_SCOPE = "SUITE"
    ROBOT_LIBRARY_DOC_FORMAT = "reST"

    def __init__(self) -> None:
        RobotCore.__init__(self)
        self._init_uart()
        self._init_leds()
        self._init_netif()
        self._init_log()
        self._init_renode()
        self._init_board()
        self.in_test = False
        self.failure_artifacts: Path | None = None
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)

    def _keep_failure_artifacts(self) -> None:
        """In the teardown of a failed test (``Reset Emulation``), save its artifacts before they go."""
        if self.in_test and robot_variable("${TEST STATUS}") == "FAIL" and self.failure_artifacts is None:
            self.failure_artifacts = self._save_artifacts(self._suite_name().split(".")[-1],
                                                          str(robot_variable("${TEST NAME}", "test")))

    def _fresh_testers(self) -> None:
        """A new test: the testers earlier tests made are gone, defaults are Renode's again.

        Testers made outside a test (``Suite Setup``) belong to the suite's emulation and stay.
        """
        self.testers = {k: t for k, t in self.testers.items() if not t.in_test}
        self.default_tester = None
        self.uart_timeout_ns = DEFAULT_TIMEOUT_NS
        self.led_testers = {k: t for k, t in self.led_testers.items() if not t.in_test}
        self.led_timeout_ns = 0
        self.net_testers = {k: t for k, t in self.net_testers.items() if not t.in_test}
        if self.log_tester is not None and self.log_tester.in_test:
            self.log_tester = None
