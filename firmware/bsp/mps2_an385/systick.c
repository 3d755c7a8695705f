#include "systick.h"

#include "mps2_an385.h"

static volatile uint32_t tick_count;
static uint32_t tick_cycles; /* counter clocks per tick (LOAD + 1) while ticking */

systick_err_t systick_start(uint32_t hz, int with_irq)
{
    if (hz == 0U) {
        return SYSTICK_ERR_RANGE;
    }
    uint32_t reload = MPS2_SYSCLK_HZ / hz - 1U;
    if (reload == 0U || reload > SysTick_LOAD_Msk) {
        return SYSTICK_ERR_RANGE;
    }
    SysTick->CTRL = 0;
    tick_cycles = reload + 1U;
    SysTick->LOAD = reload;
    SysTick->VAL = 0; /* any write clears VAL and COUNTFLAG */
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_ENABLE | (with_irq ? SysTick_CTRL_TICKINT : 0U);
    return SYSTICK_OK;
}

void systick_stop(void)
{
    SysTick->CTRL = 0;
    SCB->ICSR = SCB_ICSR_PENDSTCLR;
}

uint32_t systick_ticks(void)
{
    return tick_count;
}

void systick_isr_tick(void)
{
    tick_count++;
}

void systick_wait_ticks(uint32_t n)
{
    uint32_t start = tick_count;
    while ((uint32_t)(tick_count - start) < n) {
        __WFI();
    }
}

/* Restart SysTick ticking with its first interrupt `first` clocks from now
 * (2 <= first <= per + 1). The counter loads LOAD one clock after the VAL write;
 * the tick period is set only once it has (QEMU's and vboard's counters both
 * see the two stores in the same instant otherwise). */
static void restart_ticking(uint32_t first)
{
    SysTick->LOAD = first - 1U;
    SysTick->VAL = 0;
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_TICKINT | SysTick_CTRL_ENABLE;
    while (SysTick->VAL == 0U) {
    }
    SysTick->LOAD = tick_cycles - 1U;
}

/* Tickless idle, as FreeRTOS's vPortSuppressTicksAndSleep and Mbed OS's
 * tickless mode do it: one SysTick period spans the whole sleep instead of one
 * interrupt per tick, and on waking the ticks that passed are added at once.
 * Called with PRIMASK set; any pending interrupt ends the sleep. */
void systick_idle_ticks(uint32_t n)
{
    const uint32_t ctrl = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_TICKINT;
    const uint32_t per = tick_cycles;
    if (n < 2U || per < 2U || (SysTick->CTRL & (ctrl | SysTick_CTRL_ENABLE)) != (ctrl | SysTick_CTRL_ENABLE)) {
        __WFI();
        return;
    }
    if (n > SysTick_LOAD_Msk / per) {
        n = SysTick_LOAD_Msk / per;
    }
    SysTick->CTRL = ctrl; /* stop: VAL holds the clocks left in this tick */
    const uint32_t left = SysTick->VAL;
    if ((SCB->ICSR & SCB_ICSR_PENDSTSET) != 0U || left < 2U) {
        SysTick->CTRL = ctrl | SysTick_CTRL_ENABLE; /* a tick is due now: take it */
        return;
    }
    /* Tick boundaries fall at left, left + per, ...; the n-th ends the sleep. */
    const uint32_t span = left + (n - 1U) * per;
    SysTick->LOAD = span - 1U;
    SysTick->VAL = 0;
    SysTick->CTRL = ctrl | SysTick_CTRL_ENABLE;
    do { /* WFI may also return with nothing pending (QEMU's does) */
        __asm volatile("dsb\n\twfi\n\tisb" ::: "memory");
    } while ((SCB->ICSR & SCB_ICSR_VECTPENDING_Msk) == 0U);
    /* Stop first, then look: a wrap between the look and the stop would be lost. The
     * write keeps COUNTFLAG; the read clears it. */
    SysTick->CTRL = ctrl;
    const uint32_t woke = SysTick->CTRL;
    const uint32_t val = SysTick->VAL;
    uint32_t ticks, next;
    if ((woke & SysTick_CTRL_COUNTFLAG) != 0U) {
        /* The whole span passed: the pending SysTick interrupt counts the last
         * boundary; the counter has run on from a reload of span - 1. */
        ticks = n - 1U;
        const uint32_t since = span - val;
        next = since < per ? per - since : per;
    } else {
        /* Another interrupt woke us. */
        const uint32_t elapsed = val == 0U ? span : span - val;
        if (elapsed < left) {
            ticks = 0;
            next = left - elapsed;
        } else {
            ticks = 1U + (elapsed - left) / per;
            next = per - (elapsed - left) % per;
        }
    }
    if (next < 2U) { /* the boundary is this clock or the next: count it now */
        ticks++;
        next += per;
        if (next > SysTick_LOAD_Msk) {
            next = per;
        }
    }
    tick_count += ticks;
    restart_ticking(next);
}
