/*
 * boardinit: the register writes a stock RTOS board init makes before its
 * console exists, done here in SystemInit (Reset_Handler calls it before
 * the UART is set up):
 *   - pin muxing: GPIO ALTFUNCSET bits for the UART, SPI and I2C pins of the
 *     shield headers (GPIO0 and GPIO1, as the MPS2 CMSIS headers list them);
 *   - the watchdog: unlock with 0x1ACCE551, stop it (CTRL = 0), lock again;
 *   - the I2S audio block and the FPGA's spare APB space (read-as-zero
 *     windows on both QEMU and vboard: vboard logs their first access).
 * On a board without these windows each store is a precise BusFault before
 * the console exists. main then prints that the console came up.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define I2S_BASE        0x40024000UL
#define APB_SPARE_BASE  0x40003000UL

static volatile uint32_t init_steps;

void SystemInit(void)
{
    SystemCoreClock = MPS2_SYSCLK_HZ;
    GPIO0->ALTFUNCSET = BIT(0) | BIT(4) | BIT(5) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15);
    GPIO1->ALTFUNCSET = BIT(10) | BIT(14) | BIT(15);
    init_steps++;
    WATCHDOG->LOCK = WATCHDOG_UNLOCK_KEY;
    WATCHDOG->CTRL = 0;
    WATCHDOG->LOCK = 1;
    init_steps++;
    *(volatile uint32_t *)(I2S_BASE + 0x4) = 0; /* I2S control: off */
    (void)*(volatile uint32_t *)(APB_SPARE_BASE);
    init_steps++;
}

int main(void)
{
    printf("boardinit: console up after %lu init steps\n", (unsigned long)init_steps);
    result("boardinit: watchdog stopped", (WATCHDOG->CTRL & WATCHDOG_CTRL_INTEN) == 0);
    printf("boardinit: done\n");
    return check_failures;
}
