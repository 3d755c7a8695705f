/*
 * nvic_irqs: NVIC register banks past the first 32 interrupts, sized by ICTR.
 *
 * ICTR.INTLINESNUM gives the implemented banks of 32 IRQs minus one (32 on
 * the AN385, 64 on the AN511). The program runs on either:
 * - every bank past the implemented ones, and the bits of IRQs past the
 *   count in the last one, read zero and ignore writes (ISER, ISPR, IPR,
 *   STIR);
 * - with 64 IRQs or more: a vector table in RAM (VTOR) with handlers for
 *   IRQs 40 and 47; 40 pended through ISPR1 and 47 through STIR while
 *   PRIMASK is set, then unmasked: 47 (priority 0x40) runs first, 40 (0x80)
 *   tail-chains; each handler sees its own IPSR and IABR bit.
 */
#include <stdio.h>
#include <string.h>

#include "bsp.h"
#include "check.h"

#define ICTR     (*(volatile uint32_t *)0xE000E004UL)
#define ISER(n)  (((volatile uint32_t *)0xE000E100UL)[n])
#define ICER(n)  (((volatile uint32_t *)0xE000E180UL)[n])
#define ISPR(n)  (((volatile uint32_t *)0xE000E200UL)[n])
#define ICPR(n)  (((volatile uint32_t *)0xE000E280UL)[n])
#define IABR(n)  (((volatile uint32_t *)0xE000E300UL)[n])
#define IPR(n)   (((volatile uint8_t *)0xE000E400UL)[n])
#define IPRW(n)  (((volatile uint32_t *)0xE000E400UL)[n])
#define BANKS_MAX 16U
#define VECTORS   (16U + 64U)

typedef void (*vector_t)(void);
extern const vector_t __isr_vector[];

/* 80 vectors need 512-byte alignment (the next power of two of 320 bytes). */
static vector_t ram_vectors[VECTORS] __attribute__((aligned(512)));
static char order[8];
static volatile uint32_t order_len;
static volatile uint32_t ipsr_seen[2];
static volatile uint32_t iabr_seen[2];

static void irq40_handler(void)
{
    ipsr_seen[0] = __get_IPSR();
    iabr_seen[0] = IABR(1);
    order[order_len++] = 'A';
}

static void irq47_handler(void)
{
    ipsr_seen[1] = __get_IPSR();
    iabr_seen[1] = IABR(1);
    order[order_len++] = 'B';
}

/* Banks from `first_bank` on, and bits of IRQs >= num_irq in the bank that holds num_irq. */
static void check_absent(uint32_t num_irq)
{
    uint32_t first_bank = (num_irq + 31U) / 32U;
    int ok = 1;
    for (uint32_t b = first_bank; b < BANKS_MAX; b++) {
        ISER(b) = 0xFFFFFFFFUL;
        ISPR(b) = 0xFFFFFFFFUL;
        ok &= ISER(b) == 0 && ISPR(b) == 0 && IABR(b) == 0 && ICER(b) == 0 && ICPR(b) == 0;
        ICER(b) = 0xFFFFFFFFUL;
        ICPR(b) = 0xFFFFFFFFUL;
    }
    result("banks past ICTR read zero after writes", ok);
    IPRW(num_irq / 4U) = 0xC0C0C0C0UL;
    result("priority bytes past the count read zero", IPR(num_irq) == 0 && IPRW(num_irq / 4U) == 0);
    NVIC_STIR = num_irq;
    __DSB();
    __ISB();
    ok = 1;
    for (uint32_t b = 0; b < BANKS_MAX; b++) {
        ok &= ISPR(b) == 0;
    }
    result("STIR of a missing IRQ pends nothing", ok);
}

static void run_high_irqs(void)
{
    memcpy(ram_vectors, __isr_vector, (16U + MPS2_NUM_IRQS) * sizeof(vector_t));
    ram_vectors[16 + 40] = irq40_handler;
    ram_vectors[16 + 47] = irq47_handler;
    SCB->VTOR = (uint32_t)(uintptr_t)ram_vectors;
    __DSB();

    __disable_irq();
    IPR(40) = 0x80;
    IPR(47) = 0x40;
    result("IPR bytes of IRQ 40 and 47", IPR(40) == 0x80 && IPR(47) == 0x40 && (IPRW(11) >> 24) == 0x40);
    ISER(1) = (1UL << (40 - 32)) | (1UL << (47 - 32));
    printf("ISER1 0x%08lX\n", (unsigned long)ISER(1));
    ISPR(1) = 1UL << (40 - 32);
    NVIC_STIR = 47;
    __DSB();
    __ISB();
    printf("ISPR1 0x%08lX\n", (unsigned long)ISPR(1));
    printf("VECTPENDING %lu\n", (unsigned long)((SCB->ICSR >> 12) & 0x1FFUL));
    result("ISRPENDING", (SCB->ICSR >> 22) & 1UL);
    __enable_irq();
    __ISB();
    order[order_len] = '\0';
    printf("order %s\n", order);
    printf("IPSR in handlers %lu %lu\n", (unsigned long)ipsr_seen[1], (unsigned long)ipsr_seen[0]);
    printf("IABR1 in handlers 0x%08lX 0x%08lX\n", (unsigned long)iabr_seen[1], (unsigned long)iabr_seen[0]);
    result("nothing left pending or active", ISPR(1) == 0 && IABR(1) == 0);
    ICER(1) = 0xFFFFFFFFUL;
    result("ICER1 disables", ISER(1) == 0);
}

int main(void)
{
    uint32_t lines = ICTR & 0xFUL;
    uint32_t banks = lines + 1U;
    printf("nvic_irqs: ICTR.INTLINESNUM %lu (%lu IRQs)\n", (unsigned long)lines, (unsigned long)(32U * banks));
    check_absent(32U * banks);
    if (banks >= 2U) {
        run_high_irqs();
    } else {
        ISER(1) = 1UL << (47 - 32);
        result("IRQ 47 cannot be enabled with 32 IRQs", ISER(1) == 0);
    }
    printf("nvic_irqs: done\n");
    return check_failures;
}
