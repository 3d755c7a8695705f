/*
 * preempt: a preemptive scheduler as RTOS ports do it. Three threads on the
 * process stack (PSP) are switched by PendSV, pended by SysTick at 10 kHz
 * (both at the lowest priority, so a tick's return tail-chains into PendSV);
 * PendSV saves R4-R11 on the outgoing PSP, switches PSP and returns with
 * EXC_RETURN 0xFFFFFFFD. Thread A is privileged and does plain work; thread
 * B is unprivileged and also yields with SVC; thread C works with SP 4 bytes
 * off 8-byte alignment (stacked xPSR bit 9) and takes BASEPRI critical
 * sections. Each thread's checksum shows its registers survived every switch;
 * the counts printed are checked against wide bounds only.
 */
#include <stdio.h>

#include "bsp.h"
#include "psp_threads.h"

#define NTHREADS     3U
#define STACK_WORDS  512U
#define PRIO_LOWEST  0xE0U
#define PRIO_MASK    0x80U /* BASEPRI value that holds SysTick and PendSV back */
#define ITER_A       150000U
#define ITER_B       120000U
#define ITER_C       1500U
#define INNER_C      100U

enum svc_num { SVC_START = 0, SVC_YIELD = 1, SVC_EXIT = 2 };

#include "psp_round_robin.h"

static uint64_t stacks[NTHREADS][STACK_WORDS / 2U];
static volatile uint32_t shared_counter;
static uint32_t results[NTHREADS];

static void thread_exit(void);

static void svc_yield(void)
{
    __asm volatile("svc %0" ::"i"(SVC_YIELD) : "memory");
}

static void init_thread(unsigned i, void (*entry)(void), uint32_t control)
{
    uint32_t sp = initial_psp((uint32_t)(uintptr_t)&stacks[i][STACK_WORDS / 2U], entry, thread_exit);
    tcbs[i] = (tcb_t){.sp = sp, .control = control};
}

/* ------------------------------------------------------ scheduler (C) */
uint32_t svc_c(hw_frame_t *frame)
{
    uint8_t num = ((const uint8_t *)(uintptr_t)frame->pc)[-2]; /* SVC imm8 */
    switch (num) {
    case SVC_START:
        return svc_start();
    case SVC_YIELD:
        SCB->ICSR = SCB_ICSR_PENDSVSET;
        return SVC_RETURN;
    case SVC_EXIT:
        return svc_thread_done();
    default:
        return SVC_RETURN;
    }
}

/* ------------------------------------------------------------ threads */
static void thread_a(void)
{
    uint32_t x = 0x12345678U, s1 = 0, s2 = 1, s3 = 2, s4 = 3;
    for (uint32_t i = 0; i < ITER_A; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s1 += x;
        s2 ^= s1 + i;
        s3 += s2 >> 3;
        s4 = (s4 << 1 | s4 >> 31) ^ s3;
    }
    results[0] = x ^ s1 ^ s2 ^ s3 ^ s4;
}

static void thread_b(void)
{
    uint32_t a = 1, b = 1, c = 7, d = 11;
    for (uint32_t i = 0; i < ITER_B; i++) {
        uint32_t t = a + b;
        a = b;
        b = t ^ c;
        c = c * 1103515245U + 12345U;
        d += (b >> 7) ^ i;
        if (i % 10000U == 9999U) {
            svc_yield();
        }
    }
    results[1] = a ^ b ^ c ^ d;
}

/* INNER_C rounds with R0-R8 and R12 live and SP 4 bytes off 8-byte alignment. */
static uint32_t misaligned_rounds(uint32_t seed)
{
    register uint32_t r0 __asm("r0") = seed;
    __asm volatile("push {r4-r8}\n"
                   "mov r1, %1\n"
                   "movs r2, #3\n"
                   "movs r3, #5\n"
                   "movs r4, #7\n"
                   "movs r5, #11\n"
                   "movs r6, #13\n"
                   "movs r7, #17\n"
                   "movs r8, #19\n"
                   "movs r12, #23\n"
                   "1:\n"
                   "add r2, r2, r0\n"
                   "eor r3, r3, r2, ror #7\n"
                   "add r4, r4, r3\n"
                   "eor r5, r5, r4, lsl #3\n"
                   "add r6, r6, r5, lsr #2\n"
                   "eor r7, r7, r6\n"
                   "add r8, r8, r7, ror #11\n"
                   "eor r12, r12, r8\n"
                   "add r0, r0, r12\n"
                   "subs r1, r1, #1\n"
                   "bne 1b\n"
                   "eor r0, r0, r2\n"
                   "eor r0, r0, r3\n"
                   "eor r0, r0, r4\n"
                   "eor r0, r0, r5\n"
                   "eor r0, r0, r6\n"
                   "eor r0, r0, r7\n"
                   "eor r0, r0, r8\n"
                   "pop {r4-r8}\n"
                   : "+r"(r0)
                   : "i"(INNER_C)
                   : "r1", "r2", "r3", "r12", "cc", "memory");
    return r0;
}

static void thread_c(void)
{
    uint32_t acc = 0x9E3779B9U;
    for (uint32_t i = 0; i < ITER_C; i++) {
        acc = misaligned_rounds(acc + i);
        __set_BASEPRI(PRIO_MASK);
        shared_counter++;
        __set_BASEPRI(0);
    }
    results[2] = acc;
}

static void thread_exit(void)
{
    __asm volatile("svc %0" ::"i"(SVC_EXIT) : "memory");
    for (;;) {
        /* not reached: a finished thread is never resumed */
    }
}

int main(void)
{
    printf("preempt: start\n");
    SCB->CCR |= SCB_CCR_STKALIGN;
    SCB_SetSystemPriority(EXC_PENDSV, PRIO_LOWEST);
    SCB_SetSystemPriority(EXC_SYSTICK, PRIO_LOWEST);
    init_thread(0, thread_a, 0U);
    init_thread(1, thread_b, CONTROL_nPRIV);
    init_thread(2, thread_c, 0U);
    if (systick_start(10000U, 1) != SYSTICK_OK) {
        printf("preempt: FAIL systick\n");
        return 1;
    }
    __asm volatile("svc %0" ::"i"(SVC_START) : "memory");
    systick_stop();
    uint32_t c = __get_CONTROL();
    printf("preempt: back in main: %s, %s\n", (c & CONTROL_nPRIV) ? "unprivileged" : "privileged",
           (c & CONTROL_SPSEL) ? "PSP" : "MSP");
    for (unsigned i = 0; i < NTHREADS; i++) {
        printf("preempt: thread %c checksum 0x%08lx, scheduled again: %s\n", 'A' + i,
               (unsigned long)results[i], tcbs[i].runs >= 3U ? "ok" : "FAIL");
    }
    printf("preempt: critical sections %lu\n", (unsigned long)shared_counter);
    printf("preempt: switches by SysTick: %s\n", tick_switches >= 3U ? "ok" : "FAIL");
    printf("preempt: done\n");
    return 0;
}
