/*
 * fault_div0: integer divide by zero on ARMv7-M.
 *
 * With CCR.DIV_0_TRP clear, SDIV/UDIV by zero return 0 (ARMv7-M ARM A7.7.127,
 * A7.7.195). With DIV_0_TRP set they raise UsageFault with CFSR.DIVBYZERO
 * (bit 25). The dividing instructions sit in tiny asm functions, so the
 * stacked PC is exactly the function's address and the handler can skip the
 * 4-byte instruction and resume.
 */
#include <stdio.h>

#include "bsp.h"
#include "fault_common.h"

/* r0 = r0 / r1 */
uint32_t do_sdiv(uint32_t a, uint32_t b);
uint32_t do_udiv(uint32_t a, uint32_t b);
__asm(".text\n.thumb_func\n.global do_sdiv\n.type do_sdiv, %function\n"
      "do_sdiv: sdiv r0, r0, r1\n bx lr\n"
      ".thumb_func\n.global do_udiv\n.type do_udiv, %function\n"
      "do_udiv: udiv r0, r0, r1\n bx lr\n");

#define DIV_FAULT_RESULT 0xD0D0D0D0UL
#define THUMB32_LEN 4U

static volatile uint32_t faults;

FAULT_TRAMPOLINE(UsageFault_Handler, usagefault_c)
void usagefault_c(exc_frame_t *frame)
{
    uint32_t cfsr = SCB->CFSR;
    const char *fn = "?";
    uint32_t base = 0;
    if ((frame->pc & ~1UL) == fn_addr((void (*)(void))do_sdiv)) {
        fn = "do_sdiv";
        base = fn_addr((void (*)(void))do_sdiv);
    } else if ((frame->pc & ~1UL) == fn_addr((void (*)(void))do_udiv)) {
        fn = "do_udiv";
        base = fn_addr((void (*)(void))do_udiv);
    }
    printf("usagefault: CFSR=0x%08lx%s pc=%s+%lu\n", (unsigned long)cfsr,
           (cfsr & SCB_CFSR_DIVBYZERO) ? " DIVBYZERO" : "", fn, (unsigned long)(frame->pc - base));
    SCB->CFSR = cfsr; /* W1C */
    frame->r0 = DIV_FAULT_RESULT;
    frame->pc += THUMB32_LEN;
    faults++;
}

int main(void)
{
    volatile uint32_t seven = 7, zero = 0;

    printf("fault_div0: start\n");
    SCB->CCR &= ~SCB_CCR_DIV_0_TRP;
    printf("trap off: sdiv 7/0 = %lu\n", (unsigned long)do_sdiv(seven, zero));
    printf("trap off: udiv 7/0 = %lu\n", (unsigned long)do_udiv(seven, zero));
    printf("trap off: faults = %lu\n", (unsigned long)faults);

    SCB->SHCSR |= SCB_SHCSR_USGFAULTENA;
    SCB->CCR |= SCB_CCR_DIV_0_TRP;
    __DSB();
    __ISB();
    printf("trap on: sdiv 7/2 = %lu\n", (unsigned long)do_sdiv(seven, 2));
    uint32_t r = do_sdiv(seven, zero);
    printf("trap on: sdiv 7/0 -> 0x%08lx\n", (unsigned long)r);
    r = do_udiv(seven, zero);
    printf("trap on: udiv 7/0 -> 0x%08lx\n", (unsigned long)r);
    printf("trap on: faults = %lu\n", (unsigned long)faults);
    printf("fault_div0: %s\n", faults == 2 ? "ok" : "FAIL");
    printf("fault_div0: done\n");
    return 0;
}
