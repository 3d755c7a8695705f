"""SMSC LAN9118 / LAN9220 single-chip Ethernet MAC + PHY (SMSC LAN9118 datasheet rev 1.5
and LAN9220 datasheet rev 2.x: §3.11-3.13 FIFOs and packet formats, §5 system CSRs, §6 MAC
CSRs, §7 PHY registers). The MPS2-AN385 carries a LAN9220 behind the FPGA at 0x40200000
(IRQ 13); QEMU's ``hw/net/lan9118.c`` models it as a LAN9118, which is the reference machine
here.

Modelled
* Direct CSRs 0x00-0xB4 (the register table below) and the indirect MAC CSRs (MAC_CSR_CMD /
  MAC_CSR_DATA, instant: CSR_BUSY reads 0) and the internal PHY at MII address 1 (MII_ACC
  performs the access on every write, BUSY or not, and reads back with BUSY clear; other
  addresses read 0xFFFF). E2P_CMD commands are instant on a 128-byte 93C46 image whose byte 0
  is 0xA5 followed by the ``mac`` setting, so ADDRH/ADDRL hold it after every reset and
  E2P_CMD.MAC_ADDR_LOADED is set. The image is non-volatile: it survives resets and is
  snapshotted; EEPROM WRITE/WRAL are true writes (QEMU ANDs).
* FIFO sizes from HW_CFG.TX_FIF_SZ (datasheet Table 5-3: TX data = n KiB - 512 B, TX status
  512 B, RX = 16 KiB - n KiB split 15:1 data:status; n = 5 gives 4608/512/10560/704 B).
* TX: command A (IOC, buffer end alignment 4/16/32, data start offset 0-31, FS, LS, buffer
  size) and command B (tag, ADD_CRC_DISABLE, DISABLE_PADDING, packet length); a buffer is
  round_up(offset + size, alignment) / 4 data DWORDs; frame byte 0 is bits 7:0 of the first
  DWORD. The frame is transmitted synchronously inside the last data-word write, so the TX
  status is already in the status FIFO when the driver pops it (FreeRTOS, Zephyr and Mbed pop
  without checking TSUSED). Frames shorter than 60 bytes are padded (and then always get a
  CRC, datasheet) unless DISABLE_PADDING; with ADD_CRC_DISABLE the last 4 bytes are the
  host's FCS (a wrong one is counted and not put on the wire, as a receiver would drop it).
  TX needs TX_CFG.TX_ON and MAC_CR.TXEN: otherwise finished packets wait in the TX data FIFO
  (guest error logged) and go out when both are set. With the TX status FIFO full and
  TX_CFG.TXSAO clear packets wait likewise; with TXSAO the status is lost and TXSO is set.
* TX errors never raise: a command A with buffer size 0, reserved alignment 3, FS while a
  packet is open or no FS while none is (which is how "data before a command" shows: a data
  word is parsed as command A), a command B that differs between segments, a packet length
  that does not match the buffers, and TX data FIFO overflow (also TDFO) set INT_STS.TXE;
  the packet is discarded and its TX status (in packet order) has ES set. Unlike the datasheet the transmitter
  is not halted afterwards (no surveyed driver recovers from a halt).
* RX: only with MAC_CR.RXEN, link up, PHY powered and not in loopback. Address filtering as
  MAC_CR says: PRMS, broadcast unless BCAST, MCPAS, perfect match on ADDRH/ADDRL (INVFILT
  inverts it), the 64-bit hash (index = big-endian CRC32 of the destination >> 26, bit 5
  selects HASHH) for multicast with HPFILT or HO and for unicast with HO; RXALL keeps failed
  frames with status bit 30. The data FIFO gets RX_CFG.RXDOFF zero bytes, the frame, its
  CRC32 (little-endian, so CRC32 over frame + FCS is the residue 0x2144DF1C), then zero pad
  to RX_CFG.RX_END_ALGN; the status word has length + 4, broadcast b13, multicast b10, frame
  type b5, too-long b7, runt b11, CRC error b1, filter fail b30 and ES. RX_CFG is applied when
  the frame enters the FIFO (QEMU applies it when the host pops).
* Wire frames: shorter than 14 bytes or not bytes ("garbage") are dropped; 14-59 bytes are
  zero-padded to 60 as the sending MAC would have done (QEMU passes them short); above 2044
  bytes (2048 with FCS) dropped with INT_STS.RWT (the datasheet's receive watchdog cuts
  them); 1515-2044 bytes are received with the too-long bit unless VLAN1/VLAN2 tagging makes
  them legal (1522 / 1538 with FCS). Frames that fail filtering or find no FIFO room count
  in RX_DROP (clear on read) and raise RXDF_INT; RXDFH_INT when it passes 0x7FFFFFFF.
  Frames looped back by the PHY may be short; they are runts (dropped unless PASSBAD).
* Reading the RX data port past the queued data returns 0 and sets RXE; reading past the
  end of a packet with another queued reads into it (QEMU). RX_DP_CTRL.RX_FFWD skips the
  rest of the current packet at once, without the datasheet's 4-DWORD minimum. RX_DUMP,
  TXS_DUMP, TXD_DUMP empty their FIFOs.
* Interrupts generated: SW_INT, TXSTOP_INT, RXSTOP_INT (MAC_CR.RXEN 1->0), RXDFH_INT,
  TX_IOC, GPT_INT, PHY_INT, TXSO, RWT, RXE, TXE, TDFO, TDFA (TDFREE > FIFO_INT[31:24] * 64
  when space is freed or the level written), TSFF, TSFL (TX status count > FIFO_INT[23:16]),
  RXDF_INT, RSFF, RSFL (RX status count > FIFO_INT[7:0], on arrival and on a FIFO_INT write).
  QEMU never raises TSFL/TDFA/RSFF/RXDF; FreeRTOS enables them all and W1Cs everything, which
  costs one extra interrupt per packet and nothing else. INT_STS bits are latched (W1C) except
  PHY_INT, which mirrors (PHY reg 29 & reg 30) and is cleared by reading PHY reg 29.
* IRQ pin and board wiring. The chip asserts its interrupt while INT_STS & INT_EN != 0
  and IRQ_CFG.IRQ_EN is set (IRQ_CFG.IRQ_INT reads the first term whatever IRQ_EN says).
  The pin is modelled electrically from IRQ_CFG as the datasheet describes it (LAN9118
  §5.3.2 / LAN9220 §5.3.2 IRQ_CFG: IRQ_TYPE b0 1 = push-pull, 0 = open-drain; IRQ_POL b4
  1 = active high, 0 = active low, ignored for open-drain, which is always active low;
  IRQ_EN b8): push-pull drives the active level while asserted and the other level
  otherwise; open-drain pulls low while asserted and is released (the board's pull-up
  makes it high) otherwise. What reaches the NVIC is the ``irq_wiring`` setting:
  - ``active-level`` (default): the input is asserted while the pin is at the level the
    chip's configuration makes active (open-drain: low; push-pull: IRQ_POL). This is the
    one wiring under which every surveyed driver family works, and the reason it is the
    default: Mbed OS (``smsc9220_eth_drv.c``: IRQ_CFG = INT_DEAS | IRQ_EN, active-low
    open-drain; earlier ``ETH_MPS2.c``: 0x22000100) was written for and tested on the
    real MPS2 boards, whose FPGA must therefore take the pin as active low; FreeRTOS-Plus-TCP
    and Zephyr (IRQ_CFG = 0x22000111, active-high push-pull, Zephyr's comment: "Polarity
    config which works with QEMU") were only ever run on QEMU. Neither the FPGA image
    nor the board schematic is public, so no single physical wiring can be proven;
    this one gives each driver what its authors saw.
  - ``qemu``: the raw pin level, as QEMU's ``lan9118_update`` computes it (level =
    asserted, inverted unless IRQ_POL and IRQ_TYPE are both set): the line idles high
    after reset and under Mbed's setting, which on QEMU livelocks Mbed's ISR.
  - ``inverted``: the pin through an inverter (an active-low ETH_INTn input): Mbed works,
    FreeRTOS/Zephyr's setting idles asserted.
  Level-sensitive: Zephyr leaves RSFL set while frames remain and is re-entered.
  INT_DEAS is stored, its timing is not modelled (INT_DEAS_STS reads 0).
* SW_INT is set when INT_EN.SW_INT_EN goes 0 -> 1 (datasheet "generated when SW_INT_EN is set
  high"; QEMU sets it on every write with the bit). Linux's open-time IRQ self-test sets it
  from 0 and clears it in its ISR.
* HW_CFG.SRST (self-clearing, reads 0 at once) resets everything except the NASR bits
  IRQ_CFG.IRQ_POL/IRQ_TYPE and PMT_CTRL READY/PME_POL/PME_TYPE, the PHY (not reset: Linux wakes
  it before SRST because a powered-down PHY makes SRST time out; modelled: SRST with BMCR power
  down sets SRST_TO and resets nothing; QEMU resets the PHY) and FREE_RUN (counts from power
  on). The MAC address is reloaded from the EEPROM. PMT_CTRL.PHY_RST and BMCR.RESET reset the
  PHY instantly.
* PHY: BMCR (reset 0x3000; loopback sends TX frames back into RX with their CRC and isolates
  the wire, power down drops the link), BMSR 0x7809 | link b2 | AN complete b5 (link status
  latches low until read, IEEE 802.3 22.2.4.2.13), ID 0x0007/0xC0D1 (the LAN9118 PHY; also
  used for 0x9220), ANAR, ANLPAR 0x45E1 and ANER 1 while linked with AN, reg 17 (EDPWRDOWN,
  ENERGYON = link), 18 (MODE 111, PHYAD 1), 27 (stored), 29 interrupt source (read-clear:
  ENERGYON b7 and AN complete b6 on link up / AN restart, link down b4), 30 mask, 31 speed
  indication from the resolved ability. AN completes instantly. Carrier changes come from
  the frame port (``set_link``).
* GPT: 16-bit down-counter at 10 kHz computed from the clock, reloaded from GPT_LOAD by every
  GPT_CFG write with TIMER_EN, frozen while TIMER_EN is clear, wrapping 0 -> 0xFFFF with
  GPT_INT (datasheet; QEMU reloads GPT_LOAD); one clock event for the next wrap while GPT_INT
  is clear. FREE_RUN is a 25 MHz count of the clock.
* ID_REV: ``chip_id`` 0x0118 -> 0x01180001 (QEMU's value; FreeRTOS accepts only 0x0118),
  0x9220 -> 0x92200000 (LAN9220 rev A; Mbed's smsc9220 driver accepts only 0x9220); a value
  above 0xFFFF is taken as the whole ID_REV. COE_CR exists only on 0x92xx ids.
* MAC_CR resets to PRMS (0x00040000) as in QEMU: FreeRTOS never writes ADDRH (it only writes
  it if the ADDRL write failed) nor clears PRMS, so it receives only thanks to this. HBDIS
  is stored (QEMU drops it).
* INT_STS bit 22 is reserved here (the LAN9118/LAN9220 datasheets; FreeRTOS/Zephyr enums);
  Linux's header names it RXDF_INT but the driver uses bit 6, which is RXDF_INT here.
* Driver facts honoured: FreeRTOS TX with data offset 4 and the immediate TX status pop, its
  RX reading one word past a packet whose length is a multiple of 4 (reads into the next
  packet, or 0 + RXE), SRST_TO polling, ISR W1C of all bits; Zephyr IRQ_CFG 0x22000111 and
  level re-entry; Mbed chip id 0x9220 and IRQ_EN-only polarity (``irq_wiring``); Linux
  BYTE_TEST, PMT READY, PHY_RST, SW_INT self-test, PHY loopback self-test (64-byte frame -> RX
  status length 68), RXDOFF 2, unaligned TX data offsets.

Not modelled (logged once when touched): DMA (RX_DMA_CNT, RXD_INT), power management and
wake-on-LAN (PM_MODE, PME, WUFF/WUCSR are stored only), flow control and pause frames
(AFC_CFG, FLOW), checksum offload (COE_CR stored), GPIO/LED behaviour (GPIO_CFG stored),
INT_DEAS timing, WORD_SWAP (stored; only meaningful on a 16-bit bus), MAC_CR PADSTR (pad
stripping), RX length-error bit, collisions and half duplex, RDFL/TDFU, 16-bit bus mode,
wire timing (TX and loopback are instant).

Native accesses (no Python call), through ``fifo_port``: RX data port reads; TX data FIFO
writes the model would only store (commands A and B that open or continue a packet without an
error, data words but a packet's last, while the FIFO has room; the port follows the
assembler state ``_tx_grant`` hands over, and ``_tx_sync`` replays what it took through the
same assembler before anything looks at the TX state). A packet's last word is one Python
call: when the whole packet went through the port and ``_tx_grant`` allowed it (nothing
held, TX_ON, TXEN, no loopback, link up, no trace) the port checks the length, pads and
assembles the frame, pushes its status and raises its INT_STS bits in the register
storage, and ``write`` only sends it (and drives the pin if IRQ_INT moved); any other
packet (an error, a host FCS, a runt, a full TX status FIFO, one the model replayed in part)
is replayed and completed by the model as before. Pops and peeks of the RX and TX status
FIFOs while they hold a word (TX pops not while packets wait in ``_tx_held``: a pop restarts
the transmitter); RX_FIFO_INF and TX_FIFO_INF. From the stored values (``register_window``):
the plain registers (BYTE_TEST, INT_EN, FIFO_INT, RX_CFG, TX_CFG, HW_CFG, PMT_CTRL, GPIO_CFG,
GPT_CFG, MAC_CSR_CMD/DATA, AFC_CFG, E2P_CMD/DATA, ...), ID_REV (its stored value is
``id_rev``), IRQ_CFG (``_update_irq`` keeps IRQ_INT in its stored value) and INT_STS while no
GPT wrap is scheduled (its read catches a due wrap up); and full-word writes of INT_STS (an
acknowledge), INT_EN and IRQ_CFG that leave INT_STS & INT_EN as zero or non-zero as it was
(``IRQ_GUARDS``) and change neither GPT_INT, INT_EN.SW_INT_EN nor IRQ_CFG's pin bits. GPT_CNT,
FREE_RUN, a packet's last TX word (it sends the frame) and every other write are Python. A
frame that passed the filters is queued by one port call (``rx_queue_call``: its words, status and
packet end, RSFL/RSFF in INT_STS and IRQ_CFG.IRQ_INT kept), and RX_FFWD skips in the port.

Stats for tests and observability: ``tx_frames``, ``rx_frames``, ``tx_dropped`` and
``rx_dropped`` (dicts by reason); they survive resets and snapshots.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, SC, W1C, WO, F, FastWrite, Reg, RegMap
from emulator.bus.wordfifo import WordFifoPort
from emulator.clock import Clock, Timer

__all__ = ["Lan9118"]

MASK32 = 0xFFFF_FFFF

# -- INT_STS / INT_EN ----------------------------------------------------------------------
_INT_BITS = (
    ("SW_INT", 31), ("TXSTOP_INT", 25), ("RXSTOP_INT", 24), ("RXDFH_INT", 23), ("TX_IOC", 21),
    ("RXD_INT", 20), ("GPT_INT", 19), ("PHY_INT", 18), ("PME_INT", 17), ("TXSO", 16), ("RWT", 15),
    ("RXE", 14), ("TXE", 13), ("TDFU", 11), ("TDFO", 10), ("TDFA", 9), ("TSFF", 8), ("TSFL", 7),
    ("RXDF_INT", 6), ("RDFL", 5), ("RSFF", 4), ("RSFL", 3), ("GPIO2", 2), ("GPIO1", 1), ("GPIO0", 0),
)
SW_INT, TXSTOP_INT, RXSTOP_INT, RXDFH_INT, TX_IOC = 1 << 31, 1 << 25, 1 << 24, 1 << 23, 1 << 21
GPT_INT, PHY_INT, TXSO, RWT, RXE, TXE = 1 << 19, 1 << 18, 1 << 16, 1 << 15, 1 << 14, 1 << 13
TDFO, TDFA, TSFF, TSFL, RXDF_INT, RSFF, RSFL = 1 << 10, 1 << 9, 1 << 8, 1 << 7, 1 << 6, 1 << 4, 1 << 3
INT_VALID = 0x83BF_EFFF

# IRQ_CFG
IRQ_TYPE, IRQ_POL, IRQ_EN, IRQ_INT = 1 << 0, 1 << 4, 1 << 8, 1 << 12
IRQ_WIRINGS = ("active-level", "qemu", "inverted")
# HW_CFG
SRST, SRST_TO, MODE_32 = 1 << 0, 1 << 1, 1 << 2
# TX_CFG
STOP_TX, TX_ON, TXSAO, TXD_DUMP, TXS_DUMP = 1 << 0, 1 << 1, 1 << 2, 1 << 14, 1 << 15
# RX_CFG
RX_DUMP = 1 << 15
# PMT_CTRL
PMT_READY, PHY_RST = 1 << 0, 1 << 10
PMT_NASR = 0x45
# GPT_CFG
TIMER_EN = 1 << 29
# MAC_CSR_CMD / E2P_CMD
CSR_BUSY, R_NOT_W = 1 << 31, 1 << 30
EPC_BUSY, EPC_TIMEOUT, MAC_ADDR_LOADED = 1 << 31, 1 << 9, 1 << 8

# MAC_CR
RXALL, LOOPBK, MCPAS, PRMS, INVFILT, PASSBAD = 1 << 31, 1 << 21, 1 << 19, 1 << 18, 1 << 17, 1 << 16
HO, HPFILT, BCAST, PADSTR, TXEN, RXEN = 1 << 15, 1 << 13, 1 << 11, 1 << 8, 1 << 3, 1 << 2

# TX command A / B
CMDA_IOC, CMDA_FS, CMDA_LS = 1 << 31, 1 << 13, 1 << 12
CMDB_CRC_DISABLE, CMDB_PAD_DISABLE = 1 << 13, 1 << 12
# TX status
TXS_ES, TXS_LOC, TXS_NO_CARRIER = 1 << 15, 1 << 11, 1 << 10
# RX status
RXS_FILTER_FAIL, RXS_ES, RXS_BCAST, RXS_RUNT, RXS_MCAST = 1 << 30, 1 << 15, 1 << 13, 1 << 11, 1 << 10
RXS_TOO_LONG, RXS_FRAME_TYPE, RXS_CRC_ERR = 1 << 7, 1 << 5, 1 << 1

# PHY
PHY_ADDR = 1
BMCR_RESET, BMCR_LOOPBACK, BMCR_SPEED100, BMCR_ANEN = 1 << 15, 1 << 14, 1 << 13, 1 << 12
BMCR_PDOWN, BMCR_ANRESTART, BMCR_FDX = 1 << 11, 1 << 9, 1 << 8
BMSR_BASE, BMSR_LINK, BMSR_ANDONE = 0x7809, 1 << 2, 1 << 5
PHY_INT_ENERGYON, PHY_INT_ANDONE, PHY_INT_LINKDOWN = 1 << 7, 1 << 6, 1 << 4
ANLPAR_LINKED = 0x45E1
MCSR_ENERGYON = 1 << 1

# PHY registers: number -> (name, reset, writable mask). Others read 0 (logged once).
_PHY_REGS = {
    0: ("BMCR", 0x3000, 0x7D80), 1: ("BMSR", BMSR_BASE, 0), 2: ("PHY_ID1", 0x0007, 0),
    3: ("PHY_ID2", 0xC0D1, 0), 4: ("ANAR", 0x01E1, 0x2DE0), 5: ("ANLPAR", 0, 0), 6: ("ANER", 0, 0),
    17: ("MCSR", 0x0000, 0x2240), 18: ("SMR", 0x00E1, 0x00FF), 27: ("CSIR", 0x0000, 0xA810),
    29: ("PHY_ISR", 0, 0), 30: ("PHY_IMR", 0, 0x00FE), 31: ("PSCSR", 0, 0),
}
_PHY_RESET = [(_PHY_REGS[i][1] if i in _PHY_REGS else 0) for i in range(32)]

# MAC CSRs: index -> (name, reset, writable mask).
MAC_CR, ADDRH, ADDRL, HASHH, HASHL, MII_ACC, MII_DATA = 1, 2, 3, 4, 5, 6, 7
FLOW, VLAN1, VLAN2, WUFF, WUCSR, COE_CR = 8, 9, 10, 11, 12, 13
_MAC_CSRS = {
    MAC_CR: ("MAC_CR", PRMS, 0x90BF_BDEC), ADDRH: ("ADDRH", 0xFFFF, 0xFFFF),
    ADDRL: ("ADDRL", MASK32, MASK32), HASHH: ("HASHH", 0, MASK32), HASHL: ("HASHL", 0, MASK32),
    MII_ACC: ("MII_ACC", 0, 0xFFC2), MII_DATA: ("MII_DATA", 0, 0xFFFF), FLOW: ("FLOW", 0, 0xFFFF_0006),
    VLAN1: ("VLAN1", 0xFFFF, 0xFFFF), VLAN2: ("VLAN2", 0xFFFF, 0xFFFF), WUFF: ("WUFF", 0, MASK32),
    WUCSR: ("WUCSR", 0, 0x3FF), COE_CR: ("COE_CR", 0, 0x0001_0003),
}

EEPROM_SIZE = 128
EEPROM_SIGNATURE = 0xA5
BROADCAST = b"\xff" * 6
ETH_MIN = 60          # without FCS
RX_MAX_WITH_FCS = 2048
RX_PLAIN_MAX = 1514   # the longest frame without FCS that is never too long
# MAC_CR bits that decide how a frame is filtered: RXEN alone is a plain perfect filter.
_RX_FILTER_MODES = RXEN | PRMS | HO | INVFILT
GPT_HZ = 10_000
FREE_RUN_HZ = 25_000_000

_TX_CMD_A, _TX_CMD_B, _TX_DATA = 0, 1, 2


FIFO_TOTAL_WORDS = 16384 // 4  # the chip's FIFO RAM: no data FIFO is larger
RX_FIFO_INF_OFFSET = 0x7C
TX_FIFO_INF_OFFSET = 0x80


def fifo_sizes(tx_fif_sz: int) -> tuple[int, int, int, int]:
    """(TX data, TX status, RX data, RX status) bytes for HW_CFG.TX_FIF_SZ (Table 5-3)."""
    kib = min(max(tx_fif_sz, 2), 14)
    rx_total = 16384 - 1024 * kib
    return 1024 * kib - 512, 512, rx_total - rx_total // 16, rx_total // 16


def ether_crc(data: bytes) -> int:
    """The big-endian Ethernet CRC32 (Linux ``ether_crc``), as the hash filter uses it."""
    crc = ~zlib.crc32(data) & MASK32
    return int(f"{crc:032b}"[::-1], 2)


def hash_index(dest: bytes) -> int:
    """Multicast hash bit for ``dest``: bit 5 selects HASHH, bits 4:0 the bit in it."""
    return ether_crc(bytes(dest[:6])) >> 26


def fcs(frame: bytes) -> bytes:
    """The 4 FCS bytes as they follow the frame on the wire and in the RX FIFO."""
    return struct.pack("<I", zlib.crc32(frame) & MASK32)


def parse_mac(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes | bytearray):
        raw = bytes(mac)
    else:
        raw = bytes(int(part, 16) for part in str(mac).replace("-", ":").split(":"))
    if len(raw) != 6:
        raise ValueError(f"bad MAC address {mac!r}")
    return raw


# -- register hooks (module level, bound once per class) ------------------------------------------
def _rx_data_read(dev: Lan9118) -> int:
    return dev._rx_data_pop()


def _tx_data_write(dev: Lan9118, value: int) -> None:
    dev._tx_push_slow(value & MASK32)


def _rx_status_pop(dev: Lan9118) -> int:
    return dev._rx_status_pop()


def _rx_status_peek(dev: Lan9118) -> int:
    return dev._rxs[0] if dev._rxs else 0


def _tx_status_pop(dev: Lan9118) -> int:
    return dev._tx_status_pop()


def _tx_status_peek(dev: Lan9118) -> int:
    return dev._txs[0] if dev._txs else 0


def _ro_write(dev: Lan9118, value: int) -> None:
    dev.guest_error(f"write of 0x{value:X} to a read-only register")


def _id_rev_read(dev: Lan9118) -> int:
    return dev.id_rev


def _irq_cfg_read(dev: Lan9118) -> int:
    r = dev.r
    value = r[dev._i_cfg] & ~(IRQ_INT | (1 << 13) | (1 << 14))
    if r[dev._i_sts] & r[dev._i_en]:
        value |= IRQ_INT
    return value  # the stored value: _update_irq keeps IRQ_INT there (a fast read)


def _irq_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    dev._update_irq()


def _int_sts_read(dev: Lan9118) -> int:
    dev._gpt_catch_up()
    return dev.r[dev._i_sts]


def _int_sts_written(dev: Lan9118, old: int, value: int) -> None:
    if old & GPT_INT and not dev.r[dev._i_sts] & GPT_INT:
        dev._gpt_arm(dev.clock.now + 1)
    dev._update_irq()


def _int_en_write(dev: Lan9118, value: int) -> None:
    r = dev.r
    old = r[dev._i_en]
    r[dev._i_en] = value & INT_VALID
    if value & SW_INT and not old & SW_INT:
        r[dev._i_sts] |= SW_INT
    dev._update_irq()


def _fifo_int_written(dev: Lan9118, old: int, value: int) -> None:
    dev._check_levels(rx=True, tx_status=True, tx_data=True)
    dev._update_irq()


def _rx_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    if value & RX_DUMP:
        dev._rx_dump()
    if (value >> 16) & 0xFFF:
        dev.unimplemented("RX_CFG.RX_DMA_CNT (DMA)")
    dev._update_irq()


def _tx_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    dev._tx_cfg_changed(old, value)


def _hw_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    if value & SRST:
        dev._soft_reset()
        return
    dev._set_fifo_sizes()


def _rx_dp_ctrl_written(dev: Lan9118, old: int, value: int) -> None:
    if value & (1 << 31):
        dev._rx_fast_forward()


def _rx_fifo_inf_read(dev: Lan9118) -> int:
    return (min(len(dev._rxs), 0xFF) << 16) | min(4 * len(dev._rxd), 0xFFFF)


def _tx_fifo_inf_read(dev: Lan9118) -> int:
    return (min(len(dev._txs), 0xFF) << 16) | (dev._tx_free_bytes() & 0xFFFF)


def _pmt_ctrl_written(dev: Lan9118, old: int, value: int) -> None:
    if value & PHY_RST:
        dev._phy_reset()
    if value & (3 << 12):
        dev.unimplemented("PMT_CTRL.PM_MODE (power management)")
    if value & ((1 << 9) | (1 << 8) | (1 << 1)):
        dev.unimplemented("PMT_CTRL wake-up / PME")


def _gpio_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    if value & 0x0777_071F:
        dev.unimplemented("GPIO_CFG GPIO/EEPROM pin behaviour")


def _gpt_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    dev._gpt_cfg_changed(old)


def _gpt_cnt_read(dev: Lan9118) -> int:
    return dev._gpt_count(dev.clock.now)


def _word_swap_written(dev: Lan9118, old: int, value: int) -> None:
    if value:
        dev.unimplemented("WORD_SWAP (16-bit bus word order)")


def _free_run_read(dev: Lan9118) -> int:
    return ((dev.clock.now - dev._free_run_base) * FREE_RUN_HZ // dev.clock.hz) & MASK32


def _rx_drop_read(dev: Lan9118) -> int:
    value = dev._rx_drop
    dev._rx_drop = 0
    return value


def _mac_csr_cmd_written(dev: Lan9118, old: int, value: int) -> None:
    if value & CSR_BUSY:
        dev._mac_csr_command(value)


def _afc_cfg_written(dev: Lan9118, old: int, value: int) -> None:
    if value & 0xF:
        dev.unimplemented("AFC_CFG flow control")


def _e2p_cmd_written(dev: Lan9118, old: int, value: int) -> None:
    if value & EPC_BUSY:
        dev._e2p_command(value)


class Lan9118(Device):
    """SMSC LAN9118/LAN9220 Ethernet MAC+PHY (datasheet §5-7). Not modelled: DMA, PM/WoL, flow control."""

    SIZE = 0x100
    IRQS = ("irq",)
    FRAME_PORTS = ("eth",)
    STATE_VERSION = 1
    # read() below ends in Device.read for every declared register; what it does first
    # (_tx_sync) changes no stored register value, so native code may answer stored values.
    NATIVE_READS = True
    # The IRQ pin is asserted while INT_STS & INT_EN != 0 (and IRQ_CFG says how): INT_STS
    # acknowledges and INT_EN writes that leave that as it is are stored natively.
    IRQ_GUARDS = (("INT_STS", "INT_EN"),)
    REGS = RegMap(
        Reg(0x00, "RX_DATA_FIFO", access=RO, read=_rx_data_read, write=_ro_write,
            doc="read pops one RX data DWORD; aliases 0x04-0x1C (fast path in read())"),
        Reg(0x20, "TX_DATA_FIFO", access=WO, write=_tx_data_write,
            doc="write pushes a TX command/data DWORD; aliases 0x24-0x3C (fast path in write())"),
        Reg(0x40, "RX_STATUS_FIFO", access=RO, read=_rx_status_pop, write=_ro_write),
        Reg(0x44, "RX_STATUS_FIFO_PEEK", access=RO, read=_rx_status_peek, write=_ro_write),
        Reg(0x48, "TX_STATUS_FIFO", access=RO, read=_tx_status_pop, write=_ro_write),
        Reg(0x4C, "TX_STATUS_FIFO_PEEK", access=RO, read=_tx_status_peek, write=_ro_write),
        Reg(0x50, "ID_REV", reset=0x0118_0001, access=RO, read=_id_rev_read, fast_read=True, write=_ro_write,
            fields=[F("REV", 0, 16, RO), F("ID", 16, 16, RO)]),
        Reg(0x54, "IRQ_CFG", read=_irq_cfg_read, fast_read=True, after_write=_irq_cfg_written,
            fast_write=FastWrite(slow=IRQ_TYPE | IRQ_POL | IRQ_EN),
            fields=[F("IRQ_TYPE", 0), F("IRQ_POL", 4), F("IRQ_EN", 8), F("IRQ_INT", 12, access=RO),
                    F("INT_DEAS_STS", 13, access=RO), F("INT_DEAS_CLR", 14, access=SC),
                    F("INT_DEAS", 24, 8)]),
        Reg(0x58, "INT_STS", read=_int_sts_read, fast_read=True, after_write=_int_sts_written,
            fast_write=FastWrite(slow=GPT_INT),
            fields=[F(n, b, access=RO if n == "PHY_INT" else W1C) for n, b in _INT_BITS]),
        Reg(0x5C, "INT_EN", write=_int_en_write, fast_write=FastWrite(replace=INT_VALID, slow=SW_INT),
            fields=[F(n + "_EN", b) for n, b in _INT_BITS]),
        Reg(0x64, "BYTE_TEST", reset=0x8765_4321, access=RO, write=_ro_write),
        Reg(0x68, "FIFO_INT", after_write=_fifo_int_written,
            fields=[F("RX_STS_LEVEL", 0, 8), F("RX_DATA_LEVEL", 8, 8), F("TX_STS_LEVEL", 16, 8),
                    F("TX_DATA_AVAIL_LEVEL", 24, 8, reset=0x48)]),
        Reg(0x6C, "RX_CFG", after_write=_rx_cfg_written,
            fields=[F("RXDOFF", 8, 5), F("RX_DUMP", 15, access=SC), F("RX_DMA_CNT", 16, 12),
                    F("RX_EA", 30, 2)]),
        Reg(0x70, "TX_CFG", after_write=_tx_cfg_written,
            fields=[F("STOP_TX", 0, access=SC), F("TX_ON", 1), F("TXSAO", 2),
                    F("TXD_DUMP", 14, access=SC), F("TXS_DUMP", 15, access=SC)]),
        Reg(0x74, "HW_CFG", after_write=_hw_cfg_written,
            fields=[F("SRST", 0, access=SC), F("SRST_TO", 1, access=RO), F("MODE_32", 2, access=RO, reset=1),
                    F("TR", 12, 2), F("TX_FIF_SZ", 16, 4, reset=5), F("SF", 20), F("TTM", 21)]),
        Reg(0x78, "RX_DP_CTRL", after_write=_rx_dp_ctrl_written, fields=[F("RX_FFWD", 31, access=SC)]),
        Reg(RX_FIFO_INF_OFFSET, "RX_FIFO_INF", access=RO, read=_rx_fifo_inf_read, write=_ro_write,
            fields=[F("RXDUSED", 0, 16, RO), F("RXSUSED", 16, 8, RO)]),
        Reg(0x80, "TX_FIFO_INF", access=RO, read=_tx_fifo_inf_read, write=_ro_write,
            fields=[F("TDFREE", 0, 16, RO), F("TXSUSED", 16, 8, RO)]),
        Reg(0x84, "PMT_CTRL", after_write=_pmt_ctrl_written,
            fields=[F("READY", 0, access=RO, reset=1), F("PME_EN", 1), F("PME_POL", 2), F("PME_IND", 3),
                    F("WUPS", 4, 2, access=W1C), F("PME_TYPE", 6), F("ED_EN", 8), F("WOL_EN", 9),
                    F("PHY_RST", 10, access=SC), F("PM_MODE", 12, 2)]),
        Reg(0x88, "GPIO_CFG", after_write=_gpio_cfg_written,
            fields=[F("GPIOD", 0, 5), F("GPIODIR", 8, 3), F("GPIOBUF", 16, 3), F("EEPR_EN", 20, 3),
                    F("GPIO_INT_POL", 24, 3), F("LED_EN", 28, 3)]),
        Reg(0x8C, "GPT_CFG", after_write=_gpt_cfg_written,
            fields=[F("GPT_LOAD", 0, 16, reset=0xFFFF), F("TIMER_EN", 29)]),
        Reg(0x90, "GPT_CNT", access=RO, reset=0xFFFF, read=_gpt_cnt_read, write=_ro_write,
            fields=[F("GPT_CNT", 0, 16, RO, reset=0xFFFF)]),
        Reg(0x98, "WORD_SWAP", after_write=_word_swap_written),
        Reg(0x9C, "FREE_RUN", access=RO, read=_free_run_read, write=_ro_write),
        Reg(0xA0, "RX_DROP", access=RO, read=_rx_drop_read, write=_ro_write, doc="clears on read"),
        Reg(0xA4, "MAC_CSR_CMD", after_write=_mac_csr_cmd_written,
            fields=[F("CSR_ADDR", 0, 8), F("R_NOT_W", 30), F("CSR_BUSY", 31, access=SC)]),
        Reg(0xA8, "MAC_CSR_DATA"),
        Reg(0xAC, "AFC_CFG", after_write=_afc_cfg_written,
            fields=[F("FCANY", 0), F("FCADD", 1), F("FCBRD", 2), F("FCMULT", 3), F("BACK_DUR", 4, 4),
                    F("AFC_LO", 8, 8), F("AFC_HI", 16, 8)]),
        Reg(0xB0, "E2P_CMD", after_write=_e2p_cmd_written,
            fields=[F("EPC_ADDR", 0, 8), F("MAC_ADDR_LOADED", 8, access=W1C), F("EPC_TIMEOUT", 9, access=W1C),
                    F("EPC_CMD", 28, 3), F("EPC_BUSY", 31, access=SC)]),
        Reg(0xB4, "E2P_DATA", fields=[F("EEPROM_DATA", 0, 8)]),
    )

    def __init__(self, name: str, clock: Clock, *, chip_id: int = 0x0118,
                 mac: str | bytes = "52:54:00:12:34:56", irq_wiring: str = "active-level",
                 **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        if irq_wiring not in IRQ_WIRINGS:
            raise ValueError(f"irq_wiring must be one of {', '.join(IRQ_WIRINGS)}, got {irq_wiring!r}")
        self.irq_wiring = irq_wiring
        self._active_level = irq_wiring == "active-level"
        chip_id = int(chip_id)
        if chip_id > 0xFFFF:
            self.id_rev = chip_id & MASK32
        elif chip_id == 0x0118:
            self.id_rev = 0x0118_0001
        else:
            self.id_rev = chip_id << 16
        self.chip_id = self.id_rev >> 16
        self.has_coe = (self.chip_id >> 8) == 0x92
        self.mac = parse_mac(mac)
        regs = self.REGS
        self._i_id_rev = regs["ID_REV"].index
        self._i_cfg = regs["IRQ_CFG"].index
        self._i_sts = regs["INT_STS"].index
        self._i_en = regs["INT_EN"].index
        self._i_fifo_int = regs["FIFO_INT"].index
        self._i_rx_cfg = regs["RX_CFG"].index
        self._i_tx_cfg = regs["TX_CFG"].index
        self._i_hw_cfg = regs["HW_CFG"].index
        self._i_pmt = regs["PMT_CTRL"].index
        self._i_gpt_cfg = regs["GPT_CFG"].index
        self._i_csr_cmd = regs["MAC_CSR_CMD"].index
        self._i_csr_data = regs["MAC_CSR_DATA"].index
        self._i_e2p_cmd = regs["E2P_CMD"].index
        self._i_e2p_data = regs["E2P_DATA"].index
        self._line = self.irq["irq"]
        self._port = self.frame_ports["eth"]
        self._port.on_receive = self._wire_receive
        self._port.on_link = self._wire_link
        # Non-volatile EEPROM image; the rest of the state is set by reset().
        self.eeprom = bytearray(b"\xff" * EEPROM_SIZE)
        self.eeprom[0] = EEPROM_SIGNATURE
        self.eeprom[1:7] = self.mac
        self.tx_frames = 0
        self.rx_frames = 0
        self.tx_dropped: dict[str, int] = {}
        self.rx_dropped: dict[str, int] = {}
        self._gpt_timer: Timer | None = None
        self._gpt_deadline: int | None = None
        # The destination of frames received the plain way (_rx_plain_check), None: none.
        self._rx_plain_dest: bytes | None = None
        # The RX data FIFO is the port's receive ring; its TX buffer feeds _tx_raw.
        # The status FIFOs are its rings, RX_FIFO_INF and TX_FIFO_INF its level registers.
        self.fifo_port = WordFifoPort(rx_window=(0x00, 0x20), tx_window=(0x20, 0x40),
                                      rx_words=FIFO_TOTAL_WORDS, tx_words=FIFO_TOTAL_WORDS,
                                      rx_status=(0x40, 0x44), tx_status=(0x48, 0x4C),
                                      rx_level_offset=RX_FIFO_INF_OFFSET, tx_level_offset=TX_FIFO_INF_OFFSET)
        self._rxd = self.fifo_port
        self._rxs = self.fifo_port.rx_status   # RX status FIFO
        self._txs = self.fifo_port.tx_status   # TX status FIFO
        self._fifo = self.fifo_port.port        # its C state: fill levels, packets completed in C
        self._rx_queue_call = self.fifo_port.rx_queue_call
        self._tx_frame = self.fifo_port.tx_frame
        # The port raises the INT_STS bits of what it queues and completes, and keeps IRQ_INT.
        self.fifo_port.bind_registers(self.r, self._i_sts, self._i_en, self._i_cfg, self._i_fifo_int,
                                      self._i_rx_cfg)
        self._init_state()
        self._free_run_base = 0
        self.reset()

    # -- state and reset --------------------------------------------------------------
    def _init_state(self) -> None:
        self._rxd.clear()                      # RX data FIFO, DWORDs of all queued packets, their ends
        self._rxs.clear()
        self._txs.clear()
        # Finished packets not sent yet: frame, cmd B, IOC, FIFO DWORDs, discarded-with-error.
        self._tx_held: deque[tuple[bytes, int, int, int, bool]] = deque()
        self._tx_held_words = 0
        self._tx_reset_assembler()
        self._rx_drop = 0
        self.mac_csr = [0] * 16
        for i, (_name, reset, _mask) in _MAC_CSRS.items():
            self.mac_csr[i] = reset
        self._wuff_w = 0
        self._wuff = [0] * 8
        self._e2p_write_enabled = False
        self._gpt_c0 = 0xFFFF
        self._gpt_t0 = 0
        self._gpt_cancel()

    def _tx_reset_assembler(self) -> None:
        """(Callers hand the new state to the native port: ``_tx_grant``.)"""
        self.fifo_port.take()
        self._tx_state = _TX_CMD_A
        self._tx_raw = bytearray()             # the buffer's data words so far, as bytes
        self._tx_left = 0                      # data DWORDs still expected for this buffer
        self._tx_cmd_a = 0
        self._tx_cmd_b: int | None = None      # of the open packet (None: no packet open)
        self._tx_pkt = bytearray()
        self._tx_pkt_err = False
        self._tx_used = 0                      # FIFO DWORDs of the open packet

    def reset(self) -> None:
        """Power-on reset: table, then FIFOs/MAC/EEPROM/PHY/GPT, then the IRQ line."""
        super().reset()
        self.r[self._i_id_rev] = self.id_rev
        self._init_state()
        self._free_run_base = self.clock.now
        self._phy_reset(update=False)
        self._link = self._link_ok()
        self._set_fifo_sizes()
        self._e2p_reload()
        # The pin idles high after reset. IrqLine only reports changes and connect() does not
        # replay the level, so drive it low first: a sink wired after construction (the
        # machine wires, then resets) then hears the high level.
        self._line.set(False)
        self._update_irq()

    def _soft_reset(self) -> None:
        """HW_CFG.SRST: everything but the NASR bits, the PHY and FREE_RUN."""
        if self._phy[0] & BMCR_PDOWN:
            self.guest_error("HW_CFG.SRST with the PHY powered down: soft reset times out")
            self.r[self._i_hw_cfg] |= SRST_TO
            return
        self._gpt_catch_up()
        keep_cfg = self.r[self._i_cfg] & (IRQ_POL | IRQ_TYPE)
        keep_pmt = self.r[self._i_pmt] & PMT_NASR
        Device.reset(self)
        self.r[self._i_id_rev] = self.id_rev
        self._init_state()
        self.r[self._i_cfg] = keep_cfg
        self.r[self._i_pmt] = keep_pmt | PMT_READY
        self._set_fifo_sizes()
        self._e2p_reload()
        self._phy_update()

    def _set_fifo_sizes(self) -> None:
        sz = (self.r[self._i_hw_cfg] >> 16) & 0xF
        if not 2 <= sz <= 14:
            self.guest_error(f"HW_CFG.TX_FIF_SZ={sz} outside 2..14, using {min(max(sz, 2), 14)}")
        tx_data, tx_status, rx_data, rx_status = fifo_sizes(sz)
        self.tx_data_size = tx_data
        self.tx_status_size = tx_status
        self.rx_data_size = rx_data
        self.rx_status_size = rx_status
        self._tx_cap = tx_data // 4
        self._txs_cap = tx_status // 4
        self._rxd_cap = rx_data // 4
        self._rxs_cap = rx_status // 4
        self.fifo_port.set_rx_sizes(self._rxd_cap, self._rxs_cap)
        self._tx_grant()

    # -- interrupts ---------------------------------------------------------------------
    def _update_irq(self) -> None:
        r = self.r
        cfg = r[self._i_cfg]
        pending = bool(r[self._i_sts] & r[self._i_en])
        if pending != bool(cfg & IRQ_INT):  # IRQ_CFG.IRQ_INT is stored: its reads are native
            r[self._i_cfg] = cfg = cfg ^ IRQ_INT
        if self._active_level:  # irq_function() for the default wiring, in short
            line = self._line
            if (pending and bool(cfg & IRQ_EN)) != line.level:
                level = line.level = not line.level  # line.set(level), inline
                if line.sink is not None:
                    line.sink(level)
        else:
            self._line.set(self.irq_function())

    def pin_level(self) -> bool:
        """The IRQ pin's electrical level (True = high) from INT_STS, INT_EN and IRQ_CFG."""
        r = self.r
        cfg = r[self._i_cfg]
        asserted = bool(r[self._i_sts] & r[self._i_en]) and bool(cfg & IRQ_EN)
        if cfg & IRQ_TYPE:  # push-pull: drives the active level (IRQ_POL) or the other one
            return asserted == bool(cfg & IRQ_POL)
        return not asserted  # open-drain, active low: pulled low or released to the pull-up

    def irq_function(self) -> bool:
        """The level the board's wiring presents to the NVIC (see ``irq_wiring``)."""
        pin = self.pin_level()
        if self.irq_wiring == "qemu":
            return pin
        if self.irq_wiring == "inverted":
            return not pin
        cfg = self.r[self._i_cfg]
        active_high = bool(cfg & IRQ_TYPE and cfg & IRQ_POL)
        return pin == active_high

    def _raise(self, bits: int) -> None:
        self.r[self._i_sts] |= bits
        self._update_irq()

    def _check_levels(self, rx: bool = False, tx_status: bool = False, tx_data: bool = False) -> None:
        r = self.r
        level = r[self._i_fifo_int]
        bits = 0
        if rx:
            n = len(self._rxs)
            if n > (level & 0xFF):
                bits |= RSFL
            if n >= self._rxs_cap:
                bits |= RSFF
        if tx_status:
            n = len(self._txs)
            if n > ((level >> 16) & 0xFF):
                bits |= TSFL
            if n >= self._txs_cap:
                bits |= TSFF
        if tx_data and self._tx_free_bytes() > ((level >> 24) & 0xFF) * 64:
            bits |= TDFA
        r[self._i_sts] |= bits

    # -- MMIO: the data FIFO ports and their aliases ---------------------------------------------
    # Word reads of the RX port and data words of a TX buffer are served by ``fifo_port`` in C
    # when the CPU maps this device; what reaches these methods is the rest (or every access,
    # when a test calls them directly).
    def read(self, offset: int, size: int) -> int:
        if offset < 0x20:
            rxd = self._rxd
            if size == 4 and rxd:
                return rxd.popleft()
            return self._rx_data_read_odd(offset, size)
        self._tx_sync()
        return Device.read(self, offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if 0x54 <= offset < 0x60:  # IRQ_CFG, INT_STS, INT_EN: the TX state plays no part
            if offset == 0x58 and size == 4 and not self.trace:
                # A full-word INT_STS write (an ISR's acknowledge): what Device.write does with
                # it (its bits are W1C or RO) and then _int_sts_written.
                r = self.r
                old = r[self._i_sts]
                r[self._i_sts] = new = old & ~(value & _INT_STS_W1C)
                if old & GPT_INT and not new & GPT_INT:
                    self._gpt_arm(self.clock.now + 1)
                self._update_irq()
            else:
                Device.write(self, offset, size, value)
            return
        fifo = self._fifo
        if (n := fifo.tx_done) and 0x20 <= offset < 0x40:
            # The port completed the packet this last word ends (``_tx_grant`` allowed it): what
            # _tx_finish_packet does with a packet nothing waits before, in one call.
            fifo.tx_done = 0
            self._tx_cmd_a = fifo.tx_cmd_a
            self.tx_frames += 1
            self._port.send(bytes(self._tx_frame[:n]))
            if fifo.tx_done_irq:  # the port's INT_STS bits (TX_IOC, levels) moved IRQ_INT
                self._update_irq()
            return
        self._tx_sync()
        self._write(offset, size, value)
        self._tx_grant()

    def _tx_sync(self) -> None:
        """Replay the TX words the native port took since the last look."""
        words = self.fifo_port.take_view()
        if words:
            self._tx_replay(words)

    def _tx_replay(self, words: memoryview) -> None:
        """The port takes only words this model would just store (data words of a buffer but
        its last, commands without an error): each goes through the same assembler here."""
        i, n = 0, len(words)
        while i < n:
            if self._tx_state == _TX_DATA and self._tx_left > 1:
                k = min(n - i, self._tx_left - 1)
                self._tx_raw += words[i:i + k]
                self._tx_left -= k
                self._tx_used += k
                i += k
            else:
                self._tx_push_slow(words[i])
                i += 1

    def _tx_grant(self) -> None:
        """Hand the TX assembler's state to the native port (what it may take from here on,
        TX_FIFO_INF's room, and whether it may complete a packet: when _tx_finish_packet would
        send it at once and _transmit check nothing but its length), and hold its TX status pops
        while packets wait to be sent (a pop may restart the transmitter). Called after every
        change to what ``send`` reads."""
        mac_cr = self.mac_csr[MAC_CR]
        send = (not self._tx_held and not self.trace and bool(self.r[self._i_tx_cfg] & TX_ON)
                and bool(mac_cr & TXEN) and not mac_cr & LOOPBK and not self._phy[0] & BMCR_LOOPBACK
                and self._link)
        self.fifo_port.tx_handover(True, self._tx_state, self._tx_left, self._tx_cmd_a, self._tx_cmd_b,
                                   self._tx_cap - self._tx_used - self._tx_held_words, send, self._txs_cap)
        self._txs.hold = bool(self._tx_held)

    def _write(self, offset: int, size: int, value: int) -> None:
        if offset < 0x40:
            if offset >= 0x20 and size == 4:
                if (self._tx_state == _TX_DATA and self._tx_left > 1
                        and self._tx_used + self._tx_held_words < self._tx_cap):
                    self._tx_raw += (value & MASK32).to_bytes(4, "little")
                    self._tx_left -= 1
                    self._tx_used += 1
                    return
                self._tx_push_slow(value & MASK32)
            elif offset >= 0x20:
                self.guest_error(f"{size}-byte write to the TX data FIFO ignored (DWORD access only)")
            else:
                self.guest_error(f"write of 0x{value:X} to the RX data FIFO port ignored")
            return
        Device.write(self, offset, size, value)

    # -- RX data / status FIFOs -------------------------------------------------------------------
    def _rx_data_read_odd(self, offset: int, size: int) -> int:
        if size != 4:
            self.guest_error(f"{size}-byte read of the RX data FIFO pops a whole DWORD")
        value = self._rx_data_pop()
        return (value >> (8 * (offset & 3))) & ((1 << (8 * size)) - 1)

    def _rx_data_pop(self) -> int:
        if self._rxd:
            return self._rxd.popleft()
        self.guest_error("read of the empty RX data FIFO (RXE)")
        self._raise(RXE)
        return 0

    def _rx_status_pop(self) -> int:
        if not self._rxs:
            self.guest_error("read of the empty RX status FIFO")
            return 0
        return self._rxs.popleft()

    def _rx_fast_forward(self) -> None:
        if not self._rxd.forward():
            self.guest_error("RX_DP_CTRL.RX_FFWD with no packet in the RX data FIFO")

    def _rx_dump(self) -> None:
        self._rxd.clear()
        self._rxs.clear()

    # -- receive ------------------------------------------------------------------------------------
    def _drop_rx(self, reason: str, counted: bool = False) -> None:
        self.rx_dropped[reason] = self.rx_dropped.get(reason, 0) + 1
        if self.trace:
            self.log.debug("rx frame dropped: %s", reason)
        if counted:
            before = self._rx_drop
            self._rx_drop = min(before + 1, MASK32)
            bits = RXDF_INT
            if before < 0x8000_0000 <= self._rx_drop:
                bits |= RXDFH_INT
            self._raise(bits)

    def _rx_plain_check(self) -> None:
        """Which frames _wire_receive may queue without a check: to this unicast MAC while the
        link is up, the PHY powered and not looped back, no MAC loopback, and MAC_CR filtering
        by perfect match alone. Called after every change to what it reads."""
        mac = self.mac_csr
        dest = struct.pack("<IH", mac[ADDRL], mac[ADDRH] & 0xFFFF)
        plain = (self._port.link_up and not self._phy[0] & (BMCR_PDOWN | BMCR_LOOPBACK)
                 and not mac[MAC_CR] & LOOPBK and mac[MAC_CR] & _RX_FILTER_MODES == RXEN and not dest[0] & 1)
        self._rx_plain_dest = dest if plain else None

    def _wire_receive(self, frame: bytes) -> None:
        """A frame from the wire (no FCS)."""
        if (type(frame) is bytes and ETH_MIN <= len(frame) <= RX_PLAIN_MAX
                and frame[:6] == self._rx_plain_dest):
            # A good unicast frame of 60-1514 bytes to this MAC, perfect filtering only, link up,
            # no loopback (_rx_plain_check): what _receive and _rx_queue do with it.
            if queued := self._rx_queue_call(frame, len(frame), zlib.crc32(frame), 0):
                self.rx_frames += 1
                if queued != 1:
                    self._update_irq()
            else:
                self._drop_rx("fifo_full", counted=True)
            return
        if type(frame) is not bytes:
            if not isinstance(frame, bytearray | memoryview):
                self._drop_rx("garbage")
                return
            frame = bytes(frame)
        bmcr = self._phy[0]
        mac = self.mac_csr
        if not self._port.link_up or bmcr & (BMCR_PDOWN | BMCR_LOOPBACK) or mac[MAC_CR] & LOOPBK:
            self._drop_rx("link_down" if not self._port.link_up or bmcr & BMCR_PDOWN else "loopback")
            return
        n = len(frame)
        if n < ETH_MIN:
            if n < 14:
                self._drop_rx("runt")
                return
            frame += bytes(ETH_MIN - n)   # the sending MAC pads; a wire never carries less
        self._receive(frame, None)

    def _receive(self, frame: bytes, frame_fcs: bytes | None) -> None:
        """Filter and queue one frame; ``frame_fcs`` is the FCS it carries (None: a good one)."""
        mac_cr = self.mac_csr[MAC_CR]
        if not mac_cr & RXEN:
            self._drop_rx("rx_disabled")
            return
        n = len(frame)
        if n < 14:
            self._drop_rx("runt")
            return
        if n + 4 > RX_MAX_WITH_FCS:
            self._drop_rx("oversize")
            self._raise(RWT)
            return
        status = (n + 4) << 16
        if n + 4 < 64:
            status |= RXS_RUNT
        if n + 4 > 1518 and n + 4 > self._max_len(frame):
            status |= RXS_TOO_LONG
        if (frame[12] << 8 | frame[13]) > 1500:
            status |= RXS_FRAME_TYPE
        crc = zlib.crc32(frame)
        if frame_fcs is not None:
            carried = int.from_bytes(frame_fcs, "little")
            if carried != crc:
                status |= RXS_CRC_ERR
                crc = carried
        if frame[0] & 1:
            status |= RXS_BCAST if frame.startswith(BROADCAST) else RXS_MCAST
        if status & (RXS_RUNT | RXS_TOO_LONG | RXS_CRC_ERR):
            status |= RXS_ES
            if status & (RXS_RUNT | RXS_CRC_ERR) and not mac_cr & PASSBAD:
                self._drop_rx("bad_frame")
                return
        if mac_cr & PRMS:
            passed = True
        elif frame[0] & 1 or mac_cr & (HO | INVFILT):
            passed = self._filter(frame[:6], mac_cr)
        else:  # _filter's perfect match of a unicast destination, without its calls
            mac = self.mac_csr
            passed = frame[:6] == struct.pack("<IH", mac[ADDRL], mac[ADDRH] & 0xFFFF)
        if not passed:
            if not mac_cr & RXALL:
                self._drop_rx("filtered", counted=True)
                return
            status |= RXS_FILTER_FAIL
        self._rx_queue(frame, n, crc, status)

    def _rx_queue(self, frame: bytes, n: int, crc: int, status: int) -> None:
        """Queue a frame that passed (its FCS ``crc``, its RX ``status``) or drop it when the
        FIFOs are full: the port queues its words, status and end, raises RSFL/RSFF and says
        whether the pin may move (``WordFifoPort.rx_queue_call``)."""
        if queued := self._rx_queue_call(frame, n, crc, status):
            self.rx_frames += 1
            if queued != 1:
                self._update_irq()
        else:
            self._drop_rx("fifo_full", counted=True)

    def _max_len(self, frame: bytes) -> int:
        """Longest legal frame with FCS: 1518, or 1522/1538 with a VLAN1/VLAN2 tag."""
        if len(frame) >= 14:
            ethertype = frame[12] << 8 | frame[13]
            if ethertype == self.mac_csr[VLAN1]:
                return 1522
            if ethertype == self.mac_csr[VLAN2]:
                return 1538
        return 1518

    def _filter(self, dest: bytes, mac_cr: int) -> bool:
        if mac_cr & PRMS:
            return True
        if dest == BROADCAST:
            return not mac_cr & BCAST
        if dest[0] & 1:
            if mac_cr & MCPAS:
                return True
            if mac_cr & (HO | HPFILT):
                return self._hash_hit(dest)
            return dest == self._mac_addr()
        if mac_cr & HO:
            return self._hash_hit(dest)
        match = dest == self._mac_addr()
        if mac_cr & INVFILT:
            return not match
        return match

    def _hash_hit(self, dest: bytes) -> bool:
        idx = hash_index(dest)
        word = self.mac_csr[HASHH] if idx & 0x20 else self.mac_csr[HASHL]
        return bool(word >> (idx & 0x1F) & 1)

    def _mac_addr(self) -> bytes:
        return struct.pack("<IH", self.mac_csr[ADDRL], self.mac_csr[ADDRH] & 0xFFFF)

    # -- transmit ------------------------------------------------------------------------------------
    def _tx_free_bytes(self) -> int:
        self._tx_sync()
        return max(0, 4 * (self._tx_cap - self._tx_used - self._tx_held_words))

    def _tx_error(self, message: str, overflow: bool = False) -> None:
        self.guest_error(f"TX error: {message}")
        self.tx_dropped["tx_error"] = self.tx_dropped.get("tx_error", 0) + (0 if self._tx_pkt_err else 1)
        if self._tx_cmd_b is not None:
            self._tx_pkt_err = True
        self._raise(TXE | (TDFO if overflow else 0))

    def _tx_push_slow(self, value: int) -> None:
        """Every TX FIFO write the fast path does not take: commands, last words, overflow."""
        if self._tx_used + self._tx_held_words >= self._tx_cap:
            self._tx_error("TX data FIFO overflow", overflow=True)
            if self._tx_state == _TX_DATA:
                self._tx_raw += b"\0\0\0\0"
                self._tx_left -= 1
                if self._tx_left == 0:
                    self._tx_buffer_done()
            return
        self._tx_used += 1
        state = self._tx_state
        if state == _TX_DATA:
            self._tx_raw += value.to_bytes(4, "little")
            self._tx_left -= 1
            if self._tx_left == 0:
                self._tx_buffer_done()
        elif state == _TX_CMD_A:
            self._tx_command_a(value)
        else:
            self._tx_command_b(value)

    def _tx_command_a(self, value: int) -> None:
        size = value & 0x7FF
        first = bool(value & CMDA_FS)
        if first and self._tx_cmd_b is not None:
            self._tx_error("command A with FS while a packet is open; the open packet is discarded")
            self._tx_finish_packet()
            self._tx_used = 1
        if not first and self._tx_cmd_b is None:
            self._tx_error(f"command A 0x{value:08X} without FS and no packet open (data before a command?)")
            self._tx_used = 0
            return
        if size == 0 or (value >> 24) & 3 == 3:
            self._tx_error(f"command A 0x{value:08X}: buffer size 0 or reserved end alignment")
            if self._tx_cmd_b is None:
                self._tx_used = 0
                return
        self._tx_cmd_a = value
        self._tx_state = _TX_CMD_B

    def _tx_command_b(self, value: int) -> None:
        a = self._tx_cmd_a
        if a & CMDA_FS:
            self._tx_cmd_b = value
            self._tx_pkt = bytearray()
        elif value != self._tx_cmd_b:
            self._tx_error(f"command B 0x{value:08X} differs from the packet's 0x{self._tx_cmd_b:08X}")
        offset = (a >> 16) & 0x1F
        size = a & 0x7FF
        align = (4, 16, 32, 4)[(a >> 24) & 3]
        self._tx_left = -(-(offset + size) // align) * align // 4
        self._tx_raw = bytearray()
        if self._tx_left == 0:
            self._tx_buffer_done()
        else:
            self._tx_state = _TX_DATA

    def _tx_buffer_done(self) -> None:
        a = self._tx_cmd_a
        offset = (a >> 16) & 0x1F
        size = a & 0x7FF
        data = memoryview(self._tx_raw)[offset:offset + size]
        self._tx_raw = bytearray()
        self._tx_state = _TX_CMD_A
        if not a & CMDA_LS:
            self._tx_pkt += data
        elif self._tx_pkt:
            self._tx_pkt += data
            self._tx_finish_packet(bytes(self._tx_pkt))
        else:  # the packet is this buffer
            self._tx_finish_packet(bytes(data))

    def _tx_finish_packet(self, pkt: bytes | None = None) -> None:
        """The open packet (``pkt``: its bytes, None: ``_tx_pkt``'s) is complete (LS) or
        abandoned: send it, queue it or its error status."""
        cmd_b = self._tx_cmd_b if self._tx_cmd_b is not None else 0
        ioc = self._tx_cmd_a & CMDA_IOC
        if pkt is None:
            pkt = bytes(self._tx_pkt)
        used = self._tx_used
        err = self._tx_pkt_err or not self._tx_cmd_a & CMDA_LS
        self._tx_cmd_b = None
        self._tx_pkt = bytearray()
        self._tx_pkt_err = False
        self._tx_used = 0
        if not err and len(pkt) != cmd_b & 0x7FF:
            self._tx_error(f"packet length {cmd_b & 0x7FF} in command B, {len(pkt)} bytes in the buffers")
            err = True
        if err:
            # Discarded; its ES status still comes out in packet order.
            self._tx_held.append((b"", cmd_b, ioc, 0, True))
            self._tx_kick()
            self._check_levels(tx_data=True)
            self._update_irq()
            return
        r = self.r
        tx_cfg = r[self._i_tx_cfg]
        txs = self._txs
        if (not self._tx_held and tx_cfg & TX_ON and self.mac_csr[MAC_CR] & TXEN
                and (len(txs) < self._txs_cap or tx_cfg & TXSAO)):
            # Nothing waits and the transmitter may send: what _tx_kick does with this packet.
            bits = self._transmit(pkt, cmd_b)
            if len(txs) >= self._txs_cap:
                r[self._i_sts] |= TXSO
            else:
                txs.append((cmd_b & 0xFFFF_0000) | bits)
            if ioc:
                r[self._i_sts] |= TX_IOC
            self._check_levels(tx_status=True, tx_data=True)
            self._update_irq()
            return
        self._tx_held.append((pkt, cmd_b, ioc, used, False))
        self._tx_held_words += used
        if not (self.r[self._i_tx_cfg] & TX_ON and self.mac_csr[MAC_CR] & TXEN):
            self.guest_error("TX packet written while TX_CFG.TX_ON or MAC_CR.TXEN is clear: held in the FIFO")
        self._tx_kick()

    def _tx_kick(self) -> None:
        """Send held packets while the transmitter may."""
        if not self._tx_held:
            return
        sent = False
        while self._tx_held:
            if not (self.r[self._i_tx_cfg] & TX_ON and self.mac_csr[MAC_CR] & TXEN):
                break
            if len(self._txs) >= self._txs_cap and not self.r[self._i_tx_cfg] & TXSAO:
                break
            pkt, cmd_b, ioc, used, err = self._tx_held.popleft()
            self._tx_held_words -= used
            bits = TXS_ES if err else self._transmit(pkt, cmd_b)
            self._tx_status_push((cmd_b & 0xFFFF_0000) | bits, ioc)
            sent = True
        if sent:
            self._check_levels(tx_data=True)
            self._update_irq()

    def _transmit(self, pkt: bytes, cmd_b: int) -> int:
        """Put one frame on the wire (or the loopback); returns the TX status error bits."""
        host_fcs = None
        if not cmd_b & CMDB_PAD_DISABLE and len(pkt) < ETH_MIN:
            pkt += bytes(ETH_MIN - len(pkt))   # padding forces the CRC (datasheet)
        elif cmd_b & CMDB_CRC_DISABLE:
            host_fcs = pkt[-4:]
            pkt = pkt[:-4]
        crc_bad = host_fcs is not None and host_fcs != fcs(pkt)
        if self._phy[0] & BMCR_LOOPBACK or self.mac_csr[MAC_CR] & LOOPBK:
            self.tx_frames += 1
            self._receive(pkt, host_fcs)
            return 0
        if not self._link:
            self.tx_dropped["link_down"] = self.tx_dropped.get("link_down", 0) + 1
            return TXS_ES | TXS_LOC | TXS_NO_CARRIER
        if crc_bad:
            self.tx_dropped["bad_fcs"] = self.tx_dropped.get("bad_fcs", 0) + 1
            return 0
        if len(pkt) < 14:
            self.tx_dropped["runt"] = self.tx_dropped.get("runt", 0) + 1
            return 0
        self.tx_frames += 1
        self._port.send(pkt)
        return 0

    def _tx_status_push(self, status: int, ioc: int) -> None:
        if len(self._txs) >= self._txs_cap:
            self.r[self._i_sts] |= TXSO
        else:
            self._txs.append(status)
        if ioc:
            self.r[self._i_sts] |= TX_IOC
        self._check_levels(tx_status=True)

    def _tx_status_pop(self) -> int:
        if not self._txs:
            self.guest_error("read of the empty TX status FIFO")
            return 0
        value = self._txs.popleft()
        if self._tx_held:
            self._tx_kick()
            self._tx_grant()
        return value

    def _tx_cfg_changed(self, old: int, value: int) -> None:
        r = self.r
        if value & TXS_DUMP:
            self._txs.clear()
        if value & TXD_DUMP:
            self._tx_held.clear()
            self._tx_held_words = 0
            self._tx_reset_assembler()
            self._check_levels(tx_data=True)
        if value & STOP_TX:
            r[self._i_tx_cfg] &= ~TX_ON
            r[self._i_sts] |= TXSTOP_INT
        self._tx_kick()
        self._update_irq()

    # -- MAC CSRs -----------------------------------------------------------------------------------
    def _mac_csr_command(self, cmd: int) -> None:
        index = cmd & 0xFF
        r = self.r
        known = index in _MAC_CSRS and (index != COE_CR or self.has_coe)
        if cmd & R_NOT_W:
            if not known:
                self.guest_error(f"read of unknown MAC CSR {index}")
                r[self._i_csr_data] = 0
            elif index == WUFF:
                r[self._i_csr_data] = self._wuff[self._wuff_w]
                self._wuff_w = (self._wuff_w + 1) & 7
            else:
                r[self._i_csr_data] = self.mac_csr[index]
            return
        if not known:
            self.guest_error(f"write of 0x{r[self._i_csr_data]:X} to unknown MAC CSR {index}")
            return
        self._mac_csr_write(index, r[self._i_csr_data])

    def _mac_csr_write(self, index: int, value: int) -> None:
        name, _reset, mask = _MAC_CSRS[index]
        old = self.mac_csr[index]
        if index == WUFF:
            self._wuff[self._wuff_w] = value
            self._wuff_w = (self._wuff_w + 1) & 7
            self.unimplemented("WUFF wake-up frame filter")
            return
        self.mac_csr[index] = value & mask
        if index <= ADDRL:  # MAC_CR, ADDRH, ADDRL
            self._rx_plain_check()
        if index == MAC_CR:
            if old & RXEN and not value & RXEN:
                self.r[self._i_sts] |= RXSTOP_INT
            if value & PADSTR:
                self.unimplemented("MAC_CR.PADSTR (pad stripping)")
            self._tx_kick()
            self._update_irq()
        elif index == MII_ACC:
            self._mii_access(value)
        elif index == FLOW and value & 7:
            self.unimplemented("FLOW (pause frames)")
        elif index == WUCSR and value:
            self.unimplemented("WUCSR wake-up")
        elif index == COE_CR and value:
            self.unimplemented("COE_CR checksum offload")
        if self.trace:
            self.log.debug("MAC CSR %s = 0x%X", name, self.mac_csr[index])

    def _mii_access(self, acc: int) -> None:
        phy = (acc >> 11) & 0x1F
        reg = (acc >> 6) & 0x1F
        if acc & 2:
            if phy == PHY_ADDR:
                self._phy_write(reg, self.mac_csr[MII_DATA] & 0xFFFF)
        else:
            self.mac_csr[MII_DATA] = self._phy_read(reg) if phy == PHY_ADDR else 0xFFFF

    # -- PHY -------------------------------------------------------------------------------------------
    def _link_ok(self) -> bool:
        return self._port.link_up and not self._phy[0] & BMCR_PDOWN

    def _phy_reset(self, update: bool = True) -> None:
        self._phy = list(_PHY_RESET)
        self._bmsr_latched_low = False
        if update:
            self._phy_link_check()
            self._phy_update()

    def _wire_link(self, up: bool) -> None:
        self._tx_sync()
        self._phy_link_check()
        self._tx_grant()  # the port completes packets only while the link is up
        self._phy_update()

    def _phy_link_check(self) -> None:
        """After a change to the carrier or BMCR."""
        self._rx_plain_check()
        link = self._link_ok()
        if link == self._link:
            return
        self._link = link
        if link:
            self._phy[29] |= PHY_INT_ENERGYON | (PHY_INT_ANDONE if self._phy[0] & BMCR_ANEN else 0)
        else:
            self._phy[29] |= PHY_INT_LINKDOWN
            self._bmsr_latched_low = True

    def _phy_update(self) -> None:
        """PHY_INT in INT_STS mirrors (interrupt source & mask)."""
        r = self.r
        if self._phy[29] & self._phy[30]:
            r[self._i_sts] |= PHY_INT
        else:
            r[self._i_sts] &= ~PHY_INT
        self._update_irq()

    def _an_done(self) -> bool:
        return self._link and bool(self._phy[0] & BMCR_ANEN)

    def _phy_read(self, reg: int) -> int:
        phy = self._phy
        if reg == 1:
            value = BMSR_BASE | (BMSR_ANDONE if self._an_done() else 0)
            if self._link and not self._bmsr_latched_low:
                value |= BMSR_LINK
            self._bmsr_latched_low = False
            return value
        if reg == 4:
            return phy[4] | 1
        if reg == 5:
            return ANLPAR_LINKED if self._an_done() else 0
        if reg == 6:
            return 1 if self._an_done() else 0
        if reg == 17:
            return phy[17] | (MCSR_ENERGYON if self._link else 0)
        if reg == 29:
            value = phy[29]
            phy[29] = 0
            self._phy_update()
            return value
        if reg == 31:
            return self._pscsr()
        if reg not in _PHY_REGS:
            self.unimplemented(f"PHY register {reg}")
            return 0
        return phy[reg]

    def _pscsr(self) -> int:
        if not self._link:
            return 0
        bmcr = self._phy[0]
        if bmcr & BMCR_ANEN:
            common = (self._phy[4] | 1) & ANLPAR_LINKED
            for bit, speed in ((8, 0b110), (7, 0b010), (6, 0b101), (5, 0b001)):
                if common >> bit & 1:
                    return (1 << 12) | (speed << 2)
            return 1 << 12
        fdx = 1 if bmcr & BMCR_FDX else 0
        return ((fdx << 2) | (0b10 if bmcr & BMCR_SPEED100 else 0b01)) << 2

    def _phy_write(self, reg: int, value: int) -> None:
        phy = self._phy
        if reg == 0:
            if value & BMCR_RESET:
                self._phy_reset()
                return
            old = phy[0]
            phy[0] = value & _PHY_REGS[0][2]
            self._phy_link_check()
            restart = value & BMCR_ANRESTART or (phy[0] & ~old & BMCR_ANEN)
            if restart and self._an_done():
                phy[29] |= PHY_INT_ANDONE
            if value & (1 << 10):
                self.unimplemented("PHY BMCR isolate")
            self._phy_update()
        elif reg in _PHY_REGS:
            mask = _PHY_REGS[reg][2]
            if mask:
                phy[reg] = value & mask
                if reg == 30:
                    self._phy_update()
            else:
                self.guest_error(f"write of 0x{value:04X} to read-only PHY register {_PHY_REGS[reg][0]}")
        else:
            self.unimplemented(f"PHY register {reg}")

    # -- EEPROM ----------------------------------------------------------------------------------------
    def _e2p_reload(self) -> None:
        """Load ADDRH/ADDRL from the EEPROM when it carries the 0xA5 signature."""
        ee = self.eeprom
        if ee[0] == EEPROM_SIGNATURE:
            self.mac_csr[ADDRL] = struct.unpack_from("<I", ee, 1)[0]
            self.mac_csr[ADDRH] = struct.unpack_from("<H", ee, 5)[0]
            self.r[self._i_e2p_cmd] |= MAC_ADDR_LOADED
        else:
            self.r[self._i_e2p_cmd] &= ~MAC_ADDR_LOADED
        self._rx_plain_check()

    def _e2p_command(self, value: int) -> None:
        cmd = (value >> 28) & 7
        addr = value & (EEPROM_SIZE - 1)
        data = self.r[self._i_e2p_data] & 0xFF
        ee = self.eeprom
        if cmd == 0:
            self.r[self._i_e2p_data] = ee[addr]
        elif cmd == 1:
            self._e2p_write_enabled = False
        elif cmd == 2:
            self._e2p_write_enabled = True
        elif cmd == 7:
            self._e2p_reload()
        elif not self._e2p_write_enabled:
            self.guest_error(f"EEPROM command {cmd} while writes are disabled (EWEN first)")
        elif cmd == 3:
            ee[addr] = data
        elif cmd == 4:
            ee[:] = bytes((data,)) * EEPROM_SIZE
        elif cmd == 5:
            ee[addr] = 0xFF
        elif cmd == 6:
            ee[:] = b"\xff" * EEPROM_SIZE

    # -- GPT ---------------------------------------------------------------------------------------------
    def _gpt_div(self) -> int:
        return max(1, self.clock.hz // GPT_HZ)

    def _gpt_running(self) -> bool:
        return bool(self.r[self._i_gpt_cfg] & TIMER_EN)

    def _gpt_count(self, now: int) -> int:
        if not self._gpt_running():
            return self._gpt_c0
        return (self._gpt_c0 - (now - self._gpt_t0) // self._gpt_div()) & 0xFFFF

    def _gpt_cfg_changed(self, old: int) -> None:
        self._gpt_catch_up()
        now = self.clock.now
        new = self.r[self._i_gpt_cfg]
        if new & TIMER_EN:
            self._gpt_c0 = new & 0xFFFF
            self._gpt_t0 = now
        elif old & TIMER_EN and not new & TIMER_EN:
            self._gpt_c0 = (self._gpt_c0 - (now - self._gpt_t0) // self._gpt_div()) & 0xFFFF
        self._gpt_arm(now + 1)

    def _gpt_cancel(self) -> None:
        if self._gpt_timer is not None:
            self._gpt_timer.cancel()
        self._gpt_timer = None
        self._gpt_deadline = None
        self.hold_fast_reads(False)

    def _gpt_arm(self, not_before: int) -> None:
        """Schedule the next 0 -> 0xFFFF wrap at or after ``not_before`` (while GPT_INT is clear)."""
        self._gpt_cancel()
        if not self._gpt_running() or self.r[self._i_sts] & GPT_INT:
            return
        div = self._gpt_div()
        first = self._gpt_c0 + 1
        n_min = max(0, -(-(not_before - self._gpt_t0) // div))
        n = first if n_min <= first else first + -(-(n_min - first) // 0x10000) * 0x10000
        self._gpt_schedule(self._gpt_t0 + n * div)

    def _gpt_schedule(self, when: int) -> None:
        self._gpt_deadline = when
        self.hold_fast_reads(True)  # an INT_STS read may have to catch the wrap up
        self._gpt_timer = self.clock.call_at(when, self._gpt_fire, f"{self.name}.gpt")

    def _gpt_fire(self) -> None:
        when = self._gpt_deadline if self._gpt_deadline is not None else self.clock.now
        self._gpt_timer = None
        self._gpt_deadline = None
        self.hold_fast_reads(False)
        self._gpt_expire(when)

    def _gpt_expire(self, when: int) -> None:
        self._gpt_cancel()
        self._raise(GPT_INT)

    def _gpt_catch_up(self) -> None:
        """Apply a wrap that is due but not fired yet (clock advanced without fire_due)."""
        if self._gpt_deadline is not None and self._gpt_deadline <= self.clock.now:
            self._gpt_expire(self._gpt_deadline)

    @property
    def gpt_deadline(self) -> int | None:
        """The cycle of the scheduled GPT wrap event, if one is armed."""
        return self._gpt_deadline

    # -- snapshots ---------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        self._tx_sync()
        state = super().get_state()
        state.update(
            rxd=self._rxd.to_list(), rxs=list(self._rxs), rx_pushed=self._rxd.rx_pushed,
            rx_ends=self._rxd.rx_ends, txs=list(self._txs),
            tx_held=[(pkt.hex(), b, i, u, e) for pkt, b, i, u, e in self._tx_held],
            tx=dict(state=self._tx_state, words=memoryview(bytes(self._tx_raw)).cast("I").tolist(),
                    left=self._tx_left, cmd_a=self._tx_cmd_a, cmd_b=self._tx_cmd_b,
                    pkt=bytes(self._tx_pkt).hex(), err=self._tx_pkt_err, used=self._tx_used),
            rx_drop=self._rx_drop, mac_csr=list(self.mac_csr), wuff=list(self._wuff), wuff_w=self._wuff_w,
            eeprom=bytes(self.eeprom).hex(), e2p_we=self._e2p_write_enabled, phy=list(self._phy),
            bmsr_ll=self._bmsr_latched_low, link=self._link, gpt_c0=self._gpt_c0, gpt_t0=self._gpt_t0,
            gpt_deadline=self._gpt_deadline, free_run_base=self._free_run_base,
            stats=dict(tx_frames=self.tx_frames, rx_frames=self.rx_frames,
                       tx_dropped=dict(self.tx_dropped), rx_dropped=dict(self.rx_dropped)),
        )
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.r[self._i_id_rev] = self.id_rev  # a snapshot may predate ID_REV's stored value
        self._rxd.load(state["rxd"])
        self._rxs.load(state["rxs"])
        self._rxd.load_rx_ends(state["rx_pushed"], state["rx_ends"])
        self._txs.load(state["txs"])
        self._tx_held = deque((bytes.fromhex(p), b, i, u, e) for p, b, i, u, e in state["tx_held"])
        self._tx_held_words = sum(h[3] for h in self._tx_held)
        tx = state["tx"]
        self._tx_state = tx["state"]
        self._tx_raw = bytearray(struct.pack(f"<{len(tx['words'])}I", *tx["words"]))
        self._tx_left = tx["left"]
        self._tx_cmd_a = tx["cmd_a"]
        self._tx_cmd_b = tx["cmd_b"]
        self._tx_pkt = bytearray.fromhex(tx["pkt"])
        self._tx_pkt_err = tx["err"]
        self._tx_used = tx["used"]
        self._rx_drop = state["rx_drop"]
        self.mac_csr = list(state["mac_csr"])
        self._wuff = list(state["wuff"])
        self._wuff_w = state["wuff_w"]
        self.eeprom = bytearray.fromhex(state["eeprom"])
        self._e2p_write_enabled = state["e2p_we"]
        self._phy = list(state["phy"])
        self._bmsr_latched_low = state["bmsr_ll"]
        self._link = state["link"]
        self._gpt_c0 = state["gpt_c0"]
        self._gpt_t0 = state["gpt_t0"]
        self._free_run_base = state["free_run_base"]
        stats = state["stats"]
        self.tx_frames = stats["tx_frames"]
        self.rx_frames = stats["rx_frames"]
        self.tx_dropped = dict(stats["tx_dropped"])
        self.rx_dropped = dict(stats["rx_dropped"])
        self.fifo_port.take()  # words the fast path took before the restore belong to the old state
        self._set_fifo_sizes()
        self._gpt_cancel()
        if state["gpt_deadline"] is not None:
            self._gpt_schedule(state["gpt_deadline"])
        self._rx_plain_check()
        self._update_irq()


# INT_STS's bits are W1C or RO, none stored or W1S: what Lan9118.write's INT_STS acknowledge relies on.
_INT_STS_W1C = Lan9118.REGS["INT_STS"].w1c_mask
