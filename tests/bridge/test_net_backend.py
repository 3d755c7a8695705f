"""HostBackend: threads, counters, and what happens when the host side dies (with a fake host)."""

from __future__ import annotations

import queue
import threading

import pytest
from net_helpers import WIRE_CYCLES, Board, FakeMachine, wait_until

from bridge.net import backend as backend_mod
from bridge.net.backend import HostBackend
from bridge.uart_endpoints import HostInput
from emulator.net.network import Switch

F1 = b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x88\xb5" + b"one" + b"\0" * 43
F2 = b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x88\xb5" + b"two" + b"\0" * 43


class FakeHost(HostBackend):
    kind = "fake"

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.inbound: queue.Queue[bytes | None] = queue.Queue()
        self.written: list[bytes] = []
        self.write_error: OSError | None = None
        self.closed = threading.Event()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _open(self) -> None:
        pass

    def _read_frame(self) -> bytes | None:
        return self.inbound.get(timeout=10)

    def _write_frame(self, frame: bytes) -> None:
        if self.write_error is not None:
            raise self.write_error
        self.written.append(frame)

    def _close_io(self) -> None:
        self.inbound.put(None)
        self.closed.set()


def test_both_directions_and_counters(machine: FakeMachine, switch: Switch, board: Board) -> None:
    hi = HostInput()
    b = FakeHost(machine, switch, hi).start()
    try:
        board.send(F1)
        wait_until(lambda: b.written == [F1])
        b.inbound.put(F2)
        got = board.wait_for(lambda f: f == F2)
        assert got == F2
        s = b.stats()
        assert (s["to_host_frames"], s["from_host_frames"], s["alive"]) == (1, 1, True)
        assert hi.sources == 1
    finally:
        b.stop()
        b.stop()
    assert hi.sources == 0 and b.closed.is_set()
    board.send(F1)
    assert b.counters.dropped == {"stopped": 1}


def test_write_failure_reports_once(machine: FakeMachine, switch: Switch, board: Board) -> None:
    errors: list[str] = []
    hi = HostInput()
    b = FakeHost(machine, switch, hi, on_error=errors.append).start()
    try:
        b.write_error = BrokenPipeError(32, "Broken pipe")
        board.send(F1)
        wait_until(lambda: bool(errors))
        for _ in range(4):
            board.send(F1)
        wait_until(lambda: b.counters.dropped.get("host down") == 5)
        assert errors == ["network fake: write failed: Broken pipe; the board keeps running, "
                          "frames to the host are dropped"]
        assert hi.sources == 0 and not b.alive
    finally:
        b.stop()


def test_host_closing_reports_once(machine: FakeMachine, switch: Switch) -> None:
    errors: list[str] = []
    b = FakeHost(machine, switch, on_error=errors.append).start()
    try:
        b.inbound.put(None)
        wait_until(lambda: bool(errors))
        assert "the host side closed the connection" in errors[0]
    finally:
        b.stop()
    assert len(errors) == 1


def test_nothing_raises_into_the_emulation_thread(machine: FakeMachine, switch: Switch, board: Board,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def bad_reporter(msg: str) -> None:
        raise RuntimeError("reporter broke")

    def bad_hook(frame: bytes) -> bool:
        raise ValueError("hook broke")

    b = FakeHost(machine, switch, on_error=bad_reporter).start()
    try:
        b.outbound_hooks.append(bad_hook)
        board.send(F1)
        assert b.counters.dropped == {"error": 1}
        b.outbound_hooks.clear()
        b.inbound.put(None)  # the host closes; the reporter raises; logged instead
        wait_until(lambda: not b.alive)
        wait_until(lambda: "closed the connection" in caplog.text)
    finally:
        b.stop()


def test_a_paused_machine_bounds_what_piles_up(machine: FakeMachine, switch: Switch, board: Board,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_mod, "MAX_INFLIGHT_FRAMES", 3)
    b = FakeHost(machine, switch).start()
    try:
        for _ in range(5):
            b.inbound.put(F2)
        wait_until(lambda: b.counters.dropped.get("board busy") == 2)
        machine.step(WIRE_CYCLES)  # the three enter one after another on the board's wire
        assert board.received == [F2] * 3
        b.inbound.put(F1)
        board.wait_for(lambda f: f == F1)
    finally:
        b.stop()


def test_full_queue_drops(machine: FakeMachine, switch: Switch, board: Board,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    b = FakeHost(machine, switch)
    monkeypatch.setattr(b, "_txq", queue.Queue(2))
    b.start()
    gate = threading.Event()
    real_write = b._write_frame

    def slow_write(frame: bytes) -> None:
        gate.wait(10)
        real_write(frame)

    monkeypatch.setattr(b, "_write_frame", slow_write)
    try:
        for _ in range(6):
            board.send(F1)
        assert b.counters.dropped.get("queue full", 0) >= 3
    finally:
        gate.set()
        b.stop()
