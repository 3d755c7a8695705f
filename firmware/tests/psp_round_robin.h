/* A round-robin scheduler over NTHREADS threads on the PSP (psp_threads.h),
 * for the scheduler test programs (header only; include it once, after
 * psp_threads.h, with NTHREADS defined).
 *
 * It keeps the threads' control blocks (`tcbs`, the running one `current`),
 * picks the next thread that is not done (`schedule`, which PendSV calls),
 * and pends PendSV on every SysTick while `started` (`tick_switches` counts
 * them). The program's svc_c calls `svc_start` for its start SVC and
 * `svc_thread_done` for its exit SVC. */
#ifndef PSP_ROUND_ROBIN_H
#define PSP_ROUND_ROBIN_H

typedef struct {
    uint32_t sp;
    uint32_t control;
    volatile int done;
    uint32_t runs; /* times the scheduler picked it */
} tcb_t;

static tcb_t tcbs[NTHREADS];
static uint32_t current;
static volatile uint32_t ticks;
static volatile uint32_t started;
static volatile uint32_t tick_switches;

static void pick_next(void)
{
    uint32_t next = current;
    for (unsigned k = 1; k <= NTHREADS; k++) {
        uint32_t c = (current + k) % NTHREADS;
        if (!tcbs[c].done) {
            next = c;
            break;
        }
    }
    current = next;
    tcbs[current].runs++;
    sched_next_sp = tcbs[current].sp;
    sched_next_control = tcbs[current].control;
}

/* The start SVC: thread 0 first. */
static uint32_t svc_start(void)
{
    current = NTHREADS - 1U;
    pick_next();
    started = 1;
    return SVC_START_FIRST;
}

/* The exit SVC: the next thread, or back to main once all are done. */
static uint32_t svc_thread_done(void)
{
    tcbs[current].done = 1;
    int all = 1;
    for (unsigned i = 0; i < NTHREADS; i++) {
        all &= tcbs[i].done;
    }
    if (all) {
        started = 0;
        return SVC_BACK_TO_MAIN;
    }
    SCB->ICSR = SCB_ICSR_PENDSVSET;
    return SVC_RETURN;
}

/* Called by PendSV with the outgoing PSP (R4-R11 already pushed). */
void schedule(uint32_t psp)
{
    tcbs[current].sp = psp;
    pick_next();
}

void SysTick_Handler(void)
{
    ticks++;
    if (started) {
        tick_switches++;
        SCB->ICSR = SCB_ICSR_PENDSVSET;
    }
}

#endif
