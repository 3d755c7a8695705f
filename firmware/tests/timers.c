/*
 * timers: SysTick, CMSDK APB Timer0/Timer1, dual timer and FPGAIO counters.
 *
 * QEMU's timers follow the host clock and a cycle-exact engine's follow
 * instructions, so nothing measured is printed: only counts reached after
 * waiting for them, register semantics, and ratios with wide tolerances.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define SYSTICK_SLOW_RELOAD (MPS2_SYSCLK_HZ / 10U - 1U) /* 100 ms */
#define SYSTICK_HZ          1000U
#define SYSTICK_WAIT_TICKS  10U
#define TIMER0_RELOAD       (MPS2_SYSCLK_HZ / 1000U) /* 1 ms */
#define TIMER0_IRQS         5U
#define TIMER1_RELOAD       (MPS2_SYSCLK_HZ / 100U) /* 10 ms */
#define TIMER1_IRQS         3U
#define TIMER_FREE_RELOAD   0xFFFFFFFFUL
#define DT_PERIODIC_LOAD    (MPS2_SYSCLK_HZ / 1000U / 16U) /* ~1 ms at /16 */
#define DT_ONESHOT_LOAD     (MPS2_SYSCLK_HZ / 1000U * 3U)  /* 3 ms at /1 */
#define DT_PERIODIC_IRQS    10U
#define DT_RATIO_SPAN       (256U * 200U)
#define DT_RATIO_MIN        230U
#define DT_RATIO_MAX        282U
#define CLK100HZ_WAIT_TICKS 50U
#define SPIN_LIMIT          100000000UL



/* -------------------------------------------------------------- SysTick */
void SysTick_Handler(void)
{
    systick_isr_tick();
}

static void test_systick(void)
{
    SysTick->CTRL = 0;
    SysTick->LOAD = SYSTICK_SLOW_RELOAD;
    SysTick->VAL = 0;
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_ENABLE;
    result("systick: LOAD reads back", SysTick->LOAD == SYSTICK_SLOW_RELOAD);
    result("systick: VAL <= LOAD", SysTick->VAL <= SYSTICK_SLOW_RELOAD);

    uint32_t v1 = SysTick->VAL, v2 = v1;
    for (uint32_t i = 0; i < SPIN_LIMIT && v2 == v1; i++) {
        v2 = SysTick->VAL;
    }
    int wrapped = (SysTick->CTRL & SysTick_CTRL_COUNTFLAG) != 0U;
    result("systick: value decreasing", v2 < v1 || wrapped);

    uint32_t i = 0;
    while (!(SysTick->CTRL & SysTick_CTRL_COUNTFLAG) && i < SPIN_LIMIT) {
        i++;
    }
    result("systick: COUNTFLAG set after wrap", i < SPIN_LIMIT);
    result("systick: COUNTFLAG clears on read", (SysTick->CTRL & SysTick_CTRL_COUNTFLAG) == 0U);
    SysTick->CTRL = 0;

    (void)systick_start(SYSTICK_HZ, 1);
    systick_wait_ticks(SYSTICK_WAIT_TICKS);
    systick_stop();
    printf("systick: %u ticks ok\n", SYSTICK_WAIT_TICKS);
}

/* -------------------------------------------------------------- Timer0/1 */
static volatile uint32_t timer0_irqs, timer1_irqs;
static volatile uint32_t timer0_status_bad;

void TIMER0_Handler(void)
{
    if (!(TIMER0->INTSTATUS & TIMER_INT)) {
        timer0_status_bad++;
    }
    TIMER0->INTSTATUS = TIMER_INT; /* INTCLEAR */
    if (TIMER0->INTSTATUS & TIMER_INT) {
        timer0_status_bad++;
    }
    timer0_irqs++;
}

void TIMER1_Handler(void)
{
    TIMER1->INTSTATUS = TIMER_INT;
    timer1_irqs++;
}

static void test_timer0(void)
{
    TIMER0->CTRL = 0;
    TIMER0->RELOAD = TIMER_FREE_RELOAD;
    result("timer0: RELOAD reads back", TIMER0->RELOAD == TIMER_FREE_RELOAD);
    TIMER0->CTRL = TIMER_CTRL_EN;
    uint32_t v1 = TIMER0->VALUE, v2 = v1;
    for (uint32_t i = 0; i < SPIN_LIMIT && v2 == v1; i++) {
        v2 = TIMER0->VALUE;
    }
    result("timer0: value decreasing", v2 < v1);
    TIMER0->CTRL = 0;

    TIMER0->INTSTATUS = TIMER_INT;
    TIMER0->RELOAD = TIMER0_RELOAD;
    NVIC_ClearPendingIRQ(TIMER0_IRQn);
    NVIC_EnableIRQ(TIMER0_IRQn);
    TIMER0->CTRL = TIMER_CTRL_EN | TIMER_CTRL_IRQEN;
    while (timer0_irqs < TIMER0_IRQS) {
        __WFI();
    }
    TIMER0->CTRL = 0;
    NVIC_DisableIRQ(TIMER0_IRQn);
    printf("timer0: %u irqs ok\n", TIMER0_IRQS);
    result("timer0: INTSTATUS set in ISR, cleared by INTCLEAR", timer0_status_bad == 0U);
}

static void test_timer1(void)
{
    TIMER1->CTRL = 0;
    TIMER1->INTSTATUS = TIMER_INT;
    NVIC_DisableIRQ(TIMER1_IRQn);
    NVIC_ClearPendingIRQ(TIMER1_IRQn);
    TIMER1->RELOAD = TIMER1_RELOAD;
    TIMER1->CTRL = TIMER_CTRL_EN | TIMER_CTRL_IRQEN;
    uint32_t i = 0;
    while (!(TIMER1->INTSTATUS & TIMER_INT) && i < SPIN_LIMIT) {
        i++;
    }
    result("timer1: INTSTATUS set on wrap (polled)", i < SPIN_LIMIT);
    result("timer1: NVIC pending while disabled", NVIC_GetPendingIRQ(TIMER1_IRQn) == 1U);
    TIMER1->INTSTATUS = TIMER_INT;
    result("timer1: INTCLEAR clears INTSTATUS", (TIMER1->INTSTATUS & TIMER_INT) == 0U);
    NVIC_ClearPendingIRQ(TIMER1_IRQn);
    result("timer1: ICPR clears pending after INTCLEAR", NVIC_GetPendingIRQ(TIMER1_IRQn) == 0U);
    NVIC_EnableIRQ(TIMER1_IRQn);
    while (timer1_irqs < TIMER1_IRQS) {
        __WFI();
    }
    TIMER1->CTRL = 0;
    NVIC_DisableIRQ(TIMER1_IRQn);
    printf("timer1: %u irqs ok\n", TIMER1_IRQS);
}

/* ------------------------------------------------------------ dual timer */
static volatile uint32_t dt_irqs[2];

void DUALTIMER_Handler(void)
{
    for (unsigned t = 0; t < 2U; t++) {
        if (DUALTIMER->TIMER[t].MIS & DUALTIMER_INT) {
            DUALTIMER->TIMER[t].INTCLR = 1U;
            dt_irqs[t]++;
        }
    }
}

static void test_dualtimer(void)
{
    CMSDK_DUALTIMER_SINGLE_TypeDef *t1 = &DUALTIMER->TIMER[0];
    CMSDK_DUALTIMER_SINGLE_TypeDef *t2 = &DUALTIMER->TIMER[1];

    /* Prescale: timer 1 at /256 against timer 2 at /1, both 32-bit free running. */
    t1->CONTROL = 0;
    t2->CONTROL = 0;
    t1->LOAD = TIMER_FREE_RELOAD;
    t2->LOAD = TIMER_FREE_RELOAD;
    t1->CONTROL = DUALTIMER_CTRL_ENABLE | DUALTIMER_CTRL_SIZE32 | DUALTIMER_CTRL_PRESCALE_256;
    t2->CONTROL = DUALTIMER_CTRL_ENABLE | DUALTIMER_CTRL_SIZE32 | DUALTIMER_CTRL_PRESCALE_1;
    uint32_t a1 = t1->VALUE, a2 = t2->VALUE, b1 = a1, b2 = a2;
    for (uint32_t i = 0; i < SPIN_LIMIT && (a2 - b2) < DT_RATIO_SPAN; i++) {
        b1 = t1->VALUE;
        b2 = t2->VALUE;
    }
    uint32_t d1 = a1 - b1, d2 = a2 - b2;
    uint32_t ratio = d1 ? d2 / d1 : 0U;
    result("dualtimer: prescale /256 vs /1 ratio", ratio >= DT_RATIO_MIN && ratio <= DT_RATIO_MAX);
    t1->CONTROL = 0;
    t2->CONTROL = 0;

    /* RIS without INTEN: raw status set, masked status clear, no IRQ. */
    t2->INTCLR = 1U;
    t2->LOAD = TIMER0_RELOAD;
    t2->CONTROL = DUALTIMER_CTRL_ENABLE | DUALTIMER_CTRL_SIZE32 | DUALTIMER_CTRL_ONESHOT;
    uint32_t i = 0;
    while (!(t2->RIS & DUALTIMER_INT) && i < SPIN_LIMIT) {
        i++;
    }
    result("dualtimer: RIS set with INTEN clear", i < SPIN_LIMIT);
    result("dualtimer: MIS clear with INTEN clear", (t2->MIS & DUALTIMER_INT) == 0U);
    t2->CONTROL = 0;
    t2->INTCLR = 1U;
    result("dualtimer: INTCLR clears RIS", (t2->RIS & DUALTIMER_INT) == 0U);

    /* Periodic on timer 1, one-shot on timer 2, both interrupting. */
    NVIC_ClearPendingIRQ(DUALTIMER_IRQn);
    NVIC_EnableIRQ(DUALTIMER_IRQn);
    t1->LOAD = DT_PERIODIC_LOAD;
    result("dualtimer: LOAD reads back", t1->LOAD == DT_PERIODIC_LOAD);
    t2->LOAD = DT_ONESHOT_LOAD;
    t1->CONTROL = DUALTIMER_CTRL_ENABLE | DUALTIMER_CTRL_PERIODIC | DUALTIMER_CTRL_SIZE32 |
                  DUALTIMER_CTRL_PRESCALE_16 | DUALTIMER_CTRL_INTEN;
    t2->CONTROL = DUALTIMER_CTRL_ENABLE | DUALTIMER_CTRL_ONESHOT | DUALTIMER_CTRL_SIZE32 | DUALTIMER_CTRL_INTEN;
    while (dt_irqs[1] < 1U) {
        __WFI();
    }
    uint32_t seen = dt_irqs[0];
    while (dt_irqs[0] < seen + DT_PERIODIC_IRQS) {
        __WFI();
    }
    t1->CONTROL = 0;
    t2->CONTROL = 0;
    NVIC_DisableIRQ(DUALTIMER_IRQn);
    printf("dualtimer: periodic %u irqs ok\n", DT_PERIODIC_IRQS);
    result("dualtimer: oneshot fired exactly once", dt_irqs[1] == 1U);
    result("dualtimer: oneshot stopped at 0", t2->VALUE == 0U);
}

/* --------------------------------------------------------------- FPGAIO */
static void test_fpgaio(void)
{
    FPGAIO->CLK100HZ = 0;
    result("fpgaio: CLK100HZ write", FPGAIO->CLK100HZ < 2U);
    uint32_t c0 = FPGAIO->CLK100HZ;
    (void)systick_start(SYSTICK_HZ, 1);
    systick_wait_ticks(CLK100HZ_WAIT_TICKS);
    systick_stop();
    uint32_t d = FPGAIO->CLK100HZ - c0;
    /* 50 ms of board time: 5 counts; wide bounds for a host-clocked QEMU. */
    result("fpgaio: CLK100HZ advances", d >= 1U && d <= 100U);
}

int main(void)
{
    printf("timers: start\n");
    test_systick();
    test_timer0();
    test_timer1();
    test_dualtimer();
    test_fpgaio();
    printf("timers: %s\n", check_failures == 0 ? "all ok" : "FAIL");
    printf("timers: done\n");
    return check_failures == 0 ? 0 : 1;
}
