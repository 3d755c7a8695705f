/*
 * nested_irq: NVIC priorities, preemption, tail-chaining, BASEPRI,
 * PRIGROUP, IABR and PendSV.
 *
 * Uses IRQs 25..31 (GPIO port 0 pins on hardware, no device in QEMU),
 * pended by software through ISPR and STIR. Handlers append to a RAM log;
 * thread mode prints each scenario's log and compares it with the order the
 * ARMv7-M architecture defines. Priorities are multiples of 0x20 so that
 * they mean the same with 3 implemented bits (AN385) or 8 (QEMU).
 */
#include <stdio.h>
#include <string.h>

#include "bsp.h"

#define IRQ_LOW  PORT0_1_IRQn /* 25 */
#define IRQ_MID  PORT0_2_IRQn /* 26 */
#define IRQ_HIGH PORT0_3_IRQn /* 27 */
#define IRQ_A    PORT0_4_IRQn /* 28 */
#define IRQ_B    PORT0_5_IRQn /* 29 */
#define IRQ_C    PORT0_6_IRQn /* 30 */
#define IRQ_D    PORT0_7_IRQn /* 31 */
#define FIRST_IRQ 25U
#define LAST_IRQ  31U
#define IABR_TEST_MASK 0xFE000000UL /* IRQs 25..31 */

#define PRIO_HIGHEST 0x20U
#define PRIO_HIGH    0x40U
#define PRIO_MID     0x80U
#define PRIO_LOW     0xC0U
#define PRIO_LOWEST  0xE0U

#define PRIGROUP_NONE 0U /* group = [7:1], i.e. all of the 3 AN385 bits */
#define PRIGROUP_5    5U /* group = [7:6], subpriority = [5:0] */

#define SPIN_LIMIT 1000000U

/* ------------------------------------------------------------------ log */
static char log_buf[256];
static volatile uint32_t log_len;

static void log_str(const char *s)
{
    while (*s != '\0' && log_len < sizeof log_buf - 1U) {
        log_buf[log_len++] = *s++;
    }
    log_buf[log_len] = '\0';
}

static void log_num(char tag, uint32_t n)
{
    char t[8];
    t[0] = ' ';
    t[1] = tag;
    t[2] = (char)('0' + n / 10U);
    t[3] = (char)('0' + n % 10U);
    t[4] = '\0';
    log_str(t);
}

static void log_hex(const char *name, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    char t[20];
    log_str(" ");
    log_str(name);
    log_str("=");
    for (int i = 0; i < 8; i++) {
        t[i] = hex[(v >> (28 - 4 * i)) & 0xFU];
    }
    t[8] = '\0';
    log_str(t);
}

static void log_reset(void)
{
    log_len = 0;
    log_buf[0] = '\0';
}

static int failures;

static void check(const char *name, const char *expected)
{
    int ok = strcmp(log_buf, expected) == 0;
    printf("%s:%s\n", name, log_buf);
    printf("%s: %s\n", name, ok ? "ok" : "FAIL");
    if (!ok) {
        printf("%s: expected:%s\n", name, expected);
        failures++;
    }
    log_reset();
}

/* ------------------------------------------------------ ISR dispatching */
typedef void (*action_t)(uint32_t irq);
static action_t actions[MPS2_NUM_IRQS];
static volatile uint32_t done_flags;

/* The compiler barriers keep earlier stores (e.g. to `actions`) before the
 * pend: the core may take the interrupt right after the pending write. */
static void pend_stir(uint32_t irq)
{
    __asm volatile("" ::: "memory");
    NVIC_STIR = irq; /* software trigger: same as ISPR, by number */
    __DSB();
    __ISB();
}

static void pend_ispr(uint32_t irq)
{
    __asm volatile("" ::: "memory");
    NVIC_SetPendingIRQ((IRQn_Type)irq);
    __DSB();
    __ISB();
}

static void wait_flag(uint32_t irq)
{
    for (uint32_t i = 0; i < SPIN_LIMIT && !(done_flags & BIT(irq)); i++) {
    }
}

static void irq_body(uint32_t irq)
{
    log_num('+', irq);
    if (actions[irq] != NULL) {
        actions[irq](irq);
    }
    log_num('-', irq);
    done_flags |= BIT(irq);
}

void PORT0_1_Handler(void) { irq_body(25); }
void PORT0_2_Handler(void) { irq_body(26); }
void PORT0_3_Handler(void) { irq_body(27); }
void PORT0_4_Handler(void) { irq_body(28); }
void PORT0_5_Handler(void) { irq_body(29); }
void PORT0_6_Handler(void) { irq_body(30); }
void PORT0_7_Handler(void) { irq_body(31); }

void PendSV_Handler(void)
{
    log_str(" +pendsv -pendsv");
}

static void set_prigroup(uint32_t g)
{
    uint32_t v = SCB->AIRCR & ~(SCB_AIRCR_VECTKEY_Msk | SCB_AIRCR_PRIGROUP_Msk);
    SCB->AIRCR = v | SCB_AIRCR_VECTKEY | (g << SCB_AIRCR_PRIGROUP_Pos);
    __DSB();
}

static void reset_scenario(void)
{
    memset(actions, 0, sizeof actions);
    done_flags = 0;
    log_reset();
}

/* ------------------------------------------------ 1. nested preemption */
static void act_low(uint32_t irq)
{
    (void)irq;
    pend_stir(IRQ_MID);
    wait_flag(IRQ_MID);
}

static void act_mid(uint32_t irq)
{
    (void)irq;
    pend_ispr(IRQ_HIGH);
    wait_flag(IRQ_HIGH);
}

static void act_high(uint32_t irq)
{
    (void)irq;
    log_hex("iabr", NVIC->IABR[0] & IABR_TEST_MASK);
    log_hex("vectactive", SCB->ICSR & SCB_ICSR_VECTACTIVE_Msk);
}

static void scenario_nesting(void)
{
    reset_scenario();
    NVIC_SetPriority(IRQ_LOW, PRIO_LOW);
    NVIC_SetPriority(IRQ_MID, PRIO_MID);
    NVIC_SetPriority(IRQ_HIGH, PRIO_HIGH);
    actions[IRQ_LOW] = act_low;
    actions[IRQ_MID] = act_mid;
    actions[IRQ_HIGH] = act_high;
    pend_ispr(IRQ_LOW);
    wait_flag(IRQ_LOW);
    /* IABR: 25, 26, 27 active while 27 runs; VECTACTIVE = 16 + 27 = 43 */
    check("nesting", " +25 +26 +27 iabr=0e000000 vectactive=0000002b -27 -26 -25");
}

/* ------------------------------------------------ 2. tail-chaining */
static void act_vectpending(uint32_t irq)
{
    (void)irq;
    log_hex("vectpending", (SCB->ICSR & SCB_ICSR_VECTPENDING_Msk) >> SCB_ICSR_VECTPENDING_Pos);
}

static void scenario_tailchain(void)
{
    reset_scenario();
    NVIC_SetPriority(IRQ_A, PRIO_MID);
    NVIC_SetPriority(IRQ_B, PRIO_HIGH);
    actions[IRQ_B] = act_vectpending;
    __disable_irq();
    pend_ispr(IRQ_A);
    pend_ispr(IRQ_B);
    uint32_t pend = NVIC->ISPR[0] & IABR_TEST_MASK;
    __enable_irq();
    __ISB();
    wait_flag(IRQ_A);
    log_hex("ispr_masked", pend);
    /* both pending under PRIMASK; 29 (higher) first, 28 chained after it;
     * inside 29, VECTPENDING = 16 + 28 = 44 */
    check("tailchain", " +29 vectpending=0000002c -29 +28 -28 ispr_masked=30000000");
}

/* ------------------------------------------------ 3. BASEPRI */
static void scenario_basepri(void)
{
    reset_scenario();
    NVIC_SetPriority(IRQ_C, PRIO_MID);
    NVIC_SetPriority(IRQ_D, PRIO_HIGH);
    __set_BASEPRI(PRIO_MID); /* masks priority values >= 0x80 */
    __ISB();
    pend_ispr(IRQ_C);
    pend_ispr(IRQ_D);
    wait_flag(IRQ_D);
    uint32_t still = NVIC_GetPendingIRQ(IRQ_C);
    log_str(still ? " 30-still-pending" : " 30-not-pending");
    __set_BASEPRI(0);
    __ISB();
    wait_flag(IRQ_C);
    check("basepri", " +31 -31 30-still-pending +30 -30");
}

/* ------------------------------------------------ 4. PRIGROUP */
static void act_pend_sub(uint32_t irq)
{
    (void)irq;
    pend_ispr(IRQ_LOW); /* priority 0x40: same group as 0x60 with PRIGROUP 5 */
    for (volatile uint32_t i = 0; i < 100U; i++) {
    }
    log_str(NVIC_GetPendingIRQ(IRQ_LOW) ? " 25-pending" : " 25-taken");
}

static void scenario_prigroup(void)
{
    reset_scenario();
    NVIC_SetPriority(IRQ_LOW, PRIO_HIGH);         /* 0x40: group 1, sub 0 */
    NVIC_SetPriority(IRQ_MID, PRIO_HIGH + 0x20U); /* 0x60: group 1, sub 1 */
    actions[IRQ_MID] = act_pend_sub;

    set_prigroup(PRIGROUP_5);
    pend_ispr(IRQ_MID);
    wait_flag(IRQ_LOW);
    check("prigroup5", " +26 25-pending -26 +25 -25");

    reset_scenario();
    actions[IRQ_MID] = act_pend_sub;
    set_prigroup(PRIGROUP_NONE);
    pend_ispr(IRQ_MID);
    wait_flag(IRQ_MID);
    check("prigroup0", " +26 +25 -25 25-taken -26");

    /* With both pending, subpriority picks the order. */
    reset_scenario();
    set_prigroup(PRIGROUP_5);
    __disable_irq();
    pend_ispr(IRQ_MID);
    pend_ispr(IRQ_LOW);
    __enable_irq();
    __ISB();
    wait_flag(IRQ_MID);
    check("subpriority", " +25 -25 +26 -26");
    set_prigroup(PRIGROUP_NONE);
}

/* ------------------------------------------------ 5. PendSV last */
static void act_pendsv(uint32_t irq)
{
    (void)irq;
    SCB->ICSR = SCB_ICSR_PENDSVSET;
    pend_ispr(IRQ_A);
    log_str(" pendsv-pending");
}

static void scenario_pendsv(void)
{
    reset_scenario();
    NVIC_SetPriority(IRQ_HIGH, PRIO_HIGH);
    NVIC_SetPriority(IRQ_A, PRIO_MID);
    actions[IRQ_HIGH] = act_pendsv;
    pend_ispr(IRQ_HIGH);
    wait_flag(IRQ_A);
    while (SCB->ICSR & SCB_ICSR_PENDSVSET) {
    }
    check("pendsv", " +27 pendsv-pending -27 +28 -28 +pendsv -pendsv");
}

int main(void)
{
    printf("nested_irq: start\n");
    SCB_SetSystemPriority(EXC_PENDSV, PRIO_LOWEST);
    for (uint32_t irq = FIRST_IRQ; irq <= LAST_IRQ; irq++) {
        NVIC_ClearPendingIRQ((IRQn_Type)irq);
        NVIC_EnableIRQ((IRQn_Type)irq);
    }
    scenario_nesting();
    scenario_tailchain();
    scenario_basepri();
    scenario_prigroup();
    scenario_pendsv();
    printf("nested_irq: %s\n", failures == 0 ? "all ok" : "FAIL");
    printf("nested_irq: done\n");
    return failures == 0 ? 0 : 1;
}
