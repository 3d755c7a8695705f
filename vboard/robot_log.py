"""Renode's log tester over vboard's own log.

The log is what the board says about itself (model warnings, accesses
nothing serves, faults; ``machine.board_log``) plus the emulation's events
(faults, exits, link changes, network errors, resets), each entry
``<source>: <message>`` with a level. ``Create Log Tester    timeout``
starts watching (entries from then on); ``Wait For Log Entry    pattern``
runs the board until an entry contains ``pattern`` (``treatAsRegex``,
``level=Warning``: only that level) and, unless ``keep=true``, drops the
entries up to it; ``Should Not Be In Log`` runs for ``timeout`` and fails if
one appears; failing strings make any wait fail. Renode's levels map to
vboard's: Noisy/Debug -> debug, Info, Warning, Error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from robot.api import logger

from vboard.robot_args import keyword_args, opt_bool, seconds_ns, to_bool
from vboard.robot_core import observe

LEVELS = {"noisy": "debug", "debug": "debug", "info": "info", "warning": "warning", "error": "error"}


@dataclass
class LogTester:
    timeout_ns: int
    pause: bool
    since: int
    entries: list[Any] = field(default_factory=list)
    failing: list[tuple[str, bool]] = field(default_factory=list)
    in_test: bool = False


def entry_text(e: Any) -> str:
    return f"{e.source}: {e.message}"


def _matches(pattern: str, regex: bool, e: Any) -> bool:
    text = entry_text(e)
    return re.search(pattern, text) is not None if regex else pattern in text


class LogKeywords:
    def _init_log(self) -> None:
        self.log_tester: LogTester | None = None

    def _forget_session(self) -> None:
        super()._forget_session()  # type: ignore[misc]
        self.log_tester = None

    def _log(self) -> LogTester:
        if self.log_tester is None:
            raise AssertionError("Log tester is not available. "
                                 "Create it with the `Create Log Tester` keyword")
        return self.log_tester

    def _pull_log(self, t: LogTester) -> None:
        reply = observe(self._c(), "Log", since=t.since)  # type: ignore[attr-defined]
        t.entries += list(reply.entries)
        t.since = int(reply.seq)

    def _find(self, t: LogTester, pattern: str, regex: bool, level: str,
              keep: bool) -> tuple[Any, bool] | None:
        self._pull_log(t)
        for i, e in enumerate(t.entries):
            failing = any(_matches(p, r, e) for p, r in t.failing)
            if failing or ((not level or e.level == level) and _matches(pattern, regex, e)):
                if not keep:
                    del t.entries[:i + 1]
                return e, failing
        return None

    @staticmethod
    def _level(level: Any) -> str:
        if level in (None, "", "None"):
            return ""
        name = str(level).split(".")[-1].lower()
        if name not in LEVELS:
            raise AssertionError(f"level: '{level}' (accepted: Noisy, Debug, Info, Warning, Error)")
        return LEVELS[name]

    @keyword_args
    def create_log_tester(self, timeout: Any, defaultPauseEmulation: Any = None,  # noqa: N803
                          maxLogEntries: Any = 1_000_000) -> None:  # noqa: N803
        """Watch the board's log from now on; ``timeout``: the default of the waits (seconds, virtual)."""
        reply = observe(self._c(), "Log", since=1 << 62)  # type: ignore[attr-defined]
        pause = opt_bool(defaultPauseEmulation, False)
        self.log_tester = LogTester(seconds_ns(timeout), pause, int(reply.seq),
                                    in_test=getattr(self, "in_test", False))

    @keyword_args
    def wait_for_log_entry(self, pattern: str, timeout: Any = None, keep: Any = False,
                           treatAsRegex: Any = False, pauseEmulation: Any = None,  # noqa: N803
                           level: Any = None, startEmulation: Any = True) -> str:  # noqa: N803
        """Run until a log entry contains ``pattern``; returns it (``source: message``)."""
        t = self._log()
        regex, lvl, keep_b = to_bool(treatAsRegex, "treatAsRegex"), self._level(level), to_bool(keep, "keep")
        timeout_ns = t.timeout_ns if timeout in (None, "") else seconds_ns(timeout)
        if not to_bool(startEmulation, "startEmulation") and self._c().state().state != "running":  # type: ignore[attr-defined]
            timeout_ns = 0  # a paused board stays paused: only what is there counts
        found = self._run_until(lambda: self._find(t, str(pattern), regex, lvl, keep_b), timeout_ns,  # type: ignore[attr-defined]
                               pause=opt_bool(pauseEmulation, t.pause))
        if found is None:
            last = "\n ".join(entry_text(e) for e in t.entries[-10:])
            raise AssertionError(f"Expected pattern \"{pattern}\" did not appear in the log\n "
                                 f"Last {min(10, len(t.entries))} buffered log messages are: \n {last}")
        entry, failing = found
        if failing:
            raise AssertionError(f"Log tester failed!\n\nTest failing entry has been found in log:\n"
                                 f"{entry_text(entry)}")
        logger.info(f"log at {entry.time_ns / 1e6:.3f} ms (virtual): [{entry.level}] {entry_text(entry)}")
        return entry_text(entry)

    @keyword_args
    def should_not_be_in_log(self, pattern: str, timeout: Any = None, treatAsRegex: Any = False,  # noqa: N803
                             pauseEmulation: Any = None, level: Any = None) -> None:  # noqa: N803
        t = self._log()
        regex, lvl = to_bool(treatAsRegex, "treatAsRegex"), self._level(level)
        timeout_ns = t.timeout_ns if timeout in (None, "") else seconds_ns(timeout)
        found = self._run_until(lambda: self._find(t, str(pattern), regex, lvl, True), timeout_ns)  # type: ignore[attr-defined]
        if found is not None:
            raise AssertionError(f"Unexpected line detected in the log: {entry_text(found[0])}")

    @keyword_args
    def register_failing_log_string(self, pattern: str, treatAsRegex: Any = False) -> None:  # noqa: N803
        self._log().failing.append((str(pattern), to_bool(treatAsRegex, "treatAsRegex")))

    @keyword_args
    def unregister_failing_log_string(self, pattern: str, treatAsRegex: Any = False) -> None:  # noqa: N803
        t = self._log()
        entry = (str(pattern), to_bool(treatAsRegex, "treatAsRegex"))
        if entry not in t.failing:
            raise AssertionError("Unable to unregister failing string, entry not found")
        t.failing.remove(entry)

    @keyword_args
    def clear_log_tester_history(self) -> None:
        t = self._log()
        self._pull_log(t)
        t.entries.clear()
