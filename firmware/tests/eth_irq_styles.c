/*
 * eth_irq_styles: the board's LAN9118/LAN9220 receives frames by interrupt with
 * the two IRQ_CFG settings drivers use: Mbed OS's (INT_DEAS | IRQ_EN: an
 * active-low open-drain pin) and FreeRTOS/Zephyr's (0x22000111: active-high
 * push-pull). For each: RSFL enabled, the ISR acknowledges and masks RSFL and
 * the main loop drains the RX FIFO and unmasks it (Mbed's EMAC scheme); it
 * prints "<style> ready" and waits up to 500 ms of SysTick for 3 frames, which
 * the host delivers (tests/test_board_programs.py). An ISR entry that finds no
 * enabled interrupt pending is spurious; 100 of them is a livelock: the IRQ is
 * switched off and reported. IRQ 13 on the AN385, 47 on the AN511.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"
#include "lan9118/lan9118_regs.h"

#define ETH ((LAN9118_TypeDef *)MPS2_ETH_BASE)
#define ETH_IRQ ((IRQn_Type)MPS2_ETH_IRQn)
#define MAC_CR_IDX 1U
#define MAC_CR_RXEN BIT(2)
#define FRAMES 3U
#define LIVELOCK_ENTRIES 100U

static volatile uint32_t entries, spurious, rx_pending, livelock;

void SysTick_Handler(void)
{
    systick_isr_tick();
}

void MPS2_ETH_HANDLER(void)
{
    entries++;
    uint32_t sts = ETH->INT_STS & ETH->INT_EN;
    if (sts & LAN9118_INT_RSFL) {
        ETH->INT_STS = LAN9118_INT_RSFL;
        ETH->INT_EN &= ~LAN9118_INT_RSFL;
        rx_pending = 1;
    } else if (++spurious >= LIVELOCK_ENTRIES) {
        NVIC_DisableIRQ(ETH_IRQ);
        livelock = 1;
    }
}

static void mac_write(uint32_t idx, uint32_t value)
{
    while (ETH->MAC_CSR_CMD & LAN9118_MAC_CSR_CMD_BUSY) {
    }
    ETH->MAC_CSR_DATA = value;
    ETH->MAC_CSR_CMD = LAN9118_MAC_CSR_CMD_BUSY | idx;
    while (ETH->MAC_CSR_CMD & LAN9118_MAC_CSR_CMD_BUSY) {
    }
}

static uint32_t drain(void)
{
    uint32_t n = 0;
    while (ETH->RX_FIFO_INF & LAN9118_RX_FIFO_INF_RXSUSED_Msk) {
        uint32_t len = (ETH->RX_STATUS_FIFO >> 16) & 0x3FFFU;
        for (uint32_t w = 0; w < (len + 3U) / 4U; w++) {
            (void)ETH->RX_DATA_FIFO[0];
        }
        n++;
    }
    return n;
}

static void receive_with(const char *style, uint32_t irq_cfg)
{
    uint32_t received = 0;
    entries = spurious = rx_pending = livelock = 0;
    ETH->INT_EN = 0;
    ETH->INT_STS = 0xFFFFFFFFUL;
    ETH->IRQ_CFG = irq_cfg;
    NVIC_ClearPendingIRQ(ETH_IRQ);
    NVIC_EnableIRQ(ETH_IRQ);
    ETH->INT_EN = LAN9118_INT_RSFL;
    printf("eth_irq_styles: %s ready\n", style);
    uint32_t start = systick_ticks();
    while (received < FRAMES && !livelock && systick_ticks() - start < 500U) {
        if (rx_pending) {
            rx_pending = 0;
            received += drain();
            ETH->INT_EN |= LAN9118_INT_RSFL;
        }
        __WFI();
    }
    NVIC_DisableIRQ(ETH_IRQ);
    ETH->INT_EN = 0;
    if (livelock) {
        printf("eth_irq_styles: %s: livelock (%lu ISR entries with nothing pending)\n", style,
               (unsigned long)spurious);
    } else {
        printf("eth_irq_styles: %s: %lu frames, %lu interrupts, %lu spurious\n", style,
               (unsigned long)received, (unsigned long)entries, (unsigned long)spurious);
    }
}

int main(void)
{
    while (!(ETH->PMT_CTRL & LAN9118_PMT_CTRL_READY)) {
    }
    mac_write(MAC_CR_IDX, MAC_CR_RXEN);
    systick_start(1000, 1);
    receive_with("mbed", (0x22UL << 24) | LAN9118_IRQ_CFG_IRQ_EN);
    receive_with("freertos-zephyr", 0x22000111UL);
    systick_stop();
    printf("eth_irq_styles: done\n");
    return 0;
}
