/*
 * crash: main calls through a function pointer into unmapped memory, with
 * the BSP's default fault handlers (`b .`). The instruction fetch bus error
 * escalates to HardFault (BusFault is disabled at reset), whose handler
 * spins forever: QEMU hangs (expected); the vboard emulator detects the
 * dead loop and prints its fault report.
 */
#include <stdio.h>

#include "bsp.h"

#define UNMAPPED_CODE 0x60000000UL

int main(void)
{
    void (*volatile fn)(void) = (void (*)(void))(UNMAPPED_CODE | 1U); /* Thumb bit */
    printf("crash: calling 0x%08lx\n", (unsigned long)UNMAPPED_CODE);
    fn();
    printf("crash: still alive (FAIL)\n");
    return 1;
}
