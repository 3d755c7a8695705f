/*
 * crash_udf: an undefined instruction with the BSP's default fault handlers.
 * UsageFault is disabled at reset, so it escalates to HardFault, whose
 * default handler spins on `b .` (QEMU hangs; the emulator reports).
 */
#include <stdio.h>

#include "bsp.h"

int main(void)
{
    printf("crash_udf: executing udf #0\n");
    __asm volatile("udf #0");
    printf("crash_udf: still alive (FAIL)\n");
    return 1;
}
