"""A terminal tester: what one UART printed since the tester was made, as Renode's tester sees it.

Bytes come in by offset in the UART's transcript (``feed``). In text mode a
line ends at LF (or CR with ``endLineOption=TreatCarriageReturnAsEndLine``),
CR and NUL are dropped and SGR colour sequences (``ESC [ ... m``) removed;
the text after the last line end is the *unfinished line*. In binary mode
nothing is dropped and everything stays in the unfinished buffer.

A successful match consumes: the lines up to the matched one (a finished
line), or the unfinished buffer (text mode: all of it; binary mode: up to
the end of the match). Failing strings are looked for in finished lines
before every match. Matches carry the transcript offset where they end, so
the caller can ask the board for the virtual time of that byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ESC = "\x1b"


@dataclass
class Match:
    line: str
    end: int                    # transcript offset just after the matched text
    groups: list[str] = field(default_factory=list)
    failing: bool = False
    time_ns: int = -1           # virtual time of the match's last byte, once looked up


@dataclass
class _Line:
    text: str
    end: int


class TerminalTester:
    def __init__(self, tester_id: int, board: str, uart: str, offset: int, timeout_ns: int,
                 binary: bool = False, cr_ends_line: bool = False, pause: bool = False,
                 wait_for_echo: bool = True, match_next_line: bool = False) -> None:
        self.id = tester_id
        self.board = board
        self.uart = uart
        self.offset = offset
        self.timeout_ns = timeout_ns
        self.binary = binary
        self.cr_ends_line = cr_ends_line
        self.pause = pause
        self.wait_for_echo = wait_for_echo
        self.match_next_line = match_next_line
        self.lines: list[_Line] = []
        self.current = ""
        self.failing: list[tuple[str, bool]] = []
        self.report: list[str] = []
        self._sgr = ""
        self.in_test = False   # made inside a test (dropped when the next test starts)
        self.char_delay_ns = 0

    # ------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        end_char = "\r" if self.cr_ends_line else "\n"
        for i, byte in enumerate(data):
            ch = chr(byte)
            pos = self.offset + i + 1
            if self.binary:
                self.current += ch
                continue
            if ch == "\0" or (ch == "\r" and not self.cr_ends_line):
                continue
            if ch == end_char:
                self._flush_sgr()
                self.lines.append(_Line(self.current, pos))
                self.current = ""
                continue
            self._append(ch)
        self.offset += len(data)

    def _append(self, ch: str) -> None:
        if self._sgr:
            if self._sgr == ESC:
                if ch == "[":
                    self._sgr += ch
                    return
                self._flush_sgr()
            elif ch.isdigit() or ch == ";":
                self._sgr += ch
                return
            elif ch == "m":
                self._sgr = ""
                return
            else:
                self._flush_sgr()
        if ch == ESC:
            self._sgr = ESC
            return
        self.current += ch

    def _flush_sgr(self) -> None:
        self.current += self._sgr
        self._sgr = ""

    # --------------------------------------------------------------- matching
    def wait_for(self, pattern: str, regex: bool, unfinished: bool, match_next: bool) -> Match | None:
        """One look at what is there now (``pattern`` is latin-1 text for binary testers).

        A failing string wins over the pattern when its line comes first (or is the same line).
        """
        fail = self._first_failing()
        found = self._find_line(pattern, regex, match_next)
        if fail is not None and (found is None or fail[0] <= found[0]):
            return self._take_line(fail[0], [], failing=True)
        if found is not None:
            return self._take_line(*found)
        if fail is not None or not unfinished:
            return None
        return self._unfinished(pattern, regex, match_next)

    def wait_for_lines(self, patterns: list[str], regex: bool, unfinished: bool) -> Match | None:
        """Consecutive lines matching ``patterns`` in order (the last may be the unfinished line)."""
        failing = self.check_failing()
        if failing is not None:
            return failing
        n = len(patterns)
        for i in range(len(self.lines)):
            window = self.lines[i:i + n]
            tail_in_buffer = unfinished and len(window) == n - 1
            if len(window) < n and not tail_in_buffer:
                break
            pairs = zip(patterns, window, strict=False)
            if not all(_search(p, ln.text, regex) is not None for p, ln in pairs):
                continue
            if tail_in_buffer:
                if _search(patterns[-1], self.current, regex) is None:
                    continue
                del self.lines[:i + len(window)]
                return self._take_current(0, None)
            groups = _groups(patterns[-1], window[-1].text, regex)
            del self.lines[:i + n]
            self._note(f"lines starting with >>{patterns[0]}<<: success")
            return Match(window[-1].text, window[-1].end, groups)
        return None

    def next_line(self) -> Match | None:
        if not self.lines:
            return None
        line = self.lines.pop(0)
        return Match(line.text, line.end)

    def check_failing(self) -> Match | None:
        fail = self._first_failing()
        return None if fail is None else self._take_line(fail[0], [], failing=True)

    def _first_failing(self) -> tuple[int, list[str]] | None:
        hits = [hit for hit in (self._find_line(p, r, False) for p, r in self.failing) if hit is not None]
        return min(hits, key=lambda h: h[0]) if hits else None

    def _find_line(self, pattern: str, regex: bool, first_only: bool) -> tuple[int, list[str]] | None:
        """(index, groups) of the first finished line matching (only the first line: ``first_only``)."""
        candidates = self.lines[:1] if first_only else self.lines
        for i, line in enumerate(candidates):
            m = _search(pattern, line.text, regex)
            if m is not None:
                return i, m
        return None

    def _take_line(self, index: int, groups: list[str], failing: bool = False) -> Match:
        line = self.lines[index]
        del self.lines[:index + 1]
        self._note(f"line >>{line.text[:60]}<<: {'failing string' if failing else 'success'}")
        return Match(line.text, line.end, groups, failing)

    def _unfinished(self, pattern: str, regex: bool, at_start: bool) -> Match | None:
        text = self.current
        if regex:
            rx = re.compile(pattern, re.DOTALL if self.binary else 0)
            m = rx.search(text)
            if m is None or (at_start and m.start() != 0):
                return None
            start, end, groups = m.start(), m.end(), [g or "" for g in m.groups()]
        else:
            start = text.find(pattern)
            if start < 0 or (at_start and start != 0):
                return None
            end, groups = start + len(pattern), []
        if not self.binary:
            start, end = 0, None
        return self._take_current(start, end, groups)

    def _take_current(self, start: int, end: int | None, groups: list[str] | None = None) -> Match:
        """Consume the unfinished buffer up to ``end`` (None: all); the match is ``[start:end]``."""
        cut = len(self.current) if end is None else end
        content = self.current[start:cut]
        rest = self.current[cut:]
        # Offset just after the consumed text: the buffer's bytes are the last ones fed.
        end_offset = self.offset - len(rest.encode("latin-1", "replace")) if self.binary else self.offset
        self.current = rest
        self._note(f"unfinished line >>{content[:60]}<<: success")
        return Match(content, end_offset, groups or [])

    # ----------------------------------------------------------------- report
    def _note(self, text: str) -> None:
        self.report.append(text)

    def describe(self) -> str:
        """What the tester still holds: its finished lines and the unfinished one."""
        out = [ln.text for ln in self.lines[-20:]]
        if self.current:
            shown = " ".join(f"{ord(c):02x}" for c in self.current) if self.binary else self.current
            out.append(f"{shown} [[no newline]]" if not self.binary else shown)
        return "\n".join(out) if out else "(nothing since the last match)"


def _search(pattern: str, text: str, regex: bool) -> list[str] | None:
    """The groups of the match (``[]`` for plain text), or None."""
    if regex:
        m = re.search(pattern, text)
        return [g or "" for g in m.groups()] if m else None
    return [] if pattern in text else None


def _groups(pattern: str, text: str, regex: bool) -> list[str]:
    return _search(pattern, text, regex) or []
