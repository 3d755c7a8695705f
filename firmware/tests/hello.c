/* hello: first light. UART0 console, CPUID and SCC ID. */
#include <stdio.h>

#include "bsp.h"

int main(void)
{
    printf("Hello from vboard\n");
    printf("hello: CPUID  = 0x%08lx\n", (unsigned long)SCB->CPUID);
    printf("hello: SCC ID = 0x%08lx\n", (unsigned long)SCC->ID);
    printf("hello: cpuid %s\n", SCB->CPUID == CPUID_CORTEX_M3_R0P1 ? "ok" : "FAIL");
    printf("hello: scc id %s\n", SCC->ID == MPS2_SCC_ID ? "ok" : "FAIL");
    printf("hello: %d + %d = %d\n", 2, 40, 2 + 40);
    printf("hello: done\n");
    return 0;
}
