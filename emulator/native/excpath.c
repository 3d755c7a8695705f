/*
 * Exception entry and return for the common case, in one call each: the
 * core uses the main stack (CONTROL.SPSEL = 0), no tail-chain. The Python
 * core (cortexm.py) keeps the NVIC state, the fault logic and every other
 * case; these functions only move registers and the stack frame, the way
 * _take_exception_msp/_finish_entry and _return_msp/_finish_return do,
 * with a dozen Unicorn calls made from C instead of from Python.
 *
 * Unicorn's functions come in as pointers (no Unicorn headers needed).
 */
#include <stdint.h>

typedef int (*reg_batch_fn)(void *uc, int *regs, void **vals, int count);
typedef int (*mem_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);

enum { R0, R1, R2, R3, R12, LR, SP, XPSR, PC, CPSR, CONTROL, NREGS };

#define XPSR_T (1u << 24)
#define XPSR_ALIGN (1u << 9)
#define EXC_RETURN_HANDLER 0xFFFFFFF1u
#define EXC_RETURN_THREAD_MSP 0xFFFFFFF9u
#define MAX_RAM 8

/* Results: a bit set per thing the Python side must still act on. */
#define EXC_STKERR 1u    /* the frame could not be stacked (not RAM) */
#define EXC_VECTTBL 2u   /* the vector could not be read */
#define EXC_UNSTKERR 4u  /* the frame could not be unstacked */
#define EXC_INVPC 8u     /* return to thread mode with a non-zero stacked IPSR */
#define EXC_NOT_MSP 16u  /* entry: the process stack is in use; nothing was done */
#define EXC_AT_PC 0xFFFFFFFFu /* entry: the return address is the current PC */

typedef struct {
    void *uc;
    reg_batch_fn read_batch, write_batch;
    mem_fn mem_read, mem_write;
    int32_t regs[NREGS];    /* UC_ARM_REG_* ids, in the order of the enum */
    uint32_t ram_count;
    uint32_t ram_begin[MAX_RAM], ram_end[MAX_RAM];
    uint32_t out[4];        /* entry: vector, xpsr before; return: pc, stacked xpsr */
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

/* PushStack + ExceptionTaken on the main stack. Returns EXC_* bits or -1 on an engine error. */
int ex_enter_msp(exc_path_t *p, uint32_t n, uint32_t return_address, uint32_t vtor, int stkalign)
{
    static const int in[] = {R0, R1, R2, R3, R12, LR, SP, XPSR, PC, CONTROL};
    uint32_t r[10];
    if (read_regs(p, in, r, 10)) {
        return -1;
    }
    if (r[9] & 2u) {
        return EXC_NOT_MSP;
    }
    if (return_address == EXC_AT_PC) {
        return_address = r[8];
    }
    int result = 0;
    uint32_t sp = r[6], xpsr = r[7];
    int align = (sp & 4u) && stkalign;
    uint32_t frame = (sp - 32u) & (stkalign ? ~7u : ~3u);
    uint32_t data[8] = {r[0], r[1], r[2], r[3], r[4], r[5], return_address & ~1u,
                        (xpsr & ~XPSR_ALIGN) | (align ? XPSR_ALIGN : 0u)};
    if (is_ram(p, frame)) {
        p->mem_write(p->uc, frame, data, sizeof data);
    } else {
        result |= EXC_STKERR;
    }
    uint32_t vector = 0;
    if (p->mem_read(p->uc, (uint64_t)vtor + 4u * n, &vector, 4)) {
        vector = 0;
        result |= EXC_VECTTBL;
    }
    static const int out[] = {SP, LR, XPSR};
    uint32_t w[3] = {frame, (xpsr & 0x1FFu) ? EXC_RETURN_HANDLER : EXC_RETURN_THREAD_MSP,
                     (xpsr & 0xF8000000u) | n | ((vector & 1u) ? XPSR_T : 0u)};
    write_regs(p, out, w, 3);
    return resume_at(p, vector, xpsr, result);
}

/* ExceptionReturn + PopStack to the main stack (no tail-chain). */
int ex_return_msp(exc_path_t *p, int to_thread, int stkalign)
{
    static const int sp_reg[] = {SP};
    uint32_t sp;
    if (read_regs(p, sp_reg, &sp, 1)) {
        return -1;
    }
    uint32_t f[8];
    if (p->mem_read(p->uc, sp, f, sizeof f)) {
        p->out[0] = sp;
        return EXC_UNSTKERR;
    }
    int result = 0;
    uint32_t pc = f[6], xpsr = f[7];
    uint32_t ipsr = xpsr & 0x1FFu;
    if (to_thread && ipsr) {
        result |= EXC_INVPC;
        ipsr = 0;
    }
    static const int out[] = {R0, R1, R2, R3, R12, LR, SP, XPSR};
    uint32_t w[8] = {f[0], f[1], f[2], f[3], f[4], f[5],
                     sp + 32u + (((xpsr & XPSR_ALIGN) && stkalign) ? 4u : 0u),
                     (xpsr & ~XPSR_ALIGN & ~0x1FFu) | ipsr};
    write_regs(p, out, w, 8);
    return resume_at(p, pc, xpsr, result);
}
