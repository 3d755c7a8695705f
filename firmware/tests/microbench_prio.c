/*
 * microbench_prio: FreeRTOS's vPortValidateInterruptPriority, made in every
 * interrupt-safe API call: read an interrupt's NVIC priority byte and AIRCR's
 * PRIGROUP and check them against what was programmed. READS reads, half of
 * the byte (IRQ 9's, 0xE000E409) and half of AIRCR. scripts/bench events
 * divides the CPU time above microbench_idle's by READS.
 */
#include <stdio.h>

#include "bsp.h"

#define READS 2000000U
#define PRIO  0xA0U
#define GROUP 3UL

int main(void)
{
    uint32_t bad = 0;
    NVIC->IPR[9] = (uint8_t)PRIO;
    SCB->AIRCR = (0x05FAUL << 16) | (GROUP << SCB_AIRCR_PRIGROUP_Pos);
    for (uint32_t i = 0; i < READS / 2U; i++) {
        bad += NVIC->IPR[9] != PRIO;
        bad += (SCB->AIRCR & SCB_AIRCR_PRIGROUP_Msk) != (GROUP << SCB_AIRCR_PRIGROUP_Pos);
    }
    printf("microbench_prio: %s\n", bad == 0U ? "done" : "FAIL");
    return 0;
}
