/*
 * watchdog: the CMSDK APB watchdog at 0x40008000 (NMI on the first timeout,
 * a system reset on the second with CTRL.RESEN).
 *
 * Boot 1: ID and reset values; LOCK (any value but 0x1ACCE551 locks, and a
 * locked watchdog ignores writes); fed every 5 ms with a 50 ms LOAD it never
 * times out (a wide margin: QEMU's clocks follow the host's); unfed, the first timeout is an NMI (its handler feeds it). Then
 * RESEN with an NMI handler that does not feed: the second timeout resets the
 * board. Boot 2 finds the .noinit record and checks that the reset restored
 * the watchdog. Waits are Timer0 interrupts (the watchdog's clock on both
 * machines); only orders of events and counts are printed.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define BOOT_MAGIC 0xD06F00D5UL
#define LOAD_50MS  1250000UL
#define WAIT_5MS   125000UL

typedef struct {
    uint32_t magic;
    uint32_t nmis;
} noinit_state_t;

__attribute__((section(".noinit"))) static volatile noinit_state_t state;
static volatile uint32_t nmis, nmi_mis, feed_in_nmi = 1;

void NMI_Handler(void)
{
    nmis++;
    nmi_mis = WATCHDOG->MIS;
    if (feed_in_nmi) {
        WATCHDOG->INTCLR = 1;
    } else {
        state.nmis = nmis;
    }
}

static volatile uint32_t timer_expired;

void TIMER0_Handler(void)
{
    TIMER0->INTSTATUS = 1;
    timer_expired = 1;
}

/* Sleep `cycles` of the APB clock, woken by Timer0's interrupt. */
static void wait_cycles(uint32_t cycles)
{
    timer_expired = 0;
    TIMER0->CTRL = 0;
    TIMER0->INTSTATUS = 1;
    TIMER0->RELOAD = cycles;
    NVIC_EnableIRQ(TIMER0_IRQn);
    TIMER0->CTRL = TIMER_CTRL_EN | TIMER_CTRL_IRQEN;
    while (!timer_expired) {
        __WFI();
    }
    TIMER0->CTRL = 0;
}

static void boot1(void)
{
    printf("watchdog: boot 1\n");
    printf("watchdog: PID0 0x%02lx CID1 0x%02lx\n", (unsigned long)*(volatile uint32_t *)(CMSDK_WATCHDOG_BASE + 0xFE0),
           (unsigned long)*(volatile uint32_t *)(CMSDK_WATCHDOG_BASE + 0xFF4));
    result("watchdog: reset values", WATCHDOG->LOAD == 0xFFFFFFFFUL && WATCHDOG->CTRL == 0 &&
                                         WATCHDOG->RIS == 0 && WATCHDOG->MIS == 0 && WATCHDOG->LOCK == 0);
    WATCHDOG->LOCK = 0;
    int locked = WATCHDOG->LOCK == 1;
    WATCHDOG->LOAD = 5;
    result("watchdog: locked, LOAD write ignored", locked && WATCHDOG->LOAD == 0xFFFFFFFFUL);
    WATCHDOG->LOCK = WATCHDOG_UNLOCK_KEY;
    WATCHDOG->LOAD = LOAD_50MS;
    result("watchdog: unlocked, LOAD written", WATCHDOG->LOCK == 0 && WATCHDOG->LOAD == LOAD_50MS);

    WATCHDOG->CTRL = WATCHDOG_CTRL_INTEN;
    for (int i = 0; i < 5; i++) {
        wait_cycles(WAIT_5MS);
        WATCHDOG->INTCLR = 1;
    }
    result("watchdog: fed every 5 ms for 25 ms, no timeout", nmis == 0 && WATCHDOG->RIS == 0);

    for (int i = 0; i < 30 && nmis == 0; i++) {
        wait_cycles(WAIT_5MS);
    }
    printf("watchdog: unfed: NMI %lu (MIS %lu)\n", (unsigned long)nmis, (unsigned long)nmi_mis);
    result("watchdog: the NMI handler's feed cleared RIS", WATCHDOG->RIS == 0);

    state.magic = BOOT_MAGIC;
    state.nmis = 0;
    feed_in_nmi = 0;
    nmis = 0;
    printf("watchdog: RESEN, not fed\n");
    WATCHDOG->LOAD = LOAD_50MS;
    WATCHDOG->CTRL = WATCHDOG_CTRL_INTEN | WATCHDOG_CTRL_RESEN;
    WATCHDOG->LOCK = 1; /* as RTOS code does once it has set the watchdog up */
    for (int i = 0; i < 60; i++) {
        wait_cycles(WAIT_5MS); /* the reset comes after two timeouts (about 100 ms) */
    }
    printf("watchdog: FAIL: no reset after 300 ms\n");
}

int main(void)
{
    if (state.magic != BOOT_MAGIC) {
        boot1();
        return 1;
    }
    state.magic = 0;
    printf("watchdog: boot 2 after the watchdog reset; NMIs before it: %lu\n", (unsigned long)state.nmis);
    result("watchdog: restored by the reset", WATCHDOG->CTRL == 0 && WATCHDOG->LOAD == 0xFFFFFFFFUL &&
                                                  WATCHDOG->RIS == 0 && WATCHDOG->LOCK == 0);
    printf("watchdog: done\n");
    return check_failures;
}
