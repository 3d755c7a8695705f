/*
 * fault_unmapped: a load from an address with nothing behind it.
 *
 * 0x60000000 is unmapped on MPS2-AN385 (QEMU 7.2 puts no RAM, device or
 * "unimplemented device" placeholder there; on AN500 it is PSRAM). The load
 * is a precise data bus error: BusFault with CFSR.PRECISERR|BFARVALID
 * (0x00008200) and BFAR = the address. With BusFault disabled it escalates
 * to HardFault (HFSR.FORCED). Only loads are used: on hardware a store
 * would be buffered and reported as IMPRECISERR without BFAR.
 */
#include <stdio.h>

#include "bsp.h"
#include "fault_common.h"

#ifndef UNMAPPED_ADDR
#define UNMAPPED_ADDR 0x60000000UL
#endif
#define THUMB16_LEN   2U
#define FAULT_MARK    0xB0B0B0B0UL

/* r0 = *(uint32_t *)r0 ; the LDR is load_fn+0 (16-bit encoding) */
uint32_t load_fn(uint32_t addr);
__asm(".text\n.thumb_func\n.global load_fn\n.type load_fn, %function\n"
      "load_fn: ldr r0, [r0]\n bx lr\n");

static volatile uint32_t bus_faults, hard_faults;

static void report(const char *who, const exc_frame_t *frame)
{
    uint32_t cfsr = SCB->CFSR;
    printf("%s: CFSR=0x%08lx%s%s HFSR=0x%08lx%s\n", who, (unsigned long)cfsr,
           (cfsr & SCB_CFSR_PRECISERR) ? " PRECISERR" : "",
           (cfsr & SCB_CFSR_BFARVALID) ? " BFARVALID" : "", (unsigned long)SCB->HFSR,
           (SCB->HFSR & SCB_HFSR_FORCED) ? " FORCED" : "");
    if (cfsr & SCB_CFSR_BFARVALID) {
        printf("%s: BFAR=0x%08lx\n", who, (unsigned long)SCB->BFAR);
    }
    if ((frame->pc & ~1UL) == fn_addr((void (*)(void))load_fn)) {
        printf("%s: stacked pc = load_fn+0\n", who);
    } else {
        printf("%s: stacked pc = 0x%08lx (not load_fn)\n", who, (unsigned long)frame->pc);
    }
}

FAULT_TRAMPOLINE(BusFault_Handler, busfault_c)
void busfault_c(exc_frame_t *frame)
{
    report("busfault", frame);
    SCB->CFSR = SCB->CFSR; /* W1C, also clears BFARVALID */
    frame->r0 = FAULT_MARK;
    frame->pc += THUMB16_LEN;
    bus_faults++;
}

FAULT_TRAMPOLINE(HardFault_Handler, hardfault_c)
void hardfault_c(exc_frame_t *frame)
{
    report("hardfault", frame);
    SCB->CFSR = SCB->CFSR;
    SCB->HFSR = SCB->HFSR;
    frame->r0 = FAULT_MARK;
    frame->pc += THUMB16_LEN;
    hard_faults++;
}

int main(void)
{
    printf("fault_unmapped: start, loading from 0x%08lx\n", (unsigned long)UNMAPPED_ADDR);

    SCB->SHCSR |= SCB_SHCSR_BUSFAULTENA;
    __DSB();
    uint32_t r = load_fn(UNMAPPED_ADDR);
    printf("after busfault: r0 = 0x%08lx, bus=%lu hard=%lu\n", (unsigned long)r,
           (unsigned long)bus_faults, (unsigned long)hard_faults);

    SCB->SHCSR &= ~SCB_SHCSR_BUSFAULTENA;
    __DSB();
    r = load_fn(UNMAPPED_ADDR + 4U);
    printf("after hardfault: r0 = 0x%08lx, bus=%lu hard=%lu\n", (unsigned long)r,
           (unsigned long)bus_faults, (unsigned long)hard_faults);
    printf("fault_unmapped: %s\n", (bus_faults == 1 && hard_faults == 1) ? "ok" : "FAIL");
    printf("fault_unmapped: done\n");
    return 0;
}
