/*
 * gpio: the CMSDK AHB GPIO blocks (0x40010000-0x40013FFF) as firmware sees them.
 *
 * QEMU 7.2 maps these windows as read-as-zero placeholders, vboard as models,
 * so the transcript has two kinds of lines. Lines starting "gpio:" must be the
 * same on both machines (the accesses complete, nothing faults, the wait for
 * a button ends). Lines starting "gpio-model:" describe the model and appear
 * only where the registers hold what was written (vboard; real hardware):
 *   - reset values, OUTEN set/clear, DATAOUT and DATA read back through the
 *     pins, the MASKLOWBYTE/MASKHIGHBYTE views;
 *   - an edge interrupt made by toggling an output pin (the interrupt logic
 *     watches the pin): the combined PORT0 IRQ runs its handler and the
 *     pin's own NVIC line pends; a level interrupt that holds until masked;
 *   - LEDs on GPIO1 pins 8 and 9 (outputs the host can read).
 * Then it waits up to 50 SysTick ms for a button: a rising edge on GPIO1
 * pin 0, driven by the host (vboard: CmsdkAhbGpio.set_input). Without one it
 * prints "gpio: no button", with one "gpio: button pressed".
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define PIN(n) BIT(n)

static volatile uint32_t port0_entries, port0_status, port1_entries;

void PORT0_ALL_Handler(void)
{
    uint32_t status = GPIO0->INTSTATUS;
    port0_status |= status;
    port0_entries++;
    GPIO0->INTSTATUS = status; /* INTCLEAR: clears edges */
    GPIO0->INTENCLR = status & ~GPIO0->INTTYPESET; /* a level holds: mask it */
}

void SysTick_Handler(void)
{
    systick_isr_tick();
}

void PORT1_ALL_Handler(void)
{
    port1_entries++;
    GPIO1->INTSTATUS = GPIO1->INTSTATUS;
}

static int all_zero(CMSDK_GPIO_TypeDef *g)
{
    return g->DATAOUT == 0 && g->OUTENSET == 0 && g->ALTFUNCSET == 0 && g->INTENSET == 0 &&
           g->INTTYPESET == 0 && g->INTPOLSET == 0 && g->INTSTATUS == 0;
}

static void model_checks(void)
{
    CMSDK_GPIO_TypeDef *g = GPIO0;
    g->OUTENCLR = 0xFFFF;
    result("gpio-model: reset values", all_zero(GPIO1) && all_zero(GPIO2) && all_zero(GPIO3));
    g->OUTENSET = 0x00FF;
    g->OUTENSET = 0x0F00;
    g->OUTENCLR = 0x0003;
    printf("gpio-model: OUTEN 0x%04lx\n", (unsigned long)g->OUTENSET);
    g->DATAOUT = 0xA5A5;
    printf("gpio-model: DATAOUT 0x%04lx DATA 0x%04lx\n", (unsigned long)g->DATAOUT, (unsigned long)(g->DATA & 0x0FFC));
    printf("gpio-model: MASKLOWBYTE[0x0F] 0x%02lx MASKHIGHBYTE[0x0F] 0x%04lx\n",
           (unsigned long)g->MASKLOWBYTE[0x0F], (unsigned long)g->MASKHIGHBYTE[0x0F]);
    g->MASKLOWBYTE[0xF0] = 0x0000; /* clears DATAOUT bits 7:4 only */
    printf("gpio-model: DATAOUT after masked write 0x%04lx\n", (unsigned long)g->DATAOUT);
    g->OUTENCLR = 0xFFFF;
    g->DATAOUT = 0;

    /* Edge interrupt from pin 2 driven by the CPU itself: falling edge. */
    g->OUTENSET = PIN(2);
    g->DATAOUT = PIN(2);
    g->INTTYPESET = PIN(2);
    g->INTPOLCLR = PIN(2);
    g->INTENSET = PIN(2);
    NVIC_ClearPendingIRQ((IRQn_Type)(MPS2_GPIO0_PIN0_IRQn + 2));
    NVIC_EnableIRQ(PORT0_ALL_IRQn);
    result("gpio-model: no interrupt before the edge", port0_entries == 0);
    g->DATAOUT = 0; /* falling edge */
    __DSB();
    __ISB();
    result("gpio-model: falling edge ran the PORT0 handler once", port0_entries == 1 && port0_status == PIN(2));
    result("gpio-model: pin 2 line pended its own IRQ", NVIC_GetPendingIRQ((IRQn_Type)(MPS2_GPIO0_PIN0_IRQn + 2)));
    NVIC_ClearPendingIRQ((IRQn_Type)(MPS2_GPIO0_PIN0_IRQn + 2));
    g->DATAOUT = PIN(2); /* rising: not the selected edge */
    __DSB();
    __ISB();
    result("gpio-model: rising edge ignored", port0_entries == 1);
    g->INTENCLR = PIN(2);

    /* Level interrupt, active high on pin 3: holds until the handler masks it. */
    port0_status = 0;
    g->OUTENSET = PIN(3);
    g->INTTYPECLR = PIN(3);
    g->INTPOLSET = PIN(3);
    g->INTENSET = PIN(3);
    g->DATAOUT = PIN(2) | PIN(3);
    __DSB();
    __ISB();
    result("gpio-model: high level ran the handler", port0_entries == 2 && port0_status == PIN(3));
    g->INTSTATUS = PIN(3);
    result("gpio-model: INTCLEAR leaves an active level", (g->INTSTATUS & PIN(3)) == 0 && g->INTENSET == 0);
    NVIC_DisableIRQ(PORT0_ALL_IRQn);
    g->OUTENCLR = 0xFFFF;
    g->DATAOUT = 0;

    /* LEDs: GPIO1 pins 8 and 9 as outputs, LED 0 on. */
    GPIO1->OUTENSET = PIN(8) | PIN(9);
    GPIO1->DATAOUT = PIN(8);
    printf("gpio-model: LEDs 0x%04lx\n", (unsigned long)(GPIO1->DATA & (PIN(8) | PIN(9))));
}

int main(void)
{
    printf("gpio: start\n");
    /* What an RTOS board init does first: hand the UART pins to their alternate function. */
    GPIO0->ALTFUNCSET = PIN(0) | PIN(4);
    GPIO1->ALTFUNCSET = PIN(7);
    printf("gpio: registers reachable\n");
    int modelled = GPIO0->ALTFUNCSET == (PIN(0) | PIN(4));
    GPIO0->ALTFUNCCLR = 0xFFFF;
    GPIO1->ALTFUNCCLR = 0xFFFF;
    if (modelled) {
        model_checks();
    } else {
        printf("gpio-model: none (the window reads as zero)\n");
    }

    /* The button: GPIO1 pin 0, rising edge, within 50 ms. */
    GPIO1->INTTYPESET = PIN(0);
    GPIO1->INTPOLSET = PIN(0);
    GPIO1->INTENSET = PIN(0);
    NVIC_EnableIRQ(PORT1_ALL_IRQn);
    systick_start(1000, 1);
    printf("gpio: waiting for the button\n");
    uint32_t start = systick_ticks();
    while (port1_entries == 0 && systick_ticks() - start < 50) {
        __WFI();
    }
    systick_stop();
    printf("gpio: %s\n", port1_entries ? "button pressed" : "no button");
    printf("gpio: done\n");
    return check_failures;
}
