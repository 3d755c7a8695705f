/*
 * microbench_scsread: hot System Control Space reads. READS reads, half of
 * SysTick's VAL (a busy-wait or a timestamp) and half of SCB ICSR (an RTOS's
 * "in an interrupt?" check, FreeRTOS's vPortEnterCritical assert), with
 * SysTick running. scripts/bench events divides the CPU time above
 * microbench_idle's by READS.
 */
#include <stdio.h>

#include "bsp.h"

#define READS 2000000U
#define PER   25000U

int main(void)
{
    uint32_t bad = 0;
    SysTick->LOAD = PER - 1U;
    SysTick->VAL = 0;
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_ENABLE;
    for (uint32_t i = 0; i < READS / 2U; i++) {
        if (SysTick->VAL >= PER) { /* QEMU's counter may read the same twice: only the range */
            bad++;
        }
        bad += SCB->ICSR & SCB_ICSR_VECTACTIVE_Msk; /* thread mode: 0 */
    }
    SysTick->CTRL = 0;
    printf("microbench_scsread: %s\n", bad == 0U ? "done" : "FAIL");
    return 0;
}
