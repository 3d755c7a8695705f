"""Renode's UART keywords: terminal testers with ids, waits in virtual time, result objects.

``Create Terminal Tester    sysbus.uart0    machine=server`` returns the
tester's id (0, 1, ... per emulation; the same UART again gives the same
id); UART keywords take ``testerId=`` and otherwise use the default tester
(``Set Default Tester``) or the only one. With no tester at all, the first
UART keyword makes one on ``uart0`` of the first board (a vboard
convenience). Testers, the default tester and the default timeout (8 s of
virtual time, ``Set Default Uart Timeout``) start afresh in every test.

Waits return Renode's result object: ``${r.Line}``, ``${r.Timestamp}``
(virtual milliseconds), ``${r.Groups}``, ``${r.IsFailingString}``; the same
in lower case (``${r.line}``). ``Wait For Bytes On Uart`` (a tester made with
``binaryMode=true``) returns ``${r.Content}`` as bytes. ``timeout=0`` looks
only at what the UART already printed.
"""

from __future__ import annotations

from typing import Any

from robot.api import logger
from robot.utils import DotDict

from vboard.robot_args import hex_bytes, keyword_args, opt_bool, optional_int, seconds_ns, to_bool
from vboard.robot_core import DEFAULT_TIMEOUT_NS
from vboard.robot_terminal import Match, TerminalTester

END_LINE_OPTIONS = ("TreatLineFeedAsEndLine", "TreatCarriageReturnAsEndLine")


class UartKeywords:
    def _init_uart(self) -> None:
        self.testers: dict[int, TerminalTester] = {}
        self.default_tester: int | None = None
        self.uart_timeout_ns = DEFAULT_TIMEOUT_NS

    def _forget_session(self) -> None:
        super()._forget_session()  # type: ignore[misc]
        self.testers = {}
        self.default_tester = None

    def _tester(self, tester_id: Any) -> TerminalTester:
        tid = optional_int(tester_id, "testerId")
        if tid is not None:
            if tid not in self.testers:
                raise AssertionError(f"Tester for given ID={tid} was not found. Did you forget to create the "
                                     f"tester? (testers: {', '.join(map(str, self.testers)) or 'none'})")
            return self.testers[tid]
        if self.default_tester is not None:
            return self.testers[self.default_tester]
        if len(self.testers) > 1:
            raise AssertionError("There is more than one tester available - please specify ID of the "
                                 "desired tester (testerId=N) or use Set Default Tester.")
        if not self.testers:
            self.create_terminal_tester("uart0")
        return next(iter(self.testers.values()))

    def _pull(self, t: TerminalTester) -> None:
        data = self._call(self._c().uart_read, t.offset, t.board, t.uart).data  # type: ignore[attr-defined]
        if data:
            t.feed(data)

    def _timeout(self, t: TerminalTester, timeout: Any) -> int:
        return t.timeout_ns if timeout is None or timeout == "" else seconds_ns(timeout)

    def _wait(self, t: TerminalTester, what: str, look: Any, timeout: Any, pause: Any) -> Match:
        timeout_ns = self._timeout(t, timeout)
        deadline = self._now_ns() + timeout_ns  # type: ignore[attr-defined]
        before: list[tuple[list, str]] = []

        def check() -> Match | None:
            self._pull(t)
            held = (list(t.lines), t.current)
            m = look()
            if m is not None:
                before[:] = [held]
            return m

        found = self._run_until(check, timeout_ns, t.board,  # type: ignore[attr-defined]
                               uart=(t.board, t.uart, lambda: t.offset), pause=opt_bool(pause, t.pause))
        if found is not None and not found.failing and timeout_ns > 0:
            # A freely running board may have printed it after the deadline, before the wait looked.
            found.time_ns = self._time_at(t.board, t.uart, found.end)  # type: ignore[attr-defined]
            if found.time_ns > deadline:
                t.lines, t.current = before[0]  # as if not looked at: a later wait may take it
                found = None
        if found is None:
            where = f"{t.board or 'board'}.{t.uart}"
            raise AssertionError(f"Terminal tester failed!\n\n{what} not seen on {where}"
                                 f" ({self._why_not(t.board, timeout_ns)}). The tester holds:\n"
                                 f"{t.describe()}")
        if found.failing:
            raise AssertionError(f"Terminal tester failed!\n\nTest failing entry has been found on UART:\n"
                                 f"{found.line}")
        return found

    def _why_not(self, board: str, timeout_ns: int) -> str:
        """Why a wait ended without a match: the board stopped, or the timeout passed."""
        state = self._c().state()  # type: ignore[attr-defined]
        stopped = [b for b in state.boards
                   if (not board or b.name == board) and b.state in ("exited", "faulted")]
        if stopped:
            b = stopped[0]
            return f"stopped: board '{b.name}' {b.state} at {b.time_ns / 1e9:.6f} s"
        return f"timeout: {timeout_ns / 1e9:g} s of virtual time, now {state.time_ns / 1e9:.6f} s"

    def _result(self, t: TerminalTester, found: Match) -> DotDict:
        t_ns = found.time_ns if found.time_ns >= 0 else self._time_at(t.board, t.uart, found.end)  # type: ignore[attr-defined]
        ms = t_ns / 1e6
        logger.info(f"{t.board or 'board'}.{t.uart} at {ms:.3f} ms (virtual): {found.line!r}")
        groups = list(found.groups)
        return DotDict(Line=found.line, Timestamp=ms, Groups=groups, IsFailingString=found.failing,
                       line=found.line, timestamp=ms, groups=groups)

    def _pattern(self, t: TerminalTester, text: str, regex: bool) -> str:
        if t.binary and not regex:
            return hex_bytes(text, "content").decode("latin-1")
        return str(text)

    def _need_mode(self, t: TerminalTester, binary: bool) -> None:
        if t.binary != binary:
            waited, mode = ("bytes", "text") if binary else ("text", "binary")
            raise AssertionError(f"Attempt to wait for {waited} on a tester configured in {mode} mode. "
                                 f"Please set binaryMode={not t.binary} when creating the tester.")

    # ------------------------------------------------------------ testers
    @keyword_args
    def create_terminal_tester(self, uart: str, timeout: Any = None, machine: Any = None,
                               endLineOption: Any = None, defaultPauseEmulation: Any = None,  # noqa: N803
                               defaultWaitForEcho: Any = None, defaultMatchNextLine: Any = None,  # noqa: N803
                               binaryMode: Any = False) -> int:  # noqa: N803
        """A tester on ``uart`` (``sysbus.uart0`` or ``uart0``) of ``machine``; returns its id.

        It sees what the UART prints from now on. An unknown UART or machine fails here.
        """
        client = self._c()  # type: ignore[attr-defined]
        board = self.setup.board_name(machine) if self.setup.machines else str(machine or "")  # type: ignore[attr-defined]
        board = board or self.default_board  # type: ignore[attr-defined]
        name = str(uart).split(".")[-1]
        known = [(u.board, u.uart, int(u.length)) for u in client.uarts().uarts]
        boards = sorted({b for b, _, _ in known})
        if board and board not in boards:
            raise AssertionError(f"Create Terminal Tester: Machine with name {machine} not found "
                                 f"(machines: {', '.join(boards)})")
        mine = [k for k in known if k[0] == (board or boards[0])]
        match = [k for k in mine if k[1] == name]
        if not match:
            where = mine[0][0] if mine else "the board"
            raise AssertionError(f"Create Terminal Tester: no UART '{uart}' on {where}"
                                 f" (UARTs: {', '.join('sysbus.' + k[1] for k in mine)})")
        b, u, length = match[0]
        for tid, t in self.testers.items():
            if (t.board, t.uart) == (b, u):
                return tid
        if endLineOption not in (None, "") and endLineOption not in END_LINE_OPTIONS:
            raise AssertionError(f"endLineOption: '{endLineOption}' "
                                 f"(accepted: {', '.join(END_LINE_OPTIONS)})")
        tid = max(self.testers, default=-1) + 1
        self.testers[tid] = TerminalTester(
            tid, b, u, length, self.uart_timeout_ns if timeout in (None, "") else seconds_ns(timeout),
            binary=to_bool(binaryMode, "binaryMode"), cr_ends_line=endLineOption == END_LINE_OPTIONS[1],
            pause=opt_bool(defaultPauseEmulation, False, "defaultPauseEmulation"),
            wait_for_echo=opt_bool(defaultWaitForEcho, True, "defaultWaitForEcho"),
            match_next_line=opt_bool(defaultMatchNextLine, False, "defaultMatchNextLine"))
        self.testers[tid].in_test = getattr(self, "in_test", False)
        return tid

    @keyword_args
    def set_default_tester(self, id: Any) -> None:  # noqa: A002 - Renode's argument name
        """Make tester ``id`` the one UART keywords use without ``testerId``; ``None`` unsets it."""
        tid = optional_int(None if str(id) == "None" else id, "id")
        if tid is not None and tid not in self.testers:
            raise AssertionError(f"Tester #{tid} was not found. Create a tester before setting it as default")
        self.default_tester = tid

    @keyword_args
    def set_default_uart_timeout(self, timeout: Any) -> None:
        """The timeout of testers created from now on (seconds of virtual time; until the test ends)."""
        self.uart_timeout_ns = seconds_ns(timeout)

    @keyword_args
    def get_terminal_tester_report(self, testerId: Any = None) -> str:  # noqa: N803
        t = self._tester(testerId)
        self._pull(t)
        return "\n".join([*t.report, t.describe()])

    @keyword_args
    def clear_terminal_tester_report(self, testerId: Any = None) -> None:  # noqa: N803
        t = self._tester(testerId)
        self._pull(t)
        t.report.clear()
        t.lines.clear()

    @keyword_args
    def register_failing_uart_string(self, pattern: str, treatAsRegex: Any = False,  # noqa: N803
                                     testerId: Any = None) -> None:  # noqa: N803
        """Any later wait on this tester fails when a line with ``pattern`` appears."""
        self._tester(testerId).failing.append((str(pattern), to_bool(treatAsRegex, "treatAsRegex")))

    @keyword_args
    def unregister_failing_uart_string(self, pattern: str, treatAsRegex: Any = False,  # noqa: N803
                                       testerId: Any = None) -> None:  # noqa: N803
        t = self._tester(testerId)
        entry = (str(pattern), to_bool(treatAsRegex, "treatAsRegex"))
        if entry not in t.failing:
            raise AssertionError("Unable to unregister failing string, entry not found")
        t.failing.remove(entry)

    # --------------------------------------------------------------- waits
    @keyword_args
    def wait_for_line_on_uart(self, content: str, timeout: Any = None, testerId: Any = None,  # noqa: N803
                              treatAsRegex: Any = False, includeUnfinishedLine: Any = False,  # noqa: N803
                              pauseEmulation: Any = None, matchNextLine: Any = None) -> DotDict:  # noqa: N803
        """Run until a line containing ``content`` (a regex with ``treatAsRegex=true``) is printed."""
        t = self._tester(testerId)
        self._need_mode(t, False)
        regex = to_bool(treatAsRegex, "treatAsRegex")
        unfinished = to_bool(includeUnfinishedLine, "includeUnfinishedLine")
        nxt = opt_bool(matchNextLine, t.match_next_line, "matchNextLine")
        found = self._wait(t, f"Line containing >>{content}<<",
                           lambda: t.wait_for(str(content), regex, unfinished, nxt), timeout, pauseEmulation)
        return self._result(t, found)

    @keyword_args
    def wait_for_prompt_on_uart(self, prompt: str, testerId: Any = None, timeout: Any = None,  # noqa: N803
                                treatAsRegex: Any = False, pauseEmulation: Any = None) -> DotDict:  # noqa: N803
        """``Wait For Line On Uart`` that also looks at the unfinished line (a prompt has no line end)."""
        return self.wait_for_line_on_uart(prompt, timeout, testerId, treatAsRegex, True, pauseEmulation)

    @keyword_args
    def wait_for_lines_on_uart(self, content: Any, timeout: Any = None, testerId: Any = None,  # noqa: N803
                               treatAsRegex: Any = False, includeUnfinishedLine: Any = False,  # noqa: N803
                               pauseEmulation: Any = None, matchFromNextLine: Any = None) -> DotDict:  # noqa: N803
        """Consecutive lines matching ``content`` (a list) in order; returns the last one."""
        t = self._tester(testerId)
        self._need_mode(t, False)
        patterns = [str(p) for p in (content if isinstance(content, list | tuple) else [content])]
        regex = to_bool(treatAsRegex, "treatAsRegex")
        unfinished = to_bool(includeUnfinishedLine, "includeUnfinishedLine")
        if not patterns:
            return DotDict(Line="", Timestamp=0.0, Groups=[], IsFailingString=False, line="", timestamp=0.0,
                           groups=[])
        if opt_bool(matchFromNextLine, t.match_next_line, "matchFromNextLine"):
            found = None
            for i, p in enumerate(patterns):
                last = unfinished and i == len(patterns) - 1
                found = self._wait(t, f"Line containing >>{p}<<",
                                   lambda p=p, last=last: t.wait_for(p, regex, last, True),
                                   timeout, pauseEmulation)
            assert found is not None
            return self._result(t, found)
        found = self._wait(t, f"Lines starting with >>{patterns[0]}<<",
                           lambda: t.wait_for_lines(patterns, regex, unfinished), timeout, pauseEmulation)
        return self._result(t, found)

    @keyword_args
    def wait_for_next_line_on_uart(self, timeout: Any = None, testerId: Any = None,  # noqa: N803
                                   pauseEmulation: Any = None) -> DotDict:  # noqa: N803
        """The next whole line the UART prints (or already printed and no wait consumed)."""
        t = self._tester(testerId)
        return self._result(t, self._wait(t, "Next line", t.next_line, timeout, pauseEmulation))

    @keyword_args
    def wait_for_bytes_on_uart(self, content: str, timeout: Any = None, testerId: Any = None,  # noqa: N803
                               treatAsRegex: Any = False, pauseEmulation: Any = None,  # noqa: N803
                               matchStart: Any = False) -> DotDict:  # noqa: N803
        """Bytes (hex, ``41 42 0d``) on a ``binaryMode=true`` tester; ``matchStart``: right at the start
        of what the tester holds. Returns ``${r.Content}`` (bytes), ``Timestamp``, ``Groups``."""
        t = self._tester(testerId)
        self._need_mode(t, True)
        regex = to_bool(treatAsRegex, "treatAsRegex")
        pattern = self._pattern(t, str(content), regex)
        at_start = to_bool(matchStart, "matchStart")
        found = self._wait(t, f"Bytes >>{content}<<", lambda: t.wait_for(pattern, regex, True, at_start),
                           timeout, pauseEmulation)
        t_ns = found.time_ns if found.time_ns >= 0 else self._time_at(t.board, t.uart, found.end)  # type: ignore[attr-defined]
        ms = t_ns / 1e6
        data = found.line.encode("latin-1")
        logger.info(f"{t.board or 'board'}.{t.uart} at {ms:.3f} ms (virtual): {data.hex(' ')}")
        groups = [g.encode("latin-1") for g in found.groups]
        return DotDict(Content=data, Timestamp=ms, Groups=groups, content=data, timestamp=ms, groups=groups)

    @keyword_args
    def should_not_be_on_uart(self, content: str, timeout: Any = None, testerId: Any = None,  # noqa: N803
                              treatAsRegex: Any = False, includeUnfinishedLine: Any = False) -> None:  # noqa: N803
        """Run for ``timeout``; fail if a line containing ``content`` appears (or was there)."""
        t = self._tester(testerId)
        regex = to_bool(treatAsRegex, "treatAsRegex")
        unfinished = to_bool(includeUnfinishedLine, "includeUnfinishedLine")

        def check() -> Match | None:
            self._pull(t)
            return t.wait_for(self._pattern(t, str(content), regex), regex, unfinished, False)

        timeout_ns = self._timeout(t, timeout)
        deadline = self._now_ns() + timeout_ns  # type: ignore[attr-defined]
        found = self._run_until(check, timeout_ns, t.board,  # type: ignore[attr-defined]
                               uart=(t.board, t.uart, lambda: t.offset))
        if found is not None and self._time_at(t.board, t.uart, found.end) > deadline:  # type: ignore[attr-defined]
            found = None  # a freely running board printed it after the time looked at
        if found is not None:
            raise AssertionError(f"Terminal tester failed!\n\nUnexpected entry has been found on UART#:\n"
                                 f"{found.line}")

    @keyword_args
    def test_if_uart_is_idle(self, timeout: Any, testerId: Any = None,  # noqa: N803
                             pauseEmulation: Any = None) -> None:  # noqa: N803
        """Run for ``timeout`` (seconds of virtual time); fail if the UART prints anything meanwhile."""
        t = self._tester(testerId)
        self._pull(t)
        start = t.offset
        timeout_ns = seconds_ns(timeout)
        deadline = self._now_ns() + timeout_ns  # type: ignore[attr-defined]
        printed = self._run_until(lambda: self._pull(t) or (True if t.offset > start else None),  # type: ignore[attr-defined]
                                  timeout_ns, t.board, uart=(t.board, t.uart, lambda: t.offset))
        if printed and self._time_at(t.board, t.uart, start + 1) > deadline:  # type: ignore[attr-defined]
            printed = None  # a freely running board printed after the time looked at
        if printed:
            raise AssertionError(f"Terminal tester failed!\n\n{t.uart} was not idle for {timeout} s: "
                                 f"it printed:\n{t.describe()}")

    # -------------------------------------------------------------- writes
    def _write(self, t: TerminalTester, data: bytes) -> None:
        client = self._c()  # type: ignore[attr-defined]
        delay = t.char_delay_ns
        if not delay:
            self._call(client.uart_write, data, t.board, t.uart)  # type: ignore[attr-defined]
            return
        running = client.state().state == "running"
        if running:
            self._call(client.pause)  # type: ignore[attr-defined]
        for i in range(len(data)):
            self._call(client.uart_write, data[i:i + 1], t.board, t.uart)  # type: ignore[attr-defined]
            self._call(client.run_for, f"{delay}ns")  # type: ignore[attr-defined]
        if running:
            self._call(client.start)  # type: ignore[attr-defined]

    @keyword_args
    def write_to_uart(self, content: str, testerId: Any = None) -> None:  # noqa: N803
        self._write(self._tester(testerId), str(content).encode("latin-1", "replace"))

    @keyword_args
    def write_char_on_uart(self, c: str, testerId: Any = None) -> None:  # noqa: N803
        if len(str(c)) != 1:
            raise AssertionError(f"c: '{c}' is not one character")
        self._write(self._tester(testerId), str(c).encode("latin-1", "replace"))

    @keyword_args
    def send_key_to_uart(self, c: Any, testerId: Any = None) -> None:  # noqa: N803
        """Send one byte (a number: ``0x1b``, ``27``)."""
        value = optional_int(c, "c")
        if value is None or not 0 <= value <= 255:
            raise AssertionError(f"c: '{c}' is not a byte value (0..255)")
        self._write(self._tester(testerId), bytes([value]))

    @keyword_args
    def write_line_to_uart(self, content: str = "", testerId: Any = None, waitForEcho: Any = None,  # noqa: N803
                           pauseEmulation: Any = None) -> None:  # noqa: N803
        """Type ``content`` and CR; then (``waitForEcho``, default true) wait until the echo is printed."""
        t = self._tester(testerId)
        self._write(t, str(content).encode("latin-1", "replace") + b"\r")
        if opt_bool(waitForEcho, t.wait_for_echo, "waitForEcho"):
            self._wait(t, f"Echo of >>{content}<<", lambda: t.wait_for(str(content), False, True, False),
                       None, pauseEmulation)

    @keyword_args
    def write_char_delay(self, delay: Any, testerId: Any = None) -> None:  # noqa: N803
        """Later writes on this tester send one character per ``delay`` (seconds of virtual time)."""
        self._tester(testerId).char_delay_ns = seconds_ns(delay, "delay")

    # ------------------------------------------------- vboard's UART keywords
    @keyword_args
    def wait_for_line_on_uart_matching(self, regex: str, timeout: Any = None,
                                       testerId: Any = None) -> list[str]:  # noqa: N803
        """``Wait For Line On Uart`` with a regex; returns the groups (a vboard keyword)."""
        return list(self.wait_for_line_on_uart(regex, timeout, testerId, True).Groups)

    @keyword_args
    def get_uart_output(self, testerId: Any = None) -> str:  # noqa: N803
        """Everything the tester's UART printed since power-on (a vboard keyword)."""
        t = self._tester(testerId)
        return self._call(self._c().uart_text, 0, t.board, t.uart)  # type: ignore[attr-defined]

    @keyword_args
    def get_uart_offset(self, testerId: Any = None) -> int:  # noqa: N803
        """How many bytes the tester's UART printed so far (for ``Get Uart Output From``)."""
        t = self._tester(testerId)
        return int(self._call(self._c().uart_read, 0, t.board, t.uart).end)  # type: ignore[attr-defined]

    @keyword_args
    def get_uart_output_from(self, offset: Any, testerId: Any = None) -> str:  # noqa: N803
        t = self._tester(testerId)
        return self._call(self._c().uart_text, int(offset), t.board, t.uart)  # type: ignore[attr-defined]
