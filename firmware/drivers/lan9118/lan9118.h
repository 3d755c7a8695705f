/*
 * LAN9118 / LAN9220 Ethernet driver for the MPS2-AN385 (vboard firmware).
 *
 * Polled TX/RX of whole frames through the PIO FIFOs, plus an interrupt
 * helper that acknowledges INT_STS and counts events so a program can sleep
 * with WFI until a frame arrives. No DMA, no multicast hash, no flow control.
 *
 * Address filtering: MAC_CR.PRMS (set at reset) is cleared by default, so
 * the MAC accepts frames to its own address (perfect filter against
 * ADDRH/ADDRL) and broadcasts only; multicast is dropped (MCPAS clear, no
 * hash bits). Set `promiscuous` in the config to keep PRMS instead.
 *
 * Frames handed to lan9118_send() shorter than 60 bytes are zero-padded to
 * 60 by the driver itself: the LAN9118 MAC pads on the wire, but QEMU's
 * model sends the frame as written, so padding in software makes the frame
 * that reaches the network the same on both.
 *
 * Every wait is bounded by a timeout in milliseconds of the `now_ms` clock
 * given in the config (SysTick at 1 kHz in the vboard programs). That clock
 * must advance while the driver polls, so do not call the driver with
 * interrupts masked or from an ISR that outranks the clock's interrupt.
 */
#ifndef LAN9118_H
#define LAN9118_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lan9118_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LAN9118_MAC_LEN      6U
#define LAN9118_MIN_FRAME    60U   /* without FCS: frames are padded to this */
#define LAN9118_MAX_FRAME    1514U /* without FCS, untagged */
#define LAN9118_HEADER_LEN   14U

typedef enum {
    LAN9118_OK = 0,
    LAN9118_ERR_BYTE_TEST = -1,  /* BYTE_TEST != 0x87654321 (bus/endianness) */
    LAN9118_ERR_CHIP_ID = -2,    /* ID_REV not a LAN9118 or LAN9220 */
    LAN9118_ERR_TIMEOUT = -3,    /* a busy/ready bit did not settle in time */
    LAN9118_ERR_NOT_READY = -4,  /* PMT_CTRL.READY never set */
    LAN9118_ERR_PHY = -5,        /* PHY ID reads 0 or all ones */
    LAN9118_ERR_NO_MAC = -6,     /* no address in ADDRH/ADDRL and none given */
    LAN9118_ERR_PARAM = -7,      /* bad length, NULL buffer, bad config */
    LAN9118_ERR_TX_STATUS = -8,  /* TX status word had ES set */
    LAN9118_ERR_TX_TAG = -9,     /* TX status tag did not match the frame sent */
    LAN9118_ERR_EMPTY = -10,     /* recv: no frame waiting (not a fault) */
    LAN9118_ERR_RX_FRAME = -11,  /* recv: frame had ES set or was a runt; dropped */
    LAN9118_ERR_RX_TOO_BIG = -12, /* recv: frame larger than the buffer; dropped */
} lan9118_err_t;

/* Board wiring and choices; lives in flash. */
typedef struct {
    LAN9118_TypeDef *regs;
    int irq;                       /* NVIC line (13 on the AN385), < 0: no NVIC setup */
    uint32_t (*now_ms)(void);      /* millisecond clock for timeouts */
    const uint8_t *mac;            /* NULL: keep the EEPROM-loaded ADDRH/ADDRL */
    uint8_t tx_fifo_kib;           /* HW_CFG.TX_FIF_SZ, 2..14 (5 = reset value) */
    bool promiscuous;              /* keep MAC_CR.PRMS (accept every frame) */
    /* Skip bad/oversized RX frames with RX_DP_CTRL.RX_FFWD instead of
     * reading them out. Leave false on QEMU 7.2: its model moves the FIFO
     * head on RX_FFWD but leaves the used count (and the current-packet
     * count) as they were, so every later frame is stored at the wrong
     * place and reads back as garbage. */
    bool rx_ffwd;
    uint16_t reset_timeout_ms;     /* SRST, PMT_CTRL.READY, PHY reset */
    uint16_t autoneg_timeout_ms;   /* wait for BMSR.ANEG_DONE; 0 = do not wait */
    uint16_t io_timeout_ms;        /* MAC CSR, MII, FIFO space, TX status */
} lan9118_config_t;

/* Per-device state; lives in RAM. The ISR writes the volatile members. */
typedef struct {
    const lan9118_config_t *cfg;
    uint8_t mac[LAN9118_MAC_LEN];
    uint16_t chip_id;                /* ID_REV[31:16] */
    uint16_t tx_tag;                 /* packet tag of the last frame sent */
    uint16_t tx_done_tag;            /* tag of the last TX status collected */
    uint32_t tx_pending;             /* frames queued whose TX status is not yet collected */
    uint32_t tx_errors;              /* TX statuses with ES set or out of order */
    lan9118_err_t tx_last_error;     /* latest of those, until lan9118_tx_wait() */
    volatile uint32_t irq_count;     /* ETHERNET interrupts taken */
    volatile uint32_t rx_events;     /* RSFL seen: frames arrived */
    volatile uint32_t phy_events;    /* PHY_INT seen: call lan9118_link_poll() */
    uint32_t tx_frames;
    uint32_t rx_frames;
    uint32_t rx_dropped;             /* frames discarded by lan9118_recv() */
} lan9118_t;

/* Reset and configure the chip; on success dev->mac holds the MAC in use
 * and TX/RX are on. Enables the NVIC line if cfg->irq >= 0. */
lan9118_err_t lan9118_init(lan9118_t *dev, const lan9118_config_t *cfg);

/* Queue one frame (destination MAC first, no FCS). len 14..1514; frames
 * shorter than 60 bytes go out zero-padded to 60. Waits only for TX FIFO
 * space: the TX status comes one wire time later and is collected by later
 * sends (a bad one counts in tx_errors). */
lan9118_err_t lan9118_send(lan9118_t *dev, const void *frame, size_t len);

/* Wait until every queued frame's TX status is in; returns the latest TX
 * error since the previous call (LAN9118_ERR_TX_STATUS/_TX_TAG) or OK. */
lan9118_err_t lan9118_tx_wait(lan9118_t *dev);

/* Receive one frame into buf (no FCS). Returns LAN9118_ERR_EMPTY at once if
 * none is waiting. Bad or oversized frames are skipped and reported. */
lan9118_err_t lan9118_recv(lan9118_t *dev, void *buf, size_t cap, size_t *len);

/* RX status FIFO holds at least one frame. */
bool lan9118_rx_pending(const lan9118_t *dev);

/* Current link state from PHY BMSR.LINK (read twice: the bit latches low). */
bool lan9118_link_up(lan9118_t *dev);

/* After a PHY_INT: read (and so clear) the PHY interrupt source, re-enable
 * INT_EN.PHY_INT and return the link state. */
bool lan9118_link_poll(lan9118_t *dev);

/* Call from ETHERNET_Handler: counts events, W1C INT_STS. A PHY_INT is
 * masked in INT_EN until lan9118_link_poll() clears its source (MII access
 * with timeouts does not belong in an ISR). */
void lan9118_irq_handler(lan9118_t *dev);

/* Raw register helpers, exposed for tests. */
lan9118_err_t lan9118_mac_read(lan9118_t *dev, lan9118_mac_csr_t reg, uint32_t *val);
lan9118_err_t lan9118_mac_write(lan9118_t *dev, lan9118_mac_csr_t reg, uint32_t val);
lan9118_err_t lan9118_phy_read(lan9118_t *dev, lan9118_phy_reg_t reg, uint16_t *val);
lan9118_err_t lan9118_phy_write(lan9118_t *dev, lan9118_phy_reg_t reg, uint16_t val);

const char *lan9118_strerror(lan9118_err_t err);

#ifdef __cplusplus
}
#endif

#endif
