/*
 * microbench_systick: the SysTick traffic of a tickless idle loop without its
 * sleeps. ROUNDS rounds of the register accesses systick_idle_ticks makes
 * around a WFI (FreeRTOS's vPortSuppressTicksAndSleep and Mbed OS's tickless
 * mode make the same): stop the counter, read VAL and ICSR, program a span,
 * restart, read CTRL (COUNTFLAG), stop, read VAL, program the next tick,
 * restart: 5 CTRL, 2 LOAD and 2 VAL writes, 2 VAL, 1 ICSR and 1 CTRL reads a round.
 * scripts/bench events divides the CPU time above microbench_idle's by ROUNDS.
 */
#include <stdio.h>

#include "bsp.h"

#define ROUNDS 100000U
#define PER    25000U /* a 1 kHz tick at 25 MHz */

int main(void)
{
    const uint32_t ctrl = SysTick_CTRL_CLKSOURCE; /* no TICKINT: nothing is taken */
    uint32_t bad = 0;
    SysTick->LOAD = PER - 1U;
    SysTick->VAL = 0;
    SysTick->CTRL = ctrl | SysTick_CTRL_ENABLE;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        SysTick->CTRL = ctrl;                        /* stop */
        const uint32_t left = SysTick->VAL;
        if ((SCB->ICSR & SCB_ICSR_PENDSTSET) != 0U) { /* never: TICKINT is clear */
            bad++;
        }
        SysTick->LOAD = left + 3U * PER - 1U;        /* a span of a few ticks */
        SysTick->VAL = 0;
        SysTick->CTRL = ctrl | SysTick_CTRL_ENABLE;
        (void)SysTick->CTRL;                         /* COUNTFLAG */
        SysTick->CTRL = ctrl;
        const uint32_t val = SysTick->VAL;
        SysTick->LOAD = PER - 1U;
        SysTick->VAL = 0;
        SysTick->CTRL = ctrl | SysTick_CTRL_ENABLE;
        if (val > left + 3U * PER) { /* 0 when the restart and the stop fall in one instant */
            bad++;
        }
    }
    SysTick->CTRL = 0;
    printf("microbench_systick: %s\n", bad == 0U ? "done" : "FAIL");
    return 0;
}
