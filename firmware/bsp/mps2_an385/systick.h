/* SysTick on the core clock (CLKSOURCE=1, 25 MHz). */
#ifndef SYSTICK_H
#define SYSTICK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SYSTICK_OK = 0,
    SYSTICK_ERR_RANGE = -1,
} systick_err_t;

/* Start SysTick wrapping `hz` times a second, with or without its interrupt.
 * The BSP does not own SysTick_Handler: a program defines it and calls
 * systick_isr_tick() there to feed systick_ticks()/systick_wait_ticks(). */
systick_err_t systick_start(uint32_t hz, int with_irq);
void systick_stop(void);
/* Ticks counted by systick_isr_tick(). */
uint32_t systick_ticks(void);
/* Call from SysTick_Handler to count a tick. */
void systick_isr_tick(void);
/* Sleep (WFI) until at least n more ticks have been counted. */
void systick_wait_ticks(uint32_t n);
/* With interrupts masked (PRIMASK): sleep up to n ticks with no tick
 * interrupt in between (tickless idle), or until any interrupt is pending;
 * the tick count is brought up to date before it returns. n < 2, or SysTick
 * not ticking with its interrupt, is one plain WFI. */
void systick_idle_ticks(uint32_t n);

#ifdef __cplusplus
}
#endif

#endif
