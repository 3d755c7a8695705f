"""UnimplementedDevice: reads 0, ignores writes, logs the first access once with where it came from."""

from __future__ import annotations

import logging

import pytest

from emulator.boardlog import BoardLog
from emulator.clock import Clock
from peripherals.unimplemented import UnimplementedDevice


def test_reads_zero_ignores_writes_logs_once(clock: Clock) -> None:
    dev = UnimplementedDevice("gpio_hole", clock, size=0x4000, label="CMSDK AHB peripheral region")
    log = BoardLog(lambda: 0, 25_000_000)
    log.where = lambda: "0x00000412 <board_init>"
    dev.board_log = log
    assert dev.SIZE == 0x4000
    dev.write(0x18, 4, 0xFFFF)
    assert dev.read(0x18, 4) == 0
    assert dev.read(0x3FFF, 1) == 0
    lines = [f"{r.source}: {r.message}" for r in log.records()]
    assert lines == ["gpio_hole: unimplemented device 'CMSDK AHB peripheral region': first access: write of "
                     "4 byte(s) at +0x18 (0xFFFF) at PC 0x00000412 <board_init> (reads 0, writes ignored)"]
    assert dev.accesses == 3
    dev.reset()
    state = dev.get_state()
    twin = UnimplementedDevice("gpio_hole", Clock(1), size=0x4000)
    twin.set_state(state)
    assert twin.accesses == 3 and twin.first_access == dev.first_access


@pytest.mark.parametrize("size", [0, 0x800, -0x1000])
def test_size_must_be_whole_pages(clock: Clock, size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 0x1000"):
        UnimplementedDevice("x", clock, size=size)


def test_alone_it_logs_through_python_logging(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    dev = UnimplementedDevice("vga", clock, label="VGA")
    with caplog.at_level(logging.WARNING, logger="vboard.unimplemented"):
        dev.read(0, 4)
        dev.read(4, 4)
    assert [r.getMessage() for r in caplog.records] == [
        "vga: unimplemented device 'VGA': first access: read of 4 byte(s) at +0x0 (reads 0, writes ignored)"]
