"""A board on ``--net user`` in the test's own process, paced in real time, run in chunks by the test."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from bridge.net.attach import attach_network
from bridge.pacing import RealtimePacer
from bridge.uart_endpoints import HostInput
from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform


class UserNetBoard:
    """An AN385 running ``elf`` on libslirp; ``close()`` it (the network's threads, the switch interval)."""

    def __init__(self, elf: Path, forwards: tuple[str, ...] = (), dns_records: tuple[str, ...] = ()) -> None:
        self.machine = Machine(load_platform("mps2-an385"))
        self.machine.load(load_image(elf))
        self.uart = bytearray()
        self.machine.port("uart0").connect(self.uart.extend)
        self.host_input = HostInput()
        self.errors: list[str] = []
        self.old_interval = sys.getswitchinterval()
        self.net = attach_network(self.machine, "user", forwards=forwards, dns_records=dns_records,
                                  host_input=self.host_input, on_error=self.errors.append)
        sys.setswitchinterval(0.0002)  # as the CLI: host I/O threads hand frames over promptly
        self.switch = self.net.switch
        self.pacer = RealtimePacer(self.machine.clock.hz, self.host_input)
        self.realtime(True)

    def realtime(self, on: bool) -> None:
        """Real-time pacing (host peers keep up), or none: board time runs as fast as it can."""
        if on:
            self.pacer.anchor(self.machine.clock.now)
        self.machine.pacer = self.pacer if on else None
        self.machine.idle_wait = self.host_input.wait if on else None

    @property
    def text(self) -> str:
        return self.uart.decode(errors="replace")

    @property
    def seconds(self) -> float:
        return self.machine.clock.now / self.machine.clock.hz

    def step(self, seconds: float = 0.05) -> None:
        stop = self.machine.run(self.machine.clock.cycles(seconds))
        assert stop.kind == "time", (f"the board stopped: {stop.kind} {stop.message}\n"
                                     f"{stop.report.text() if stop.report else ''}\nUART:\n{self.text}")

    def run_until(self, done: Callable[[], bool], timeout: float, what: str,
                  each: Callable[[], None] | None = None, chunk: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, (f"{what}: not within {timeout} s wall "
                                                 f"({self.seconds:.2f} s board time)\nUART:\n{self.text}")
            self.step(chunk)
            if each is not None:
                each()

    def close(self) -> None:
        self.net.close()
        sys.setswitchinterval(self.old_interval)
