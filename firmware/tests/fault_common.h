/* Shared helpers for the fault test programs (header only; not a program). */
#ifndef FAULT_COMMON_H
#define FAULT_COMMON_H

#include <stdint.h>

#include "bsp.h"

/* Exception stack frame as the core pushes it. */
typedef struct {
    uint32_t r0, r1, r2, r3, r12, lr, pc, xpsr;
} exc_frame_t;

/* A naked fault handler that hands the stacked frame to `cfunc(frame)`.
 * It branches (not calls), so cfunc returns straight through EXC_RETURN. */
#define FAULT_TRAMPOLINE(name, cfunc)                                          \
    void cfunc(exc_frame_t *frame);                                            \
    __attribute__((naked)) void name(void)                                     \
    {                                                                          \
        __asm volatile("tst lr, #4\n"                                          \
                       "ite eq\n"                                              \
                       "mrseq r0, msp\n"                                       \
                       "mrsne r0, psp\n"                                       \
                       "b " #cfunc "\n");                                      \
    }

/* Print an address as symbol+offset for the small set of symbols we know. */
static inline uint32_t fn_addr(void (*fn)(void))
{
    return (uint32_t)(uintptr_t)fn & ~1UL; /* strip the Thumb bit */
}

#endif
