/*
 * LAN9118 / LAN9220 driver: see lan9118.h for the interface and choices.
 *
 * Init order follows the datasheet and the drivers QEMU is tested with
 * (Zephyr eth_smsc911x.c, FreeRTOS smsc9220_eth_drv.c): BYTE_TEST, ID_REV,
 * PMT_CTRL.READY, soft reset, HW_CFG, PHY reset + autonegotiation, MAC
 * address, MAC_CR, TX_CFG, FIFO_INT, IRQ_CFG, INT_EN. Unlike those drivers
 * there are no fixed sleeps (100 ms after PHY reset, 2 s after enabling the
 * MAC): every wait polls the bit it is waiting for, with a timeout, so a
 * model that completes at once costs no simulated time.
 */
#include "lan9118.h"

#include <string.h>

#include "mps2_an385.h"

#define TX_CMD_WORDS     2U /* command A + command B ahead of the data */
#define BYTES_PER_WORD   4U
#define TX_TAG_FIRST     1U /* tag 0 is never used, so a zero status cannot match */
#define MAC_GROUP_BIT    0x01U   /* I/G bit of the first address byte */
#define PHY_ID_ABSENT_LO 0x0000U /* MII data lines idle low or high: no PHY */
#define PHY_ID_ABSENT_HI 0xFFFFU

static uint32_t words_for(size_t bytes)
{
    return (uint32_t)((bytes + BYTES_PER_WORD - 1U) / BYTES_PER_WORD);
}

/* Poll until (*reg & mask) == want, for at most timeout_ms. */
static lan9118_err_t wait_bits(const lan9118_t *dev, volatile const uint32_t *reg, uint32_t mask,
                               uint32_t want, uint32_t timeout_ms)
{
    uint32_t start = dev->cfg->now_ms();
    for (;;) {
        if ((*reg & mask) == want) {
            return LAN9118_OK;
        }
        if ((uint32_t)(dev->cfg->now_ms() - start) > timeout_ms) {
            /* One last look: we may have been preempted past the deadline. */
            return ((*reg & mask) == want) ? LAN9118_OK : LAN9118_ERR_TIMEOUT;
        }
    }
}

/* ------------------------------------------------------------ MAC CSRs */

static lan9118_err_t mac_csr_idle(const lan9118_t *dev)
{
    /* QEMU runs the access inside the MAC_CSR_CMD write; BUSY never reads 1. */
    return wait_bits(dev, &dev->cfg->regs->MAC_CSR_CMD, LAN9118_MAC_CSR_CMD_BUSY, 0U,
                     dev->cfg->io_timeout_ms);
}

lan9118_err_t lan9118_mac_read(lan9118_t *dev, lan9118_mac_csr_t reg, uint32_t *val)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    lan9118_err_t err = mac_csr_idle(dev);
    if (err != LAN9118_OK) {
        return err;
    }
    r->MAC_CSR_CMD = LAN9118_MAC_CSR_CMD_BUSY | LAN9118_MAC_CSR_CMD_R_NOT_W |
                     ((uint32_t)reg & LAN9118_MAC_CSR_CMD_ADDR_Msk);
    err = mac_csr_idle(dev);
    if (err == LAN9118_OK) {
        *val = r->MAC_CSR_DATA;
    }
    return err;
}

lan9118_err_t lan9118_mac_write(lan9118_t *dev, lan9118_mac_csr_t reg, uint32_t val)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    lan9118_err_t err = mac_csr_idle(dev);
    if (err != LAN9118_OK) {
        return err;
    }
    r->MAC_CSR_DATA = val;
    r->MAC_CSR_CMD = LAN9118_MAC_CSR_CMD_BUSY | ((uint32_t)reg & LAN9118_MAC_CSR_CMD_ADDR_Msk);
    return mac_csr_idle(dev);
}

/* ----------------------------------------------------------------- PHY */

static lan9118_err_t mii_idle(lan9118_t *dev)
{
    /* QEMU performs the MII access inside the MII_ACC write (BUSY reads 0). */
    uint32_t start = dev->cfg->now_ms();
    for (;;) {
        uint32_t acc;
        lan9118_err_t err = lan9118_mac_read(dev, LAN9118_MAC_MII_ACC, &acc);
        if (err != LAN9118_OK) {
            return err;
        }
        if ((acc & LAN9118_MII_ACC_MII_BUSY) == 0U) {
            return LAN9118_OK;
        }
        if ((uint32_t)(dev->cfg->now_ms() - start) > dev->cfg->io_timeout_ms) {
            return LAN9118_ERR_TIMEOUT;
        }
    }
}

static uint32_t mii_acc(lan9118_phy_reg_t reg, bool write)
{
    return ((LAN9118_PHY_ADDR << LAN9118_MII_ACC_PHY_ADDR_Pos) & LAN9118_MII_ACC_PHY_ADDR_Msk) |
           (((uint32_t)reg << LAN9118_MII_ACC_MIIRINDA_Pos) & LAN9118_MII_ACC_MIIRINDA_Msk) |
           (write ? LAN9118_MII_ACC_MII_WRITE : 0U) | LAN9118_MII_ACC_MII_BUSY;
}

lan9118_err_t lan9118_phy_read(lan9118_t *dev, lan9118_phy_reg_t reg, uint16_t *val)
{
    lan9118_err_t err = mii_idle(dev);
    if (err == LAN9118_OK) {
        err = lan9118_mac_write(dev, LAN9118_MAC_MII_ACC, mii_acc(reg, false));
    }
    if (err == LAN9118_OK) {
        err = mii_idle(dev);
    }
    uint32_t data = 0;
    if (err == LAN9118_OK) {
        err = lan9118_mac_read(dev, LAN9118_MAC_MII_DATA, &data);
    }
    *val = (uint16_t)(data & LAN9118_MII_DATA_Msk);
    return err;
}

lan9118_err_t lan9118_phy_write(lan9118_t *dev, lan9118_phy_reg_t reg, uint16_t val)
{
    lan9118_err_t err = mii_idle(dev);
    if (err == LAN9118_OK) {
        err = lan9118_mac_write(dev, LAN9118_MAC_MII_DATA, val);
    }
    if (err == LAN9118_OK) {
        err = lan9118_mac_write(dev, LAN9118_MAC_MII_ACC, mii_acc(reg, true));
    }
    if (err == LAN9118_OK) {
        err = mii_idle(dev);
    }
    return err;
}

/* Poll a PHY register until (value & mask) == want. */
static lan9118_err_t phy_wait(lan9118_t *dev, lan9118_phy_reg_t reg, uint16_t mask, uint16_t want,
                              uint32_t timeout_ms)
{
    uint32_t start = dev->cfg->now_ms();
    for (;;) {
        uint16_t v;
        lan9118_err_t err = lan9118_phy_read(dev, reg, &v);
        if (err != LAN9118_OK) {
            return err;
        }
        if ((v & mask) == want) {
            return LAN9118_OK;
        }
        if ((uint32_t)(dev->cfg->now_ms() - start) > timeout_ms) {
            return LAN9118_ERR_TIMEOUT;
        }
    }
}

static lan9118_err_t phy_init(lan9118_t *dev, bool *full_duplex)
{
    const lan9118_config_t *cfg = dev->cfg;
    uint16_t id1, id2;
    lan9118_err_t err = lan9118_phy_read(dev, LAN9118_PHY_ID1, &id1);
    if (err == LAN9118_OK) {
        err = lan9118_phy_read(dev, LAN9118_PHY_ID2, &id2);
    }
    if (err != LAN9118_OK) {
        return err;
    }
    if ((id1 == PHY_ID_ABSENT_LO && id2 == PHY_ID_ABSENT_LO) ||
        (id1 == PHY_ID_ABSENT_HI && id2 == PHY_ID_ABSENT_HI)) {
        return LAN9118_ERR_PHY; /* nothing answers at MII address 1 */
    }

    err = lan9118_phy_write(dev, LAN9118_PHY_BMCR, LAN9118_BMCR_RESET);
    if (err == LAN9118_OK) {
        /* Datasheet: reset completes within 500 ms; QEMU clears it at once. */
        err = phy_wait(dev, LAN9118_PHY_BMCR, LAN9118_BMCR_RESET, 0U, cfg->reset_timeout_ms);
    }
    if (err == LAN9118_OK) {
        err = lan9118_phy_write(dev, LAN9118_PHY_ANAR,
                                LAN9118_ANAR_100FD | LAN9118_ANAR_100HD | LAN9118_ANAR_10FD |
                                    LAN9118_ANAR_10HD | LAN9118_ANAR_SELECTOR_8023);
    }
    if (err == LAN9118_OK) {
        err = lan9118_phy_write(dev, LAN9118_PHY_BMCR, LAN9118_BMCR_ANEN | LAN9118_BMCR_ANRESTART);
    }
    if (err == LAN9118_OK && cfg->autoneg_timeout_ms != 0U) {
        /* Without a link partner autonegotiation never completes: not an
         * init failure, the link state is reported separately. */
        lan9118_err_t an = phy_wait(dev, LAN9118_PHY_BMSR, LAN9118_BMSR_ANEG_DONE,
                                    LAN9118_BMSR_ANEG_DONE, cfg->autoneg_timeout_ms);
        if (an != LAN9118_OK && an != LAN9118_ERR_TIMEOUT) {
            err = an;
        }
    }
    uint16_t anar = 0, anlpar = 0;
    if (err == LAN9118_OK) {
        err = lan9118_phy_read(dev, LAN9118_PHY_ANAR, &anar);
    }
    if (err == LAN9118_OK) {
        err = lan9118_phy_read(dev, LAN9118_PHY_ANLPAR, &anlpar);
    }
    *full_duplex = ((anar & anlpar) & (LAN9118_ANAR_100FD | LAN9118_ANAR_10FD)) != 0U;

    /* PHY interrupts on link down and autonegotiation done; reading the
     * source register clears whatever the reset left pending. */
    if (err == LAN9118_OK) {
        err = lan9118_phy_write(dev, LAN9118_PHY_INT_MASK,
                                LAN9118_PHY_INT_ANEG_DONE | LAN9118_PHY_INT_LINK_DOWN);
    }
    uint16_t src;
    if (err == LAN9118_OK) {
        err = lan9118_phy_read(dev, LAN9118_PHY_INT_SRC, &src);
    }
    return err;
}

/* ----------------------------------------------------------------- MAC */

static bool mac_valid(const uint8_t *mac)
{
    bool all_zero = true, all_ones = true;
    for (unsigned i = 0; i < LAN9118_MAC_LEN; i++) {
        all_zero = all_zero && mac[i] == 0x00U;
        all_ones = all_ones && mac[i] == 0xFFU;
    }
    return !all_zero && !all_ones && (mac[0] & MAC_GROUP_BIT) == 0U;
}

static lan9118_err_t mac_address_init(lan9118_t *dev)
{
    const lan9118_config_t *cfg = dev->cfg;
    lan9118_err_t err;
    if (cfg->mac != NULL) {
        uint32_t lo = (uint32_t)cfg->mac[0] | ((uint32_t)cfg->mac[1] << 8) |
                      ((uint32_t)cfg->mac[2] << 16) | ((uint32_t)cfg->mac[3] << 24);
        uint32_t hi = (uint32_t)cfg->mac[4] | ((uint32_t)cfg->mac[5] << 8);
        err = lan9118_mac_write(dev, LAN9118_MAC_ADDRL, lo);
        if (err == LAN9118_OK) {
            err = lan9118_mac_write(dev, LAN9118_MAC_ADDRH, hi);
        }
        if (err != LAN9118_OK) {
            return err;
        }
    } else {
        /* The reset loaded ADDRH/ADDRL from the EEPROM if one is fitted
         * (QEMU: always, with the NIC's MAC, 52:54:00:12:34:56 by default). */
        err = wait_bits(dev, &cfg->regs->E2P_CMD, LAN9118_E2P_CMD_BUSY, 0U, cfg->reset_timeout_ms);
        if (err != LAN9118_OK) {
            return err;
        }
    }
    uint32_t lo, hi;
    err = lan9118_mac_read(dev, LAN9118_MAC_ADDRL, &lo);
    if (err == LAN9118_OK) {
        err = lan9118_mac_read(dev, LAN9118_MAC_ADDRH, &hi);
    }
    if (err != LAN9118_OK) {
        return err;
    }
    for (unsigned i = 0; i < 4U; i++) {
        dev->mac[i] = (uint8_t)(lo >> (8U * i));
    }
    hi &= LAN9118_MAC_ADDRH_Msk;
    dev->mac[4] = (uint8_t)hi;
    dev->mac[5] = (uint8_t)(hi >> 8);
    return mac_valid(dev->mac) ? LAN9118_OK : LAN9118_ERR_NO_MAC;
}

/* ---------------------------------------------------------------- init */

static void nvic_setup(int irq)
{
    uint32_t word = (uint32_t)irq / 32U;
    uint32_t bit = BIT((uint32_t)irq % 32U);
    NVIC->ICER[word] = bit;
    /* Before IRQ_CFG got POL|TYPE the line idled high (QEMU inverts the
     * level unless both are set), so a stale pending bit may be latched. */
    NVIC->ICPR[word] = bit;
    NVIC->ISER[word] = bit;
}

lan9118_err_t lan9118_init(lan9118_t *dev, const lan9118_config_t *cfg)
{
    if (dev == NULL || cfg == NULL || cfg->regs == NULL || cfg->now_ms == NULL ||
        cfg->tx_fifo_kib < LAN9118_TX_FIF_SZ_MIN || cfg->tx_fifo_kib > LAN9118_TX_FIF_SZ_MAX) {
        return LAN9118_ERR_PARAM;
    }
    *dev = (lan9118_t){.cfg = cfg, .tx_tag = TX_TAG_FIRST - 1U};
    LAN9118_TypeDef *r = cfg->regs;

    if (r->BYTE_TEST != LAN9118_BYTE_TEST_VALUE) {
        return LAN9118_ERR_BYTE_TEST;
    }
    uint32_t id = (r->ID_REV & LAN9118_ID_REV_CHIP_Msk) >> LAN9118_ID_REV_CHIP_Pos;
    if (id != LAN9118_CHIP_ID_LAN9118 && id != LAN9118_CHIP_ID_LAN9220) {
        return LAN9118_ERR_CHIP_ID;
    }
    dev->chip_id = (uint16_t)id;

    if (wait_bits(dev, &r->PMT_CTRL, LAN9118_PMT_CTRL_READY, LAN9118_PMT_CTRL_READY,
                  cfg->reset_timeout_ms) != LAN9118_OK) {
        return LAN9118_ERR_NOT_READY;
    }

    /* Soft reset: SRST self-clears; SRST_TO reports a reset that timed out. */
    r->INT_EN = 0U;
    r->HW_CFG = LAN9118_HW_CFG_SRST;
    lan9118_err_t err = wait_bits(dev, &r->HW_CFG, LAN9118_HW_CFG_SRST, 0U, cfg->reset_timeout_ms);
    if (err != LAN9118_OK) {
        return err;
    }
    if ((r->HW_CFG & LAN9118_HW_CFG_SRST_TO) != 0U) {
        return LAN9118_ERR_TIMEOUT;
    }
    if (wait_bits(dev, &r->PMT_CTRL, LAN9118_PMT_CTRL_READY, LAN9118_PMT_CTRL_READY,
                  cfg->reset_timeout_ms) != LAN9118_OK) {
        return LAN9118_ERR_NOT_READY;
    }

    /* TX FIFO size; MBO must be written 1 on the LAN9220. QEMU keeps only
     * HW_CFG bits 8-17 on a write (TX_FIF_SZ reads back wrong and its FIFO
     * sizes stay at the reset value 5): nothing here reads it back. */
    r->HW_CFG = (((uint32_t)cfg->tx_fifo_kib << LAN9118_HW_CFG_TX_FIF_SZ_Pos) &
                 LAN9118_HW_CFG_TX_FIF_SZ_Msk) |
                LAN9118_HW_CFG_MBO;

    r->INT_EN = 0U;
    r->INT_STS = LAN9118_INT_ALL;

    bool full_duplex = false;
    err = phy_init(dev, &full_duplex);
    if (err == LAN9118_OK) {
        err = mac_address_init(dev);
    }
    uint32_t mac_cr = 0;
    if (err == LAN9118_OK) {
        err = lan9118_mac_read(dev, LAN9118_MAC_CR, &mac_cr);
    }
    if (err != LAN9118_OK) {
        return err;
    }

    /* Perfect filter on ADDRH/ADDRL + broadcast; multicast dropped. MAC_CR
     * resets to PRMS (QEMU too), so clear it unless asked to keep it. */
    mac_cr &= ~(LAN9118_MAC_CR_RXALL | LAN9118_MAC_CR_LOOPBK | LAN9118_MAC_CR_MCPAS |
                LAN9118_MAC_CR_PRMS | LAN9118_MAC_CR_INVFILT | LAN9118_MAC_CR_PASSBAD |
                LAN9118_MAC_CR_HO | LAN9118_MAC_CR_HPFILT | LAN9118_MAC_CR_BCAST |
                LAN9118_MAC_CR_FDPX);
    if (cfg->promiscuous) {
        mac_cr |= LAN9118_MAC_CR_PRMS;
    }
    if (full_duplex) {
        mac_cr |= LAN9118_MAC_CR_FDPX;
    }
    /* No RXDOFF, 4-byte RX end alignment: frame byte 0 is bits 7:0 of the
     * first data word after the status pop. */
    r->RX_CFG = 0U;
    r->TX_CFG = LAN9118_TX_CFG_TX_ON;
    err = lan9118_mac_write(dev, LAN9118_MAC_CR, mac_cr | LAN9118_MAC_CR_TXEN | LAN9118_MAC_CR_RXEN);
    if (err != LAN9118_OK) {
        return err;
    }

    /* RSFL as soon as one RX status is queued; no TX data-available level
     * interrupt (0xFF never reached). */
    r->FIFO_INT = LAN9118_FIFO_INT_TX_DATA_AVAIL_Msk; /* TX level 0xFF, RX status level 0 */

    /* Active-high push-pull line, no deassertion interval (QEMU ignores
     * INT_DEAS). QEMU drives the line inverted unless POL and TYPE are both
     * set, as all drivers tested on it do. */
    r->IRQ_CFG = LAN9118_IRQ_CFG_IRQ_EN | LAN9118_IRQ_CFG_IRQ_POL | LAN9118_IRQ_CFG_IRQ_TYPE;
    r->INT_STS = LAN9118_INT_ALL;
    r->INT_EN = LAN9118_INT_RSFL | LAN9118_INT_PHY;
    if (cfg->irq >= 0) {
        nvic_setup(cfg->irq);
    }
    return LAN9118_OK;
}

/* ------------------------------------------------------------------ TX */

/* Collect the TX status words of frames already on the wire. A frame is
 * queued by lan9118_send(); its status arrives one wire time later, so
 * statuses are picked up here, on later sends and in lan9118_tx_wait(). */
static void tx_reap(lan9118_t *dev, uint32_t fifo_inf)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    uint32_t used = (fifo_inf & LAN9118_TX_FIFO_INF_TSUSED_Msk) >> LAN9118_TX_FIFO_INF_TSUSED_Pos;
    for (; used != 0U; used--) {
        uint32_t status = r->TX_STATUS_FIFO;
        uint16_t tag = (uint16_t)((status & LAN9118_TXSTS_TAG_Msk) >> LAN9118_TXSTS_TAG_Pos);
        uint16_t want = (uint16_t)(dev->tx_done_tag + 1U);
        if (want == 0U) {
            want = TX_TAG_FIRST;
        }
        dev->tx_done_tag = tag;
        dev->tx_pending--;
        if ((status & LAN9118_TXSTS_ES) != 0U) {
            dev->tx_errors++;
            dev->tx_last_error = LAN9118_ERR_TX_STATUS;
        } else if (tag != want) {
            dev->tx_errors++;
            dev->tx_last_error = LAN9118_ERR_TX_TAG;
        }
    }
}

lan9118_err_t lan9118_tx_wait(lan9118_t *dev)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    uint32_t start = dev->cfg->now_ms();
    while (dev->tx_pending != 0U) {
        tx_reap(dev, r->TX_FIFO_INF);
        if (dev->tx_pending != 0U && (uint32_t)(dev->cfg->now_ms() - start) > dev->cfg->io_timeout_ms) {
            return LAN9118_ERR_TIMEOUT;
        }
    }
    lan9118_err_t err = dev->tx_last_error;
    dev->tx_last_error = LAN9118_OK;
    return err;
}

/* Push `n` bytes (n a multiple of 4) as little-endian words: frame byte 0
 * is bits 7:0 of the first word. The Cortex-M3 loads unaligned words. */
static void tx_words(volatile uint32_t *fifo, const uint8_t *p, size_t n)
{
    uint32_t w0, w1, w2, w3;
    for (; n >= 16U; n -= 16U, p += 16) {
        memcpy(&w0, p, 4);
        memcpy(&w1, p + 4, 4);
        memcpy(&w2, p + 8, 4);
        memcpy(&w3, p + 12, 4);
        *fifo = w0;
        *fifo = w1;
        *fifo = w2;
        *fifo = w3;
    }
    for (; n != 0U; n -= 4U, p += 4) {
        memcpy(&w0, p, 4);
        *fifo = w0;
    }
}

lan9118_err_t lan9118_send(lan9118_t *dev, const void *frame, size_t len)
{
    if (frame == NULL || len < LAN9118_HEADER_LEN || len > LAN9118_MAX_FRAME) {
        return LAN9118_ERR_PARAM;
    }
    LAN9118_TypeDef *r = dev->cfg->regs;
    const uint8_t *p = frame;
    /* Pad in software: the MAC would pad on the wire, QEMU sends as written. */
    size_t wire_len = len < LAN9118_MIN_FRAME ? LAN9118_MIN_FRAME : len;
    uint32_t words = words_for(wire_len);

    uint32_t start = dev->cfg->now_ms();
    for (;;) {
        uint32_t inf = r->TX_FIFO_INF;
        tx_reap(dev, inf);
        if ((inf & LAN9118_TX_FIFO_INF_TDFREE_Msk) >= (words + TX_CMD_WORDS) * BYTES_PER_WORD) {
            break;
        }
        if ((uint32_t)(dev->cfg->now_ms() - start) > dev->cfg->io_timeout_ms) {
            return LAN9118_ERR_TIMEOUT;
        }
    }

    dev->tx_tag = (uint16_t)(dev->tx_tag + 1U);
    if (dev->tx_tag == 0U) {
        dev->tx_tag = TX_TAG_FIRST;
    }
    uint32_t tag = dev->tx_tag;

    /* One buffer holding the whole frame: first and last segment, data
     * offset 0, 4-byte end alignment. */
    volatile uint32_t *fifo = &r->TX_DATA_FIFO[0];
    *fifo = LAN9118_TXCMD_A_FIRST_SEG | LAN9118_TXCMD_A_LAST_SEG |
            ((uint32_t)wire_len & LAN9118_TXCMD_A_BUF_SIZE_Msk);
    *fifo = ((tag << LAN9118_TXCMD_B_TAG_Pos) & LAN9118_TXCMD_B_TAG_Msk) |
            ((uint32_t)wire_len & LAN9118_TXCMD_B_PKT_LEN_Msk);
    size_t whole = len & ~(size_t)(BYTES_PER_WORD - 1U);
    tx_words(fifo, p, whole);
    for (size_t i = whole; i < (size_t)words * BYTES_PER_WORD; i += BYTES_PER_WORD) {
        uint32_t word = 0;
        for (size_t b = 0; b < BYTES_PER_WORD && i + b < len; b++) {
            word |= (uint32_t)p[i + b] << (8U * b);
        }
        *fifo = word;
    }
    dev->tx_pending++;
    dev->tx_frames++;
    return LAN9118_OK;
}

/* ------------------------------------------------------------------ RX */

bool lan9118_rx_pending(const lan9118_t *dev)
{
    return (dev->cfg->regs->RX_FIFO_INF & LAN9118_RX_FIFO_INF_RXSUSED_Msk) != 0U;
}

/* Discard the rest of the current frame: `words` data words not yet read. */
static lan9118_err_t rx_discard(lan9118_t *dev, uint32_t words)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    dev->rx_dropped++;
    if (dev->cfg->rx_ffwd && words >= LAN9118_RX_FFWD_MIN_WORDS) {
        r->RX_DP_CTRL = LAN9118_RX_DP_CTRL_RX_FFWD;
        /* Self-clears when done; QEMU skips at once and reads 0. */
        return wait_bits(dev, &r->RX_DP_CTRL, LAN9118_RX_DP_CTRL_RX_FFWD, 0U, dev->cfg->io_timeout_ms);
    }
    for (uint32_t w = 0; w < words; w++) {
        (void)r->RX_DATA_FIFO[0];
    }
    return LAN9118_OK;
}

/* Pop `n` bytes (n a multiple of 4) of frame data into out. */
static void rx_words(volatile const uint32_t *fifo, uint8_t *out, size_t n)
{
    uint32_t w0, w1, w2, w3;
    for (; n >= 16U; n -= 16U, out += 16) {
        w0 = *fifo;
        w1 = *fifo;
        w2 = *fifo;
        w3 = *fifo;
        memcpy(out, &w0, 4);
        memcpy(out + 4, &w1, 4);
        memcpy(out + 8, &w2, 4);
        memcpy(out + 12, &w3, 4);
    }
    for (; n != 0U; n -= 4U, out += 4) {
        w0 = *fifo;
        memcpy(out, &w0, 4);
    }
}

lan9118_err_t lan9118_recv(lan9118_t *dev, void *buf, size_t cap, size_t *len)
{
    if (buf == NULL || len == NULL) {
        return LAN9118_ERR_PARAM;
    }
    *len = 0;
    if (!lan9118_rx_pending(dev)) {
        return LAN9118_ERR_EMPTY;
    }
    LAN9118_TypeDef *r = dev->cfg->regs;
    uint32_t status = r->RX_STATUS_FIFO;
    /* The status length counts the 4 FCS bytes that follow the frame. */
    uint32_t wire_len = (status & LAN9118_RXSTS_LEN_Msk) >> LAN9118_RXSTS_LEN_Pos;
    uint32_t words = words_for(wire_len);

    if ((status & LAN9118_RXSTS_ES) != 0U || wire_len < LAN9118_HEADER_LEN + LAN9118_FCS_LEN) {
        lan9118_err_t err = rx_discard(dev, words);
        return err != LAN9118_OK ? err : LAN9118_ERR_RX_FRAME;
    }
    size_t frame_len = wire_len - LAN9118_FCS_LEN;
    if (frame_len > cap) {
        lan9118_err_t err = rx_discard(dev, words);
        return err != LAN9118_OK ? err : LAN9118_ERR_RX_TOO_BIG;
    }

    uint8_t *out = buf;
    volatile const uint32_t *fifo = &r->RX_DATA_FIFO[0];
    size_t whole = frame_len & ~(size_t)(BYTES_PER_WORD - 1U);
    rx_words(fifo, out, whole);
    for (size_t i = whole; i < (size_t)words * BYTES_PER_WORD; i += BYTES_PER_WORD) {
        uint32_t word = *fifo;
        for (size_t b = 0; b < BYTES_PER_WORD && i + b < frame_len; b++) {
            out[i + b] = (uint8_t)(word >> (8U * b));
        }
    }
    *len = frame_len;
    dev->rx_frames++;
    return LAN9118_OK;
}

/* ---------------------------------------------------------------- link */

bool lan9118_link_up(lan9118_t *dev)
{
    uint16_t bmsr = 0;
    /* BMSR.LINK latches low until read: the second read is the present state. */
    if (lan9118_phy_read(dev, LAN9118_PHY_BMSR, &bmsr) != LAN9118_OK ||
        lan9118_phy_read(dev, LAN9118_PHY_BMSR, &bmsr) != LAN9118_OK) {
        return false;
    }
    return (bmsr & LAN9118_BMSR_LINK) != 0U;
}

bool lan9118_link_poll(lan9118_t *dev)
{
    uint16_t src;
    (void)lan9118_phy_read(dev, LAN9118_PHY_INT_SRC, &src); /* read clears */
    uint32_t primask = __get_PRIMASK();
    __disable_irq();
    dev->cfg->regs->INT_STS = LAN9118_INT_PHY;
    dev->cfg->regs->INT_EN |= LAN9118_INT_PHY;
    __set_PRIMASK(primask);
    return lan9118_link_up(dev);
}

/* ----------------------------------------------------------------- IRQ */

void lan9118_irq_handler(lan9118_t *dev)
{
    LAN9118_TypeDef *r = dev->cfg->regs;
    uint32_t pending = r->INT_STS & r->INT_EN;
    dev->irq_count++;
    if ((pending & LAN9118_INT_RSFL) != 0U) {
        dev->rx_events++;
    }
    if ((pending & LAN9118_INT_PHY) != 0U) {
        /* PHY_INT follows the PHY's source register, so W1C alone does not
         * drop it (QEMU recomputes it from the PHY): mask it until
         * lan9118_link_poll() has read the source in thread mode. */
        dev->phy_events++;
        r->INT_EN &= ~LAN9118_INT_PHY;
    }
    r->INT_STS = pending;
}

const char *lan9118_strerror(lan9118_err_t err)
{
    switch (err) {
    case LAN9118_OK: return "ok";
    case LAN9118_ERR_BYTE_TEST: return "BYTE_TEST mismatch";
    case LAN9118_ERR_CHIP_ID: return "unknown ID_REV";
    case LAN9118_ERR_TIMEOUT: return "timeout";
    case LAN9118_ERR_NOT_READY: return "PMT_CTRL not READY";
    case LAN9118_ERR_PHY: return "no PHY";
    case LAN9118_ERR_NO_MAC: return "no MAC address";
    case LAN9118_ERR_PARAM: return "bad parameter";
    case LAN9118_ERR_TX_STATUS: return "TX error status";
    case LAN9118_ERR_TX_TAG: return "TX status tag mismatch";
    case LAN9118_ERR_EMPTY: return "no frame";
    case LAN9118_ERR_RX_FRAME: return "RX frame error";
    case LAN9118_ERR_RX_TOO_BIG: return "RX frame too big";
    }
    return "?";
}
