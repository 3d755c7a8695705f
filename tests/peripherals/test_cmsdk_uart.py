"""CmsdkApbUart: register checklist, TX edge interrupt, RX pacing and overrun, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from periph_helpers import HZ, run, run_until, wire

from emulator.clock import Clock
from peripherals.cmsdk_uart import CmsdkApbUart

DATA, STATE, CTRL, INTSTATUS, BAUDDIV = 0x00, 0x04, 0x08, 0x0C, 0x10
TXFULL, RXFULL, TXOVR, RXOVR = 1, 2, 4, 8
TX_EN, RX_EN, TX_INTEN, RX_INTEN, TXO_INTEN, RXO_INTEN = 1, 2, 4, 8, 16, 32
INT_TX, INT_RX, INT_TXO, INT_RXO = 1, 2, 4, 8
CHAR_115200 = round(10 * HZ / 115200)  # 2170 cycles

ID_VALUES = {0xFD0: 0x04, 0xFD4: 0, 0xFD8: 0, 0xFDC: 0, 0xFE0: 0x21, 0xFE4: 0xB8, 0xFE8: 0x1B,
             0xFEC: 0, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}


@pytest.fixture
def uart(clock: Clock) -> CmsdkApbUart:
    return CmsdkApbUart("uart0", clock)


def capture(uart: CmsdkApbUart) -> bytearray:
    out = bytearray()
    uart.ports["serial"].connect(out.extend)
    return out


# -- reset values and register access -------------------------------------------------

def test_reset_values(uart: CmsdkApbUart) -> None:
    for offset in (DATA, STATE, CTRL, INTSTATUS, BAUDDIV):
        assert uart.read(offset, 4) == 0, hex(offset)
    for offset, value in ID_VALUES.items():
        assert uart.read(offset, 4) == value, hex(offset)
    assert not any(line.level for line in uart.irq.values())


def test_reset_restores_registers_queue_and_lines(uart: CmsdkApbUart) -> None:
    sinks = wire(uart)
    uart.write(BAUDDIV, 4, 217)
    uart.write(CTRL, 4, RX_EN | RX_INTEN | TX_EN | TX_INTEN)
    uart.ports["serial"].deliver(b"xyz")
    uart.write(DATA, 4, 0x41)
    assert sinks["rx"].level and sinks["tx"].level and uart.rx_pending == 2
    uart.reset()
    for offset in (STATE, CTRL, INTSTATUS, BAUDDIV):
        assert uart.read(offset, 4) == 0, hex(offset)
    assert uart.rx_pending == 0
    assert not any(s.level for s in sinks.values())
    assert uart.read(DATA, 4) == 0


def test_ctrl_and_bauddiv_store_only_defined_bits(uart: CmsdkApbUart) -> None:
    uart.write(CTRL, 4, 0xFFFF_FFFF)
    assert uart.read(CTRL, 4) == 0x7F
    uart.write(BAUDDIV, 4, 0xFFFF_FFFF)
    assert uart.read(BAUDDIV, 4) == 0xF_FFFF


def test_ro_writes_ignored(uart: CmsdkApbUart) -> None:
    uart.write(STATE, 4, TXFULL | RXFULL)
    assert uart.read(STATE, 4) == 0
    uart.write(CTRL, 4, RX_EN)
    uart.ports["serial"].deliver(b"a")
    uart.write(STATE, 4, 0)
    uart.write(STATE, 4, RXFULL)
    assert uart.read(STATE, 4) == RXFULL
    for offset, value in ID_VALUES.items():
        uart.write(offset, 4, 0xFF)
        assert uart.read(offset, 4) == value


def test_sub_word_id_reads(uart: CmsdkApbUart) -> None:
    assert uart.read(0xFE0, 1) == 0x21
    assert uart.read(0xFE1, 1) == 0


# -- transmit -----------------------------------------------------------------------------

def test_tx_bytes_reach_the_port_at_once(uart: CmsdkApbUart) -> None:
    out = capture(uart)
    uart.write(CTRL, 4, TX_EN)
    for b in b"Hi\n":
        uart.write(DATA, 4, b)
        assert uart.read(STATE, 4) & TXFULL == 0
    assert bytes(out) == b"Hi\n"
    uart.write(DATA, 4, 0x1_23)  # only the low byte goes out
    assert out[-1] == 0x23


def test_tx_interrupt_is_an_edge_latched_until_intclear(uart: CmsdkApbUart) -> None:
    sinks = wire(uart)
    uart.write(CTRL, 4, TX_EN)
    uart.write(DATA, 4, 0x41)
    assert uart.read(INTSTATUS, 4) == 0  # TX_INTEN clear: the edge is not latched
    uart.write(CTRL, 4, TX_EN | TX_INTEN)
    assert uart.read(INTSTATUS, 4) == 0  # enabling does not raise it: TX is not a level
    assert sinks["tx"].edges == []
    uart.write(DATA, 4, 0x42)
    assert uart.read(INTSTATUS, 4) == INT_TX
    assert sinks["tx"].edges == [True] and sinks["combined"].edges == [True]
    assert uart.read(INTSTATUS, 4) == INT_TX  # reading does not clear it
    uart.write(INTSTATUS, 4, INT_RX)  # W1C of another bit leaves it
    assert sinks["tx"].level
    uart.write(INTSTATUS, 4, INT_TX)
    assert uart.read(INTSTATUS, 4) == 0
    assert sinks["tx"].edges == [True, False] and sinks["combined"].edges == [True, False]


def test_intclear_sub_word_write_only_clears_its_lane(uart: CmsdkApbUart) -> None:
    uart.write(CTRL, 4, TX_EN | TX_INTEN)
    uart.write(DATA, 4, 0x41)
    uart.write(INTSTATUS + 1, 1, 0xFF)
    assert uart.read(INTSTATUS, 4) == INT_TX
    uart.write(INTSTATUS, 1, INT_TX)
    assert uart.read(INTSTATUS, 4) == 0


def test_tx_held_while_disabled_then_overrun(uart: CmsdkApbUart) -> None:
    out = capture(uart)
    sinks = wire(uart)
    uart.write(CTRL, 4, TXO_INTEN)
    uart.write(DATA, 4, 0x41)
    assert uart.read(STATE, 4) == TXFULL and out == b""
    uart.write(DATA, 4, 0x42)
    assert uart.read(STATE, 4) == TXFULL | TXOVR
    assert uart.read(INTSTATUS, 4) == INT_TXO
    assert sinks["txovr"].level and sinks["combined"].level and not sinks["tx"].level
    # STATE.TXOVERRUN is W1C
    uart.write(STATE, 4, TXOVR)
    assert uart.read(STATE, 4) == TXFULL
    assert sinks["txovr"].edges == [True, False]
    # enabling the transmitter sends the held (latest) byte and clears TXFULL
    uart.write(CTRL, 4, TX_EN | TX_INTEN | TXO_INTEN)
    assert bytes(out) == b"B"
    assert uart.read(STATE, 4) == 0
    assert uart.read(INTSTATUS, 4) == INT_TX


def test_intclear_txo_clears_state_overrun(uart: CmsdkApbUart) -> None:
    sinks = wire(uart)
    uart.write(CTRL, 4, TXO_INTEN)
    uart.write(DATA, 4, 1)
    uart.write(DATA, 4, 2)
    assert sinks["txovr"].level
    uart.write(INTSTATUS, 4, INT_TXO)
    assert uart.read(STATE, 4) & TXOVR == 0
    assert not sinks["txovr"].level


def test_overrun_interrupt_is_a_level_of_state_and_enable(uart: CmsdkApbUart) -> None:
    sinks = wire(uart)
    uart.write(DATA, 4, 1)
    uart.write(DATA, 4, 2)
    assert uart.read(STATE, 4) & TXOVR and uart.read(INTSTATUS, 4) == 0
    assert not sinks["txovr"].level
    uart.write(CTRL, 4, TXO_INTEN)
    assert uart.read(INTSTATUS, 4) == INT_TXO and sinks["txovr"].level
    uart.write(CTRL, 4, 0)
    assert uart.read(INTSTATUS, 4) == 0 and not sinks["txovr"].level


# -- receive -------------------------------------------------------------------------------

def test_char_time_from_bauddiv(uart: CmsdkApbUart) -> None:
    assert uart.char_time() == CHAR_115200 == 2170
    uart.write(BAUDDIV, 4, 15)
    assert uart.char_time() == CHAR_115200
    uart.write(BAUDDIV, 4, 16)
    assert uart.char_time() == 160
    uart.write(BAUDDIV, 4, HZ // 9600)
    assert uart.char_time() == 10 * (HZ // 9600)


def test_rx_backpressure_bytes_land_on_the_char_grid(uart: CmsdkApbUart, clock: Clock) -> None:
    sinks = wire(uart)
    uart.write(BAUDDIV, 4, 217)
    char = uart.char_time()
    uart.write(CTRL, 4, RX_EN | RX_INTEN)
    t0 = clock.now
    uart.ports["serial"].deliver(b"abc")
    assert uart.read(STATE, 4) == RXFULL  # an idle line: the first byte lands at once
    assert sinks["rx"].edges == [True]
    assert uart.rx_pending == 2
    received = []
    for k, expected in enumerate(b"abc"):
        run(clock, 1000)  # the firmware keeps up: it reads within a character time
        assert uart.read(STATE, 4) == RXFULL
        uart.write(INTSTATUS, 4, INT_RX)
        assert not sinks["rx"].level
        timers = len(clock.pending())
        received.append(uart.read(DATA, 4))
        assert received[-1] == expected
        assert uart.read(STATE, 4) == 0
        assert len(clock.pending()) == timers  # reading DATA schedules nothing
        if expected == ord("c"):
            break
        # the next byte lands one character time after the previous one landed, not after the read
        run_until(clock, t0 + (k + 1) * char - 1)
        assert uart.read(STATE, 4) == 0 and not sinks["rx"].level
        run(clock, 1)
        assert uart.read(STATE, 4) == RXFULL and sinks["rx"].level
    assert bytes(received) == b"abc"
    assert uart.rx_pending == 0
    run(clock, 10 * char)
    assert uart.read(STATE, 4) == 0
    assert uart.read(STATE, 4) & RXOVR == 0


def test_rx_backpressure_a_late_read_lands_the_waiting_byte(uart: CmsdkApbUart, clock: Clock) -> None:
    sinks = wire(uart)
    char = uart.char_time()
    uart.write(CTRL, 4, RX_EN | RX_INTEN)
    uart.ports["serial"].deliver(b"xyz")
    for expected in b"xy":
        run(clock, 3 * char)  # slow firmware: the next byte's time passed while RXFULL
        assert uart.read(STATE, 4) == RXFULL and uart.read(STATE, 4) & RXOVR == 0
        uart.write(INTSTATUS, 4, INT_RX)
        assert uart.read(DATA, 4) == expected
        # the byte held back lands as DATA is read, with a new RX interrupt
        assert uart.read(STATE, 4) == RXFULL and sinks["rx"].level
    landed = clock.now
    assert uart.read(DATA, 4) == ord("z")
    assert uart.rx_pending == 0 and uart.read(STATE, 4) == 0
    uart.ports["serial"].deliver(b"!")  # the line is busy until one character after "z"
    run_until(clock, landed + char - 1)
    assert uart.read(STATE, 4) == 0
    run(clock, 1)
    assert uart.read(STATE, 4) == RXFULL and uart.read(DATA, 4) == ord("!")


def test_rx_without_rx_inten_schedules_no_events(uart: CmsdkApbUart, clock: Clock) -> None:
    uart.write(BAUDDIV, 4, 16)
    char = uart.char_time()
    uart.write(CTRL, 4, RX_EN)
    t0 = clock.now
    uart.ports["serial"].deliver(b"wxyz")
    assert clock.pending() == []  # polled: landings are computed when STATE/DATA are read
    assert uart.read(DATA, 4) == ord("w")
    run_until(clock, t0 + char - 1)
    assert uart.read(STATE, 4) == 0 and clock.pending() == []
    run(clock, 1)
    assert uart.read(STATE, 4) == RXFULL
    run(clock, 5 * char)  # a slow poll: "y" waited, it lands as "x" is read
    assert uart.read(DATA, 4) == ord("x")
    assert uart.read(STATE, 4) == RXFULL
    uart.write(CTRL, 4, RX_EN | RX_INTEN)  # back to interrupts: "z" is scheduled on the grid
    assert uart.read(DATA, 4) == ord("y")
    assert len(clock.pending()) == 1
    assert uart.read(INTSTATUS, 4) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.integers(0, 400), st.integers(0, 400)), min_size=1,
                max_size=30), st.integers(1, 12))
def test_rx_landings_computed_on_read_match_the_event_driven_ones(reads: list[tuple[int, int, int]],
                                                                  n: int) -> None:
    """A polling firmware (RX_INTEN clear) sees every byte at the same cycle as with RX interrupts."""
    seen = []
    for ctrl in (RX_EN | RX_INTEN, RX_EN):
        clock = Clock(HZ)
        uart = CmsdkApbUart("u", clock)
        uart.write(BAUDDIV, 4, 16)
        uart.write(CTRL, 4, ctrl)
        uart.ports["serial"].deliver(bytes(range(65, 65 + n)))
        log = []
        for gap, hold, sleep in reads:
            run(clock, sleep)  # not looking: a byte may land meanwhile (on its grid time)
            for _ in range(gap):  # poll STATE every cycle: the first cycle RXFULL shows is the landing
                run(clock, 1)
                if uart.read(STATE, 4) & RXFULL:
                    run(clock, hold)  # then read DATA late or at once
                    log.append((clock.now - hold, uart.read(DATA, 4)))
                    break
        seen.append(log)
    assert seen[0] == seen[1]
    assert len(seen[0]) == min(n, len(seen[0])) and all(b == 65 + i for i, (_, b) in enumerate(seen[0]))


def test_rx_queued_while_disabled_lands_when_enabled(uart: CmsdkApbUart, clock: Clock) -> None:
    uart.ports["serial"].deliver(b"q")
    run(clock, 100_000)
    assert uart.read(STATE, 4) == 0 and uart.rx_pending == 1
    uart.write(CTRL, 4, RX_EN)
    assert uart.read(STATE, 4) == RXFULL
    assert uart.read(DATA, 4) == ord("q")
    assert uart.read(INTSTATUS, 4) == 0  # RX_INTEN clear: no RX interrupt


def test_rx_disabled_after_read_holds_next_byte(uart: CmsdkApbUart, clock: Clock) -> None:
    uart.write(CTRL, 4, RX_EN)
    uart.ports["serial"].deliver(b"12")
    assert uart.read(DATA, 4) == ord("1")
    uart.write(CTRL, 4, 0)
    run(clock, 10 * CHAR_115200)
    assert uart.read(STATE, 4) == 0 and uart.rx_pending == 1
    uart.write(CTRL, 4, RX_EN)
    assert uart.read(DATA, 4) == ord("2")


def test_rx_overrun_mode_bytes_arrive_at_baud_rate(clock: Clock) -> None:
    uart = CmsdkApbUart("uart1", clock, rx_overrun=True)
    sinks = wire(uart)
    char = uart.char_time()
    uart.write(CTRL, 4, RX_EN | RX_INTEN | RXO_INTEN)
    uart.ports["serial"].deliver(b"xyz")
    assert uart.read(STATE, 4) == RXFULL
    run(clock, char - 1)
    assert uart.read(STATE, 4) == RXFULL and not sinks["rxovr"].level
    run(clock, 1)
    assert uart.read(STATE, 4) == RXFULL | RXOVR
    assert uart.read(INTSTATUS, 4) == INT_RX | INT_RXO
    assert sinks["rxovr"].edges == [True] and sinks["combined"].level
    run(clock, char)
    assert uart.read(DATA, 4) == ord("z")  # the last byte replaced the others
    assert uart.read(STATE, 4) == RXOVR
    uart.write(INTSTATUS, 4, INT_RXO)
    assert uart.read(STATE, 4) == 0 and not sinks["rxovr"].level
    assert uart.rx_pending == 0


def test_rx_overrun_mode_reads_in_time_lose_nothing(clock: Clock) -> None:
    uart = CmsdkApbUart("uart1", clock, rx_overrun=True)
    char = uart.char_time()
    uart.write(CTRL, 4, RX_EN)
    uart.ports["serial"].deliver(b"ok")
    assert uart.read(DATA, 4) == ord("o")
    run(clock, char)
    assert uart.read(DATA, 4) == ord("k")
    assert uart.read(STATE, 4) == 0


def test_rx_overrun_mode_drops_bytes_while_disabled(clock: Clock) -> None:
    uart = CmsdkApbUart("uart1", clock, rx_overrun=True)
    uart.ports["serial"].deliver(b"lost")
    run(clock, 10 * uart.char_time())
    uart.write(CTRL, 4, RX_EN)
    assert uart.read(STATE, 4) == 0 and uart.rx_pending == 0


def test_unknown_setting_rejected(clock: Clock) -> None:
    with pytest.raises(ValueError):
        CmsdkApbUart("u", clock, fifo=True)


# -- snapshots ------------------------------------------------------------------------------

def test_snapshot_round_trip_with_pending_rx(uart: CmsdkApbUart, clock: Clock) -> None:
    uart.write(BAUDDIV, 4, 100)
    uart.write(CTRL, 4, RX_EN | RX_INTEN | TX_EN | TX_INTEN)
    uart.write(DATA, 4, 0x55)
    uart.ports["serial"].deliver(b"123")
    run(clock, 50)
    assert uart.read(DATA, 4) == ord("1")  # "1" landed at 0: "2" is due at 1000
    state = uart.get_state()

    clock2 = Clock(HZ)
    clock2.advance(clock.base)
    twin = CmsdkApbUart("uart0", clock2)
    sinks = wire(twin)
    twin.set_state(state)
    assert sinks["tx"].edges == [True]  # the restored INTSTATUS.TX drives the line
    for dev in (uart, twin):
        assert dev.read(INTSTATUS, 4) == INT_TX | INT_RX
        assert dev.read(STATE, 4) == 0
        assert dev.rx_pending == 2
    for c, dev in ((clock, uart), (clock2, twin)):
        run_until(c, 1000 - 1)
        assert dev.read(STATE, 4) == 0
        run(c, 1)
        assert dev.read(STATE, 4) == RXFULL
        assert dev.read(DATA, 4) == ord("2")
    assert uart.get_state() == twin.get_state()


def test_snapshot_version_checked(uart: CmsdkApbUart) -> None:
    state = uart.get_state()
    state["version"] = 99
    with pytest.raises(ValueError):
        uart.set_state(state)


# -- robustness -------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 0xFFF), st.sampled_from([1, 2, 4]),
                          st.integers(0, 0xFFFF_FFFF), st.integers(0, 5000)), max_size=40),
       st.booleans(), st.binary(max_size=8))
def test_random_accesses_never_raise(ops: list[tuple[bool, int, int, int, int]], overrun: bool,
                                     rx: bytes) -> None:
    clock = Clock(HZ)
    uart = CmsdkApbUart("fuzz", clock, rx_overrun=overrun)
    wire(uart)
    uart.ports["serial"].deliver(rx)
    for is_write, offset, size, value, delay in ops:
        if is_write:
            uart.write(offset, size, value)
        else:
            assert 0 <= uart.read(offset, size) < (1 << (8 * size))
        run(clock, delay)
    uart.reset()
    assert uart.read(STATE, 4) == 0
