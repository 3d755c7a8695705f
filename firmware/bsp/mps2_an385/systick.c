#include "systick.h"

#include "mps2_an385.h"

static volatile uint32_t tick_count;

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
