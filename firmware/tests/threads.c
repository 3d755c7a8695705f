/*
 * threads: two threads on the process stack (PSP), switched by PendSV.
 *
 * main (privileged, MSP) starts the scheduler with SVC #0. Thread A runs
 * privileged and yields by setting ICSR.PENDSVSET itself; thread B runs
 * unprivileged (CONTROL.nPRIV=1) and cannot touch the SCB, so it yields with
 * SVC #1. PendSV (lowest priority) saves R4-R11 on the outgoing PSP and
 * restores the other thread. When both threads have exited (SVC #2), the SVC
 * handler returns to main on MSP. SVC #3 reports the stacked xPSR bit 9, used
 * to check the 8-byte stack alignment padding (CCR.STKALIGN).
 */
#include <stdio.h>

#include "bsp.h"
#include "psp_threads.h"

#define STEPS        3
#define STACK_WORDS  512U
#define PRIO_LOWEST  0xE0U

enum svc_num { SVC_START = 0, SVC_YIELD = 1, SVC_EXIT = 2, SVC_ALIGN_PROBE = 3 };

typedef struct {
    const char *name;
    uint32_t sp;
    uint32_t control; /* CONTROL.nPRIV for this thread */
    int done;
} tcb_t;

static uint64_t stack_a[STACK_WORDS / 2U];
static uint64_t stack_b[STACK_WORDS / 2U];
static tcb_t tcbs[2];
static uint32_t current;

static void thread_a(void);
static void thread_b(void);
static void thread_exit(void);

/* ------------------------------------------------------------ helpers */
static inline void svc_yield(void) { __asm volatile("svc %0" ::"i"(SVC_YIELD) : "memory"); }
static inline void svc_exit(void) { __asm volatile("svc %0" ::"i"(SVC_EXIT) : "memory"); }

static void yield_privileged(void)
{
    SCB->ICSR = SCB_ICSR_PENDSVSET;
    __DSB();
    __ISB();
}

/* SVC #3 on a stack whose SP mod 8 is `misalign` (0 or 4); returns the
 * stacked xPSR bit 9 (SPREALIGN). */
static uint32_t align_probe(uint32_t misalign)
{
    register uint32_t r0 __asm("r0") = misalign;
    __asm volatile("mov r2, sp\n"
                   "mov r3, sp\n"
                   "bic r3, r3, #7\n"
                   "sub r3, r3, #8\n"
                   "add r3, r3, r0\n"
                   "mov sp, r3\n"
                   "svc %1\n"
                   "mov sp, r2\n"
                   : "+r"(r0)
                   : "i"(SVC_ALIGN_PROBE)
                   : "r2", "r3", "memory");
    return r0;
}

static void init_thread(tcb_t *t, const char *name, uint64_t *stack, void (*entry)(void), uint32_t control)
{
    t->name = name;
    t->sp = initial_psp((uint32_t)(uintptr_t)&stack[STACK_WORDS / 2U], entry, thread_exit);
    t->control = control;
    t->done = 0;
}

/* ------------------------------------------------------ scheduler (C) */
uint32_t svc_c(hw_frame_t *frame)
{
    uint8_t num = ((const uint8_t *)(uintptr_t)frame->pc)[-2]; /* SVC imm8 */
    switch (num) {
    case SVC_START:
        current = 0;
        sched_next_sp = tcbs[0].sp;
        sched_next_control = tcbs[0].control;
        return SVC_START_FIRST;
    case SVC_YIELD:
        SCB->ICSR = SCB_ICSR_PENDSVSET;
        return SVC_RETURN;
    case SVC_EXIT:
        tcbs[current].done = 1;
        if (tcbs[0].done && tcbs[1].done) {
            return SVC_BACK_TO_MAIN;
        }
        SCB->ICSR = SCB_ICSR_PENDSVSET;
        return SVC_RETURN;
    case SVC_ALIGN_PROBE:
        frame->r0 = (frame->xpsr & XPSR_SPREALIGN) ? 1U : 0U;
        return SVC_RETURN;
    default:
        return SVC_RETURN;
    }
}

/* Called by PendSV with the outgoing PSP (R4-R11 already pushed). */
void schedule(uint32_t psp)
{
    tcbs[current].sp = psp;
    uint32_t next = current ^ 1U;
    if (tcbs[next].done) {
        next = current;
    }
    current = next;
    sched_next_sp = tcbs[current].sp;
    sched_next_control = tcbs[current].control;
}

/* ------------------------------------------------------------ threads */
static void print_control(const char *name)
{
    uint32_t c = __get_CONTROL();
    printf("%s: CONTROL=0x%lx (%s, %s), IPSR=%lu\n", name, (unsigned long)c,
           (c & CONTROL_nPRIV) ? "unprivileged" : "privileged", (c & CONTROL_SPSEL) ? "PSP" : "MSP",
           (unsigned long)__get_IPSR());
}

static void thread_a(void)
{
    print_control("thread A");
    printf("thread A: stack 8-byte aligned: stacked xPSR[9]=%lu\n", (unsigned long)align_probe(0));
    printf("thread A: stack misaligned by 4: stacked xPSR[9]=%lu\n", (unsigned long)align_probe(4));
    SCB->CCR &= ~SCB_CCR_STKALIGN;
    __DSB();
    printf("thread A: STKALIGN=0, misaligned by 4: stacked xPSR[9]=%lu\n", (unsigned long)align_probe(4));
    SCB->CCR |= SCB_CCR_STKALIGN;
    __DSB();
    yield_privileged();
    for (int i = 1; i <= STEPS; i++) {
        printf("thread A: step %d/%d\n", i, STEPS);
        yield_privileged();
    }
    printf("thread A: exit\n");
}

static void thread_b(void)
{
    print_control("thread B");
    svc_yield();
    for (int i = 1; i <= STEPS; i++) {
        printf("thread B: step %d/%d\n", i, STEPS);
        svc_yield();
    }
    printf("thread B: exit\n");
}

/* Threads return here (initial LR). */
static void thread_exit(void)
{
    svc_exit();
    for (;;) {
        /* not reached: the scheduler never resumes a finished thread */
    }
}

int main(void)
{
    printf("threads: start\n");
    SCB->CCR |= SCB_CCR_STKALIGN; /* reset value is IMPLEMENTATION DEFINED on r0p1/r1p1 */
    SCB_SetSystemPriority(EXC_PENDSV, PRIO_LOWEST);
    init_thread(&tcbs[0], "A", stack_a, thread_a, 0U);
    init_thread(&tcbs[1], "B", stack_b, thread_b, CONTROL_nPRIV);
    print_control("main");
    __asm volatile("svc %0" ::"i"(SVC_START) : "memory");
    print_control("main");
    printf("threads: both finished: %s\n", (tcbs[0].done && tcbs[1].done) ? "ok" : "FAIL");
    printf("threads: done\n");
    return 0;
}
