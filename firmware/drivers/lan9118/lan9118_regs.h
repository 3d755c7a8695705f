/*
 * SMSC LAN9118 / LAN9220 register map (32-bit bus mode) for vboard firmware.
 *
 * Sources: SMSC LAN9118 and LAN9220 datasheets (system CSRs, MAC CSRs, PHY
 * registers, TX command A/B, RX/TX status words), Linux
 * drivers/net/ethernet/smsc/smsc911x.h for the mnemonics, QEMU
 * hw/net/lan9118.c for what the reference machine models (its quirks are
 * listed in peripherals/lan9118.py).
 *
 * Mnemonics are the datasheet's (INT_STS, HW_CFG, MAC_CR ...) so they grep
 * against the Python device model in peripherals/. Only the fields this
 * driver uses, plus their neighbours where that documents a register, are
 * named; the struct covers the whole 0x00-0xB4 CSR window.
 */
#ifndef LAN9118_REGS_H
#define LAN9118_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "mps2_an385.h" /* __IO/__I/__O, BIT() */

/* ------------------------------------------------- system CSRs (direct) */
#define LAN9118_FIFO_PORT_ALIASES 8U /* the data FIFO ports decode 8 words each */

typedef struct {
    __I  uint32_t RX_DATA_FIFO[LAN9118_FIFO_PORT_ALIASES]; /* 0x00-0x1C read pops one RX data word */
    __O  uint32_t TX_DATA_FIFO[LAN9118_FIFO_PORT_ALIASES]; /* 0x20-0x3C write pushes a TX cmd/data word */
    __I  uint32_t RX_STATUS_FIFO;      /* 0x40 pop */
    __I  uint32_t RX_STATUS_FIFO_PEEK; /* 0x44 */
    __I  uint32_t TX_STATUS_FIFO;      /* 0x48 pop */
    __I  uint32_t TX_STATUS_FIFO_PEEK; /* 0x4C */
    __I  uint32_t ID_REV;              /* 0x50 */
    __IO uint32_t IRQ_CFG;             /* 0x54 (INT_CFG in the LAN9220 book) */
    __IO uint32_t INT_STS;             /* 0x58 W1C */
    __IO uint32_t INT_EN;              /* 0x5C */
    uint32_t RESERVED_60;              /* 0x60 */
    __I  uint32_t BYTE_TEST;           /* 0x64 */
    __IO uint32_t FIFO_INT;            /* 0x68 */
    __IO uint32_t RX_CFG;              /* 0x6C */
    __IO uint32_t TX_CFG;              /* 0x70 */
    __IO uint32_t HW_CFG;              /* 0x74 */
    __IO uint32_t RX_DP_CTRL;          /* 0x78 */
    __I  uint32_t RX_FIFO_INF;         /* 0x7C */
    __I  uint32_t TX_FIFO_INF;         /* 0x80 */
    __IO uint32_t PMT_CTRL;            /* 0x84 */
    __IO uint32_t GPIO_CFG;            /* 0x88 */
    __IO uint32_t GPT_CFG;             /* 0x8C */
    __I  uint32_t GPT_CNT;             /* 0x90 */
    uint32_t RESERVED_94;              /* 0x94 */
    __IO uint32_t WORD_SWAP;           /* 0x98 */
    __I  uint32_t FREE_RUN;            /* 0x9C */
    __I  uint32_t RX_DROP;             /* 0xA0 */
    __IO uint32_t MAC_CSR_CMD;         /* 0xA4 */
    __IO uint32_t MAC_CSR_DATA;        /* 0xA8 */
    __IO uint32_t AFC_CFG;             /* 0xAC */
    __IO uint32_t E2P_CMD;             /* 0xB0 */
    __IO uint32_t E2P_DATA;            /* 0xB4 */
} LAN9118_TypeDef;

_Static_assert(offsetof(LAN9118_TypeDef, RX_STATUS_FIFO) == 0x40, "RX_STATUS_FIFO");
_Static_assert(offsetof(LAN9118_TypeDef, ID_REV) == 0x50, "ID_REV");
_Static_assert(offsetof(LAN9118_TypeDef, BYTE_TEST) == 0x64, "BYTE_TEST");
_Static_assert(offsetof(LAN9118_TypeDef, RX_FIFO_INF) == 0x7C, "RX_FIFO_INF");
_Static_assert(offsetof(LAN9118_TypeDef, PMT_CTRL) == 0x84, "PMT_CTRL");
_Static_assert(offsetof(LAN9118_TypeDef, MAC_CSR_CMD) == 0xA4, "MAC_CSR_CMD");
_Static_assert(offsetof(LAN9118_TypeDef, E2P_DATA) == 0xB4, "E2P_DATA");

/* ID_REV */
#define LAN9118_ID_REV_CHIP_Pos 16U
#define LAN9118_ID_REV_CHIP_Msk (0xFFFFUL << LAN9118_ID_REV_CHIP_Pos)
#define LAN9118_ID_REV_REV_Msk  0xFFFFUL
#define LAN9118_CHIP_ID_LAN9118 0x0118U /* QEMU reads 0x01180001 */
#define LAN9118_CHIP_ID_LAN9220 0x9220U /* the part fitted on MPS2 boards */

/* BYTE_TEST */
#define LAN9118_BYTE_TEST_VALUE 0x87654321UL

/* IRQ_CFG */
#define LAN9118_IRQ_CFG_INT_DEAS_Pos 24U
#define LAN9118_IRQ_CFG_INT_DEAS_Msk (0xFFUL << LAN9118_IRQ_CFG_INT_DEAS_Pos) /* 10 us units */
#define LAN9118_IRQ_CFG_INT_DEAS_CLR BIT(14)
#define LAN9118_IRQ_CFG_INT_DEAS_STS BIT(13)
#define LAN9118_IRQ_CFG_IRQ_INT      BIT(12) /* RO: an enabled interrupt is pending */
#define LAN9118_IRQ_CFG_IRQ_EN       BIT(8)
#define LAN9118_IRQ_CFG_IRQ_POL      BIT(4) /* 1 = active high */
#define LAN9118_IRQ_CFG_IRQ_TYPE     BIT(0) /* 1 = push-pull */

/* INT_STS / INT_EN (same layout) */
#define LAN9118_INT_SW_INT   BIT(31)
#define LAN9118_INT_TXSTOP   BIT(25)
#define LAN9118_INT_RXSTOP   BIT(24)
#define LAN9118_INT_RXDFH    BIT(23)
#define LAN9118_INT_TX_IOC   BIT(21)
#define LAN9118_INT_RXD      BIT(20)
#define LAN9118_INT_GPT      BIT(19)
#define LAN9118_INT_PHY      BIT(18)
#define LAN9118_INT_PME      BIT(17)
#define LAN9118_INT_TXSO     BIT(16)
#define LAN9118_INT_RWT      BIT(15)
#define LAN9118_INT_RXE      BIT(14)
#define LAN9118_INT_TXE      BIT(13)
#define LAN9118_INT_TDFU     BIT(11)
#define LAN9118_INT_TDFO     BIT(10)
#define LAN9118_INT_TDFA     BIT(9)
#define LAN9118_INT_TSFF     BIT(8)
#define LAN9118_INT_TSFL     BIT(7)
#define LAN9118_INT_RXDF     BIT(6)
#define LAN9118_INT_RDFL     BIT(5)
#define LAN9118_INT_RSFF     BIT(4)
#define LAN9118_INT_RSFL     BIT(3) /* RX status count > FIFO_INT.RX_STS_LEVEL */
#define LAN9118_INT_ALL      0xFFFFFFFFUL

/* FIFO_INT */
#define LAN9118_FIFO_INT_TX_DATA_AVAIL_Pos 24U
#define LAN9118_FIFO_INT_TX_DATA_AVAIL_Msk (0xFFUL << LAN9118_FIFO_INT_TX_DATA_AVAIL_Pos)
#define LAN9118_FIFO_INT_TX_STS_LEVEL_Pos  16U
#define LAN9118_FIFO_INT_TX_STS_LEVEL_Msk  (0xFFUL << LAN9118_FIFO_INT_TX_STS_LEVEL_Pos)
#define LAN9118_FIFO_INT_RX_STS_LEVEL_Pos  0U
#define LAN9118_FIFO_INT_RX_STS_LEVEL_Msk  (0xFFUL << LAN9118_FIFO_INT_RX_STS_LEVEL_Pos)

/* RX_CFG */
#define LAN9118_RX_CFG_RX_END_ALGN_Pos 30U /* 0 = 4-byte end alignment */
#define LAN9118_RX_CFG_RX_DUMP         BIT(15)
#define LAN9118_RX_CFG_RXDOFF_Pos      8U
#define LAN9118_RX_CFG_RXDOFF_Msk      (0x1FUL << LAN9118_RX_CFG_RXDOFF_Pos)

/* TX_CFG */
#define LAN9118_TX_CFG_TXS_DUMP BIT(15)
#define LAN9118_TX_CFG_TXD_DUMP BIT(14)
#define LAN9118_TX_CFG_TXSAO    BIT(2)
#define LAN9118_TX_CFG_TX_ON    BIT(1)
#define LAN9118_TX_CFG_STOP_TX  BIT(0)

/* HW_CFG */
#define LAN9118_HW_CFG_MBO           BIT(20) /* "must be one" (LAN9220); SF on LAN9118 */
#define LAN9118_HW_CFG_TX_FIF_SZ_Pos 16U
#define LAN9118_HW_CFG_TX_FIF_SZ_Msk (0xFUL << LAN9118_HW_CFG_TX_FIF_SZ_Pos) /* KiB, 2..14 */
#define LAN9118_HW_CFG_32BIT         BIT(2) /* RO on LAN9118: bus is 32 bits wide */
#define LAN9118_HW_CFG_SRST_TO       BIT(1) /* soft reset timed out */
#define LAN9118_HW_CFG_SRST          BIT(0) /* self-clearing */
#define LAN9118_TX_FIF_SZ_MIN        2U
#define LAN9118_TX_FIF_SZ_MAX        14U

/* RX_DP_CTRL */
#define LAN9118_RX_DP_CTRL_RX_FFWD BIT(31) /* self-clearing: skip the rest of the current frame */
#define LAN9118_RX_FFWD_MIN_WORDS  4U      /* datasheet: use FFWD only for >= 4 DWORDs left */

/* RX_FIFO_INF / TX_FIFO_INF */
#define LAN9118_RX_FIFO_INF_RXSUSED_Pos 16U
#define LAN9118_RX_FIFO_INF_RXSUSED_Msk (0xFFUL << LAN9118_RX_FIFO_INF_RXSUSED_Pos)
#define LAN9118_RX_FIFO_INF_RXDUSED_Msk 0xFFFFUL
#define LAN9118_TX_FIFO_INF_TSUSED_Pos  16U
#define LAN9118_TX_FIFO_INF_TSUSED_Msk  (0xFFUL << LAN9118_TX_FIFO_INF_TSUSED_Pos)
#define LAN9118_TX_FIFO_INF_TDFREE_Msk  0xFFFFUL

/* PMT_CTRL */
#define LAN9118_PMT_CTRL_PHY_RST BIT(10)
#define LAN9118_PMT_CTRL_READY   BIT(0)

/* MAC_CSR_CMD */
#define LAN9118_MAC_CSR_CMD_BUSY     BIT(31) /* write 1 to start, reads 1 until done */
#define LAN9118_MAC_CSR_CMD_R_NOT_W  BIT(30)
#define LAN9118_MAC_CSR_CMD_ADDR_Msk 0xFFUL

/* E2P_CMD */
#define LAN9118_E2P_CMD_BUSY            BIT(31)
#define LAN9118_E2P_CMD_TIMEOUT         BIT(9)
#define LAN9118_E2P_CMD_MAC_ADDR_LOADED BIT(8)

/* ---------------------------------------- MAC CSRs (via MAC_CSR_CMD/DATA) */
typedef enum {
    LAN9118_MAC_CR = 1,
    LAN9118_MAC_ADDRH = 2,
    LAN9118_MAC_ADDRL = 3,
    LAN9118_MAC_HASHH = 4,
    LAN9118_MAC_HASHL = 5,
    LAN9118_MAC_MII_ACC = 6,
    LAN9118_MAC_MII_DATA = 7,
    LAN9118_MAC_FLOW = 8,
    LAN9118_MAC_VLAN1 = 9,
    LAN9118_MAC_VLAN2 = 10,
    LAN9118_MAC_WUFF = 11,
    LAN9118_MAC_WUCSR = 12,
} lan9118_mac_csr_t;

/* MAC_CR */
#define LAN9118_MAC_CR_RXALL   BIT(31)
#define LAN9118_MAC_CR_HBDIS   BIT(28)
#define LAN9118_MAC_CR_RCVOWN  BIT(23)
#define LAN9118_MAC_CR_LOOPBK  BIT(21)
#define LAN9118_MAC_CR_FDPX    BIT(20)
#define LAN9118_MAC_CR_MCPAS   BIT(19)
#define LAN9118_MAC_CR_PRMS    BIT(18)
#define LAN9118_MAC_CR_INVFILT BIT(17)
#define LAN9118_MAC_CR_PASSBAD BIT(16)
#define LAN9118_MAC_CR_HO      BIT(15)
#define LAN9118_MAC_CR_HPFILT  BIT(13)
#define LAN9118_MAC_CR_BCAST   BIT(11) /* 1 = DISABLE broadcast reception */
#define LAN9118_MAC_CR_PADSTR  BIT(8)
#define LAN9118_MAC_CR_TXEN    BIT(3)
#define LAN9118_MAC_CR_RXEN    BIT(2)

/* ADDRH [15:0] = MAC bytes 4,5; ADDRL [31:0] = MAC bytes 0..3 (byte 0 in [7:0]) */
#define LAN9118_MAC_ADDRH_Msk 0xFFFFUL

/* MII_ACC */
#define LAN9118_MII_ACC_PHY_ADDR_Pos 11U
#define LAN9118_MII_ACC_PHY_ADDR_Msk (0x1FUL << LAN9118_MII_ACC_PHY_ADDR_Pos)
#define LAN9118_MII_ACC_MIIRINDA_Pos 6U
#define LAN9118_MII_ACC_MIIRINDA_Msk (0x1FUL << LAN9118_MII_ACC_MIIRINDA_Pos)
#define LAN9118_MII_ACC_MII_WRITE    BIT(1)
#define LAN9118_MII_ACC_MII_BUSY     BIT(0)
#define LAN9118_MII_DATA_Msk         0xFFFFUL

/* --------------------------------------------- internal PHY (MII address 1) */
#define LAN9118_PHY_ADDR 1U

typedef enum {
    LAN9118_PHY_BMCR = 0,
    LAN9118_PHY_BMSR = 1,
    LAN9118_PHY_ID1 = 2,
    LAN9118_PHY_ID2 = 3,
    LAN9118_PHY_ANAR = 4,
    LAN9118_PHY_ANLPAR = 5,
    LAN9118_PHY_ANER = 6,
    LAN9118_PHY_MODE_CTRL = 17,
    LAN9118_PHY_SPECIAL_MODES = 18,
    LAN9118_PHY_INT_SRC = 29, /* read clears */
    LAN9118_PHY_INT_MASK = 30,
    LAN9118_PHY_SPECIAL_CTRL = 31,
} lan9118_phy_reg_t;

/* BMCR */
#define LAN9118_BMCR_RESET     BIT(15) /* self-clearing */
#define LAN9118_BMCR_LOOPBACK  BIT(14)
#define LAN9118_BMCR_SPEED100  BIT(13)
#define LAN9118_BMCR_ANEN      BIT(12)
#define LAN9118_BMCR_PDOWN     BIT(11)
#define LAN9118_BMCR_ANRESTART BIT(9)
#define LAN9118_BMCR_FULLDPLX  BIT(8)

/* BMSR */
#define LAN9118_BMSR_100FD      BIT(14)
#define LAN9118_BMSR_ANEG_DONE  BIT(5)
#define LAN9118_BMSR_LINK       BIT(2) /* latched low: read twice for the current state */

/* ANAR */
#define LAN9118_ANAR_PAUSE_ASYM BIT(11)
#define LAN9118_ANAR_PAUSE      BIT(10)
#define LAN9118_ANAR_100FD      BIT(8)
#define LAN9118_ANAR_100HD      BIT(7)
#define LAN9118_ANAR_10FD       BIT(6)
#define LAN9118_ANAR_10HD       BIT(5)
#define LAN9118_ANAR_SELECTOR_8023 0x0001U

/* INT_SRC / INT_MASK (PHY registers 29/30) */
#define LAN9118_PHY_INT_ENERGYON    BIT(7)
#define LAN9118_PHY_INT_ANEG_DONE   BIT(6)
#define LAN9118_PHY_INT_REMOTE_FLT  BIT(5)
#define LAN9118_PHY_INT_LINK_DOWN   BIT(4)

/* -------------------------------------------------- TX command words */
#define LAN9118_TXCMD_A_IOC          BIT(31)
#define LAN9118_TXCMD_A_END_ALGN_Pos 24U /* 0 = 4-byte */
#define LAN9118_TXCMD_A_OFFSET_Pos   16U /* data start offset, bytes */
#define LAN9118_TXCMD_A_OFFSET_Msk   (0x1FUL << LAN9118_TXCMD_A_OFFSET_Pos)
#define LAN9118_TXCMD_A_FIRST_SEG    BIT(13)
#define LAN9118_TXCMD_A_LAST_SEG     BIT(12)
#define LAN9118_TXCMD_A_BUF_SIZE_Msk 0x7FFUL

#define LAN9118_TXCMD_B_TAG_Pos       16U
#define LAN9118_TXCMD_B_TAG_Msk       (0xFFFFUL << LAN9118_TXCMD_B_TAG_Pos)
#define LAN9118_TXCMD_B_CRC_DISABLE   BIT(13)
#define LAN9118_TXCMD_B_PAD_DISABLE   BIT(12)
#define LAN9118_TXCMD_B_PKT_LEN_Msk   0x7FFUL

/* TX status word */
#define LAN9118_TXSTS_TAG_Pos  16U
#define LAN9118_TXSTS_TAG_Msk  (0xFFFFUL << LAN9118_TXSTS_TAG_Pos)
#define LAN9118_TXSTS_ES       BIT(15) /* error summary */
#define LAN9118_TXSTS_LOC      BIT(11) /* loss of carrier */
#define LAN9118_TXSTS_NO_CARR  BIT(10)
#define LAN9118_TXSTS_LATE_COL BIT(9)
#define LAN9118_TXSTS_EXC_COL  BIT(8)
#define LAN9118_TXSTS_EXC_DEF  BIT(2)
#define LAN9118_TXSTS_UNDERRUN BIT(1)

/* RX status word */
#define LAN9118_RXSTS_FILTER_FAIL BIT(30)
#define LAN9118_RXSTS_LEN_Pos     16U
#define LAN9118_RXSTS_LEN_Msk     (0x3FFFUL << LAN9118_RXSTS_LEN_Pos) /* bytes, includes the 4-byte FCS */
#define LAN9118_RXSTS_ES          BIT(15) /* error summary */
#define LAN9118_RXSTS_BCAST       BIT(13)
#define LAN9118_RXSTS_LEN_ERR     BIT(12)
#define LAN9118_RXSTS_RUNT        BIT(11)
#define LAN9118_RXSTS_MCAST       BIT(10)
#define LAN9118_RXSTS_TOO_LONG    BIT(7)
#define LAN9118_RXSTS_COLLISION   BIT(6)
#define LAN9118_RXSTS_FRAME_TYPE  BIT(5)
#define LAN9118_RXSTS_MII_ERR     BIT(3)
#define LAN9118_RXSTS_CRC_ERR     BIT(1)

#define LAN9118_FCS_LEN 4U

#endif
