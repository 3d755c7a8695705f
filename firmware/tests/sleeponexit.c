/*
 * sleeponexit: SCR.SLEEPONEXIT with SysTick.
 *
 * main sets SLEEPONEXIT and sleeps. Each SysTick exception returns to
 * thread mode, so with SLEEPONEXIT the core goes back to sleep instead of
 * resuming main (ARMv7-M ARM B1.5.17). The N-th handler clears
 * SLEEPONEXIT; only then does main run again, and it finds count == N.
 *
 * QEMU 7.2 does not implement SLEEPONEXIT: its main resumes after tick 1.
 * So the UART0 transcript only holds facts true on both (main loops on WFI
 * until count == N); the tick at which main first resumed goes to the
 * semihosting console instead (QEMU: 1, ARMv7-M: N).
 */
#include <stdio.h>

#include "bsp.h"

#define TICKS   10U
#define TICK_HZ 1000U

static volatile uint32_t isr_count;

void SysTick_Handler(void)
{
    isr_count++;
    if (isr_count == TICKS) {
        SCB->SCR &= ~SCB_SCR_SLEEPONEXIT;
        SysTick->CTRL = 0; /* no more ticks after the last one */
    }
}

int main(void)
{
    printf("sleeponexit: start, %u ticks at %u Hz\n", TICKS, TICK_HZ);
    SCB->SCR |= SCB_SCR_SLEEPONEXIT;
    __DSB();
    (void)systick_start(TICK_HZ, 1);
    __WFI();
    uint32_t first_resume = isr_count;
    /* Keeps the transcript identical on an engine that ignores SLEEPONEXIT. */
    while (isr_count < TICKS) {
        __WFI();
    }
    /* Not on UART0: QEMU and the architecture disagree here (see above). */
    char msg[64];
    snprintf(msg, sizeof msg, "sleeponexit: main first resumed after tick %lu\n", (unsigned long)first_resume);
    semihost_write0(msg);
    printf("sleeponexit: %lu ticks %s\n", (unsigned long)isr_count, isr_count == TICKS ? "ok" : "FAIL");
    printf("sleeponexit: SCR.SLEEPONEXIT=%lu\n", (unsigned long)((SCB->SCR & SCB_SCR_SLEEPONEXIT) != 0U));
    printf("sleeponexit: done\n");
    return 0;
}
