/*
 * yield_switch: task yields as RTOS ports make them, counted. Two privileged
 * threads on the process stack (PSP) each loop: a little work, then a yield
 * (ICSR.PENDSVSET from thread mode, DSB, ISB: FreeRTOS's portYIELD). PendSV
 * (lowest priority) saves R4-R11 on the outgoing PSP and switches to the
 * other thread. SysTick (1 kHz, lowest priority) also pends PendSV from its
 * handler, so each tick's return tail-chains into a switch. After SWITCHES
 * yields per thread both threads exit (SVC) and main prints the counts and
 * the threads' checksums, which show their registers survived every switch
 * (the tick switches' number depends on the host on QEMU: only checked > 0).
 */
#include <stdio.h>

#include "bsp.h"
#include "psp_threads.h"

#define NTHREADS     2U
#define STACK_WORDS  256U
#define PRIO_LOWEST  0xE0U
#define SWITCHES     20000U
#define TICK_HZ      1000U

enum svc_num { SVC_START = 0, SVC_EXIT = 2 };

#include "psp_round_robin.h"

static uint64_t stacks[NTHREADS][STACK_WORDS / 2U];
static uint32_t sums[NTHREADS];

static void thread_exit(void);

void task_yield(void);
__attribute__((noinline)) void task_yield(void)
{
    SCB->ICSR = SCB_ICSR_PENDSVSET;
    __DSB();
    __ISB();
}

uint32_t svc_c(hw_frame_t *frame)
{
    uint8_t num = ((const uint8_t *)(uintptr_t)frame->pc)[-2]; /* SVC imm8 */
    if (num == SVC_START) {
        return svc_start();
    }
    if (num == SVC_EXIT) {
        return svc_thread_done();
    }
    return SVC_RETURN;
}

/* SWITCHES rounds of a little work and a yield; R4-R7 live across each yield. */
static uint32_t rounds(uint32_t seed)
{
    register uint32_t r0 __asm("r0") = seed;
    __asm volatile("push {r4-r7}\n"
                   "ldr r4, =%c1\n"
                   "movs r5, #5\n"
                   "movs r6, #7\n"
                   "movs r7, #11\n"
                   "1:\n"
                   "add r5, r5, r0\n"
                   "eor r6, r6, r5, ror #7\n"
                   "add r7, r7, r6\n"
                   "eor r0, r0, r7, lsl #3\n"
                   "bl task_yield\n"
                   "subs r4, r4, #1\n"
                   "bne 1b\n"
                   "eor r0, r0, r5\n"
                   "eor r0, r0, r6\n"
                   "eor r0, r0, r7\n"
                   "pop {r4-r7}\n"
                   "b 2f\n"
                   ".ltorg\n"
                   "2:\n"
                   : "+r"(r0)
                   : "i"(SWITCHES)
                   : "r1", "r2", "r3", "r12", "lr", "cc", "memory");
    return r0;
}

static void thread_0(void)
{
    sums[0] = rounds(0x9E3779B9U);
}

static void thread_1(void)
{
    sums[1] = rounds(0x12345678U);
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
    printf("yield_switch: start\n");
    SCB->CCR |= SCB_CCR_STKALIGN;
    SCB_SetSystemPriority(EXC_PENDSV, PRIO_LOWEST);
    SCB_SetSystemPriority(EXC_SYSTICK, PRIO_LOWEST);
    tcbs[0] = (tcb_t){.sp = initial_psp((uint32_t)(uintptr_t)&stacks[0][STACK_WORDS / 2U], thread_0, thread_exit)};
    tcbs[1] = (tcb_t){.sp = initial_psp((uint32_t)(uintptr_t)&stacks[1][STACK_WORDS / 2U], thread_1, thread_exit)};
    SysTick->LOAD = MPS2_SYSCLK_HZ / TICK_HZ - 1U;
    SysTick->VAL = 0;
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE | SysTick_CTRL_TICKINT | SysTick_CTRL_ENABLE;
    __asm volatile("svc %0" ::"i"(SVC_START) : "memory");
    SysTick->CTRL = 0;
    printf("yield_switch: sums %08lx %08lx\n", (unsigned long)sums[0], (unsigned long)sums[1]);
    printf("yield_switch: each thread ran at least %u times: %s\n", SWITCHES,
           tcbs[0].runs > SWITCHES && tcbs[1].runs > SWITCHES ? "yes" : "no");
    printf("yield_switch: ticks %s, tick switches %s\n", ticks > 0U ? "yes" : "no",
           tick_switches > 0U ? "yes" : "no");
    printf("yield_switch: done\n");
    return 0;
}
