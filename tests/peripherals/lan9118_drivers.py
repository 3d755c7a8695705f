"""Register-level replays of the four LAN9118/LAN9220 drivers the MPS2-AN385 model must satisfy.

Each class performs the same register accesses, in the same order, as the driver it is
named after: FreeRTOS-Plus-TCP ``MPS2_AN385``
(``smsc9220_eth_drv.c`` + ``NetworkInterface.c``), Zephyr ``eth_smsc911x.c``, Mbed OS
``smsc9220_eth_drv.c`` and Linux ``smsc911x.c``. Delays become virtual time; polls that
would time out raise ``DriverError`` (the driver's failure path).
"""

from __future__ import annotations

import struct

from periph_helpers import run

from emulator.clock import Clock
from peripherals.lan9118 import Lan9118

RX_DATA, TX_DATA, RX_STATUS, RX_STATUS_PEEK, TX_STATUS = 0x00, 0x20, 0x40, 0x44, 0x48
ID_REV, IRQ_CFG, INT_STS, INT_EN, BYTE_TEST, FIFO_INT = 0x50, 0x54, 0x58, 0x5C, 0x64, 0x68
RX_CFG, TX_CFG, HW_CFG, RX_DP_CTRL, RX_FIFO_INF, TX_FIFO_INF = 0x6C, 0x70, 0x74, 0x78, 0x7C, 0x80
PMT_CTRL, GPIO_CFG, GPT_CFG, GPT_CNT, WORD_SWAP, FREE_RUN, RX_DROP = 0x84, 0x88, 0x8C, 0x90, 0x98, 0x9C, 0xA0
MAC_CSR_CMD, MAC_CSR_DATA, AFC_CFG, E2P_CMD, E2P_DATA = 0xA4, 0xA8, 0xAC, 0xB0, 0xB4

MAC_CR, ADDRH, ADDRL, HASHH, HASHL, MII_ACC, MII_DATA, FLOW, VLAN1 = 1, 2, 3, 4, 5, 6, 7, 8, 9
BMCR, BMSR, PHY_ID1, PHY_ID2, ANAR = 0, 1, 2, 3, 4

RSFL, SW_INT, TDFA, RXSTOP = 1 << 3, 1 << 31, 1 << 9, 1 << 24
TXEN, RXEN, HBDIS, FDPX, PRMS = 1 << 3, 1 << 2, 1 << 28, 1 << 20, 1 << 18
MS = 25_000  # cycles per millisecond at 25 MHz


class DriverError(Exception):
    """The replayed driver would have returned an error here."""


def words_of(data: bytes) -> list[int]:
    data = data + bytes(-len(data) % 4)
    return list(struct.unpack(f"<{len(data) // 4}I", data))


class Driver:
    """Register access shared by the replays: 32-bit reads/writes and virtual sleeps."""

    def __init__(self, dev: Lan9118, clock: Clock) -> None:
        self.dev = dev
        self.clock = clock
        self.received: list[bytes] = []

    def rd(self, off: int) -> int:
        return self.dev.read(off, 4)

    def wr(self, off: int, value: int) -> None:
        self.dev.write(off, 4, value & 0xFFFF_FFFF)

    def sleep_ms(self, ms: int) -> None:
        run(self.clock, ms * MS)

    def poll_clear(self, off: int, mask: int, tries: int, what: str) -> None:
        for _ in range(tries):
            if not self.rd(off) & mask:
                return
            self.sleep_ms(1)
        raise DriverError(f"{what} stuck")


# -- FreeRTOS-Plus-TCP MPS2_AN385 --------------------------------------------------------------------
class FreeRtos(Driver):
    CHIP_ID = 0x0118
    INT_EN_BITS = sum(1 << b for b in (0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                       23, 24, 25))

    def mac_read(self, idx: int) -> int:
        if self.rd(MAC_CSR_CMD) & (1 << 31):
            raise DriverError("MAC CSR busy")
        self.wr(MAC_CSR_CMD, (1 << 31) | (1 << 30) | idx)
        for _ in range(50):
            self.rd(BYTE_TEST)
            if not self.rd(MAC_CSR_CMD) & (1 << 31):
                return self.rd(MAC_CSR_DATA)
            self.sleep_ms(1)
        raise DriverError("MAC CSR timeout")

    def mac_write(self, idx: int, value: int) -> None:
        if self.rd(MAC_CSR_CMD) & (1 << 31):
            raise DriverError("MAC CSR busy")
        self.wr(MAC_CSR_DATA, value)
        self.wr(MAC_CSR_CMD, (1 << 31) | idx)
        for _ in range(50):
            self.rd(BYTE_TEST)
            if not self.rd(MAC_CSR_CMD) & (1 << 31):
                return
            self.sleep_ms(1)
        raise DriverError("MAC CSR timeout")

    def phy_read(self, reg: int) -> int:
        if self.mac_read(MII_ACC) & 1:
            raise DriverError("MII busy")
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6) | 1)
        for _ in range(50):
            if not self.mac_read(MII_ACC) & 1:
                return self.mac_read(MII_DATA)
            self.sleep_ms(1)
        raise DriverError("MII timeout")

    def phy_write(self, reg: int, value: int) -> None:
        if self.mac_read(MII_ACC) & 1:
            raise DriverError("MII busy")
        self.mac_write(MII_DATA, value)
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6) | 2 | 1)
        for _ in range(50):
            if not self.mac_read(MII_ACC) & 1:
                return
            self.sleep_ms(1)
        raise DriverError("MII timeout")

    def init_irqs(self) -> None:
        self.wr(INT_EN, 0)
        self.wr(INT_STS, 0xFFFF_FFFF)
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | (0x22 << 24))
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | 1)
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | (1 << 4))
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | (1 << 8))

    def init(self) -> None:
        if (self.rd(ID_REV) >> 16) != self.CHIP_ID:
            raise DriverError("chip id")
        self.wr(HW_CFG, self.rd(HW_CFG) | 1)
        self.poll_clear(HW_CFG, 1 << 1, 10, "SRST_TO")
        self.wr(HW_CFG, 5 << 16)
        self.wr(AFC_CFG, self.rd(AFC_CFG) | (4 << 4) | (55 << 8) | (110 << 16))
        self.poll_clear(E2P_CMD, 1 << 31, 50, "E2P busy")
        self.wr(GPIO_CFG, 0)
        for bit in (16, 17, 18, 28, 29, 30):
            self.wr(GPIO_CFG, self.rd(GPIO_CFG) | (1 << bit))
        self.init_irqs()
        id1, id2 = self.phy_read(PHY_ID1), self.phy_read(PHY_ID2)
        if (id1 == 0xFFFF and id2 == 0xFFFF) or (id1 == 0 and id2 == 0):
            raise DriverError("PHY id")
        self.phy_write(BMCR, self.phy_read(BMCR) | (1 << 15))
        self.sleep_ms(100)
        if self.phy_read(BMCR) & (1 << 15):
            raise DriverError("PHY reset")
        anar = self.phy_read(ANAR)
        for bit in (5, 6, 7, 8, 10, 11):
            anar |= 1 << bit
        self.phy_write(ANAR, anar)
        self.phy_write(BMCR, self.phy_read(BMCR) | (1 << 12) | (1 << 9))
        self.wr(HW_CFG, self.rd(HW_CFG) | (1 << 20))
        self.mac_write(MAC_CR, self.mac_read(MAC_CR) | TXEN)
        self.wr(TX_CFG, self.rd(TX_CFG) | 2)
        self.mac_write(MAC_CR, self.mac_read(MAC_CR) | RXEN)
        self.sleep_ms(2000)
        # xMPS2_NetworkInterfaceInitialise (NVIC ICER/ISER around it).
        self.wr(INT_EN, 0)
        self.wr(INT_STS, 0xFFFF_FFFF)
        fifo = self.rd(FIFO_INT)
        fifo = (fifo & ~0xFF) | 0
        fifo = (fifo & ~(0xFF << 16)) | 0
        fifo = (fifo & ~(0xFF << 24)) | (0xFF << 24)
        self.wr(FIFO_INT, fifo)
        self.set_mac(bytes.fromhex("525400123400"))
        self.wr(INT_EN, self.INT_EN_BITS)

    def set_mac(self, mac: bytes) -> None:
        # prvSetMACAddress: writes ADDRL and only writes ADDRH if that failed (it never does).
        self.mac_write(ADDRL, struct.unpack("<I", mac[:4])[0])

    def link_up(self) -> bool:
        return bool(self.phy_read(BMSR) & (1 << 2))

    def send(self, frame: bytes) -> int:
        n = len(frame)
        if (self.rd(TX_FIFO_INF) & 0xFFFF) < n:
            raise DriverError("TX FIFO full")
        offset = 4 - n % 4
        self.wr(TX_DATA, (1 << 13) | (1 << 12) | n | (offset << 16))
        self.wr(TX_DATA, (n << 16) | n)
        for w in words_of(bytes(offset) + frame):
            self.wr(TX_DATA, w)
        return self.rd(TX_STATUS)

    def isr(self) -> bool:
        notified = False
        sts = self.rd(INT_STS)
        if sts & RSFL:
            notified = True
            self.wr(INT_STS, RSFL)
            self.wr(INT_EN, self.rd(INT_EN) & ~RSFL)
        self.wr(INT_STS, 0xFFFF_FFFF)
        return notified

    def rx_task(self) -> None:
        while True:
            if not self.rd(RX_FIFO_INF) & 0xFFFF:
                break
            self.rd(RX_STATUS_PEEK)
            status = self.rd(RX_STATUS)
            size = (status >> 16) & 0x3FFF
            data = bytearray()
            for _ in range(size // 4):
                data += struct.pack("<I", self.rd(RX_DATA))
            last = self.rd(RX_DATA)   # always one more word, even when size % 4 == 0
            data += struct.pack("<I", last)[:size % 4]
            self.received.append(bytes(data))   # handed to the stack including the CRC
        self.wr(INT_EN, self.rd(INT_EN) | RSFL)


# -- Mbed OS smsc9220 (same code base as FreeRTOS) -----------------------------------------------------
class Mbed(FreeRtos):
    CHIP_ID = 0x9220

    def init_irqs(self) -> None:
        self.wr(INT_EN, 0)
        self.wr(INT_STS, 0xFFFF_FFFF)
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | (0x22 << 24))
        self.wr(IRQ_CFG, self.rd(IRQ_CFG) | (1 << 8))   # IRQ_EN only: no TYPE, no POL

    def init(self) -> None:
        super().init()
        self.wr(INT_EN, RSFL)   # the EMAC uses the RSFL interrupt only

    def set_mac(self, mac: bytes) -> None:
        self.mac_write(ADDRL, struct.unpack("<I", mac[:4])[0])
        self.mac_write(ADDRH, struct.unpack("<H", mac[4:])[0])

    def isr(self) -> bool:
        sts = self.rd(INT_STS)
        if sts & RSFL:
            self.wr(INT_STS, RSFL)
            self.wr(INT_EN, self.rd(INT_EN) & ~RSFL)
            return True
        return False

    def rx_task(self) -> None:
        # smsc9220_receive_by_chunks: length without CRC, then discard the CRC DWORD.
        while self.rd(RX_FIFO_INF) & 0xFFFF:
            status = self.rd(RX_STATUS)
            n = ((status >> 16) & 0x3FFF) - 4
            data = bytearray()
            for _ in range((n + 3) // 4):
                data += struct.pack("<I", self.rd(RX_DATA))
            self.rd(RX_DATA)
            self.received.append(bytes(data[:n]))
        self.wr(INT_EN, self.rd(INT_EN) | RSFL)


# -- Zephyr eth_smsc911x ---------------------------------------------------------------------------------
class Zephyr(Driver):
    def mac_read(self, idx: int) -> int:
        while self.rd(MAC_CSR_CMD) & (1 << 31):
            pass
        self.wr(MAC_CSR_CMD, (1 << 31) | (1 << 30) | idx)
        while self.rd(MAC_CSR_CMD) & (1 << 31):
            pass
        return self.rd(MAC_CSR_DATA)

    def mac_write(self, idx: int, value: int) -> None:
        while self.rd(MAC_CSR_CMD) & (1 << 31):
            pass
        self.wr(MAC_CSR_DATA, value)
        self.wr(MAC_CSR_CMD, (1 << 31) | idx)
        while self.rd(MAC_CSR_CMD) & (1 << 31):
            pass

    def phy_read(self, reg: int) -> int:
        while self.mac_read(MII_ACC) & 1:
            pass
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6) | 1)
        while self.mac_read(MII_ACC) & 1:
            pass
        return self.mac_read(MII_DATA)

    def phy_write(self, reg: int, value: int) -> None:
        while self.mac_read(MII_ACC) & 1:
            pass
        self.mac_write(MII_DATA, value)
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6) | 2 | 1)
        while self.mac_read(MII_ACC) & 1:
            pass

    def init(self) -> bytes:
        idrev = self.rd(ID_REV)
        hi, lo = idrev >> 16, idrev & 0xFFFF
        if hi not in (0x9220, 0x0118) or hi == lo:
            raise DriverError("chip id")
        self.wr(HW_CFG, self.rd(HW_CFG) | 1)
        self.poll_clear(HW_CFG, 1, 10, "SRST")
        self.wr(HW_CFG, 5 << 16)
        self.wr(AFC_CFG, 0x006E3740)
        self.wr(GPIO_CFG, 0x70070000)
        self.wr(INT_EN, 0)
        self.wr(INT_STS, 0xFFFF_FFFF)
        self.wr(IRQ_CFG, 0x22000111)
        id1, id2 = self.phy_read(PHY_ID1), self.phy_read(PHY_ID2)
        if id1 in (0, 0xFFFF) and id2 in (0, 0xFFFF):
            raise DriverError("PHY id")
        self.phy_write(BMCR, self.phy_read(BMCR) | (1 << 15))
        self.sleep_ms(100)
        if self.phy_read(BMCR) & (1 << 15):
            raise DriverError("PHY reset")
        self.phy_write(ANAR, self.phy_read(ANAR) | 0xDE0)
        self.phy_write(BMCR, self.phy_read(BMCR) | (1 << 12) | (1 << 9))
        self.wr(HW_CFG, (self.rd(HW_CFG) & 0xF0000) | (1 << 20))
        self.wr(FIFO_INT, 0xFF000000)
        self.mac_write(MAC_CR, self.mac_read(MAC_CR) | TXEN | HBDIS)
        self.wr(TX_CFG, 2)
        self.wr(RX_CFG, 0)
        self.mac_write(MAC_CR, self.mac_read(MAC_CR) | RXEN)
        self.wr(FIFO_INT, self.rd(FIFO_INT) & ~0xFF)
        self.sleep_ms(2000)
        # eth_initialize
        lo_word, hi_word = self.mac_read(ADDRL), self.mac_read(ADDRH)
        self.wr(INT_EN, self.rd(INT_EN) | RSFL)
        return struct.pack("<IH", lo_word, hi_word & 0xFFFF)

    def send(self, frame: bytes) -> int:
        n = len(frame)
        self.wr(TX_DATA, (1 << 13) | (1 << 12) | n)
        self.wr(TX_DATA, (n << 16) | n)
        for w in words_of(frame):
            self.wr(TX_DATA, w)
        return self.rd(TX_STATUS)

    def isr(self) -> None:
        int_status = self.rd(INT_STS)
        if int_status & RSFL:
            pending = (self.rd(RX_FIFO_INF) >> 16) & 0xFF
            if pending:
                int_status &= ~RSFL   # not acked: the level-triggered line re-enters the ISR
                self.poll_clear(RX_DP_CTRL, 1 << 31, 10, "RX_FFWD")
                status = self.rd(RX_STATUS)
                n = (status >> 16) & 0x3FFF
                data = bytearray()
                for _ in range((((n + 3) & ~3) - 4) // 4):
                    data += struct.pack("<I", self.rd(RX_DATA))
                data += struct.pack("<I", self.rd(RX_DATA))   # the FCS word
                self.received.append(bytes(data[:n - 4]))
        self.wr(INT_STS, int_status)


# -- Linux smsc911x -------------------------------------------------------------------------------------
class Linux(Driver):
    KNOWN_IDS = {0x0115, 0x0116, 0x0117, 0x0118, 0x115A, 0x116A, 0x117A, 0x118A, 0x9210, 0x9211, 0x9220,
                 0x9221, 0x9250, 0x218A}

    def __init__(self, dev: Lan9118, clock: Clock) -> None:
        super().__init__(dev, clock)
        self.isr_calls = 0
        self.sw_int_seen = False

    def mac_read(self, idx: int) -> int:
        self.wr(MAC_CSR_CMD, (1 << 31) | (1 << 30) | idx)
        self.rd(BYTE_TEST)
        self.poll_clear(MAC_CSR_CMD, 1 << 31, 40, "MAC CSR")
        return self.rd(MAC_CSR_DATA)

    def mac_write(self, idx: int, value: int) -> None:
        self.wr(MAC_CSR_DATA, value)
        self.wr(MAC_CSR_CMD, (1 << 31) | idx)
        self.rd(BYTE_TEST)
        self.poll_clear(MAC_CSR_CMD, 1 << 31, 40, "MAC CSR")

    def phy_read(self, reg: int) -> int:
        if self.mac_read(MII_ACC) & 1:
            raise DriverError("MII busy")
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6))   # no BUSY bit
        for _ in range(100):
            if not self.mac_read(MII_ACC) & 1:
                return self.mac_read(MII_DATA)
        raise DriverError("MII timeout")

    def phy_write(self, reg: int, value: int) -> None:
        if self.mac_read(MII_ACC) & 1:
            raise DriverError("MII busy")
        self.mac_write(MII_DATA, value)
        self.mac_write(MII_ACC, (1 << 11) | (reg << 6) | 2)
        for _ in range(100):
            if not self.mac_read(MII_ACC) & 1:
                return
        raise DriverError("MII timeout")

    def probe(self) -> int:
        for _ in range(100):
            if self.rd(PMT_CTRL) & 1:
                break
            self.sleep_ms(1)
        else:
            raise DriverError("not ready")
        if self.rd(BYTE_TEST) == 0x43218765:
            self.wr(WORD_SWAP, 0xFFFF_FFFF)
        if self.rd(BYTE_TEST) != 0x87654321:
            raise DriverError("BYTE_TEST")
        chip = self.rd(ID_REV) >> 16
        if chip not in self.KNOWN_IDS:
            raise DriverError("unknown chip")
        self.wr(PMT_CTRL, self.rd(PMT_CTRL) | (1 << 10))
        self.poll_clear(PMT_CTRL, 1 << 10, 100, "PHY_RST")
        if (chip >> 8) == 0x92:   # generation 4: wake the PHY before SRST
            self.phy_write(BMCR, self.phy_read(BMCR) & ~(1 << 11))
            self.phy_write(17, self.phy_read(17) & ~(1 << 13))
        self.wr(HW_CFG, 1)
        self.poll_clear(HW_CFG, 1, 10, "SRST")
        return chip

    def phy_loopback_test(self) -> None:
        self.wr(HW_CFG, (5 << 16) | (1 << 20))
        self.wr(TX_CFG, 2)
        self.wr(RX_CFG, 2 << 8)
        self.phy_write(BMCR, (1 << 14) | (1 << 8))
        self.mac_write(MAC_CR, FDPX | TXEN | RXEN)
        frame = b"\xff" * 6 + bytes.fromhex("525400123456") + bytes(range(52))
        assert len(frame) == 64
        self.xmit(frame, 0)
        for _ in range(10):
            if self.rd(TX_FIFO_INF) & 0x00FF_0000:
                break
        else:
            raise DriverError("no TX status")
        if self.rd(TX_STATUS) & (1 << 15):
            raise DriverError("TX status error")
        for _ in range(10):
            if self.rd(RX_FIFO_INF) & 0x00FF_0000:
                break
        else:
            raise DriverError("no RX status")
        status = self.rd(RX_STATUS)
        if (status >> 16) & 0x3FFF != 68:
            raise DriverError("loopback length")
        data = self.read_packet(68)
        if data[:64] != frame:
            raise DriverError("loopback data")
        self.phy_write(BMCR, (1 << 13) | (1 << 12))
        self.mac_write(MAC_CR, 0)

    def isr(self) -> None:
        self.isr_calls += 1
        intsts = self.rd(INT_STS)
        inten = self.rd(INT_EN)
        if intsts & inten & SW_INT:
            self.wr(INT_EN, inten & ~SW_INT)
            self.wr(INT_STS, SW_INT)
            self.sw_int_seen = True
        if intsts & inten & RSFL:
            self.wr(INT_EN, self.rd(INT_EN) & ~RSFL)
            self.poll()

    def open(self, mac: bytes, line: object) -> None:
        self.wr(HW_CFG, 0x00050000)
        self.wr(AFC_CFG, 0x006E3740)
        self.mac_write(VLAN1, 0x8100)
        self.poll_clear(E2P_CMD, 1 << 31, 50, "E2P")
        self.wr(GPIO_CFG, 0x70070000)
        self.mac_write(ADDRH, struct.unpack("<H", mac[4:])[0])
        self.mac_write(ADDRL, struct.unpack("<I", mac[:4])[0])
        self.wr(INT_EN, 0)
        self.wr(INT_STS, 0xFFFF_FFFF)
        self.wr(IRQ_CFG, (10 << 24) | (1 << 8) | (1 << 4) | 1)
        # IRQ self-test: enable SW_INT and wait for the ISR.
        self.wr(INT_EN, self.rd(INT_EN) | SW_INT)
        for _ in range(1000):
            if line.level:   # the NVIC would take the interrupt now
                self.isr()
            if self.sw_int_seen:
                break
            self.sleep_ms(1)
        else:
            raise DriverError("IRQ self-test")
        self.wr(HW_CFG, self.rd(HW_CFG) | (1 << 20))
        fifo = self.rd(FIFO_INT)
        fifo = (fifo | (0xFF << 24)) & ~0xFF
        self.wr(FIFO_INT, fifo)
        self.wr(RX_CFG, 2 << 8)
        self.wr(INT_EN, self.rd(INT_EN) | TDFA | RSFL | RXSTOP)
        self.mac_write(MAC_CR, self.mac_read(MAC_CR) | TXEN | RXEN | HBDIS)
        self.wr(TX_CFG, 2)

    def xmit(self, frame: bytes, misalign: int) -> None:
        n = len(frame)
        self.wr(TX_DATA, (misalign << 16) | (1 << 13) | (1 << 12) | n)
        self.wr(TX_DATA, (n << 16) | n)
        for w in words_of(bytes(misalign) + frame):
            self.wr(TX_DATA, w)
        if (self.rd(TX_FIFO_INF) >> 16) & 0xFF >= 30:
            for _ in range(30):
                self.rd(TX_STATUS)

    def read_packet(self, n: int) -> bytes:
        words = (n + 2 + 3) >> 2
        data = b"".join(struct.pack("<I", self.rd(RX_DATA)) for _ in range(words))
        return data[2:2 + n]

    def poll(self) -> None:
        while (self.rd(RX_FIFO_INF) >> 16) & 0xFF:
            status = self.rd(RX_STATUS)
            n = (status >> 16) & 0x3FFF
            if status & (1 << 15):
                self.wr(RX_DP_CTRL, 1 << 31)
                self.poll_clear(RX_DP_CTRL, 1 << 31, 10, "RX_FFWD")
                continue
            self.received.append(self.read_packet(n)[:n - 4])
        self.wr(INT_STS, RSFL)
        self.wr(INT_EN, self.rd(INT_EN) | RSFL)
