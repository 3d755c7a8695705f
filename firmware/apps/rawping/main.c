/*
 * rawping: the client side of rawframe's test EtherType echo.
 *
 * Sends RAWPING_COUNT frames of EtherType 0x88B5 (IEEE local experimental)
 * to the broadcast address, each with a sequence number and a size that
 * varies from 60 to 1514 bytes, and waits (bounded, in SysTick time) for
 * the echo that rawframe returns. Prints one line per lost frame, the link
 * changes it sees through the PHY interrupt, and a summary; then sends the
 * QUIT frame that ends rawframe, and exits through semihosting.
 * Everything printed depends only on the frames received, so a closed
 * simulation gives the same transcript every run.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bsp.h"
#include "lan9118/lan9118.h"

#ifndef RAWPING_COUNT
#define RAWPING_COUNT 50U
#endif
#ifndef RAWPING_TIMEOUT_MS
#define RAWPING_TIMEOUT_MS 50U
#endif
#define TICK_HZ 1000U
#define ETHERTYPE_TEST 0x88B5U

static uint32_t now_ms(void) { return systick_ticks(); }

static const lan9118_config_t eth_config = {
    .regs = (LAN9118_TypeDef *)MPS2_ETH_BASE,
    .irq = ETHERNET_IRQn,
    .now_ms = now_ms,
    .mac = NULL,
    .tx_fifo_kib = 5,
    .promiscuous = false,
    .rx_ffwd = false, /* QEMU 7.2 breaks after RX_FFWD: see lan9118.h */
    .reset_timeout_ms = 500,
    .autoneg_timeout_ms = 1000,
    .io_timeout_ms = 10,
};

static lan9118_t eth;
static uint8_t tx_frame[LAN9118_MAX_FRAME];
static uint8_t rx_frame[LAN9118_MAX_FRAME];

void SysTick_Handler(void) { systick_isr_tick(); }
void ETHERNET_Handler(void) { lan9118_irq_handler(&eth); }

static size_t frame_size(uint32_t seq)
{
    return 60U + (seq * 97U) % (LAN9118_MAX_FRAME - 60U + 1U);
}

static size_t build(uint32_t seq, const char *tag)
{
    size_t len = frame_size(seq);
    memset(tx_frame, 0xFF, 6);
    memcpy(tx_frame + 6, eth.mac, 6);
    tx_frame[12] = (uint8_t)(ETHERTYPE_TEST >> 8);
    tx_frame[13] = (uint8_t)ETHERTYPE_TEST;
    memcpy(tx_frame + 14, tag, 4);
    tx_frame[18] = (uint8_t)(seq >> 8);
    tx_frame[19] = (uint8_t)seq;
    for (size_t i = 20; i < len; i++) {
        tx_frame[i] = (uint8_t)(i * 7U + seq);
    }
    return len;
}

static void check_link(void)
{
    static uint32_t seen;
    if (eth.phy_events != seen) {
        seen = eth.phy_events;
        printf("rawping: link %s\n", lan9118_link_poll(&eth) ? "up" : "down");
    }
}

/* Wait for the echo of tx_frame[0..len); true when it came back intact. */
static int wait_echo(size_t len)
{
    uint32_t start = now_ms();
    while (now_ms() - start < RAWPING_TIMEOUT_MS) {
        size_t got = 0;
        lan9118_err_t err = lan9118_recv(&eth, rx_frame, sizeof rx_frame, &got);
        if (err == LAN9118_ERR_EMPTY) {
            check_link();
            __disable_irq();
            if (!lan9118_rx_pending(&eth)) {
                __WFI();
            }
            __enable_irq();
            continue;
        }
        if (err != LAN9118_OK || got != len) {
            continue;
        }
        if (memcmp(rx_frame + 12, tx_frame + 12, len - 12) == 0) {
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    printf("rawping: %u frames of type 0x%04x\n", (unsigned)RAWPING_COUNT, (unsigned)ETHERTYPE_TEST);
    (void)systick_start(TICK_HZ, 1);
    lan9118_err_t err = lan9118_init(&eth, &eth_config);
    if (err != LAN9118_OK) {
        printf("rawping: lan9118 init FAIL: %s (%d)\n", lan9118_strerror(err), (int)err);
        return 1;
    }
    printf("rawping: mac %02x:%02x:%02x:%02x:%02x:%02x link %s\n", eth.mac[0], eth.mac[1], eth.mac[2],
           eth.mac[3], eth.mac[4], eth.mac[5], lan9118_link_up(&eth) ? "up" : "down");
    /* Wait for the peer (it may still be asking DHCP): probe every
     * RAWPING_TIMEOUT_MS until one echo comes back, for at most 200 probes. */
    int up = 0;
    for (uint32_t probe = 0; probe < 200U && !up; probe++) {
        size_t plen = build(0xFFFFU, "PROB");
        if (lan9118_send(&eth, tx_frame, plen) == LAN9118_OK) {
            up = wait_echo(plen);
        }
    }
    if (!up) {
        printf("rawping: no peer\n");
        return 2;
    }
    printf("rawping: peer up\n");
    uint32_t ok = 0;
    uint32_t bytes = 0;
    for (uint32_t seq = 0; seq < RAWPING_COUNT; seq++) {
        size_t len = build(seq, "PING");
        check_link();
        if (lan9118_send(&eth, tx_frame, len) != LAN9118_OK) {
            /* No carrier (link down): wait out the timeout as for a lost echo. */
            printf("rawping: send %lu failed\n", (unsigned long)seq);
            (void)wait_echo(len);
            continue;
        }
        if (wait_echo(len)) {
            ok++;
            bytes += (uint32_t)len;
        } else {
            printf("rawping: frame %lu (%u bytes) lost\n", (unsigned long)seq, (unsigned)len);
        }
    }
    printf("rawping: %lu of %u echoed, %lu bytes\n", (unsigned long)ok, (unsigned)RAWPING_COUNT,
           (unsigned long)bytes);
    size_t len = build(0, "QUIT");
    (void)lan9118_send(&eth, tx_frame, len);
    printf("rawping: done\n");
    return 0;
}
