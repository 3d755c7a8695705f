/*
 * sysresetreq: AIRCR.SYSRESETREQ and RAM that survives it.
 *
 * A magic word lives in .noinit (NOLOAD, outside every loadable segment and
 * never zeroed by startup). Boot 1 stores it and requests a system reset;
 * boot 2 finds it and exits. QEMU re-applies the ELF's loadable segments on
 * reset (so .data/.bss would be restored) but leaves .noinit alone.
 */
#include <stdio.h>

#include "bsp.h"

#define BOOT_MAGIC 0x5EB007EDUL

typedef struct {
    uint32_t magic;
    uint32_t boots;
} noinit_state_t;

__attribute__((section(".noinit"))) static volatile noinit_state_t state;
static volatile uint32_t data_word = 0x12345678UL; /* .data, re-copied each boot */

int main(void)
{
    if (state.magic != BOOT_MAGIC) {
        state.magic = BOOT_MAGIC;
        state.boots = 1;
        printf("boot 1\n");
        printf("sysresetreq: .data word 0x%08lx\n", (unsigned long)data_word);
        data_word = 0xDEADBEEFUL;
        printf("sysresetreq: requesting reset\n");
        __DSB();
        SCB->AIRCR = SCB_AIRCR_VECTKEY | (SCB->AIRCR & SCB_AIRCR_PRIGROUP_Msk) | SCB_AIRCR_SYSRESETREQ;
        __DSB();
        for (;;) {
            /* The reset takes effect asynchronously; wait for it. */
            __NOP();
        }
    }
    state.boots++;
    printf("boot %lu after SYSRESETREQ\n", (unsigned long)state.boots);
    printf("sysresetreq: .data word 0x%08lx\n", (unsigned long)data_word);
    state.magic = 0;
    printf("sysresetreq: done\n");
    return 0;
}
