/*
 * bitband: the Cortex-M3 bit-band aliases. A word of 0x22000000 + 32*byte + 4*bit
 * is one bit of the SRAM byte at 0x20000000 + byte; 0x42000000 likewise for the
 * peripherals at 0x40000000. Sets, clears and reads bits of a RAM word through the
 * alias (word and byte accesses) and drives the FPGAIO LEDs (0x40028000) one bit
 * at a time. Prints the words and registers as they end up.
 */
#include <stdio.h>

#include "bsp.h"
#include "check.h"

#define SRAM_BASE   0x20000000UL
#define PERIPH_BASE 0x40000000UL
#define BB_SRAM(addr, bit)   (*(volatile uint32_t *)(0x22000000UL + ((uint32_t)(addr) - SRAM_BASE) * 32U + (bit) * 4U))
#define BB_PERIPH(addr, bit) (*(volatile uint32_t *)(0x42000000UL + ((uint32_t)(addr) - PERIPH_BASE) * 32U + (bit) * 4U))
#define BB_SRAM8(addr, bit)  (*(volatile uint8_t *)(0x22000000UL + ((uint32_t)(addr) - SRAM_BASE) * 32U + (bit) * 4U))

static volatile uint32_t flags = 0x00F0000FUL;

int main(void)
{
    printf("bitband: flags at 0x%08lx\n", (unsigned long)(uintptr_t)&flags);
    BB_SRAM(&flags, 31) = 1;
    BB_SRAM(&flags, 0) = 0;
    BB_SRAM(&flags, 9) = 0xFFFFFFFEUL; /* only bit 0 of the value counts: clears */
    BB_SRAM(&flags, 10) = 3;
    printf("bitband: flags 0x%08lx\n", (unsigned long)flags);
    result("bitband: reads bit 31, 10 and not 0", BB_SRAM(&flags, 31) == 1 && BB_SRAM(&flags, 10) == 1 &&
                                                    BB_SRAM(&flags, 0) == 0);
    BB_SRAM8(&flags, 20) = 0; /* byte access through the alias */
    printf("bitband: after a byte-wide clear 0x%08lx\n", (unsigned long)flags);

    FPGAIO->LED0 = 0;
    BB_PERIPH(&FPGAIO->LED0, 1) = 1;
    printf("bitband: LED0 0x%lx\n", (unsigned long)FPGAIO->LED0);
    BB_PERIPH(&FPGAIO->LED0, 0) = 1;
    BB_PERIPH(&FPGAIO->LED0, 1) = 0;
    printf("bitband: LED0 0x%lx, bit 0 reads %lu\n", (unsigned long)FPGAIO->LED0,
           (unsigned long)BB_PERIPH(&FPGAIO->LED0, 0));
    FPGAIO->LED0 = 0;
    printf("bitband: done\n");
    return check_failures;
}
