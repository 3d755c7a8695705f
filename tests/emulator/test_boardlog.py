"""The board log (emulator/boardlog.py): records on virtual time, bounds, subscribers, queries."""

from __future__ import annotations

import pytest

from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.boardlog import BoardLog, LogRecord
from emulator.clock import Clock


def test_records_carry_virtual_time_level_source_message() -> None:
    clock = Clock(25_000_000)
    log = BoardLog(lambda: clock.now, clock.hz)
    clock.advance(25_000)  # 1 ms
    rec = log.warning("uart0", "write to a read-only register")
    assert (rec.seq, rec.cycles, rec.time_ns) == (1, 25_000, 1_000_000)
    assert (rec.level, rec.source) == ("warning", "uart0")
    assert rec.text() == "[    0.001000] warning uart0: write to a read-only register"


def test_unknown_level_is_refused() -> None:
    log = BoardLog(lambda: 0, 1000)
    with pytest.raises(ValueError, match="log level 'loud'"):
        log.write("loud", "cpu", "x")
    with pytest.raises(ValueError):
        log.records(level="verbose")


def test_history_is_bounded_and_counts_what_it_dropped() -> None:
    log = BoardLog(lambda: 0, 1000, keep=3)
    for i in range(5):
        log.info("cpu", f"m{i}")
    kept = log.records()
    assert [r.message for r in kept] == ["m2", "m3", "m4"] and log.dropped == 2
    assert [r.seq for r in kept] == [3, 4, 5]


def test_queries_by_sequence_level_source_and_pattern() -> None:
    log = BoardLog(lambda: 0, 1000)
    log.debug("eth0", "rx frame dropped")
    log.warning("cpu", "BusFault taken: PRECISERR")
    log.error("cpu", "firmware fault: lockup")
    log.info("uart0", "CTRL.HSTEST is not modelled")
    assert [r.seq for r in log.records(level="warning")] == [2, 3]
    assert [r.seq for r in log.records(source="cpu")] == [2, 3]
    assert [r.seq for r in log.records(pattern=r"Bus\w+")] == [2]
    assert [r.seq for r in log.records(since=2)] == [3, 4]
    log.clear()
    assert log.records() == []
    assert log.info("cpu", "after").seq == 5


def test_subscribers_see_each_record_until_they_unsubscribe() -> None:
    log = BoardLog(lambda: 0, 1000)
    seen: list[LogRecord] = []
    unsubscribe = log.subscribe(seen.append)
    log.info("cpu", "one")
    unsubscribe()
    log.info("cpu", "two")
    assert [r.message for r in seen] == ["one"]


def test_devices_on_a_machine_write_guest_errors_to_its_log() -> None:
    m = Machine(load_platform("mps2-an385"))
    uart = m.device("uart0")
    uart.read(0x100, 4)  # an offset the UART does not have
    uart.unimplemented("a feature")
    uart.unimplemented("a feature")
    recs = m.board_log.records(source="uart0")
    assert [r.level for r in recs] == ["warning", "info"], recs
    assert "unmapped offset" in recs[0].message and recs[1].message == "a feature is not modelled"
    assert m.board_log.where().startswith("0x")
