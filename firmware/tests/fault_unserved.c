/*
 * fault_unserved: a board init that writes a register block this board does
 * not have, and a BusFault handler that lets it go on.
 *
 * Stock RTOS board code written for another MPS2 image may set pin muxing in
 * a block that is missing here; the store to an address with nothing behind
 * it is a precise BusFault (QEMU and vboard both report stores precisely:
 * CFSR = PRECISERR|BFARVALID, BFAR = the address). This handler prints the
 * status, skips the 16-bit store and returns, so on its own the firmware
 * hides the fault: `vboard run` still prints one line for the access and one
 * for the BusFault (with symbols), and `vboard run --strict` stops at the
 * store (exit 3).
 */
#include <stdio.h>

#include "bsp.h"
#include "fault_common.h"

/* 0x60000000: nothing on MPS2-AN385 (see fault_unmapped); +0x18 as ALTFUNCSET. */
#define MISSING_BLOCK  0x60000000UL
#define PINMUX_OFFSET  0x18U
#define PINMUX_ALL     0xFFFFU
#define THUMB16_LEN    2U

/* *(uint32_t *)r0 = r1 ; the STR is pinmux_write+0 (16-bit encoding) */
void pinmux_write(uint32_t addr, uint32_t value);
__asm(".text\n.thumb_func\n.global pinmux_write\n.type pinmux_write, %function\n"
      "pinmux_write: str r1, [r0]\n bx lr\n");

static volatile uint32_t bus_faults;

FAULT_TRAMPOLINE(BusFault_Handler, busfault_c)
void busfault_c(exc_frame_t *frame)
{
    uint32_t cfsr = SCB->CFSR;
    printf("busfault: CFSR=0x%08lx BFAR=0x%08lx at %s\n", (unsigned long)cfsr, (unsigned long)SCB->BFAR,
           (frame->pc & ~1UL) == fn_addr((void (*)(void))pinmux_write) ? "pinmux_write" : "another PC");
    SCB->CFSR = cfsr; /* W1C */
    frame->pc += THUMB16_LEN;
    bus_faults++;
}

static void board_init(void)
{
    pinmux_write(MISSING_BLOCK + PINMUX_OFFSET, PINMUX_ALL);
}

int main(void)
{
    printf("fault_unserved: start\n");
    SCB->SHCSR |= SCB_SHCSR_BUSFAULTENA;
    __DSB();
    board_init();
    printf("board init returned, bus faults: %lu\n", (unsigned long)bus_faults);
    printf("fault_unserved: %s\n", bus_faults == 1 ? "ok" : "FAIL");
    printf("fault_unserved: done\n");
    return 0;
}
