"""Lan9118: register checklist, IRQ polarity as QEMU wires it (irq_wiring="qemu"; the other
wirings: test_lan9118_irq_pin.py), FIFOs, filtering, PHY, GPT, snapshots, driver replays."""

from __future__ import annotations

import ctypes
import random
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lan9118_drivers import (
    ADDRH,
    ADDRL,
    AFC_CFG,
    BMCR,
    BMSR,
    BYTE_TEST,
    E2P_CMD,
    E2P_DATA,
    FIFO_INT,
    FREE_RUN,
    GPIO_CFG,
    GPT_CFG,
    GPT_CNT,
    HASHH,
    HASHL,
    HW_CFG,
    ID_REV,
    INT_EN,
    INT_STS,
    IRQ_CFG,
    MAC_CR,
    MAC_CSR_CMD,
    MAC_CSR_DATA,
    MII_ACC,
    MII_DATA,
    PMT_CTRL,
    RX_CFG,
    RX_DATA,
    RX_DP_CTRL,
    RX_DROP,
    RX_FIFO_INF,
    RX_STATUS,
    RX_STATUS_PEEK,
    TX_CFG,
    TX_DATA,
    TX_FIFO_INF,
    TX_STATUS,
    WORD_SWAP,
    DriverError,
    FreeRtos,
    Linux,
    Mbed,
    Zephyr,
    words_of,
)
from periph_helpers import HZ, run, run_until

from emulator.bus.device import Device
from emulator.clock import Clock
from peripherals.lan9118 import Lan9118, fifo_sizes, hash_index

TX_STATUS_PEEK = 0x4C
MAC = bytes.fromhex("525400123456")
PEER = bytes.fromhex("020000000002")
BCAST = b"\xff" * 6
RSFL, RSFF, TSFL, TSFF, TDFA, TDFO, TXE, RXE = (
    1 << 3, 1 << 4, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 13, 1 << 14)
RXDF, RWT, TXSO, PHY_INT, GPT_INT, TX_IOC, RXSTOP, TXSTOP, SW_INT = (
    1 << 6, 1 << 15, 1 << 16, 1 << 18, 1 << 19, 1 << 21, 1 << 24, 1 << 25, 1 << 31)
TXEN, RXEN, PRMS, INVFILT, HO, HPFILT, BCAST_DIS, MCPAS, RXALL, PASSBAD = (
    1 << 3, 1 << 2, 1 << 18, 1 << 17, 1 << 15, 1 << 13, 1 << 11, 1 << 19, 1 << 31, 1 << 16)
FS, LS = 1 << 13, 1 << 12
FCS_RESIDUE = 0x2144DF1C
GPT_TICK = HZ // 10_000


@pytest.fixture
def eth(clock: Clock) -> Lan9118:
    return Lan9118("eth0", clock, irq_wiring="qemu")


def frame(dest: bytes = MAC, n: int = 64, seed: int = 1, ethertype: int = 0x0800) -> bytes:
    body = bytes((seed + i * 7) & 0xFF for i in range(n - 14))
    return dest + PEER + struct.pack(">H", ethertype) + body


def capture(dev: Lan9118) -> list[bytes]:
    out: list[bytes] = []
    dev.frame_ports["eth"].connect(out.append)
    return out


def mac_wr(dev: Lan9118, idx: int, value: int) -> None:
    dev.write(MAC_CSR_DATA, 4, value)
    dev.write(MAC_CSR_CMD, 4, (1 << 31) | idx)


def mac_rd(dev: Lan9118, idx: int) -> int:
    dev.write(MAC_CSR_CMD, 4, (1 << 31) | (1 << 30) | idx)
    assert not dev.read(MAC_CSR_CMD, 4) & (1 << 31)
    return dev.read(MAC_CSR_DATA, 4)


def phy_rd(dev: Lan9118, reg: int, addr: int = 1) -> int:
    mac_wr(dev, MII_ACC, (addr << 11) | (reg << 6) | 1)
    return mac_rd(dev, MII_DATA)


def phy_wr(dev: Lan9118, reg: int, value: int) -> None:
    mac_wr(dev, MII_DATA, value)
    mac_wr(dev, MII_ACC, (1 << 11) | (reg << 6) | 3)


def enable(dev: Lan9118, mac_cr: int = TXEN | RXEN | PRMS) -> None:
    mac_wr(dev, MAC_CR, mac_cr)
    dev.write(TX_CFG, 4, 2)


def tx(dev: Lan9118, data: bytes, offset: int = 0, cmd_b: int | None = None, tag: int = 0,
       align: int = 0, ioc: bool = False) -> None:
    n = len(data)
    dev.write(TX_DATA, 4, (ioc << 31) | (align << 24) | (offset << 16) | FS | LS | n)
    dev.write(TX_DATA, 4, cmd_b if cmd_b is not None else (tag << 16) | n)
    words = words_of(bytes(offset) + data)
    unit = (4, 16, 32)[align] // 4
    words += [0] * (-len(words) % unit)
    for w in words:
        dev.write(TX_DATA, 4, w)


def rx_pop(dev: Lan9118, offset: int = 0) -> tuple[int, bytes]:
    status = dev.read(RX_STATUS, 4)
    n = (status >> 16) & 0x3FFF
    words = (offset + n + 3) // 4
    data = b"".join(struct.pack("<I", dev.read(RX_DATA, 4)) for _ in range(words))
    return status, data[offset:offset + n]


def line(dev: Lan9118) -> bool:
    return dev.irq["irq"].level


# -- reset values and register access ------------------------------------------------------------

RESET_VALUES = {
    0x40: 0, 0x44: 0, 0x48: 0, 0x4C: 0, ID_REV: 0x01180001, IRQ_CFG: 0, INT_STS: 0, INT_EN: 0,
    BYTE_TEST: 0x87654321, FIFO_INT: 0x48000000, RX_CFG: 0, TX_CFG: 0, HW_CFG: 0x00050004,
    RX_DP_CTRL: 0, RX_FIFO_INF: 0, TX_FIFO_INF: 4608, PMT_CTRL: 1, GPIO_CFG: 0, GPT_CFG: 0xFFFF,
    GPT_CNT: 0xFFFF, WORD_SWAP: 0, FREE_RUN: 0, RX_DROP: 0, MAC_CSR_CMD: 0, MAC_CSR_DATA: 0,
    AFC_CFG: 0, E2P_CMD: 0x100, E2P_DATA: 0,
}
MAC_RESET = {MAC_CR: 0x00040000, ADDRH: 0x5634, ADDRL: 0x12005452, HASHH: 0, HASHL: 0, MII_ACC: 0,
             MII_DATA: 0, 8: 0, 9: 0xFFFF, 10: 0xFFFF, 11: 0, 12: 0}
PHY_RESET = {0: 0x3000, 1: 0x782D, 2: 0x0007, 3: 0xC0D1, 4: 0x01E1, 5: 0x45E1, 6: 1, 17: 2, 18: 0x00E1,
             27: 0, 29: 0, 30: 0, 31: 0x1018}


def test_reset_values(eth: Lan9118) -> None:
    for off, value in RESET_VALUES.items():
        assert eth.read(off, 4) == value, hex(off)
    for idx, value in MAC_RESET.items():
        assert mac_rd(eth, idx) == value, idx
    for reg, value in PHY_RESET.items():
        assert phy_rd(eth, reg) == value, reg
    assert line(eth)   # IRQ_EN=0, POL=0: the pin idles high as on QEMU


def test_reset_value_table_matches_model(eth: Lan9118) -> None:
    for reg in eth.REGS:
        if reg.offset >= 0x40 and reg.offset not in (ID_REV, E2P_CMD):
            assert reg.reset == RESET_VALUES[reg.offset] or reg.offset in (TX_FIFO_INF,), reg.name


@pytest.mark.parametrize(("chip_id", "id_rev", "coe"), [
    (0x0118, 0x01180001, False), (0x9220, 0x92200000, True), (0x92210001, 0x92210001, True)])
def test_chip_id_setting(clock: Clock, chip_id: int, id_rev: int, coe: bool) -> None:
    dev = Lan9118("e", clock, chip_id=chip_id, mac="02:11:22:33:44:55")
    assert dev.read(ID_REV, 4) == id_rev
    assert mac_rd(dev, ADDRL) == 0x33221102 and mac_rd(dev, ADDRH) == 0x5544
    mac_wr(dev, 13, 0xFFFFFFFF)
    assert mac_rd(dev, 13) == (0x00010003 if coe else 0)


def test_unknown_setting_rejected(clock: Clock) -> None:
    with pytest.raises(ValueError):
        Lan9118("e", clock, bogus=1)
    with pytest.raises(ValueError):
        Lan9118("e", clock, mac="52:54:00")


def test_ro_writes_ignored(eth: Lan9118) -> None:
    for off in (0x40, 0x44, 0x48, 0x4C, ID_REV, BYTE_TEST, RX_FIFO_INF, TX_FIFO_INF, GPT_CNT, FREE_RUN,
                RX_DROP):
        eth.write(off, 4, 0xFFFF_FFFF)
        assert eth.read(off, 4) == RESET_VALUES[off], hex(off)
    eth.write(HW_CFG, 4, 0xFFFF_FFFE)
    assert eth.read(HW_CFG, 4) == 0x003F3004  # SRST_TO RO, MODE_32 RO 1, reserved bits dropped
    eth.write(PMT_CTRL, 4, 0)
    assert eth.read(PMT_CTRL, 4) & 1
    eth.write(IRQ_CFG, 4, 0xFFFF_FFFF)
    assert eth.read(IRQ_CFG, 4) == 0xFF000111  # IRQ_INT and INT_DEAS_STS RO, INT_DEAS_CLR SC


def test_stored_masks(eth: Lan9118) -> None:
    for off, mask in ((GPIO_CFG, 0x7777071F), (AFC_CFG, 0x00FFFFFF), (RX_CFG, 0xCFFF1F00),
                      (TX_CFG, 0x4), (WORD_SWAP, 0xFFFFFFFF), (GPT_CFG, 0x2000FFFF), (INT_EN, 0x83BFEFFF)):
        eth.write(off, 4, 0xFFFF_FFFF)
        assert eth.read(off, 4) == mask, hex(off)
        eth.write(off, 4, 0)
    mac_wr(eth, MAC_CR, 0xFFFF_FFFF)
    assert mac_rd(eth, MAC_CR) == 0x90BFBDEC


def test_int_sts_w1c_and_phy_int_read_only(eth: Lan9118) -> None:
    eth.write(INT_EN, 4, SW_INT)
    eth.write(INT_STS, 4, 0xFFFF_FFFF & ~SW_INT)
    assert eth.read(INT_STS, 4) == SW_INT
    eth.write(INT_STS, 1, 0xFF)   # sub-word write of the low byte leaves bit 31
    assert eth.read(INT_STS, 4) == SW_INT
    eth.write(INT_STS, 4, SW_INT)
    assert eth.read(INT_STS, 4) == 0
    phy_wr(eth, 30, 0xFE)
    eth.frame_ports["eth"].set_link(False)
    assert eth.read(INT_STS, 4) & PHY_INT
    eth.write(INT_STS, 4, PHY_INT)
    assert eth.read(INT_STS, 4) & PHY_INT   # cleared only by reading PHY reg 29
    assert phy_rd(eth, 29) == 0x10
    assert not eth.read(INT_STS, 4) & PHY_INT
    assert phy_rd(eth, 29) == 0


def test_sw_int_on_rising_enable_only(eth: Lan9118) -> None:
    eth.write(INT_EN, 4, SW_INT)
    eth.write(INT_STS, 4, SW_INT)
    eth.write(INT_EN, 4, SW_INT | RSFL)   # SW_INT_EN already set: no new SW_INT
    assert not eth.read(INT_STS, 4) & SW_INT
    eth.write(INT_EN, 4, 0)
    eth.write(INT_EN, 4, SW_INT)
    assert eth.read(INT_STS, 4) & SW_INT


@pytest.mark.parametrize("cfg", range(8))
@pytest.mark.parametrize("pending", [False, True])
def test_irq_line_polarity_type_enable(eth: Lan9118, cfg: int, pending: bool) -> None:
    irq_type, pol, en = cfg & 1, (cfg >> 1) & 1, (cfg >> 2) & 1
    eth.write(IRQ_CFG, 4, irq_type | (pol << 4) | (en << 8))
    if pending:
        eth.write(INT_EN, 4, SW_INT)
    active = bool(pending and en)
    expected = active if (pol and irq_type) else not active
    assert line(eth) == expected
    assert bool(eth.read(IRQ_CFG, 4) & (1 << 12)) == pending   # IRQ_INT regardless of IRQ_EN
    eth.write(INT_STS, 4, SW_INT)
    assert line(eth) == (not (pol and irq_type))


def test_irq_assert_deassert_edges(eth: Lan9118) -> None:
    edges: list[bool] = []
    eth.write(IRQ_CFG, 4, 0x111)
    eth.irq["irq"].connect(edges.append)
    eth.write(INT_EN, 4, RSFL)
    eth.frame_ports["eth"].deliver(frame())   # RXEN clear: dropped, no interrupt
    assert edges == []
    enable(eth)
    eth.frame_ports["eth"].deliver(frame())
    assert edges == [True]
    eth.write(INT_EN, 4, 0)
    assert edges == [True, False]
    eth.write(INT_EN, 4, RSFL)
    eth.write(INT_STS, 4, RSFL)
    assert edges == [True, False, True, False]


def test_soft_reset(eth: Lan9118, clock: Clock) -> None:
    enable(eth)
    eth.write(IRQ_CFG, 4, 0x22000111)
    eth.write(PMT_CTRL, 4, 0x4 | 0x40 | 0x2)
    eth.write(FIFO_INT, 4, 0)
    eth.write(INT_EN, 4, RSFL)
    mac_wr(eth, ADDRL, 0x11111111)
    phy_wr(eth, 30, 0xFE)
    phy_wr(eth, 4, 0x0DE1)
    eth.frame_ports["eth"].deliver(frame())
    run(clock, 1000)
    assert line(eth)
    eth.write(HW_CFG, 4, eth.read(HW_CFG, 4) | 1)
    assert eth.read(HW_CFG, 4) == 0x00050004   # SRST self-cleared, SRST_TO clear
    assert eth.read(IRQ_CFG, 4) == 0x11        # NASR: IRQ_POL, IRQ_TYPE
    assert eth.read(PMT_CTRL, 4) == 0x45       # NASR: PME_POL, PME_TYPE; READY
    for off in (INT_STS, INT_EN, RX_FIFO_INF, TX_CFG, RX_CFG):
        assert eth.read(off, 4) == 0, hex(off)
    assert eth.read(FIFO_INT, 4) == 0x48000000
    assert mac_rd(eth, MAC_CR) == PRMS and mac_rd(eth, ADDRL) == 0x12005452   # reloaded from EEPROM
    assert phy_rd(eth, 4) == 0x0DE1 and phy_rd(eth, 30) == 0xFE   # the PHY survives SRST
    assert eth.read(FREE_RUN, 4) == 25_000_000 * clock.now // HZ
    assert not line(eth)


def test_soft_reset_times_out_with_phy_powered_down(eth: Lan9118) -> None:
    phy_wr(eth, BMCR, 1 << 11)
    mac_wr(eth, ADDRL, 0x11111111)
    eth.write(HW_CFG, 4, 1)
    assert eth.read(HW_CFG, 4) & 3 == 2
    assert mac_rd(eth, ADDRL) == 0x11111111
    phy_wr(eth, BMCR, 0x3000)
    eth.write(HW_CFG, 4, 1)
    assert eth.read(HW_CFG, 4) & 3 == 0
    assert mac_rd(eth, ADDRL) == 0x12005452


def test_reset_drives_the_idle_high_line_to_a_late_sink(eth: Lan9118) -> None:
    edges: list[bool] = []
    eth.irq["irq"].connect(edges.append)   # as the machine does: wire, then reset
    eth.reset()
    assert edges[-1] is True


def test_hard_reset_restores_everything(eth: Lan9118) -> None:
    enable(eth)
    phy_wr(eth, BMCR, 0x3000 | (1 << 14))
    eth.write(IRQ_CFG, 4, 0x111)
    eth.write(TX_DATA, 4, FS | 100)
    eth.reset()
    for off, value in RESET_VALUES.items():
        assert eth.read(off, 4) == value, hex(off)
    assert phy_rd(eth, BMCR) == 0x3000
    assert line(eth)


def test_pmt_phy_reset_and_bmcr_reset_self_clear(eth: Lan9118) -> None:
    phy_wr(eth, BMCR, (1 << 14) | (1 << 8))
    eth.write(PMT_CTRL, 4, 1 << 10)
    assert eth.read(PMT_CTRL, 4) == 1
    assert phy_rd(eth, BMCR) == 0x3000
    phy_wr(eth, BMCR, (1 << 14) | (1 << 8))
    phy_wr(eth, BMCR, 1 << 15)
    assert phy_rd(eth, BMCR) == 0x3000


def test_fifo_sizes_follow_tx_fif_sz(eth: Lan9118) -> None:
    assert fifo_sizes(5) == (4608, 512, 10560, 704)
    assert fifo_sizes(2) == (1536, 512, 13440, 896)
    assert fifo_sizes(14) == (13824, 512, 1920, 128)
    eth.write(HW_CFG, 4, 2 << 16)
    assert eth.read(TX_FIFO_INF, 4) == 1536
    assert eth.rx_data_size == 13440 and eth.rx_status_size == 896


# -- TX ---------------------------------------------------------------------------------------------

def test_freertos_style_offset_4_tx_is_byte_exact(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    for n in (60, 61, 62, 63, 64, 1514):
        f = frame(n=n, seed=n)
        tx(eth, f, offset=4 - n % 4, tag=n)
        assert out[-1] == f
        assert eth.read(TX_STATUS, 4) == n << 16
    assert eth.tx_frames == 6


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5, 17, 31])
@pytest.mark.parametrize("align", [0, 1, 2])
def test_tx_offsets_and_end_alignment(eth: Lan9118, offset: int, align: int) -> None:
    out = capture(eth)
    enable(eth)
    f = frame(n=101)
    tx(eth, f, offset=offset, align=align, tag=0x1234)
    assert out == [f]
    assert eth.read(TX_STATUS, 4) == 0x12340000
    assert eth.read(TX_FIFO_INF, 4) == 4608


def test_tx_multi_segment(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    f = frame(n=200)
    parts = [(f[:33], 3), (f[33:150], 1), (f[150:], 0)]
    cmd_b = (7 << 16) | 200
    for i, (part, off) in enumerate(parts):
        a = (off << 16) | len(part) | (FS if i == 0 else 0) | (LS if i == 2 else 0)
        eth.write(TX_DATA, 4, a)
        eth.write(TX_DATA, 4, cmd_b)
        for w in words_of(bytes(off) + part):
            eth.write(0x20 + 4 * (i + 1), 4, w)   # the aliases 0x24..0x3C work too
        if i < 2:
            assert out == []
            assert eth.read(TX_FIFO_INF, 4) < 4608
    assert out == [f]
    assert eth.read(TX_STATUS, 4) == 7 << 16


def test_tx_padding_crc_disable_and_ioc(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    short = frame(n=42)
    tx(eth, short, ioc=True)
    assert out[-1] == short + bytes(18)
    assert eth.read(INT_STS, 4) & TX_IOC
    tx(eth, short, cmd_b=(1 << 12) | 42)   # DISABLE_PADDING
    assert out[-1] == short
    f = frame(n=80)
    tx(eth, f + struct.pack("<I", zlib.crc32(f)), cmd_b=(1 << 13) | 84)   # host supplies the FCS
    assert out[-1] == f
    tx(eth, f + b"bad!", cmd_b=(1 << 13) | 84)
    assert out[-1] == f and len(out) == 3 and eth.tx_dropped["bad_fcs"] == 1


def test_tx_held_until_tx_on_and_txen(eth: Lan9118, caplog: pytest.LogCaptureFixture) -> None:
    out = capture(eth)
    f = frame()
    tx(eth, f)
    assert out == [] and "TX_ON" in caplog.text
    assert eth.read(TX_FIFO_INF, 4) == 4608 - 4 * 18   # cmd A, cmd B, 16 data words
    assert eth.read(TX_STATUS_PEEK, 4) == 0
    eth.write(TX_CFG, 4, 2)
    assert out == []
    mac_wr(eth, MAC_CR, TXEN)
    assert out == [f]
    assert eth.read(TX_FIFO_INF, 4) == (1 << 16) | 4608


def test_tx_status_fifo_full_and_txsao(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    f = frame()
    for _ in range(128):
        tx(eth, f)
    assert len(out) == 128 and eth.read(INT_STS, 4) & TSFF
    tx(eth, f)
    assert len(out) == 128   # held: status FIFO full and TXSAO clear
    eth.read(TX_STATUS, 4)
    assert len(out) == 129
    eth.write(TX_CFG, 4, 2 | 4)   # TXSAO
    tx(eth, f)
    assert len(out) == 130 and eth.read(INT_STS, 4) & TXSO
    eth.write(TX_CFG, 4, 2 | (1 << 15))   # TXS_DUMP
    assert eth.read(TX_FIFO_INF, 4) >> 16 == 0
    assert eth.read(TX_CFG, 4) == 2


def test_tsfl_and_tdfa_levels(eth: Lan9118) -> None:
    enable(eth)
    eth.write(FIFO_INT, 4, (0x32 << 24) | (1 << 16))
    tx(eth, frame())
    assert not eth.read(INT_STS, 4) & TSFL
    tx(eth, frame())
    assert eth.read(INT_STS, 4) & (TSFL | TDFA) == TSFL | TDFA
    eth.write(INT_STS, 4, TDFA)
    eth.write(FIFO_INT, 4, 0xFF << 24)
    assert not eth.read(INT_STS, 4) & TDFA


def test_stop_tx(eth: Lan9118) -> None:
    enable(eth)
    eth.write(TX_CFG, 4, 3)
    assert eth.read(TX_CFG, 4) == 0
    assert eth.read(INT_STS, 4) & TXSTOP


@pytest.mark.parametrize("case", ["data_first", "size0", "cmd_b_mismatch", "length", "fs_twice", "overflow"])
def test_tx_errors_set_txe_and_never_raise(eth: Lan9118, case: str) -> None:
    out = capture(eth)
    enable(eth)
    f = frame(n=64)
    if case == "data_first":
        eth.write(TX_DATA, 4, 0x12345678)   # parsed as cmd A: no FS, no packet open
    elif case == "size0":
        eth.write(TX_DATA, 4, FS | LS)
    elif case == "cmd_b_mismatch":
        eth.write(TX_DATA, 4, FS | 32)
        eth.write(TX_DATA, 4, 64)
        for w in words_of(f[:32]):
            eth.write(TX_DATA, 4, w)
        eth.write(TX_DATA, 4, LS | 32)
        eth.write(TX_DATA, 4, 65)
        for w in words_of(f[32:]):
            eth.write(TX_DATA, 4, w)
    elif case == "length":
        tx(eth, f, cmd_b=(5 << 16) | 70)
    elif case == "fs_twice":
        eth.write(TX_DATA, 4, FS | 32)
        eth.write(TX_DATA, 4, (5 << 16) | 64)
        for w in words_of(f[:32]):
            eth.write(TX_DATA, 4, w)
        assert not eth.read(INT_STS, 4) & TXE   # detected only when the next FS comes
        tx(eth, f, tag=6)
    elif case == "overflow":
        eth.write(TX_CFG, 4, 0)   # hold packets so the FIFO fills
        big = frame(n=1514)
        for tag in range(4):
            tx(eth, big, tag=tag)
    sts = eth.read(INT_STS, 4)
    assert sts & TXE
    if case == "overflow":
        assert sts & TDFO
        assert eth.read(TX_FIFO_INF, 4) & 0xFFFF == 4608 - 3 * 4 * 381
        eth.write(TX_CFG, 4, 2)
        assert len(out) == 3
        assert eth.read(TX_FIFO_INF, 4) >> 16 == 4
        for tag in range(3):
            assert eth.read(TX_STATUS, 4) == tag << 16
        assert eth.read(TX_STATUS, 4) == (3 << 16) | (1 << 15)   # in packet order
    elif case == "fs_twice":
        assert out == [f]
        assert eth.read(TX_STATUS, 4) == (5 << 16) | (1 << 15)
        assert eth.read(TX_STATUS, 4) == 6 << 16
    elif case in ("cmd_b_mismatch", "length"):
        assert out == []
        assert eth.read(TX_STATUS, 4) & (1 << 15)
    else:
        assert out == [] and eth.read(TX_FIFO_INF, 4) == 4608
        eth.write(INT_STS, 4, TXE)
        tx(eth, f)   # the transmitter recovers
        assert out == [f] and not eth.read(INT_STS, 4) & TXE


def test_tx_link_down_reports_carrier_loss(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    eth.frame_ports["eth"].set_link(False)
    tx(eth, frame(), tag=3)
    assert out == []
    assert eth.read(TX_STATUS, 4) == (3 << 16) | (1 << 15) | (1 << 11) | (1 << 10)
    assert eth.tx_dropped["link_down"] == 1


def test_txd_dump_discards_partial_packet(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    eth.write(TX_DATA, 4, FS | LS | 64)
    eth.write(TX_DATA, 4, 64)
    eth.write(TX_DATA, 4, 0)
    eth.write(TX_CFG, 4, 2 | (1 << 14))
    assert eth.read(TX_FIFO_INF, 4) == 4608
    f = frame()
    tx(eth, f)
    assert out == [f]


# -- RX ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [60, 61, 62, 63, 64, 1514])
def test_rx_byte_exact_with_crc(eth: Lan9118, n: int) -> None:
    enable(eth)
    f = frame(n=n, seed=n)
    eth.frame_ports["eth"].deliver(f)
    assert eth.read(RX_FIFO_INF, 4) == (1 << 16) | (4 * ((n + 4 + 3) // 4))
    assert eth.read(RX_STATUS_PEEK, 4) == ((n + 4) << 16) | (1 << 5)
    status, data = rx_pop(eth)
    assert status == ((n + 4) << 16) | (1 << 5)
    assert data[:n] == f
    assert data[n:] == struct.pack("<I", zlib.crc32(f))
    assert zlib.crc32(data) == FCS_RESIDUE
    assert eth.read(RX_FIFO_INF, 4) == 0


def test_rx_all_aliases_pop(eth: Lan9118) -> None:
    enable(eth)
    f = frame(n=64)
    eth.frame_ports["eth"].deliver(f)
    eth.read(RX_STATUS, 4)
    got = b"".join(struct.pack("<I", eth.read(4 * (i % 8), 4)) for i in range(17))
    assert got[:64] == f


@pytest.mark.parametrize("rxdoff", [0, 2, 5, 31])
@pytest.mark.parametrize("ea", [0, 1, 2])
def test_rx_offset_and_end_alignment(eth: Lan9118, rxdoff: int, ea: int) -> None:
    enable(eth)
    eth.write(RX_CFG, 4, (ea << 30) | (rxdoff << 8))
    f = frame(n=99)
    eth.frame_ports["eth"].deliver(f)
    align = (4, 16, 32)[ea]
    used = -(-(rxdoff + 103) // align) * align
    assert eth.read(RX_FIFO_INF, 4) == (1 << 16) | used
    status = eth.read(RX_STATUS, 4)
    assert status >> 16 == 103
    data = b"".join(struct.pack("<I", eth.read(RX_DATA, 4)) for _ in range(used // 4))
    assert data[:rxdoff] == bytes(rxdoff)
    assert data[rxdoff:rxdoff + 99] == f
    assert zlib.crc32(data[rxdoff:rxdoff + 103]) == FCS_RESIDUE


def test_rx_short_wire_frame_padded_runt_and_oversize_dropped(eth: Lan9118) -> None:
    enable(eth)
    port = eth.frame_ports["eth"]
    port.deliver(frame(n=42))
    status, data = rx_pop(eth)
    assert status >> 16 == 64 and data[:60] == frame(n=42) + bytes(18)
    port.deliver(b"\x01" * 13)
    port.deliver(frame(n=2045))
    port.deliver("not a frame")   # type: ignore[arg-type]
    assert eth.read(RX_FIFO_INF, 4) == 0
    assert eth.rx_dropped == {"runt": 1, "oversize": 1, "garbage": 1}
    assert eth.read(INT_STS, 4) & RWT
    port.deliver(frame(n=2044))
    status, data = rx_pop(eth)
    assert status == (2048 << 16) | (1 << 15) | (1 << 7) | (1 << 5)   # too long: ES, still received
    assert zlib.crc32(data) == FCS_RESIDUE


def test_rx_vlan_tagged_frame_not_too_long(eth: Lan9118) -> None:
    enable(eth)
    mac_wr(eth, 9, 0x8100)
    eth.frame_ports["eth"].deliver(frame(n=1518, ethertype=0x8100))
    assert eth.read(RX_STATUS, 4) == (1522 << 16) | (1 << 5)


def test_rx_disabled_link_down_loopback_dropped(eth: Lan9118) -> None:
    port = eth.frame_ports["eth"]
    port.deliver(frame())
    enable(eth)
    port.set_link(False)
    port.deliver(frame())
    port.set_link(True)
    phy_wr(eth, BMCR, 1 << 14)
    port.deliver(frame())
    assert eth.read(RX_FIFO_INF, 4) == 0
    assert eth.rx_dropped == {"rx_disabled": 1, "link_down": 1, "loopback": 1}
    assert eth.read(RX_DROP, 4) == 0


def test_rx_over_read_into_next_packet_and_underrun(eth: Lan9118) -> None:
    enable(eth)
    f1, f2 = frame(n=60, seed=1), frame(n=64, seed=2)
    eth.frame_ports["eth"].deliver(f1)
    eth.frame_ports["eth"].deliver(f2)
    eth.read(RX_STATUS, 4)
    for _ in range(16):
        eth.read(RX_DATA, 4)
    extra = eth.read(RX_DATA, 4)   # FreeRTOS's extra word: the first word of the next packet
    assert extra == struct.unpack("<I", f2[:4])[0]
    for _ in range(16):
        eth.read(RX_DATA, 4)
    assert not eth.read(INT_STS, 4) & RXE
    assert eth.read(RX_DATA, 4) == 0
    assert eth.read(INT_STS, 4) & RXE


def test_rx_fast_forward_and_dump(eth: Lan9118) -> None:
    enable(eth)
    f1, f2 = frame(n=200, seed=1), frame(n=64, seed=2)
    eth.frame_ports["eth"].deliver(f1)
    eth.frame_ports["eth"].deliver(f2)
    eth.read(RX_STATUS, 4)
    eth.read(RX_DATA, 4)
    eth.write(RX_DP_CTRL, 4, 1 << 31)
    assert eth.read(RX_DP_CTRL, 4) == 0
    status, data = rx_pop(eth)
    assert data[:64] == f2
    eth.frame_ports["eth"].deliver(f1)
    eth.write(RX_CFG, 4, 1 << 15)
    assert eth.read(RX_FIFO_INF, 4) == 0 and eth.read(RX_CFG, 4) == 0


def test_rx_fifo_full_counts_rx_drop(eth: Lan9118) -> None:
    enable(eth)
    eth.write(INT_EN, 4, RXDF | RSFF)
    eth.write(IRQ_CFG, 4, 0x111)
    big = frame(n=1514)
    for _ in range(7):
        eth.frame_ports["eth"].deliver(big)
    assert eth.read(RX_FIFO_INF, 4) == (6 << 16) | (6 * 1520)   # 10560 bytes hold six
    assert eth.read(RX_DROP, 4) == 1
    assert eth.read(RX_DROP, 4) == 0   # clear on read
    assert eth.read(INT_STS, 4) & RXDF and line(eth)
    eth.write(INT_STS, 4, RXDF)
    assert not line(eth)
    # 64-byte frames fill the data FIFO first; short looped-back runts fill the status FIFO.
    eth.write(RX_CFG, 4, 1 << 15)
    mac_wr(eth, MAC_CR, TXEN | RXEN | PRMS | PASSBAD)
    phy_wr(eth, BMCR, 1 << 14)
    eth.write(TX_CFG, 4, 2 | 4)
    for _ in range(180):
        tx(eth, frame(n=14), cmd_b=(1 << 12) | 14)
    assert (eth.read(RX_FIFO_INF, 4) >> 16) == 176
    assert eth.read(INT_STS, 4) & (RSFF | RXDF) == RSFF | RXDF
    assert eth.read(RX_DROP, 4) == 4


def test_rsfl_level_from_fifo_int(eth: Lan9118) -> None:
    enable(eth)
    eth.write(FIFO_INT, 4, 2)
    for i in range(3):
        assert not eth.read(INT_STS, 4) & RSFL, i
        eth.frame_ports["eth"].deliver(frame())
    assert eth.read(INT_STS, 4) & RSFL
    eth.write(INT_STS, 4, RSFL)
    eth.write(FIFO_INT, 4, 0)   # lowering the level below the count raises it
    assert eth.read(INT_STS, 4) & RSFL


def test_rxstop_on_rxen_clear(eth: Lan9118) -> None:
    enable(eth)
    mac_wr(eth, MAC_CR, TXEN)
    assert eth.read(INT_STS, 4) & RXSTOP


# -- address filtering ----------------------------------------------------------------------------------

MCAST = bytes.fromhex("01005e000001")
OTHER = bytes.fromhex("020000000099")


def set_hash(dev: Lan9118, dest: bytes) -> None:
    idx = hash_index(dest)
    mac_wr(dev, HASHH if idx & 0x20 else HASHL, 1 << (idx & 0x1F))


def accepted(dev: Lan9118, dest: bytes) -> int | None:
    dev.write(RX_CFG, 4, 1 << 15)
    dev.frame_ports["eth"].deliver(frame(dest=dest))
    return dev.read(RX_STATUS, 4) if dev.read(RX_FIFO_INF, 4) else None


@pytest.mark.parametrize(("mac_cr", "dest", "ok"), [
    (PRMS, OTHER, True), (PRMS, MCAST, True), (PRMS | BCAST_DIS, BCAST, True),
    (0, MAC, True), (0, OTHER, False), (0, BCAST, True), (BCAST_DIS, BCAST, False), (0, MCAST, False),
    (MCPAS, MCAST, True), (INVFILT, OTHER, True), (INVFILT, MAC, False),
    (HPFILT, MCAST, True), (HPFILT, bytes.fromhex("01005e000002"), False), (HPFILT, MAC, True),
    (HO, MCAST, True), (HO, MAC, False), (HO | HPFILT, OTHER, False),
])
def test_address_filter(eth: Lan9118, mac_cr: int, dest: bytes, ok: bool) -> None:
    enable(eth, TXEN | RXEN | mac_cr)
    set_hash(eth, MCAST)
    status = accepted(eth, dest)
    assert (status is not None) == ok
    if ok and dest == BCAST:
        assert status & (1 << 13) and not status & (1 << 10)
    if ok and dest == MCAST:
        assert status & (1 << 10) and not status & (1 << 13)
    assert eth.read(RX_DROP, 4) == (0 if ok else 1)


def test_hash_filter_unicast_with_ho(eth: Lan9118) -> None:
    enable(eth, TXEN | RXEN | HO)
    assert accepted(eth, OTHER) is None
    set_hash(eth, OTHER)
    assert accepted(eth, OTHER) is not None


def test_rxall_keeps_filtered_frames_with_status_bit(eth: Lan9118) -> None:
    enable(eth, TXEN | RXEN | RXALL)
    status = accepted(eth, OTHER)
    assert status is not None and status & (1 << 30)
    assert not accepted(eth, MAC) & (1 << 30)


def test_hash_index_matches_linux_ether_crc() -> None:
    # Linux: ether_crc(6, addr) >> 26; 01:00:5e:00:00:01 is the all-hosts group.
    crc = 0xFFFFFFFF
    for byte in MCAST:
        for bit in range(8):
            msb = (crc >> 31) ^ ((byte >> bit) & 1)
            crc = ((crc << 1) & 0xFFFFFFFF) ^ (0x04C11DB7 if msb else 0)
    assert hash_index(MCAST) == crc >> 26


# -- PHY and link ------------------------------------------------------------------------------------

def test_link_down_up_raises_phy_int_and_changes_bmsr(eth: Lan9118) -> None:
    eth.write(IRQ_CFG, 4, 0x111)
    eth.write(INT_EN, 4, PHY_INT)
    phy_wr(eth, 30, (1 << 7) | (1 << 6) | (1 << 4))
    port = eth.frame_ports["eth"]
    assert phy_rd(eth, BMSR) & 0x24 == 0x24 and not line(eth)
    port.set_link(False)
    assert line(eth) and eth.read(INT_STS, 4) & PHY_INT
    assert phy_rd(eth, BMSR) & 0x24 == 0
    assert phy_rd(eth, 29) == 1 << 4
    assert not line(eth)
    assert phy_rd(eth, 17) & 2 == 0 and phy_rd(eth, 5) == 0 and phy_rd(eth, 31) == 0
    port.set_link(True)
    assert line(eth)
    assert phy_rd(eth, 29) == (1 << 7) | (1 << 6)
    assert phy_rd(eth, BMSR) & 0x24 == 0x24


def test_bmsr_link_latches_low(eth: Lan9118) -> None:
    port = eth.frame_ports["eth"]
    port.set_link(False)
    port.set_link(True)
    assert phy_rd(eth, BMSR) & 4 == 0
    assert phy_rd(eth, BMSR) & 4 == 4


def test_phy_int_masked(eth: Lan9118) -> None:
    eth.frame_ports["eth"].set_link(False)
    assert not eth.read(INT_STS, 4) & PHY_INT
    phy_wr(eth, 30, 1 << 4)
    assert eth.read(INT_STS, 4) & PHY_INT


def test_phy_power_down_and_an_restart(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth)
    phy_wr(eth, BMCR, 0x3000 | (1 << 11))
    assert phy_rd(eth, BMSR) & 4 == 0
    tx(eth, frame())
    assert out == []
    phy_wr(eth, BMCR, 0x3000)
    phy_rd(eth, 29)
    phy_wr(eth, BMCR, 0x3000 | (1 << 9))
    assert phy_rd(eth, BMCR) == 0x3000   # restart AN self-clears
    assert phy_rd(eth, 29) == 1 << 6


def test_phy_other_address_and_registers(eth: Lan9118) -> None:
    assert phy_rd(eth, 2, addr=2) == 0xFFFF
    mac_wr(eth, MII_DATA, 1 << 14)
    mac_wr(eth, MII_ACC, (2 << 11) | (0 << 6) | 3)   # a write to address 2 reaches nothing
    assert phy_rd(eth, BMCR) == 0x3000
    assert phy_rd(eth, 10) == 0
    phy_wr(eth, 4, 0xFFFF)
    assert phy_rd(eth, 4) == 0x2DE1
    mac_wr(eth, MII_ACC, (1 << 11) | (4 << 6))   # no BUSY bit: still performed (Linux)
    assert mac_rd(eth, MII_DATA) == 0x2DE1
    assert mac_rd(eth, MII_ACC) & 1 == 0
    phy_wr(eth, BMCR, 1 << 8)   # forced 10 Mb/s full duplex
    assert phy_rd(eth, 31) == 0b101 << 2 and phy_rd(eth, BMSR) & 0x20 == 0


def test_phy_loopback(eth: Lan9118) -> None:
    out = capture(eth)
    enable(eth, TXEN | RXEN)
    phy_wr(eth, BMCR, (1 << 14) | (1 << 8))
    f = frame(dest=BCAST, n=64)
    tx(eth, f)
    assert out == []
    assert eth.read(TX_STATUS, 4) == 0
    status, data = rx_pop(eth)
    assert status >> 16 == 68 and data[:64] == f and zlib.crc32(data) == FCS_RESIDUE
    tx(eth, frame(dest=BCAST, n=40), cmd_b=(1 << 12) | 40)   # unpadded: a runt, dropped
    assert eth.read(RX_FIFO_INF, 4) == 0 and eth.rx_dropped["bad_frame"] == 1
    mac_wr(eth, MAC_CR, TXEN | RXEN | PASSBAD)
    tx(eth, frame(dest=BCAST, n=40), cmd_b=(1 << 12) | 40)
    assert eth.read(RX_STATUS, 4) & ((1 << 15) | (1 << 11)) == (1 << 15) | (1 << 11)


# -- MAC CSR, EEPROM, misc -------------------------------------------------------------------------------

def test_mac_csr_busy_reads_zero_and_unknown_index(eth: Lan9118, caplog: pytest.LogCaptureFixture) -> None:
    mac_wr(eth, HASHH, 0xCAFEF00D)
    assert eth.read(MAC_CSR_CMD, 4) == 4
    assert mac_rd(eth, HASHH) == 0xCAFEF00D
    assert mac_rd(eth, 0x20) == 0 and "unknown MAC CSR" in caplog.text
    mac_wr(eth, 13, 1)   # COE_CR on a LAN9118
    assert mac_rd(eth, 13) == 0


def test_e2p_commands(eth: Lan9118) -> None:
    def cmd(c: int, addr: int = 0) -> None:
        eth.write(E2P_CMD, 4, (1 << 31) | (c << 28) | addr)
        assert not eth.read(E2P_CMD, 4) & (1 << 31)

    cmd(0, 1)
    assert eth.read(E2P_DATA, 4) == 0x52
    eth.write(E2P_DATA, 4, 0x02)
    cmd(3, 1)   # WRITE without EWEN: ignored
    cmd(0, 1)
    assert eth.read(E2P_DATA, 4) == 0x52
    cmd(2)
    eth.write(E2P_DATA, 4, 0x02)
    cmd(3, 1)
    cmd(7)      # RELOAD
    assert mac_rd(eth, ADDRL) == 0x12005402
    eth.reset()   # the EEPROM is non-volatile
    assert mac_rd(eth, ADDRL) == 0x12005402
    cmd(2)
    cmd(6)      # ERAL: no signature -> MAC_ADDR_LOADED clears on reload
    cmd(7)
    assert not eth.read(E2P_CMD, 4) & (1 << 8)


def test_free_run_and_gpt(eth: Lan9118, clock: Clock) -> None:
    run(clock, 1000)
    assert eth.read(FREE_RUN, 4) == 1000
    eth.write(IRQ_CFG, 4, 0x111)
    eth.write(INT_EN, 4, GPT_INT)
    eth.write(GPT_CFG, 4, (1 << 29) | 10)
    start = clock.now
    run_until(clock, start + 3 * GPT_TICK)
    assert eth.read(GPT_CNT, 4) == 7
    wrap = start + 11 * GPT_TICK
    assert eth.gpt_deadline == wrap
    run_until(clock, wrap - 1)
    assert not line(eth) and eth.read(GPT_CNT, 4) == 0
    run_until(clock, wrap)
    assert line(eth) and eth.read(GPT_CNT, 4) == 0xFFFF
    assert eth.gpt_deadline is None
    run_until(clock, wrap + 1)
    eth.write(INT_STS, 4, GPT_INT)
    assert not line(eth)
    assert eth.gpt_deadline == wrap + 0x10000 * GPT_TICK
    eth.write(GPT_CFG, 4, 10)   # disable freezes
    frozen = eth.read(GPT_CNT, 4)
    run(clock, 100 * GPT_TICK)
    assert eth.read(GPT_CNT, 4) == frozen and eth.gpt_deadline is None


def test_word_swap_stored_and_byte_test_constant(eth: Lan9118) -> None:
    eth.write(WORD_SWAP, 4, 0xFFFFFFFF)
    assert eth.read(WORD_SWAP, 4) == 0xFFFFFFFF
    assert eth.read(BYTE_TEST, 4) == 0x87654321


def test_sub_word_fifo_access_is_a_guest_error(eth: Lan9118, caplog: pytest.LogCaptureFixture) -> None:
    enable(eth)
    f = frame()
    eth.frame_ports["eth"].deliver(f)
    eth.read(RX_STATUS, 4)
    assert eth.read(RX_DATA + 1, 1) == f[1]   # pops the whole first DWORD
    assert eth.read(RX_DATA, 4) == struct.unpack("<I", f[4:8])[0]
    eth.write(TX_DATA, 2, 0x1234)
    assert eth.read(TX_FIFO_INF, 4) == 4608
    assert "DWORD" in caplog.text


# -- snapshots ---------------------------------------------------------------------------------------------

def test_snapshot_round_trip(eth: Lan9118, clock: Clock) -> None:
    enable(eth)
    eth.write(IRQ_CFG, 4, 0x111)
    eth.write(INT_EN, 4, RSFL | GPT_INT)
    eth.write(GPT_CFG, 4, (1 << 29) | 50)
    f1, f2 = frame(seed=3), frame(n=100, seed=4)
    eth.frame_ports["eth"].deliver(f1)
    eth.frame_ports["eth"].deliver(f2)
    eth.read(RX_STATUS, 4)
    eth.read(RX_DATA, 4)
    tail = frame(dest=PEER)
    eth.write(TX_DATA, 4, FS | 32)   # a half-written TX packet
    eth.write(TX_DATA, 4, 64)
    eth.write(TX_DATA, 4, words_of(tail[:4])[0])
    state = eth.get_state()
    deadline = eth.gpt_deadline
    assert deadline is not None

    clock2 = Clock(HZ)
    clock2.advance(clock.now)
    other = Lan9118("eth0", clock2, irq_wiring="qemu")
    out = capture(other)
    other.set_state(state)
    assert other.get_state() == state
    assert other.gpt_deadline == deadline and line(other) == line(eth)
    for off in (RX_FIFO_INF, TX_FIFO_INF, INT_STS, INT_EN, IRQ_CFG, GPT_CNT, HW_CFG):
        assert other.read(off, 4) == eth.read(off, 4), hex(off)
    rest = b"".join(struct.pack("<I", other.read(RX_DATA, 4)) for _ in range(16))
    assert rest[:60] == f1[4:64]
    _status, data = rx_pop(other)
    assert data[:100] == f2
    for w in words_of(tail[4:32]) + [LS | 32, 64] + words_of(tail[32:]):
        other.write(TX_DATA, 4, w)
    assert out == [tail]
    run_until(clock2, deadline)
    assert other.read(INT_STS, 4) & GPT_INT
    bad = dict(state, version=99)
    with pytest.raises(ValueError):
        other.set_state(bad)


# -- driver replays -----------------------------------------------------------------------------------------

def test_freertos_replay(eth: Lan9118, clock: Clock) -> None:
    drv = FreeRtos(eth, clock)
    out = capture(eth)
    drv.init()
    assert line(eth) is False
    assert drv.link_up()
    assert mac_rd(eth, MAC_CR) & PRMS   # never cleared: it relies on the reset value
    assert eth.read(INT_EN, 4) == FreeRtos.INT_EN_BITS
    # TX with data offset 4 (length a multiple of 4) and 1..3, status popped at once.
    sent = [frame(dest=PEER, n=n, seed=n) for n in (60, 64, 333, 1514)]
    for f in sent:
        assert drv.send(f) == len(f) << 16   # the tag is cmd B's length copy
    assert out == sent
    # Its TSFL level 0 raised an interrupt per TX; the ISR W1Cs everything.
    assert line(eth)
    assert drv.isr() is False and not line(eth)
    # RX: ISR disables RSFL, the task drains with the extra word and re-enables.
    frames = [frame(n=64, seed=1), frame(n=61, seed=2), frame(n=128, seed=3)]
    for f in frames:
        eth.frame_ports["eth"].deliver(f)
    assert line(eth)
    assert drv.isr() is True
    assert not line(eth)
    drv.rx_task()
    # 64+4 is a multiple of 4: the over-read takes the next packet's first word, so each
    # later packet is read one DWORD late, as on QEMU; the last over-read underruns (RXE).
    stream = b"".join(f + struct.pack("<I", zlib.crc32(f)) + bytes(-(len(f) + 4) % 4) for f in frames)
    stream += bytes(4)
    assert drv.received[0] == frames[0] + struct.pack("<I", zlib.crc32(frames[0]))
    assert drv.received[1] == stream[72:72 + 65]
    assert drv.received[2] == stream[140:140 + 132]
    assert eth.read(RX_FIFO_INF, 4) == 0
    assert eth.read(INT_STS, 4) & RXE
    assert eth.read(INT_EN, 4) & RSFL


def test_freertos_replay_rx_without_overread_damage(eth: Lan9118, clock: Clock) -> None:
    drv = FreeRtos(eth, clock)
    drv.init()
    f = frame(n=61)
    eth.frame_ports["eth"].deliver(f)
    assert drv.isr()
    drv.rx_task()
    assert drv.received == [f + struct.pack("<I", zlib.crc32(f))]
    assert not eth.read(INT_STS, 4) & RXE


def test_freertos_rejects_lan9220_id(clock: Clock) -> None:
    with pytest.raises(DriverError, match="chip id"):
        FreeRtos(Lan9118("e", clock, chip_id=0x9220), clock).init()


def test_zephyr_replay_level_reentry(eth: Lan9118, clock: Clock) -> None:
    drv = Zephyr(eth, clock)
    out = capture(eth)
    assert drv.init() == MAC
    assert eth.read(IRQ_CFG, 4) & 0xFF0001FF == 0x22000111
    assert not line(eth)
    sent = [frame(dest=PEER, n=n, seed=n) for n in (60, 99, 1514)]
    for f in sent:
        assert drv.send(f) == len(f) << 16
    assert out == sent
    frames = [frame(n=n, seed=n) for n in (60, 77, 200)]
    for f in frames:
        eth.frame_ports["eth"].deliver(f)
    entries = 0
    while line(eth):   # level-triggered: RSFL stays pending until the FIFO is empty
        drv.isr()
        entries += 1
        assert entries < 10
    assert entries == 4   # one packet per entry, then the ack
    assert drv.received == frames


def test_mbed_replay_polarity_as_qemu(clock: Clock) -> None:
    eth = Lan9118("eth0", clock, chip_id=0x9220, irq_wiring="qemu")
    drv = Mbed(eth, clock)
    out = capture(eth)
    drv.init()
    assert eth.read(IRQ_CFG, 4) & 0x111 == 0x100
    assert line(eth)   # IRQ_EN without POL/TYPE: idle high
    assert mac_rd(eth, ADDRL) == 0x12005452 and mac_rd(eth, ADDRH) == 0x0034
    f = frame(dest=PEER, n=70)
    drv.send(f)
    assert out == [f]
    rx = frame(n=90)
    eth.frame_ports["eth"].deliver(rx)
    assert not line(eth)   # active-low: pending RSFL pulls the line low
    assert drv.isr()
    assert line(eth)
    drv.rx_task()
    assert drv.received == [rx]


def test_linux_replay(eth: Lan9118, clock: Clock) -> None:
    drv = Linux(eth, clock)
    out = capture(eth)
    assert drv.probe() == 0x0118
    drv.phy_loopback_test()
    assert out == []
    mac = bytes.fromhex("020304050607")
    drv.open(mac, eth.irq["irq"])
    assert drv.sw_int_seen and drv.isr_calls == 1 and not line(eth)
    for misalign in range(4):
        f = frame(dest=PEER, n=100 + misalign, seed=misalign)
        drv.xmit(f, misalign)
        assert out[-1] == f
    assert not line(eth)   # TDFA is enabled but the TX level 0xFF (16320 bytes) is never exceeded
    frames = [frame(dest=mac, n=80, seed=9), frame(dest=MAC, n=80), frame(dest=BCAST, n=64)]
    for f in frames:
        eth.frame_ports["eth"].deliver(f)
    while line(eth):
        drv.isr()
        assert drv.isr_calls < 10
    assert drv.received == [frames[0], frames[2]]   # PRMS cleared by the self-test: filtering on
    assert eth.read(RX_DROP, 4) == 1


def test_linux_replay_lan9220_wakes_phy(clock: Clock) -> None:
    eth = Lan9118("eth0", clock, chip_id=0x9220, irq_wiring="qemu")
    phy_wr(eth, BMCR, 0x3000 | (1 << 11))
    drv = Linux(eth, clock)
    assert drv.probe() == 0x9220
    assert eth.read(HW_CFG, 4) == 0x00050004


# -- fuzz ----------------------------------------------------------------------------------------------------

_op = st.one_of(
    st.tuples(st.just("r"), st.integers(0, 0xFF), st.sampled_from([1, 2, 4])),
    st.tuples(st.just("w"), st.integers(0, 0xFF), st.sampled_from([1, 2, 4]), st.integers(0, 0xFFFF_FFFF)),
    st.tuples(st.just("mac"), st.integers(0, 15), st.integers(0, 0xFFFF_FFFF)),
    st.tuples(st.just("frame"), st.binary(min_size=0, max_size=3000)),
    st.tuples(st.just("link"), st.booleans()),
    st.tuples(st.just("time"), st.integers(0, 200_000_000)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=60), st.booleans())
def test_fuzz_never_raises_and_line_is_a_function(ops: list, open_up: bool) -> None:
    clock = Clock(HZ)
    dev = Lan9118("fuzz", clock, irq_wiring="qemu")
    if open_up:
        enable(dev)
        dev.write(IRQ_CFG, 4, 0x111)
        dev.write(INT_EN, 4, 0xFFFF_FFFF & ~SW_INT)
    for op in ops:
        kind = op[0]
        if kind == "r":
            value = dev.read(op[1], op[2])
            assert 0 <= value < (1 << (8 * op[2]))
        elif kind == "w":
            dev.write(op[1], op[2], op[3] & ((1 << (8 * op[2])) - 1))
        elif kind == "mac":
            mac_wr(dev, op[1], op[2])
        elif kind == "frame":
            dev.frame_ports["eth"].deliver(op[1])
        elif kind == "link":
            dev.frame_ports["eth"].set_link(op[1])
        else:
            run(clock, op[1])
        assert line(dev) == dev.irq_function()
        r = dev.r
        cfg = r[dev.REGS["IRQ_CFG"].index]
        level = bool(r[dev.REGS["INT_STS"].index] & r[dev.REGS["INT_EN"].index]) and bool(cfg & 0x100)
        assert line(dev) == (level != (not (cfg & 0x10 and cfg & 1)))
        inf = dev.read(RX_FIFO_INF, 4)
        assert (inf & 0xFFFF) <= dev.rx_data_size and (inf >> 16) <= dev.rx_status_size // 4
        assert dev.read(TX_FIFO_INF, 4) & 0xFFFF <= dev.tx_data_size
    state = dev.get_state()
    dev.set_state(state)
    assert dev.get_state() == state



def test_restore_drops_what_the_native_port_took_and_grants_anew(eth: Lan9118) -> None:
    enable(eth)
    eth.write(TX_DATA, 4, FS | LS | 64)  # one 64-byte buffer: 16 data words expected
    eth.write(TX_DATA, 4, 64)
    state = eth.get_state()
    port = eth.fifo_port
    assert (port.port.tx_state, port.port.tx_left) == (2, 16)   # C knows: 16 data words to come
    wf_write = port._lib.wf_write
    wf_write.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64, ctypes.c_void_p]
    wf_write(None, TX_DATA, 4, 0xDEAD, ctypes.addressof(port.port))  # a word taken in C
    assert port.port.tx_count == 1 and port.port.tx_left == 15
    eth.set_state(state)
    assert port.take() == []             # the word belonged to the state before the restore
    assert port.port.tx_left == 16
    assert eth.get_state() == state


def test_the_int_sts_acknowledge_shortcut_is_device_write(clock: Clock) -> None:
    """A full-word INT_STS write takes Lan9118.write's shortcut, not the table's Device.write: same
    stored values, IRQ line and GPT re-arm, on random states and values."""
    reg = Lan9118.REGS["INT_STS"]
    assert reg.store_mask == 0 and reg.w1s_mask == 0 and reg.after_write is not None
    rng = random.Random(5)
    short, table = Lan9118("a", clock), Lan9118("b", Clock(clock.hz))
    lines: tuple[list[bool], list[bool]] = ([], [])
    short.irq["irq"].connect(lines[0].append)
    table.irq["irq"].connect(lines[1].append)
    for dev in (short, table):
        dev.write(INT_EN, 4, 0xFFFF_FFFF)
        dev.write(IRQ_CFG, 4, 0x111)
        dev.write(0x8C, 4, (1 << 29) | 5)   # GPT running: GPT_INT re-arms when acknowledged
    rearmed = 0
    for _ in range(500):
        bits = rng.getrandbits(32)
        value = rng.choice((rng.getrandbits(32), 1 << 19, 0xFFFF_FFFF, 8))
        cycles = rng.randrange(0, 20_000)
        for dev in (short, table):
            run(dev.clock, cycles)          # GPT wraps fire and set GPT_INT
            dev.r[dev.REGS["INT_STS"].index] |= bits & 0x83B7_EFFF
            dev._update_irq()
        short.write(INT_STS, 4, value)
        Device.write(table, INT_STS, 4, value)
        assert list(short.r) == list(table.r) and short.gpt_deadline == table.gpt_deadline
        assert lines[0] == lines[1]
        rearmed += short.gpt_deadline is not None and value & (1 << 19) != 0
    assert rearmed > 20
