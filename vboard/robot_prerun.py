"""``vboard test``'s pre-run modifier: Renode-style suites get what ``renode-test`` gives them.

A Renode suite has no settings of its own: ``renode-test`` supplies its
keyword library and resets the emulation after every test. This modifier
does the same for every suite file that imports nothing of vboard (no
``vboard.robot`` library, no resource file): it imports ``vboard.robot``,
``vboard.robot_hosts`` and the standard libraries Renode's resource file
imports (OperatingSystem, String, Collections, Process), and gives each test without a teardown the
teardown ``Reset Emulation``. Suites that set themselves up are left alone.
"""

from __future__ import annotations

from typing import Any

from robot.api import SuiteVisitor

LIBRARIES = ("vboard.robot", "vboard.robot_hosts", "OperatingSystem", "String", "Collections", "Process")


class RenodeStyle(SuiteVisitor):
    def start_suite(self, suite: Any) -> None:
        if not suite.tests:
            return
        imports = suite.resource.imports
        names = {str(i.name) for i in imports}
        if any(i.type == "RESOURCE" for i in imports) or "vboard.robot" in names:
            return
        for lib in LIBRARIES:
            if lib not in names:
                imports.library(lib)
        for test in suite.tests:
            if not test.has_teardown:
                test.teardown.config(name="Reset Emulation")
