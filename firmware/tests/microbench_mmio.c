/*
 * microbench_mmio: hot device reads. READS loads of UART0 STATE in a tight
 * loop (a polled driver's status check). scripts/bench events divides the CPU
 * time above microbench_idle's by READS.
 */
#include <stdio.h>

#include "bsp.h"

#define READS 2000000U

int main(void)
{
    uint32_t seen = 0;
    for (uint32_t i = 0; i < READS; i++) {
        seen |= UART0->STATE;
    }
    /* An idle transmitter is never full: nothing was ever set. */
    printf("microbench_mmio: %s\n", (seen & UART_STATE_TXFULL) ? "FAIL" : "done");
    return 0;
}
