/*
 * microbench_tick: idle SysTick ticks. SysTick interrupts at 10 kHz while the
 * core sleeps in WFI; each tick takes the exception, counts, returns and
 * sleeps again. scripts/bench events divides the CPU time above
 * microbench_idle's by TICKS.
 */
#include <stdio.h>

#include "bsp.h"

#define TICK_HZ 10000U
#define TICKS   30000U

void SysTick_Handler(void)
{
    systick_isr_tick();
}

int main(void)
{
    if (systick_start(TICK_HZ, 1) != SYSTICK_OK) {
        printf("microbench_tick: FAIL systick_start\n");
        return 1;
    }
    systick_wait_ticks(TICKS);
    systick_stop();
    printf("microbench_tick: %s\n", systick_ticks() >= TICKS ? "done" : "FAIL");
    return 0;
}
