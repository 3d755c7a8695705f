/*
 * tickless: the BSP's tickless idle (systick_idle_ticks), checked against a
 * free-running Timer1 at the core clock as the reference.
 *
 *  1. Sleeps that run their full length: the tick count advances by exactly
 *     the ticks asked for, and the reference by that many ticks (less the
 *     part of the first tick already gone, and with a tick to spare for
 *     QEMU, whose timers follow a busy host's clock).
 *  2. Sleeps ended early by Timer0 at times that are not tick multiples: the
 *     tick count stays within one tick of the reference.
 *  3. Afterwards SysTick ticks at its normal period again, and over the whole
 *     run the tick count and the reference agree to within one tick.
 *
 * Only outcomes are printed, so the transcript is the same on QEMU (whose
 * timers follow the host clock) and vboard.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define TICK_HZ     1000U
#define TICK_CYCLES (MPS2_SYSCLK_HZ / TICK_HZ)
#define REF_RELOAD  0xFFFFFFFFUL

static volatile uint32_t early_irqs;


void SysTick_Handler(void)
{
    systick_isr_tick();
}

void TIMER0_Handler(void)
{
    TIMER0->INTSTATUS = TIMER_INT;
    TIMER0->CTRL = 0; /* one shot */
    early_irqs++;
}

static uint32_t ref_now(void)
{
    return (uint32_t)(REF_RELOAD - TIMER1->VALUE);
}

/* Ticks counted and reference cycles passed over one idle call of n ticks. */
static void idle(uint32_t n, uint32_t *ticks, uint32_t *cycles)
{
    __disable_irq();
    uint32_t t0 = systick_ticks(), r0 = ref_now();
    systick_idle_ticks(n);
    uint32_t r1 = ref_now();
    __enable_irq(); /* a SysTick pended at the end is counted here */
    __asm volatile("isb" ::: "memory");
    *ticks = systick_ticks() - t0;
    *cycles = r1 - r0;
}

static void full_sleeps(void)
{
    static const uint32_t lengths[] = {2, 3, 7, 16, 40, 250};
    int ok = 1;
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        uint32_t n = lengths[i], ticks, cycles;
        idle(n, &ticks, &cycles);
        /* The sleep starts inside a tick: between n - 1 and n ticks of cycles. */
        if (ticks != n || cycles + TICK_CYCLES / 10U < (n - 1U) * TICK_CYCLES ||
            cycles > (n + 1U) * TICK_CYCLES) {
            printf("tickless: %lu ticks asked, %lu counted, %lu cycles\n", (unsigned long)n,
                   (unsigned long)ticks, (unsigned long)cycles);
            ok = 0;
        }
    }
    result("tickless: full sleeps count every tick", ok);
}

static void early_wakes(void)
{
    /* Wake-ups 3.3, 7.7, 12.1 and 0.4 ticks into a 50-tick sleep. */
    static const uint32_t wake_at[] = {TICK_CYCLES * 33U / 10U, TICK_CYCLES * 77U / 10U,
                                       TICK_CYCLES * 121U / 10U, TICK_CYCLES * 4U / 10U};
    int ok = 1, woke = 1;
    NVIC_ClearPendingIRQ(TIMER0_IRQn);
    NVIC_EnableIRQ(TIMER0_IRQn);
    for (unsigned i = 0; i < sizeof wake_at / sizeof wake_at[0]; i++) {
        uint32_t before = early_irqs, ticks, cycles;
        uint32_t rt0 = ref_now(), tt0 = systick_ticks();
        TIMER0->CTRL = 0;
        TIMER0->INTSTATUS = TIMER_INT;
        TIMER0->RELOAD = wake_at[i];
        TIMER0->VALUE = wake_at[i];
        TIMER0->CTRL = TIMER_CTRL_EN | TIMER_CTRL_IRQEN;
        idle(50, &ticks, &cycles);
        woke &= early_irqs == before + 1U;
        /* The ticks counted since rt0 match the reference to within one tick. */
        uint32_t counted = systick_ticks() - tt0, passed = (ref_now() - rt0) / TICK_CYCLES;
        if (cycles >= 50U * TICK_CYCLES || counted + 1U < passed || counted > passed + 1U) {
            printf("tickless: wake %u: %lu ticks counted, %lu passed, %lu cycles slept\n", i,
                   (unsigned long)counted, (unsigned long)passed, (unsigned long)cycles);
            ok = 0;
        }
    }
    NVIC_DisableIRQ(TIMER0_IRQn);
    result("tickless: an interrupt ends the sleep", woke);
    result("tickless: early wakes keep the tick count", ok);
}

static void ticking_again(void)
{
    uint32_t r0 = ref_now();
    systick_wait_ticks(20);
    uint32_t cycles = ref_now() - r0;
    result("tickless: normal ticks resume", cycles >= 19U * TICK_CYCLES && cycles <= 21U * TICK_CYCLES);
}

int main(void)
{
    printf("tickless: start\n");
    TIMER1->CTRL = 0;
    TIMER1->RELOAD = REF_RELOAD;
    TIMER1->VALUE = REF_RELOAD;
    TIMER1->CTRL = TIMER_CTRL_EN;
    (void)systick_start(TICK_HZ, 1);
    uint32_t r0 = ref_now(), t0 = systick_ticks();
    full_sleeps();
    early_wakes();
    ticking_again();
    uint32_t ticks = systick_ticks() - t0, passed = (ref_now() - r0) / TICK_CYCLES;
    int ok = ticks + 1U >= passed && ticks <= passed + 1U;
    if (!ok) {
        printf("tickless: %lu ticks counted, %lu passed\n", (unsigned long)ticks, (unsigned long)passed);
    }
    result("tickless: tick count matches the reference over the run", ok);
    systick_stop();
    printf("tickless: %s\n", check_failures == 0 ? "all ok" : "FAIL");
    printf("tickless: done\n");
    return check_failures == 0 ? 0 : 1;
}
