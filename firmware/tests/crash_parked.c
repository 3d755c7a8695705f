/*
 * crash_parked: a board init stores to an address with nothing behind it;
 * the HardFault handler prints the status, masks interrupts and spins in a
 * halt function, as many BSPs do. QEMU hangs there (expected, exit by
 * timeout); vboard sees a fault handler that has not returned for 100 ms of
 * board time, spinning in one function, and stops with a report naming
 * `fault_halt`.
 */
#include <stdio.h>

#include "bsp.h"
#include "systick.h"

#define MISSING_BLOCK 0x60000000UL /* nothing on MPS2-AN385 (see fault_unmapped) */
#define TICK_HZ       1000U

volatile uint32_t fault_spins;

void SysTick_Handler(void)
{
    systick_isr_tick();
}

__attribute__((noreturn, noinline)) void fault_halt(void)
{
    __disable_irq();
    for (;;) {
        fault_spins++;
    }
}

void HardFault_Handler(void)
{
    printf("hardfault: CFSR=0x%08lx HFSR=0x%08lx BFAR=0x%08lx\n", (unsigned long)SCB->CFSR,
           (unsigned long)SCB->HFSR, (unsigned long)SCB->BFAR);
    printf("hardfault: halting\n");
    fault_halt();
}

int main(void)
{
    printf("crash_parked: start\n");
    systick_start(TICK_HZ, 1);
    systick_wait_ticks(2);
    *(volatile uint32_t *)MISSING_BLOCK = 1U; /* board init of a block this board lacks */
    printf("crash_parked: still alive (FAIL)\n");
    return 1;
}
