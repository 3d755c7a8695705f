"""Lan9118 IRQ pin from IRQ_CFG (IRQ_EN, IRQ_POL, IRQ_TYPE) and the board's wiring.

The pin's electrical level follows the datasheet table; what the NVIC sees
depends on ``irq_wiring``. With the MPS2 boards' default wiring the two driver
families receive frames without livelock on AN385 and AN511: Mbed OS
(IRQ_CFG = IRQ_EN only: active-low open-drain) and FreeRTOS/Zephyr
(0x22000111: active-high push-pull). With QEMU's wiring Mbed's ISR livelocks.
"""

from __future__ import annotations

import pytest
from lan9118_drivers import FreeRtos, Mbed, Zephyr
from test_lan9118 import INT_EN, INT_STS, IRQ_CFG, SW_INT, frame, line

from emulator.board.platform import load_platform
from emulator.clock import Clock
from peripherals.lan9118 import Lan9118

ISR_ENTRY_LIMIT = 50


def pin_expected(irq_type: int, pol: int, en: int, pending: bool) -> bool:
    """The datasheet's IRQ_CFG table, written out: the pin's level (True = high)."""
    asserted = pending and bool(en)
    if irq_type:  # push-pull
        return asserted if pol else not asserted
    return not asserted  # open-drain: active low whatever IRQ_POL says; released = pull-up high


@pytest.mark.parametrize("wiring", ["active-level", "qemu", "inverted"])
@pytest.mark.parametrize("cfg", range(8))
@pytest.mark.parametrize("pending", [False, True])
def test_pin_and_wiring_table(clock: Clock, wiring: str, cfg: int, pending: bool) -> None:
    eth = Lan9118("eth0", clock, irq_wiring=wiring)
    irq_type, pol, en = cfg & 1, (cfg >> 1) & 1, (cfg >> 2) & 1
    eth.write(IRQ_CFG, 4, irq_type | (pol << 4) | (en << 8))
    if pending:
        eth.write(INT_EN, 4, SW_INT)   # SW_INT_EN 0 -> 1 raises SW_INT
    pin = pin_expected(irq_type, pol, en, pending)
    assert eth.pin_level() == pin
    nvic = {"qemu": pin, "inverted": not pin, "active-level": pending and bool(en)}[wiring]
    assert line(eth) == nvic
    eth.write(INT_STS, 4, SW_INT)
    idle = pin_expected(irq_type, pol, en, False)
    assert line(eth) == {"qemu": idle, "inverted": not idle, "active-level": False}[wiring]


def test_default_wiring_is_quiet_after_reset(clock: Clock) -> None:
    eth = Lan9118("eth0", clock)
    assert eth.irq_wiring == "active-level"
    assert eth.pin_level()            # IRQ_EN = 0, open-drain released: the pull-up holds it high
    assert not line(eth)              # ... and nothing is asserted toward the NVIC


def test_unknown_wiring_is_refused(clock: Clock) -> None:
    with pytest.raises(ValueError, match="irq_wiring must be one of"):
        Lan9118("eth0", clock, irq_wiring="sideways")


def board_eth(platform: str, clock: Clock, **override: object) -> Lan9118:
    """The board's eth0 as its platform file builds it (settings and all), with overrides."""
    spec = next(d for d in load_platform(platform).devices if d.name == "eth0")
    return Lan9118("eth0", clock, **{**spec.settings, **override})


def serve_interrupts(eth: Lan9118, isr) -> int:  # noqa: ANN001 - a driver's ISR
    """Take the interrupt while the NVIC input is asserted, as the level-sensitive NVIC would.

    A livelock (the line asserted while the ISR finds nothing to do) fails the test."""
    entries = 0
    while line(eth):
        enabled_pending = eth.read(INT_STS, 4) & eth.read(INT_EN, 4)
        assert enabled_pending, "livelock: the IRQ line is asserted with no enabled interrupt pending"
        isr()
        entries += 1
        assert entries < ISR_ENTRY_LIMIT, "the ISR keeps being re-entered"
    return entries


BOARDS = ["mps2-an385", "mps2-an511"]


@pytest.mark.parametrize("platform", BOARDS)
def test_mbed_style_setup_receives_without_livelock(platform: str, clock: Clock) -> None:
    eth = board_eth(platform, clock, chip_id=0x9220)   # Mbed's driver accepts only a LAN9220
    drv = Mbed(eth, clock)
    drv.init()
    assert eth.read(IRQ_CFG, 4) & 0x111 == 0x100       # IRQ_EN only: active-low open-drain
    assert not line(eth)
    for round_ in range(3):
        frames = [frame(n=60 + 13 * k + round_, seed=k + 10 * round_) for k in range(3)]
        for f in frames:
            eth.frame_ports["eth"].deliver(f)
        assert not eth.pin_level()                      # the pin is pulled low ...
        assert line(eth)                                # ... and the NVIC sees the interrupt
        assert serve_interrupts(eth, drv.isr) == 1      # RSFL taken once, then disabled
        drv.rx_task()                                   # the thread drains and re-enables RSFL
        assert drv.received[-3:] == frames
        assert not line(eth)


@pytest.mark.parametrize("platform", BOARDS)
def test_freertos_style_setup_receives_without_livelock(platform: str, clock: Clock) -> None:
    eth = board_eth(platform, clock, chip_id=0x0118)   # FreeRTOS's driver accepts only 0x0118
    drv = FreeRtos(eth, clock)
    drv.init()
    assert eth.read(IRQ_CFG, 4) & 0xFF0001FF == 0x22000111
    assert not line(eth)
    frames = [frame(n=61 + k, seed=k) for k in range(4)]
    for f in frames:
        eth.frame_ports["eth"].deliver(f)
    assert eth.pin_level() and line(eth)                # active-high push-pull
    assert serve_interrupts(eth, drv.isr) == 1
    drv.rx_task()
    assert len(drv.received) == 4 and drv.received[0][:len(frames[0])] == frames[0]
    # Its RX over-read underruns the FIFO (RXE, enabled): one more entry W1Cs it, then quiet.
    assert serve_interrupts(eth, drv.isr) <= 1
    assert not line(eth)


@pytest.mark.parametrize("platform", BOARDS)
def test_zephyr_style_setup_receives_without_livelock(platform: str, clock: Clock) -> None:
    eth = board_eth(platform, clock)                    # Zephyr accepts 0x0118 and 0x9220
    drv = Zephyr(eth, clock)
    drv.init()
    assert eth.read(IRQ_CFG, 4) & 0xFF0001FF == 0x22000111
    frames = [frame(n=n, seed=n) for n in (60, 77, 200)]
    for f in frames:
        eth.frame_ports["eth"].deliver(f)
    assert serve_interrupts(eth, drv.isr) == 4          # level re-entry: one frame per entry, then the ack
    assert drv.received == frames and not line(eth)


def test_qemu_wiring_livelocks_mbed(clock: Clock) -> None:
    """The failure the default wiring avoids: QEMU's raw pin idles high under Mbed's setting."""
    eth = board_eth("mps2-an511", clock, irq_wiring="qemu")
    Mbed(eth, clock).init()
    assert line(eth) and not eth.read(INT_STS, 4) & eth.read(INT_EN, 4)
