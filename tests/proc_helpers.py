"""Child processes of the end-to-end tests: ``vboard run`` (or QEMU) with its output read in a thread.

    with vboard_run(str(elf), "--net", "user", "--max-time", "30s") as out:
        out.wait_for(r"listening on 10\\.0\\.2\\.15", 30)
        ...
    assert "done" in out.text, (out.text, out.err)

Every wait has a wall-clock deadline and the child is always stopped
(terminated, then killed) when the block ends; its stderr is then in
``out.err``.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def need(tool: str, *alternatives: str) -> str:
    """The path of ``tool`` (or the first alternative installed); fails the test when none is."""
    for name in (tool, *alternatives):
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.fail(f"{tool} is not installed (scripts/setup must install it)", pytrace=False)


class OutputReader:
    """Collects a child's stdout in a thread; ``wait_for`` and ``wait_exit`` poll with a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.text = ""
        self.err = ""  # the child's stderr, once stopped (``child``)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace"))

    def _drain(self, timeout: float) -> bool:
        try:
            self.text += self.lines.get(timeout=timeout)
        except queue.Empty:
            return False
        while True:
            try:
                self.text += self.lines.get_nowait()
            except queue.Empty:
                return True

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in the output; fails after ``timeout`` s or when the child exits."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.text)
            if m:
                return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout} s; output so far:\n{self.text}")
            if not self._drain(min(remaining, 0.5)) and self.proc.poll() is not None and self.lines.empty():
                raise AssertionError(f"the child exited ({self.proc.returncode}) before {pattern!r}:\n"
                                     f"{self.text}")

    def wait_exit(self, timeout: float) -> int:
        """The child's exit code, all of its output read; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None or not self.lines.empty():
            assert time.monotonic() < deadline, f"still running after {timeout} s:\n{self.text}"
            self._drain(0.2)
        self._drain(0.2)
        return self.proc.returncode


def spawn(*argv: str) -> subprocess.Popen[bytes]:
    """``argv`` in the repository, stdout and stderr piped, no stdin."""
    return subprocess.Popen(list(argv), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Terminate ``proc`` if it still runs (kill after 10 s); returns its stderr."""
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return (err or b"").decode(errors="replace")


@contextmanager
def child(*argv: str) -> Iterator[OutputReader]:
    """Run ``argv`` for the block, its stdout read; stopped at the end, its stderr then in ``out.err``."""
    proc = spawn(*argv)
    out = OutputReader(proc)
    try:
        yield out
    finally:
        out.err = stop(proc)


def vboard_run(*args: str) -> AbstractContextManager[OutputReader]:
    """``child`` of ``vboard run ARGS`` (this Python, the repository's vboard)."""
    return child(sys.executable, "-m", "vboard.cli", "run", *args)
