/*
 * demo: what a new vboard user sees first. Identifies the board, prints its
 * memory map, then five lines paced by SysTick (one per 100 ms of board
 * time) while blinking the two FPGAIO user LEDs.
 */
#include <stdio.h>

#include "bsp.h"

#define TICK_HZ    10U /* 100 ms */
#define DEMO_TICKS 5U

void SysTick_Handler(void)
{
    systick_isr_tick();
}

static void region(const char *name, uint32_t base, uint32_t size)
{
    printf("  0x%08lx-0x%08lx  %-20s %5lu KiB\n", (unsigned long)base, (unsigned long)(base + size - 1U), name,
           (unsigned long)(size / 1024U));
}

int main(void)
{
    printf("vboard demo on MPS2-AN385\n");
    printf("CPU: Cortex-M3, CPUID 0x%08lx, %lu MHz\n", (unsigned long)SCB->CPUID,
           (unsigned long)(SystemCoreClock / 1000000U));
    printf("FPGA image: SCC ID 0x%08lx (%s)\n", (unsigned long)SCC->ID,
           SCC->ID == SCC_ID_AN385 ? "AN385" : "unknown");
    printf("Memory:\n");
    region("SSRAM1 (code)", MPS2_SSRAM1_BASE, MPS2_SSRAM1_SIZE);
    region("FPGA block RAM", MPS2_BLOCKRAM_BASE, MPS2_BLOCKRAM_SIZE);
    region("SSRAM2&3 (data)", MPS2_SSRAM23_BASE, MPS2_SSRAM23_SIZE);
    region("PSRAM", MPS2_PSRAM_BASE, MPS2_PSRAM_SIZE);
    printf("Devices: UART0 0x%08lx, timers 0x%08lx, FPGAIO 0x%08lx, ethernet 0x%08lx\n",
           (unsigned long)CMSDK_UART0_BASE, (unsigned long)CMSDK_TIMER0_BASE, (unsigned long)MPS2_FPGAIO_BASE,
           (unsigned long)MPS2_ETH_BASE);

    (void)systick_start(TICK_HZ, 1);
    for (uint32_t i = 1; i <= DEMO_TICKS; i++) {
        systick_wait_ticks(1);
        FPGAIO->LED0 = i & FPGAIO_LED0_Msk;
        printf("tick %lu/%u  LEDs %c%c\n", (unsigned long)i, DEMO_TICKS, (i & 1U) ? '*' : '.', (i & 2U) ? '*' : '.');
    }
    systick_stop();
    FPGAIO->LED0 = 0;
    printf("demo: done\n");
    return 0;
}
