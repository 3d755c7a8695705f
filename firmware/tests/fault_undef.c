/*
 * fault_undef: undefined instruction (UDF #0, 0xDE00).
 *
 * 1. SHCSR.USGFAULTENA set: UsageFault with CFSR.UNDEFINSTR (0x00010000).
 * 2. USGFAULTENA clear: the fault escalates to HardFault, HFSR.FORCED
 *    (0x40000000) set, CFSR.UNDEFINSTR still recorded.
 * The UDF sits at the first instruction of undef_fn, so the stacked PC is
 * undef_fn+0; the handlers skip the 2-byte instruction and return.
 */
#include <stdio.h>

#include "bsp.h"
#include "fault_common.h"

uint32_t undef_fn(uint32_t x);
__asm(".text\n.thumb_func\n.global undef_fn\n.type undef_fn, %function\n"
      "undef_fn: udf #0\n bx lr\n");

#define THUMB16_LEN 2U
#define FAULT_MARK  0xBADC0DEUL

static volatile uint32_t usage_faults, hard_faults;

static void report(const char *who, const exc_frame_t *frame)
{
    uint32_t cfsr = SCB->CFSR;
    uint32_t base = fn_addr((void (*)(void))undef_fn);
    printf("%s: CFSR=0x%08lx%s HFSR=0x%08lx%s\n", who, (unsigned long)cfsr,
           (cfsr & SCB_CFSR_UNDEFINSTR) ? " UNDEFINSTR" : "", (unsigned long)SCB->HFSR,
           (SCB->HFSR & SCB_HFSR_FORCED) ? " FORCED" : "");
    if ((frame->pc & ~1UL) == base) {
        printf("%s: stacked pc = undef_fn+0\n", who);
    } else {
        printf("%s: stacked pc = 0x%08lx (not undef_fn)\n", who, (unsigned long)frame->pc);
    }
}

FAULT_TRAMPOLINE(UsageFault_Handler, usagefault_c)
void usagefault_c(exc_frame_t *frame)
{
    report("usagefault", frame);
    SCB->CFSR = SCB->CFSR; /* W1C */
    frame->r0 = FAULT_MARK;
    frame->pc += THUMB16_LEN;
    usage_faults++;
}

FAULT_TRAMPOLINE(HardFault_Handler, hardfault_c)
void hardfault_c(exc_frame_t *frame)
{
    report("hardfault", frame);
    SCB->CFSR = SCB->CFSR; /* W1C */
    SCB->HFSR = SCB->HFSR; /* W1C */
    frame->r0 = FAULT_MARK;
    frame->pc += THUMB16_LEN;
    hard_faults++;
}

int main(void)
{
    printf("fault_undef: start\n");

    SCB->SHCSR |= SCB_SHCSR_USGFAULTENA;
    __DSB();
    uint32_t r = undef_fn(1);
    printf("after usagefault: r0 = 0x%08lx, usage=%lu hard=%lu\n", (unsigned long)r,
           (unsigned long)usage_faults, (unsigned long)hard_faults);

    SCB->SHCSR &= ~SCB_SHCSR_USGFAULTENA;
    __DSB();
    r = undef_fn(2);
    printf("after hardfault: r0 = 0x%08lx, usage=%lu hard=%lu\n", (unsigned long)r,
           (unsigned long)usage_faults, (unsigned long)hard_faults);
    printf("CFSR=0x%08lx HFSR=0x%08lx after clearing\n", (unsigned long)SCB->CFSR,
           (unsigned long)SCB->HFSR);
    printf("fault_undef: %s\n", (usage_faults == 1 && hard_faults == 1) ? "ok" : "FAIL");
    printf("fault_undef: done\n");
    return 0;
}
