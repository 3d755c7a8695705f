"""Fixtures for the core unit tests: boards running small assembled programs."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest
from asm import LOGBUF, LOGIDX, RES, Program, ToolMissing, check_tools, program

from emulator.board.machine import Machine
from emulator.board.platform import load_platform


@pytest.fixture(scope="session")
def assembler() -> None:
    try:
        check_tools()
    except ToolMissing as e:
        pytest.fail(str(e), pytrace=False)


class Board:
    """A Machine with an assembled program loaded, plus readers for its results."""

    def __init__(self, prog: Program, num_irq: int | None = None) -> None:
        self.prog = prog
        plat = load_platform("mps2-an385")
        self.m = Machine(plat if num_irq is None else replace(plat, num_irq=num_irq))
        self.uart = bytearray()
        self.m.port("uart0").connect(self.uart.extend)
        self.trace: list[str] = []
        self.m.cpu.trace_exceptions = self.trace.append
        self.m.load(prog.image())

    def run(self, cycles: int = 2_000_000, expect: str = "exit"):
        stop = self.m.run(cycles)
        if expect is not None:
            assert stop.kind == expect, f"stopped with {stop.kind}: {stop.message}"
        return stop

    def result(self, n: int) -> int:
        return self.m.cpu.read_u32(RES + 4 * n)

    def results(self, n: int) -> list[int]:
        return list(self.m.cpu.read_words(RES, n))

    def log(self) -> bytes:
        count = self.m.cpu.read_u32(LOGIDX)
        return bytes(self.m.cpu.uc.mem_read(LOGBUF, count))

    def __getitem__(self, label: str) -> int:
        return self.prog[label]


@pytest.fixture
def board(assembler: None):
    """``board(source, vectors, num_irq=None)``: a loaded Board for that program (on an
    AN385 with ``num_irq`` external interrupts when given)."""

    def make(source: str, vectors: dict | None = None, num_irq: int | None = None) -> Board:
        return Board(program(source, vectors), num_irq)

    return make
