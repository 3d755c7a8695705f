/*
 * Exception entry, return and tail-chain for the common cases, in one call
 * each: from and to thread or handler mode on the main stack, and from and
 * to thread mode on the process stack (CONTROL.SPSEL = 1, as RTOS threads
 * run). The Python core (cortexm.py) keeps the NVIC state, the fault logic
 * and every other case; these functions only move registers and the stack
 * frame, the way take_exception/_enter and exception_return do, with a few
 * Unicorn calls made from C instead of from Python. A frame on the process
 * stack that is not in RAM is declined (nothing done): Python's path records
 * the stacking fault.
 *
 * Unicorn's functions come in as pointers (no Unicorn headers needed).
 */
#include <stdint.h>

typedef int (*reg_batch_fn)(void *uc, int *regs, void **vals, int count);
typedef int (*mem_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);

enum { R0, R1, R2, R3, R12, LR, SP, XPSR, PC, CPSR, CONTROL, PSP, NREGS };

#define XPSR_T (1u << 24)
#define XPSR_ALIGN (1u << 9)
#define EXC_RETURN_HANDLER 0xFFFFFFF1u
#define EXC_RETURN_THREAD_MSP 0xFFFFFFF9u
#define EXC_RETURN_THREAD_PSP 0xFFFFFFFDu
#define CONTROL_NPRIV 1u
#define CONTROL_SPSEL 2u
#define MAX_RAM 8
#define RET_PLAN_WORDS 16 /* 512 exceptions */
#define RET_LOG 32
#define LOG_ENTRY 0x10000u /* ret_log: an entry (ex_watched_entry), not a return */
#define LOG_PEND 0x20000u  /* ret_log: a pend (ex_pend) */

/* Results: a bit set per thing the Python side must still act on. */
#define EXC_STKERR 1u    /* the frame could not be stacked (not RAM) */
#define EXC_VECTTBL 2u   /* the vector could not be read */
#define EXC_UNSTKERR 4u  /* the frame could not be unstacked */
#define EXC_INVPC 8u     /* return to thread mode with a non-zero stacked IPSR */
#define EXC_DECLINED 16u /* a case left to Python; nothing was done */
#define EXC_AT_PC 0xFFFFFFFFu /* entry: the return address is the current PC */
#define THREAD_PRIORITY 256 /* nvic.THREAD_PRIORITY: the execution priority with nothing active */

/* scsread.c's ICSR image: ICSR's pending fields (bits) and the model's active set (0 none, n only
 * n), answering reads while valid. */
typedef struct {
    uint32_t valid;
    uint32_t bits;
    int32_t active;
} icsr_image_t;

typedef struct {
    void *uc;
    reg_batch_fn read_batch, write_batch;
    mem_fn mem_read, mem_write;
    int32_t regs[NREGS];    /* UC_ARM_REG_* ids, in the order of the enum */
    uint32_t ram_count;
    uint32_t ram_begin[MAX_RAM], ram_end[MAX_RAM];
    uint32_t out[4];        /* entry: vector, xpsr before; return: pc, stacked xpsr */
    /* Returns from handlers Python entered, done here (ex_planned_return) while Python's NVIC
     * state says nothing would follow them: bit n of ret_plan allows the return from exception
     * n. Each one done is logged for Python to apply (deactivate) at its next look. */
    uint32_t ret_plan[RET_PLAN_WORDS];
    /* The exception an ICSR write may pend here (ex_pend), 0: none. Right after ret_plan: Python's
     * return plan clearer drops both at every change of its NVIC state. */
    uint32_t pend_n;
    /* The exception whose planned return leaves nothing active and nothing pending in Python's
     * NVIC (when the plan was made it alone was active, nothing was pending, its line low), 0:
     * none. Cleared with the return plan, and once that return is made: the return stores the
     * ICSR image it leaves (no pending fields, nothing active) instead of dropping it, and
     * Python's NVIC takes the image as its own when it applies the log. */
    uint32_t ret_icsr_n;
    uint32_t ret_stkalign;
    int32_t ret_count;                /* logged returns Python has not applied yet */
    uint32_t ret_log[RET_LOG];        /* their exception numbers, in order */
    icsr_image_t *icsr;               /* scsread's ICSR image: dropped at each (NULL: none) */
    /* The entry ex_watched_entry may make when the watched masks change: exception cand_n
     * (0: none), pending and enabled in Python's NVIC and held back only by the masks, with
     * its group priority, the execution priority of the active set alone, and its vector as
     * Python checked it. An entry is logged (ret_log, LOG_ENTRY) with its EXC_* bits here. */
    uint32_t cand_n;
    uint32_t cand_vector;
    uint32_t cand_vtor;
    uint32_t cand_stkalign;
    int32_t cand_prio;
    int32_t cand_running;
    uint32_t prio_mask;                /* implemented priority bits */
    uint32_t group_mask;               /* the group priority's bits (PRIGROUP) */
    int32_t entry_flags;
    uint32_t cand_return;              /* 1: its return may then be made here too (ret_plan) */
    /* The pend plan: what plan_native would set the entry plan (cand_*) to once pend_n is pending,
     * from Python's NVIC with nothing active and nothing else pending and enabled. `busy` is the
     * number of exceptions active plus those pending and enabled in Python's NVIC with the log
     * applied (Python's count at the plan; a pend adds one, a planned return takes one off, an
     * entry moves one): ex_pend only pends from none. */
    uint32_t pend_vector;
    uint32_t pend_vtor;
    uint32_t pend_stkalign;
    int32_t pend_prio;
    uint32_t pend_prio_mask;
    uint32_t pend_group_mask;
    uint32_t pend_return;
    int32_t busy;
    uint32_t log_vector[RET_LOG];      /* an entry's vector, at its place in ret_log */
    /* Yields done here whole (pended, entered and returned from: no trace in ret_log), and pends
     * made here, since the state was made. */
    uint64_t yields;
    uint64_t pends;
    /* The device input lines of Python's NVIC, bit i of word i / 32 for IRQ i (high: 1), which
     * Python keeps current at every change. A planned return from an IRQ whose line is high is
     * declined (the line pends it again at its return, for Python to take). */
    uint32_t irq_levels[RET_PLAN_WORDS];
} exc_path_t;

uint64_t ex_sizeof(void) { return sizeof(exc_path_t); }

static int is_ram(const exc_path_t *p, uint32_t addr)
{
    for (uint32_t i = 0; i < p->ram_count; i++) {
        if (p->ram_begin[i] <= addr && (uint64_t)addr + 32 <= p->ram_end[i]) {
            return 1;
        }
    }
    return 0;
}

/* One uc_reg_read_batch or uc_reg_write_batch of the registers `which` (enum indices). */
static int batch(exc_path_t *p, reg_batch_fn fn, const int *which, uint32_t *vals, int n)
{
    int ids[NREGS];
    void *ptrs[NREGS];
    for (int i = 0; i < n; i++) {
        ids[i] = p->regs[which[i]];
        ptrs[i] = &vals[i];
    }
    return fn(p->uc, ids, ptrs, n);
}

static int read_regs(exc_path_t *p, const int *which, uint32_t *vals, int n)
{
    return batch(p, p->read_batch, which, vals, n);
}

static int write_regs(exc_path_t *p, const int *which, uint32_t *vals, int n)
{
    return batch(p, p->write_batch, which, vals, n);
}

/* Rewriting CPSR makes Unicorn rebuild its cached mode flags (handler mode). */
static void rebuild_hflags(exc_path_t *p)
{
    static const int cpsr[] = {CPSR};
    uint32_t v;
    read_regs(p, cpsr, &v, 1);
    write_regs(p, cpsr, &v, 1);
}

/* The mode changed: rebuild Unicorn's flags, go on at `address` (Thumb), and leave
 * (address, xpsr) in out[] for the Python side. Returns `result`. */
static int resume_at(exc_path_t *p, uint32_t address, uint32_t xpsr, int result)
{
    rebuild_hflags(p);
    static const int pc[] = {PC};
    uint32_t target = address | 1u;
    write_regs(p, pc, &target, 1);
    p->out[0] = address;
    p->out[1] = xpsr;
    return result;
}

/* Thread mode on the process stack: SP (the PSP) becomes `frame`, then MSP is selected and
 * handler mode entered with IPSR = n. Unicorn swaps the banked SPs itself when the mode or
 * SPSEL changes; SPSEL can only be cleared from privileged thread mode (a v7-M handler's
 * write of it is ignored), so an unprivileged thread is made privileged for the switch
 * (in handler mode) and given its nPRIV back after. */
static void enter_from_psp(exc_path_t *p, uint32_t frame, uint32_t control, uint32_t xpsr_in)
{
    static const int priv[] = {SP, CONTROL, XPSR};
    static const int unpriv[] = {SP, XPSR, CONTROL, XPSR, CONTROL, XPSR};
    uint32_t thread_xpsr = xpsr_in & 0xF8000000u;
    if (!(control & CONTROL_NPRIV)) {
        uint32_t w[3] = {frame, control & ~CONTROL_SPSEL, xpsr_in};
        write_regs(p, priv, w, 3);
    } else {
        uint32_t w[6] = {frame, thread_xpsr | 15u, control & ~(CONTROL_SPSEL | CONTROL_NPRIV),
                         thread_xpsr, control & ~CONTROL_SPSEL, xpsr_in};
        write_regs(p, unpriv, w, 6);
    }
}

/* PushStack + ExceptionTaken from the stack in use. Returns EXC_* bits or -1 on an engine error. */
int ex_enter(exc_path_t *p, uint32_t n, uint32_t return_address, uint32_t vtor, int stkalign)
{
    static const int in[] = {R0, R1, R2, R3, R12, LR, SP, XPSR, PC, CONTROL};
    uint32_t r[10];
    if (read_regs(p, in, r, 10)) {
        return -1;
    }
    uint32_t sp = r[6], xpsr = r[7], control = r[9];
    int psp = (control & CONTROL_SPSEL) && !(xpsr & 0x1FFu);
    if (control & CONTROL_SPSEL && !psp) {
        return EXC_DECLINED;  /* SPSEL set in handler mode: not a v7-M state */
    }
    if (return_address == EXC_AT_PC) {
        return_address = r[8];
    }
    int result = 0;
    int align = (sp & 4u) && stkalign;
    uint32_t frame = (sp - 32u) & (stkalign ? ~7u : ~3u);
    uint32_t data[8] = {r[0], r[1], r[2], r[3], r[4], r[5], return_address & ~1u,
                        (xpsr & ~XPSR_ALIGN) | (align ? XPSR_ALIGN : 0u)};
    if (is_ram(p, frame)) {
        p->mem_write(p->uc, frame, data, sizeof data);
    } else if (psp) {
        return EXC_DECLINED;
    } else {
        result |= EXC_STKERR;
    }
    uint32_t vector = 0;
    if (p->mem_read(p->uc, (uint64_t)vtor + 4u * n, &vector, 4)) {
        vector = 0;
        result |= EXC_VECTTBL;
    }
    uint32_t handler_xpsr = (xpsr & 0xF8000000u) | n | ((vector & 1u) ? XPSR_T : 0u);
    static const int lr[] = {LR};
    if (psp) {
        enter_from_psp(p, frame, control, handler_xpsr);
        uint32_t exc_return = EXC_RETURN_THREAD_PSP;
        write_regs(p, lr, &exc_return, 1);
        return resume_at(p, vector, xpsr, result);
    }
    static const int out[] = {SP, LR, XPSR};
    uint32_t w[3] = {frame, (xpsr & 0x1FFu) ? EXC_RETURN_HANDLER : EXC_RETURN_THREAD_MSP, handler_xpsr};
    write_regs(p, out, w, 3);
    return resume_at(p, vector, xpsr, result);
}

/* Tail-chain from the handler that returns into exception n: the stacked frame stays,
 * the next handler gets the same EXC_RETURN (handler mode, MSP, SPSEL clear throughout). */
int ex_tail_chain(exc_path_t *p, uint32_t n, uint32_t exc_return, uint32_t vtor)
{
    static const int in[] = {XPSR};
    uint32_t xpsr;
    if (read_regs(p, in, &xpsr, 1)) {
        return -1;
    }
    int result = 0;
    uint32_t vector = 0;
    if (p->mem_read(p->uc, (uint64_t)vtor + 4u * n, &vector, 4)) {
        vector = 0;
        result |= EXC_VECTTBL;
    }
    static const int out[] = {LR, XPSR};
    uint32_t w[2] = {exc_return, (xpsr & 0xF8000000u) | n | ((vector & 1u) ? XPSR_T : 0u)};
    write_regs(p, out, w, 2);
    return resume_at(p, vector, xpsr, result);
}

/* ExceptionReturn + PopStack (no tail-chain): `mode` RET_HANDLER or RET_THREAD_MSP from
 * the main stack, RET_THREAD_PSP from the process stack (as PendSV left it) with SPSEL set
 * again. From the process stack, a frame that cannot be read is declined (nothing done). */
enum { RET_HANDLER = 0, RET_THREAD_MSP = 1, RET_THREAD_PSP = 2, RET_PLAIN = 4 };

/* RET_PLAIN or-ed into `mode`: decline (nothing done) unless the return is a plain one
 * (no EXC_* bit to report), for callers that cannot hand a fault on. */
int ex_return(exc_path_t *p, int mode_bits, int stkalign)
{
    int mode = mode_bits & 3, plain = mode_bits & RET_PLAIN;
    static const int in[] = {SP, PSP, CONTROL};
    uint32_t r[3];
    if (read_regs(p, in, r, 3)) {
        return -1;
    }
    uint32_t sp = mode == RET_THREAD_PSP ? r[1] : r[0], control = r[2];
    uint32_t f[8];
    if (p->mem_read(p->uc, sp, f, sizeof f)) {
        if (mode == RET_THREAD_PSP || plain) {
            return EXC_DECLINED;
        }
        p->out[0] = sp;
        return EXC_UNSTKERR;
    }
    int result = 0;
    uint32_t pc = f[6], xpsr = f[7];
    uint32_t ipsr = xpsr & 0x1FFu;
    if (mode != RET_HANDLER && ipsr) {
        result |= EXC_INVPC;
        ipsr = 0;
    }
    if (plain && result) {
        return EXC_DECLINED;
    }
    uint32_t new_sp = sp + 32u + (((xpsr & XPSR_ALIGN) && stkalign) ? 4u : 0u);
    uint32_t new_xpsr = (xpsr & ~XPSR_ALIGN & ~0x1FFu) | ipsr;
    if (mode == RET_THREAD_PSP) {
        /* In handler mode: PSP (the banked one), nPRIV cleared so that the thread mode
         * entered by the xPSR write may set SPSEL (which swaps SP to the PSP), then the
         * thread's CONTROL with SPSEL. */
        static const int out[] = {PSP, CONTROL, R0, R1, R2, R3, R12, LR, XPSR, CONTROL};
        uint32_t w[10] = {new_sp, control & ~CONTROL_NPRIV, f[0], f[1], f[2], f[3], f[4], f[5], new_xpsr,
                          control | CONTROL_SPSEL};
        write_regs(p, out, w, 10);
        return resume_at(p, pc, xpsr, result);
    }
    static const int out[] = {R0, R1, R2, R3, R12, LR, SP, XPSR};
    uint32_t w[8] = {f[0], f[1], f[2], f[3], f[4], f[5], new_sp, new_xpsr};
    write_regs(p, out, w, 8);
    return resume_at(p, pc, xpsr, result);
}

/* A return from handler mode (EXC_RETURN `exc_return` branched to) that Python's plan allows:
 * the handler's exception is in ret_plan, EXC_RETURN is a valid one, SPSEL is clear and the
 * frame is a plain one (no fault to report). Done the way exception_return's native path does
 * it, and logged; 1: done, 0: nothing done (Python's path takes it). */
int ex_planned_return(exc_path_t *p, uint32_t exc_return)
{
    static const int in[] = {XPSR, CONTROL};
    uint32_t r[2];
    if (p->ret_count >= RET_LOG || read_regs(p, in, r, 2)) {
        return 0;
    }
    uint32_t n = r[0] & 0x1FFu;
    if (!n || !(p->ret_plan[n >> 5] >> (n & 31u) & 1u) || (r[1] & CONTROL_SPSEL)) {
        return 0;
    }
    if (n >= 16u && p->irq_levels[(n - 16u) >> 5] >> ((n - 16u) & 31u) & 1u) {
        return 0;
    }
    int mode;
    switch (exc_return) {
    case EXC_RETURN_HANDLER: mode = RET_HANDLER; break;
    case EXC_RETURN_THREAD_MSP: mode = RET_THREAD_MSP; break;
    case EXC_RETURN_THREAD_PSP: mode = RET_THREAD_PSP; break;
    default: return 0;
    }
    if (ex_return(p, mode | RET_PLAIN, (int)p->ret_stkalign) != 0) {
        return 0;
    }
    p->ret_plan[n >> 5] &= ~(1u << (n & 31u));
    p->busy--;
    int32_t c = p->ret_count;
    if (c >= 2 && p->ret_log[c - 1] == (n | LOG_ENTRY) && p->ret_log[c - 2] == (n | LOG_PEND)) {
        /* A yield pended, entered and returned from here: nothing of it is left for Python's NVIC
         * (n was neither pending nor active before it), only counts. */
        p->ret_count = c - 2;
        p->yields++;
    } else {
        p->ret_log[p->ret_count++] = n;
        if (n == p->ret_icsr_n && mode != RET_HANDLER && p->icsr) {
            /* Back in thread mode with nothing active or pending: the image that leaves (logged,
             * so that native_sync tells Python's NVIC) */
            p->ret_icsr_n = 0;
            p->icsr->bits = 0;
            p->icsr->active = 0;
            p->icsr->valid = 1;
            return 1;
        }
    }
    p->ret_icsr_n = 0;
    if (p->icsr) {
        p->icsr->valid = 0;
    }
    return 1;
}

/* Does the candidate preempt the execution priority of the active set (cand_running) with the
 * masks[] (PRIMASK, FAULTMASK, BASEPRI)? B1.5.4, as ExceptionState computes it. */
static int cand_preempts(const exc_path_t *p, const uint32_t *masks)
{
    int32_t running = p->cand_running;
    uint32_t basepri = masks[2] & p->prio_mask;
    if (basepri && (int32_t)(basepri & p->group_mask) < running) {
        running = (int32_t)(basepri & p->group_mask);
    }
    if ((masks[0] & 1u) && running > 0) {
        running = 0;
    }
    if ((masks[1] & 1u) && running > -1) {
        running = -1;
    }
    return p->cand_prio < running;
}

/* The watched masks changed to masks[] (PRIMASK, FAULTMASK, BASEPRI) at the start of a block at
 * `at`: when they let the candidate preempt, enter it here, as Python would at the slice
 * boundary the change would make (B1.5.4's execution priority, as ExceptionState computes it).
 * 1: entered, 2: entered with a stacking error (Python must take the BusFault before the
 * handler runs), 0: nothing done. */
int ex_watched_entry(exc_path_t *p, uint32_t at, const uint32_t *masks)
{
    uint32_t n = p->cand_n;
    if (!n || p->ret_count >= RET_LOG) {
        return 0;
    }
    uint32_t vector = 0;
    if (!cand_preempts(p, masks) || p->mem_read(p->uc, (uint64_t)p->cand_vtor + 4u * n, &vector, 4) ||
        vector != p->cand_vector) {
        return 0;
    }
    int flags = ex_enter(p, n, at, p->cand_vtor, (int)p->cand_stkalign);
    if (flags < 0 || (flags & EXC_DECLINED)) {
        return 0;
    }
    p->cand_n = 0;
    p->entry_flags = flags;
    p->log_vector[p->ret_count] = vector;
    p->ret_log[p->ret_count++] = n | LOG_ENTRY;
    if (p->cand_return && !flags) {
        p->ret_plan[n >> 5] |= 1u << (n & 31u);
    }
    if (p->icsr) {
        p->icsr->valid = 0;
    }
    return flags ? 2 : 1;
}

/* An ICSR write pending pend_n (PENDSVSET alone) while nothing is active and nothing pending and
 * enabled (busy 0), with the masks[] of the moment: what Python's write would do to the exception
 * state, done here and logged (LOG_PEND) for native_sync to apply: the ICSR image and the return
 * plan dropped, and the entry plan set from the pend plan (plan_native's, for this state). The
 * caller watches the masks as _exceptions_changed would. 0: declined (nothing done: Python's path
 * takes the write), 1: pended and it preempts now (watch for the next block), 2: pended and held
 * back by the masks (watch for their change). Room is kept in the log for its entry and return. */
int ex_pend(exc_path_t *p, const uint32_t *masks)
{
    uint32_t n = p->pend_n;
    if (!n || p->busy != 0 || p->cand_n || p->ret_count > RET_LOG - 3) {
        return 0;
    }
    for (int i = 0; i < RET_PLAN_WORDS; i++) {
        p->ret_plan[i] = 0;
    }
    p->ret_icsr_n = 0;
    p->cand_vector = p->pend_vector;
    p->cand_vtor = p->pend_vtor;
    p->cand_stkalign = p->pend_stkalign;
    p->cand_prio = p->pend_prio;
    p->cand_running = THREAD_PRIORITY;
    p->prio_mask = p->pend_prio_mask;
    p->group_mask = p->pend_group_mask;
    p->cand_return = p->pend_return;
    p->ret_stkalign = p->pend_stkalign;
    p->cand_n = n;
    p->ret_log[p->ret_count++] = n | LOG_PEND;
    p->busy++;
    p->pends++;
    if (p->icsr) {
        p->icsr->valid = 0;
    }
    return cand_preempts(p, masks) ? 1 : 2;
}
