/*
 * systick_countflag: SysTick's COUNTFLAG through the writes that must keep it.
 * Only a read of CSR or a write of CVR clears it (ARMv7-M B3.3.3). FreeRTOS's
 * tickless idle (vPortSuppressTicksAndSleep) relies on that: it stops SysTick
 * with a CSR write and only then reads COUNTFLAG to learn whether the whole
 * sleep passed. Each check waits for the counter to wrap (seen in CVR, never in
 * CSR), makes one write and reads CSR. No interrupt is enabled, and the waits
 * follow the counter, so the transcript is the same on QEMU, whose SysTick
 * follows the host clock.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define RELOAD  999U
#define CLKCORE SysTick_CTRL_CLKSOURCE

/* Until CVR goes up from below: the counter passed 0 and reloaded. The load of
 * RELOAD that follows a CVR write is not a wrap, so the wait starts once CVR left 0.
 * 0 on a counter that never wraps. */
static int wait_wrap(void)
{
    uint32_t i = 0;
    while (SysTick->VAL == 0U) {
        if (++i == 10000000U) {
            return 0;
        }
    }
    uint32_t prev = SysTick->VAL;
    for (; i < 20000000U; i++) {
        uint32_t v = SysTick->VAL;
        if (v > prev) {
            return 1;
        }
        prev = v;
    }
    return 0;
}

/* Counting from RELOAD down at the core clock; COUNTFLAG clear (the CVR write). */
static void start(void)
{
    SysTick->CTRL = 0;
    SysTick->LOAD = RELOAD;
    SysTick->VAL = 0;
    SysTick->CTRL = CLKCORE | SysTick_CTRL_ENABLE;
}

static int flag(void)
{
    return (SysTick->CTRL & SysTick_CTRL_COUNTFLAG) != 0U;
}

int main(void)
{
    printf("systick_countflag: start\n");

    start();
    int wrapped = wait_wrap();
    int first = flag();
    result("systick_countflag: a wrap sets COUNTFLAG and a CSR read clears it", wrapped && first && !flag());

    start();
    wrapped = wait_wrap();
    SysTick->CTRL = CLKCORE; /* stop, as FreeRTOS's tickless idle does before it looks */
    first = flag();
    result("systick_countflag: a stopping CSR write keeps it", wrapped && first && !flag());

    start();
    wrapped = wait_wrap();
    SysTick->CTRL = CLKCORE | SysTick_CTRL_ENABLE; /* the same value again */
    result("systick_countflag: a CSR write of the same value keeps it", wrapped && flag());

    start();
    wrapped = wait_wrap();
    SysTick->LOAD = RELOAD;
    result("systick_countflag: an RVR write keeps it", wrapped && flag());

    start();
    wrapped = wait_wrap();
    SysTick->VAL = 0;
    result("systick_countflag: a CVR write clears it", wrapped && !flag());

    SysTick->CTRL = 0;
    printf("systick_countflag: done\n");
    return check_failures;
}
