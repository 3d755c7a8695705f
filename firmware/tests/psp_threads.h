/* Threads on the process stack (PSP), switched by PendSV, for the scheduler
 * test programs (header only; not a program; include it once).
 *
 * The program defines svc_c(frame), which handles its SVC numbers and returns
 * an svc_action, and schedule(psp), which keeps the outgoing thread's PSP and
 * sets sched_next_sp/sched_next_control to the thread to run. SVC_Handler
 * starts the first thread (main's R4-R11 stay on MSP) or returns to main on
 * MSP, privileged; PendSV_Handler saves R4-R11 on the outgoing PSP, switches
 * PSP and CONTROL.nPRIV, and returns with EXC_RETURN 0xFFFFFFFD. */
#ifndef PSP_THREADS_H
#define PSP_THREADS_H

#include <stdint.h>

#include "bsp.h"

enum svc_action { SVC_RETURN = 0, SVC_START_FIRST = 1, SVC_BACK_TO_MAIN = 2 };

typedef struct {
    uint32_t r0, r1, r2, r3, r12, lr, pc, xpsr;
} hw_frame_t;

typedef struct {
    uint32_t r4_r11[8];
    hw_frame_t hw;
} initial_frame_t;

/* Read by the assembly parts of SVC and PendSV. */
uint32_t sched_next_sp;
uint32_t sched_next_control;

uint32_t svc_c(hw_frame_t *frame);
void schedule(uint32_t psp);

/* A new thread's stack ending at `top`: R4-R11 zero and a frame that enters
 * `entry`, which returns to `exit_to`. Returns the thread's first PSP. */
static inline uint32_t initial_psp(uint32_t top, void (*entry)(void), void (*exit_to)(void))
{
    initial_frame_t *f = (initial_frame_t *)(top - sizeof(initial_frame_t));
    for (unsigned r = 0; r < 8U; r++) {
        f->r4_r11[r] = 0;
    }
    f->hw = (hw_frame_t){
        .lr = (uint32_t)(uintptr_t)exit_to,
        .pc = (uint32_t)(uintptr_t)entry & ~1UL, /* stacked PC has bit 0 clear */
        .xpsr = XPSR_T,
    };
    return (uint32_t)(uintptr_t)f;
}

__attribute__((naked)) void SVC_Handler(void)
{
    __asm volatile("tst lr, #4\n"
                   "ite eq\n"
                   "mrseq r0, msp\n"
                   "mrsne r0, psp\n"
                   "push {r4, lr}\n"
                   "bl svc_c\n"
                   "pop {r4, lr}\n"
                   "cmp r0, #1\n"
                   "beq 1f\n"
                   "cmp r0, #2\n"
                   "beq 2f\n"
                   "bx lr\n"
                   /* start the first thread: keep main's R4-R11 on MSP */
                   "1:\n"
                   "push {r4-r11}\n"
                   "ldr r0, =sched_next_sp\n"
                   "ldr r0, [r0]\n"
                   "ldmia r0!, {r4-r11}\n"
                   "msr psp, r0\n"
                   "ldr r0, =sched_next_control\n"
                   "ldr r0, [r0]\n"
                   "msr control, r0\n" /* handler mode: only nPRIV is written */
                   "isb\n"
                   "ldr lr, =0xFFFFFFFD\n" /* thread mode, PSP */
                   "bx lr\n"
                   /* all threads done: back to main on MSP, privileged */
                   "2:\n"
                   "pop {r4-r11}\n"
                   "movs r0, #0\n"
                   "msr control, r0\n"
                   "isb\n"
                   "ldr lr, =0xFFFFFFF9\n" /* thread mode, MSP */
                   "bx lr\n"
                   ".ltorg\n");
}

__attribute__((naked)) void PendSV_Handler(void)
{
    __asm volatile("mrs r0, psp\n"
                   "stmdb r0!, {r4-r11}\n"
                   "push {r3, lr}\n"
                   "bl schedule\n"
                   "pop {r3, lr}\n"
                   "ldr r0, =sched_next_control\n"
                   "ldr r0, [r0]\n"
                   "msr control, r0\n"
                   "isb\n"
                   "ldr r0, =sched_next_sp\n"
                   "ldr r0, [r0]\n"
                   "ldmia r0!, {r4-r11}\n"
                   "msr psp, r0\n"
                   "bx lr\n"
                   ".ltorg\n");
}

#endif
